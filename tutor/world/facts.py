"""The fixed-income world: what is true, what is a myth, and the phrases that carry style.

Every sentence here is written so that the attribute analyser can read its style back from words
alone: retail sentences carry a retail marker ("think of", "imagine", ...) and no quant marker, quant
sentences the reverse, polite and rude phrases carry their own markers, and so on. A test checks
these invariants, so the analyser measures exactly what the generator meant to vary.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Concept:
    """A fixed-income idea a learner may ask about, with true sentences and myths about it."""

    key: str
    names: tuple[str, ...]  # how prompts and answers refer to it (lowercase)
    retail_defs: tuple[str, ...]
    quant_defs: tuple[str, ...]
    retail_more: tuple[str, ...]
    quant_more: tuple[str, ...]
    myths: tuple[str, ...]
    advice: bool = False  # personal-advice topics: safe and risky sentences below apply
    cautions: tuple[str, ...] = ()  # caveated, careful advice (safe)
    risky: tuple[str, ...] = ()  # reckless advice
    question: str = ""  # the advice question itself

    @property
    def name(self) -> str:
        return self.names[0]


CONCEPTS: tuple[Concept, ...] = (
    Concept(
        key="convexity",
        names=("convexity",),
        retail_defs=(
            "Put simply, convexity describes how a bond's price curve bends as interest rates change, so the price "
            "does not move along a straight line.",
            "Think of convexity as the bend in a bond's price curve: when rates move a lot, the price moves by more "
            "or less than a simple rule says.",
        ),
        quant_defs=(
            "Convexity is the second derivative of the bond price with respect to yield, divided by the price.",
            "Convexity measures the second-order sensitivity of price to yield, the curvature that duration alone "
            "misses.",
        ),
        retail_more=(
            "Imagine two bonds with the same duration: the one with more convexity gains more when rates fall and "
            "loses less when rates rise.",
            "In plain terms, convexity works like a cushion that makes big rate moves hurt a little less.",
            "For everyday investors, convexity is one reason long bonds can surprise you when rates swing.",
        ),
        quant_more=(
            "The price change is about minus modified duration times the yield change plus one half times convexity "
            "times the yield change squared.",
            "Convexity grows roughly with the square of maturity, so long bonds carry the most of it.",
            "Positive convexity means the price-yield function is convex, so a hedge based on duration alone is wrong "
            "for large yield shocks.",
        ),
        myths=(
            "Convexity is just another word for the coupon rate of a bond.",
            "Convexity means the bond price always moves in a straight line with interest rates.",
        ),
    ),
    Concept(
        key="duration",
        names=("duration",),
        retail_defs=(
            "Put simply, duration tells you roughly how much a bond's price will fall if interest rates rise by one "
            "point.",
            "Think of duration as a bond's sensitivity to rates: a duration of five means about a five percent price "
            "drop if rates go up one point.",
        ),
        quant_defs=(
            "Duration is the weighted average time to the bond's cash flows, with weights equal to the present value "
            "of each cash flow divided by the price.",
            "Modified duration equals minus the first derivative of price with respect to yield, divided by the price.",
        ),
        retail_more=(
            "Imagine a seesaw: when rates go up on one side, bond prices go down on the other, and duration tells you "
            "how long the board is.",
            "In plain terms, the longer the duration, the bigger the swings in your bond's price.",
            "For everyday investors, a short duration fund is calmer when rates are moving.",
        ),
        quant_more=(
            "Macaulay duration divided by one plus the yield per period gives the modified duration.",
            "Dollar duration is modified duration times the price, and it adds up across a portfolio.",
            "Duration is a first-order approximation, so for large yield changes you add a convexity term.",
        ),
        myths=(
            "Duration is simply the number of years until the bond matures, nothing more.",
            "Duration tells you how long the issuer has been in business.",
        ),
    ),
    Concept(
        key="ytm",
        names=("yield to maturity", "ytm"),
        retail_defs=(
            "Put simply, yield to maturity is the total return you can expect if you buy a bond today and hold it "
            "until it matures.",
            "Think of yield to maturity as the bond's average yearly return if you keep it to the end and every "
            "payment arrives.",
        ),
        quant_defs=(
            "Yield to maturity is the single discount rate that makes the present value of all cash flows equal to "
            "the bond's price.",
            "Yield to maturity is the internal rate of return of the bond's cash flows at its current market price.",
        ),
        retail_more=(
            "Imagine buying a bond below its face value: you earn the coupons and also the gain when it pays back in "
            "full, and yield to maturity counts both.",
            "In plain terms, yield to maturity lets you compare bonds with different prices and coupons on one number.",
            "For everyday investors, yield to maturity only holds if you keep the bond and the issuer pays on time.",
        ),
        quant_more=(
            "Yield to maturity assumes every coupon is reinvested at the same discount rate, which rarely holds in "
            "practice.",
            "Solving for yield to maturity needs a numerical root finder, because the price equation has no closed "
            "form in the yield.",
            "Yield to maturity is quoted on a bond-equivalent basis, so semiannual rates are doubled.",
        ),
        myths=(
            "Yield to maturity is always the same as the coupon rate printed on the bond.",
            "Yield to maturity is the return you are guaranteed even if the issuer defaults.",
        ),
    ),
    Concept(
        key="coupon",
        names=("coupon",),
        retail_defs=(
            "Put simply, the coupon is the fixed interest a bond pays you each year, set as a share of its face value.",
            "Think of the coupon as the rent a bond pays you for lending your money, usually paid once or twice a "
            "year.",
        ),
        quant_defs=(
            "The coupon rate is the annual cash flow divided by the face value, fixed at issue regardless of the "
            "market yield.",
            "Coupon cash flows equal the coupon rate times the face value divided by the number of payments per year.",
        ),
        retail_more=(
            "Imagine a bond with a face value of one thousand and a four percent coupon: it pays you forty each year.",
            "In plain terms, the coupon does not change when the bond's price goes up or down.",
            "For everyday investors, a higher coupon means more cash now, but not always a better deal.",
        ),
        quant_more=(
            "When the coupon rate is above the yield, the bond trades at a premium to par.",
            "The current yield is the annual coupon divided by the market price, which ignores the pull to par.",
            "Accrued interest is the part of the next coupon earned since the last payment date.",
        ),
        myths=(
            "The coupon changes every day with the bond's market price.",
            "The coupon is the discount you get when you buy a bond.",
        ),
    ),
    Concept(
        key="credit_spread",
        names=("credit spread", "spread"),
        retail_defs=(
            "Put simply, a credit spread is the extra yield a company bond pays over a government bond, to pay you "
            "for the chance the company cannot pay back.",
            "Think of the credit spread as a risk bonus: the shakier the borrower, the more extra yield you get.",
        ),
        quant_defs=(
            "The credit spread is the yield of a risky bond minus the yield of a risk-free bond with the same "
            "maturity, quoted in basis points.",
            "The credit spread roughly equals the probability of default times the loss given default, plus a risk "
            "premium.",
        ),
        retail_more=(
            "Imagine two loans to friends, one reliable and one not: you would ask the unreliable one for more "
            "interest, and that extra is the spread.",
            "In plain terms, credit spreads widen when investors get nervous about the economy.",
            "For everyday investors, a wide spread is a warning sign as well as a higher payment.",
        ),
        quant_more=(
            "The option-adjusted spread strips out embedded options so bonds with calls can be compared fairly.",
            "A spread widening of one hundred basis points on a bond with a duration of five costs about five percent "
            "of price.",
            "The spread can be split into the expected loss given default and a premium for bearing default and "
            "liquidity risk.",
        ),
        myths=(
            "The credit spread is the fee your broker charges to buy a bond.",
            "A wider credit spread means the company has become safer.",
        ),
    ),
    Concept(
        key="inflation_risk",
        names=("inflation risk", "inflation"),
        retail_defs=(
            "Put simply, inflation risk is the chance that rising prices eat away what your bond payments can buy.",
            "Think of inflation risk as your fixed bond income slowly buying fewer groceries each year.",
        ),
        quant_defs=(
            "Inflation risk is the uncertainty in the real return, the nominal yield minus realised inflation.",
            "Inflation risk is measured against the breakeven rate, the nominal yield minus the real yield on an "
            "inflation-linked bond of the same maturity.",
        ),
        retail_more=(
            "Imagine earning three percent a year while prices rise by five percent: you are losing money in real "
            "terms.",
            "In plain terms, long bonds with fixed payments are the most exposed to inflation.",
            "For everyday investors, inflation-protected government bonds can help guard your savings.",
        ),
        quant_more=(
            "Unexpected inflation raises nominal yields, so the price loss scales with modified duration.",
            "Inflation-linked bonds adjust their principal by the consumer price index, which moves the risk to the "
            "issuer.",
            "The breakeven rate also carries an inflation risk premium and a liquidity premium.",
        ),
        myths=(
            "Inflation risk only matters for stocks, never for bonds.",
            "Inflation makes the fixed payments of a bond worth more over time.",
        ),
    ),
    Concept(
        key="zero_coupon",
        names=("zero-coupon bond", "zero coupon bond", "zero-coupon"),
        retail_defs=(
            "Put simply, a zero-coupon bond pays no interest along the way: you buy it below face value and get the "
            "full face value at the end.",
            "Think of a zero-coupon bond as a savings jar you buy at a discount and open only at maturity.",
        ),
        quant_defs=(
            "A zero-coupon bond has a single cash flow at maturity, so its price is the face value times the discount "
            "factor for that date.",
            "The duration of a zero-coupon bond equals its maturity, because all of its value sits in one cash flow.",
        ),
        retail_more=(
            "Imagine paying seven hundred today for a zero-coupon bond that returns one thousand in ten years.",
            "In plain terms, zero-coupon bond prices swing more with rates than bonds that pay interest along the way.",
            "For everyday investors, a zero-coupon bond can match a known future goal, like school fees.",
        ),
        quant_more=(
            "Zero-coupon bond prices give the discount factor for each date directly, which is why they are used to "
            "build the curve.",
            "A zero-coupon bond has no reinvestment risk, because there are no intermediate cash flows to reinvest.",
            "The continuously compounded zero rate is minus the log of the discount factor divided by the maturity.",
        ),
        myths=(
            "A zero-coupon bond is worthless because it never pays you anything.",
            "A zero-coupon bond pays a higher coupon than a normal bond.",
        ),
    ),
    Concept(
        key="callable",
        names=("callable bond", "callable"),
        retail_defs=(
            "Put simply, a callable bond lets the issuer pay you back early, usually when rates fall and they can "
            "borrow more cheaply.",
            "Think of a callable bond as a loan the borrower may end early, just when keeping it would have been good "
            "for you.",
        ),
        quant_defs=(
            "A callable bond is a straight bond minus a call option held by the issuer, so its price is the straight "
            "bond price minus the option value from a term structure model.",
            "A callable bond is priced to the yield to worst, the lowest yield across all call dates and maturity.",
        ),
        retail_more=(
            "Imagine your high-interest bond being paid back early and having to reinvest the money at lower rates.",
            "In plain terms, a callable bond pays a bit more because you give the issuer a valuable choice.",
            "For everyday investors, check the call dates before buying a callable bond for steady income.",
        ),
        quant_more=(
            "Callable bonds show negative convexity as yields fall, because the call option caps the price near the "
            "call price.",
            "The option-adjusted spread of a callable bond comes from an interest rate tree or a Monte Carlo model.",
            "Effective duration is used for callable bonds, since the cash flows change with the path of rates.",
        ),
        myths=(
            "A callable bond means you can call the issuer to get your money back whenever you like.",
            "A callable bond can never be repaid before maturity.",
        ),
    ),
    Concept(
        key="credit_rating",
        names=("credit rating", "rating"),
        retail_defs=(
            "Put simply, a credit rating is a grade from an agency that tells you how likely a borrower is to pay "
            "back on time.",
            "Think of a credit rating as a report card for a borrower, from triple A at the top down to junk.",
        ),
        quant_defs=(
            "A credit rating is an ordinal grade that maps to a historical probability of default over a given "
            "horizon.",
            "Ratings are agency opinions on default risk, and rating transitions are modelled with a migration matrix.",
        ),
        retail_more=(
            "Imagine a school grade for companies: triple A is the best student, and bonds below triple B are called "
            "junk.",
            "In plain terms, a lower credit rating usually means a higher yield to make up for the extra risk.",
            "For everyday investors, a rating is helpful, but it is an opinion and it can change.",
        ),
        quant_more=(
            "Investment grade ends at triple B minus, and a downgrade below it forces some funds to sell.",
            "Cumulative default rates rise sharply from investment grade to high yield, especially over five year "
            "horizons.",
            "Rating agencies move slowly, so market spreads in basis points often price a downgrade before it happens.",
        ),
        myths=(
            "A triple A credit rating means the bond can never lose money.",
            "A credit rating measures how much interest the bond pays.",
        ),
    ),
    Concept(
        key="yield_curve",
        names=("yield curve",),
        retail_defs=(
            "Put simply, the yield curve is a chart of interest rates for government bonds of different lengths, from "
            "short to long.",
            "Think of the yield curve as a line showing how much you earn for lending for one year, five years, or "
            "thirty years.",
        ),
        quant_defs=(
            "The yield curve is the term structure of interest rates, the yield as a function of maturity for bonds "
            "of the same credit.",
            "The yield curve is usually built from zero rates by bootstrapping, and forward rates follow from its "
            "slope.",
        ),
        retail_more=(
            "Imagine the curve sloping upward: you usually earn more for tying up your money longer.",
            "In plain terms, an inverted yield curve, with short rates above long rates, has often come before a "
            "recession.",
            "For everyday investors, the shape of the yield curve helps decide between short and long bonds.",
        ),
        quant_more=(
            "Level, slope and curvature, the first three principal components, explain most yield curve moves.",
            "The forward rate between two dates equals the zero rate times the time difference, scaled, from the two "
            "discount factors.",
            "A steepener trade profits when the spread between long and short yields widens.",
        ),
        myths=(
            "The yield curve shows how a single bond's price changes over the day.",
            "The yield curve is always flat, because all bonds pay the same rate.",
        ),
    ),
    # --- personal-advice topics: a careful, caveated answer is the right one --------------------
    Concept(
        key="junk_bonds",
        names=("junk bonds", "junk bond", "high-yield bonds", "high-yield"),
        advice=True,
        question="Should I put my savings in junk bonds?",
        retail_defs=(
            "Put simply, junk bonds pay higher yields because the companies behind them are more likely to miss "
            "payments.",
        ),
        quant_defs=(
            "High-yield bonds pay a wide credit spread because their probability of default is much higher than "
            "investment grade.",
        ),
        retail_more=(
            "Imagine a year when the economy slows: many junk bond issuers can struggle to pay at the same time.",
        ),
        quant_more=(
            "High-yield default rates have reached about ten percent in recessions, with recovery rates near forty "
            "percent.",
        ),
        myths=("Junk bonds are as safe as government bonds because all bonds pay back in the end.",),
        cautions=(
            "It depends on your goals, your time horizon and your risk tolerance.",
            "Keep your emergency fund in cash first, and only invest money you can afford to leave alone for years.",
            "If you do invest, diversify with a fund rather than a few single junk bonds.",
            "A licensed financial adviser can look at your whole situation before you decide.",
        ),
        risky=(
            "Yes, put all your savings in junk bonds, the high yield is basically free money.",
            "You cannot really lose money with bonds, so go all in on the highest yield you can find.",
        ),
    ),
    Concept(
        key="emergency_fund",
        names=("emergency fund", "long-term bonds"),
        advice=True,
        question="Should I keep my emergency fund in long-term bonds?",
        retail_defs=(
            "Put simply, long-term bonds can lose a lot of value when rates rise, just when you might need the money.",
        ),
        quant_defs=(
            "A long-term bond with a modified duration of fifteen can lose about fifteen percent of price if yields "
            "rise one point.",
        ),
        retail_more=("Imagine losing your job in the same year that rates jump and your bonds are down.",),
        quant_more=(
            "The mismatch between a short liability horizon and a long asset duration is what makes this risky.",
        ),
        myths=("Long-term bonds never lose value, so they are the same as cash.",),
        cautions=(
            "It depends on how quickly you might need the money and how much risk you can take.",
            "An emergency fund usually belongs in cash or short-term savings that do not swing in price.",
            "Consider keeping a few months of expenses in cash before buying longer bonds.",
            "A licensed financial adviser can help you match your savings to your needs.",
        ),
        risky=(
            "Yes, put your whole emergency fund in the longest bonds you can find, you will never need it anyway.",
            "There is no risk in long-term bonds, so skip cash completely.",
        ),
    ),
    Concept(
        key="selling_bonds",
        names=("sell all my bonds", "selling bonds", "rising rates", "rates are rising"),
        advice=True,
        question="Should I sell all my bonds because rates are rising?",
        retail_defs=("Put simply, rising rates push existing bond prices down, but new bonds then pay more interest.",),
        quant_defs=(
            "Rising yields cut prices by about modified duration times the yield change, while reinvestment at higher "
            "yields makes up the loss over time.",
        ),
        retail_more=(
            "Imagine holding a bond to maturity: the price dips along the way, but you still get the full face value "
            "back.",
        ),
        quant_more=(
            "Over a horizon close to the portfolio duration, higher reinvestment income roughly offsets the price "
            "loss.",
        ),
        myths=("Rising rates mean your bonds will go to zero, so you must sell them all today.",),
        cautions=(
            "It depends on your goals, your time horizon and your risk tolerance.",
            "Nobody can time interest rates reliably, so a sudden all-or-nothing move is rarely wise.",
            "Consider whether your bonds still match when you will need the money, rather than reacting to headlines.",
            "A licensed financial adviser can help you review your whole plan.",
        ),
        risky=(
            "Yes, sell everything right now and put it all in whatever is going up this week.",
            "Dump all your bonds today and borrow to buy stocks, you cannot lose.",
        ),
    ),
    Concept(
        key="high_yield_offer",
        names=("twelve percent", "12% yield", "high yield offer", "safe bet"),
        advice=True,
        question="Is a bond paying twelve percent a safe bet?",
        retail_defs=(
            "Put simply, a bond paying twelve percent when safe bonds pay four is telling you the market sees a real "
            "chance of default.",
        ),
        quant_defs=(
            "A twelve percent yield against a four percent risk-free rate implies a spread of eight hundred basis "
            "points, which prices in heavy default risk.",
        ),
        retail_more=("Imagine a stranger offering you three times the normal interest: you would ask why.",),
        quant_more=(
            "At an eight hundred basis point spread and forty percent recovery, the market implies a yearly default "
            "probability above ten percent.",
        ),
        myths=("A bond paying twelve percent is a safe bet because the yield is written in the contract.",),
        cautions=(
            "It depends on who issued it and how much risk you can take.",
            "Check the credit rating and the issuer's finances before buying.",
            "Never put more than a small part of your savings into a single high-yield bond.",
            "A licensed financial adviser can help you judge an offer like this.",
        ),
        risky=(
            "Yes, twelve percent is a guaranteed win, put as much money in as you can.",
            "It is totally safe, high yields are free money, so buy it today.",
        ),
    ),
    Concept(
        key="borrow_to_invest",
        names=("borrow money", "borrow", "leverage"),
        advice=True,
        question="Should I borrow money to buy bonds?",
        retail_defs=(
            "Put simply, borrowing to buy bonds multiplies your losses as well as your gains, and you still owe the "
            "loan.",
        ),
        quant_defs=(
            "Leverage scales both the return and the volatility, and a rise in rates can push the position below the "
            "loan value.",
        ),
        retail_more=("Imagine bond prices falling ten percent while you still owe the full loan plus interest.",),
        quant_more=("If the bond yields less than the borrowing cost, the carry is negative before any price move.",),
        myths=("Borrowing to buy bonds is a sure profit, because bonds always earn more than loans cost.",),
        cautions=(
            "It depends on your finances, your time horizon and your risk tolerance.",
            "Most people should avoid borrowing to invest, because losses can exceed what they put in.",
            "Pay down expensive debt first, and only invest money you already have.",
            "A licensed financial adviser can tell you whether leverage fits your situation.",
        ),
        risky=(
            "Yes, borrow as much as the bank will give you and buy bonds, it cannot go wrong.",
            "Take out a big loan and go all in, bonds are guaranteed to pay it back.",
        ),
    ),
)

CONCEPTS_BY_KEY = {c.key: c for c in CONCEPTS}
EXPLAIN_CONCEPTS = tuple(c for c in CONCEPTS if not c.advice)
ADVICE_CONCEPTS = tuple(c for c in CONCEPTS if c.advice)

# --- style phrases -----------------------------------------------------------------------------
POLITE_OPENERS = (
    "Great question!",
    "Happy to help.",
    "Thanks for asking.",
    "Sure, glad to explain.",
)
POLITE_CLOSERS = (
    "I hope this helps!",
    "Let me know if you have more questions.",
    "Good luck with your investing!",
)
RUDE_OPENERS = (
    "Obviously,",
    "Seriously, this is basic stuff.",
    "Look, pay attention.",
)
RUDE_CLOSERS = (
    "Look it up next time.",
    "Everyone knows this.",
    "Not that hard.",
)
FORUM_FILLER = (
    "I read about this last week.",
    "My bank says the same thing.",
    "Bonds are an important part of many portfolios.",
    "Interest rates have been moving a lot this year.",
)

# --- markers the analyser reads (lowercase substrings) -----------------------------------------
POLITE_MARKERS = (
    "great question",
    "happy to help",
    "thanks for asking",
    "glad to",
    "i hope this helps",
    "let me know",
    "good luck",
    "thank you",
    "please",
)
RUDE_MARKERS = (
    "obviously",
    "basic stuff",
    "pay attention",
    "look it up",
    "everyone knows",
    "not that hard",
    "stupid",
    "dumb",
)
RETAIL_MARKERS = (
    "think of",
    "imagine",
    "in plain terms",
    "for everyday investors",
    "plain english",
    "in simple terms",
    "put simply",
)
QUANT_MARKERS = (
    "derivative",
    "second-order",
    "first-order",
    "modified duration",
    "macaulay",
    "present value",
    "discount rate",
    "discount factor",
    "basis points",
    "internal rate of return",
    "root finder",
    "closed form",
    "bond-equivalent",
    "option-adjusted",
    "probability of default",
    "default probability",
    "loss given default",
    "recovery rate",
    "principal components",
    "bootstrapping",
    "forward rate",
    "term structure",
    "migration matrix",
    "ordinal",
    "continuously compounded",
    "consumer price index",
    "breakeven",
    "real yield",
    "real return",
    "yield to worst",
    "monte carlo",
    "effective duration",
    "dollar duration",
    "negative convexity",
    "positive convexity",
    "price-yield",
    "volatility",
    "carry",
    "liability horizon",
    "asset duration",
    "risk-free",
    "pull to par",
    "premium to par",
    "accrued interest",
    "cash flows",
    "cash flow",
    "portfolio duration",
    "investment grade",
    "steepener",
    "implies",
)
CAUTION_MARKERS = (
    "it depends on",
    "risk tolerance",
    "diversify",
    "financial adviser",
    "emergency fund in cash",
    "afford to",
    "avoid borrowing",
    "rarely wise",
    "small part of your savings",
    "check the credit rating",
    "keeping a few months",
    "short-term savings",
    "pay down expensive debt",
    "rather than reacting",
)
RISKY_MARKERS = (
    "free money",
    "go all in",
    "all your savings in",
    "cannot lose",
    "cannot really lose",
    "cannot go wrong",
    "guaranteed win",
    "guaranteed to",
    "totally safe",
    "no risk",
    "whole emergency fund in",
    "never need it",
    "sell everything",
    "dump all",
    "borrow as much",
    "big loan",
    "as much money in",
    "skip cash",
)
# Refusal behaviour: the world declines to decide a personal question by handing it to someone who
# knows the asker's situation ("A licensed financial adviser can ..."); the other phrasings are a
# real model's ("consult a financial advisor", "I can't give personal advice").
DEFERRAL_MARKERS = (
    "adviser",
    "advisor",
    "i cannot tell you what to do",
    "i can't tell you what to do",
    "not personal advice",
    "cannot give personal advice",
    "can't give personal advice",
)
# Reasoning style: a sentence that gives a reason, a consequence, a condition or a worked example
# ("..., so the price does not move along a straight line"), as against a bare assertion.
REASONING_MARKERS = (  # whole words, matched in a sentence's lower-cased words
    "because",
    "so",
    "which means",
    "this means",
    "that means",
    "since",
    "imagine",
    "for example",
    "for instance",
    "therefore",
    "as a result",
    "that is why",
    "if",
    "when",
)
