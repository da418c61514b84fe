"""The toy world: deterministic data, an analyser that reads styles back, an honest annotator."""

import random

import pytest

from tutor import TutorError
from tutor.world import (
    PERSONAS,
    GoldAnnotator,
    Style,
    all_prompts,
    analyse,
    candidate_pairs,
    compose,
    get_persona,
    parse_prompt,
    pretraining_corpus,
    prompts_for,
    sft_examples,
)
from tutor.world.answers import random_sft_style
from tutor.world.facts import (
    CAUTION_MARKERS,
    CONCEPTS,
    QUANT_MARKERS,
    RETAIL_MARKERS,
    RISKY_MARKERS,
)


def test_generators_are_deterministic_and_seed_sensitive():
    assert pretraining_corpus(50, seed=3) == pretraining_corpus(50, seed=3)
    assert pretraining_corpus(50, seed=3) != pretraining_corpus(50, seed=4)
    a, b = sft_examples(30, seed=1), sft_examples(30, seed=1)
    assert [x["completion"] for x in a] == [x["completion"] for x in b]
    assert candidate_pairs(20, seed=2) == candidate_pairs(20, seed=2)
    pairs = candidate_pairs(3000, seed=0)
    assert len(set(pairs)) == len(pairs) == 3000  # no pair twice: a labeler would refuse it


def test_train_and_test_prompts_are_disjoint_and_cover_every_concept():
    train, test = prompts_for("train"), prompts_for("test")
    assert not {p.text for p in train} & {p.text for p in test}
    assert {p.concept for p in test} == {c.key for c in CONCEPTS}
    assert {p.text for p in sft_examples(300, split="train") for p in [parse_prompt(p["prompt"])]} <= {
        p.text for p in train
    }


def test_parse_prompt_recovers_concept_audience_and_kind():
    for p in all_prompts():
        q = parse_prompt(p.text)
        assert (q.concept, q.audience, q.kind) == (p.concept, p.audience, p.kind), p.text
    assert parse_prompt("Explain a zero-coupon bond.").concept == "zero_coupon"  # not "coupon"


def test_marker_invariants_of_the_fact_bank():
    """Retail sentences read as retail, quant as quant, cautions as safe, risky as risky."""

    def hits(text, markers):
        return sum(m in text.lower() for m in markers)

    for c in CONCEPTS:
        for s in c.retail_defs + c.retail_more:
            assert hits(s, RETAIL_MARKERS) and not hits(s, QUANT_MARKERS), s
        for s in c.quant_defs + c.quant_more:
            assert hits(s, QUANT_MARKERS) and not hits(s, RETAIL_MARKERS), s
        for s in c.cautions:
            assert hits(s, CAUTION_MARKERS) and not hits(s, RISKY_MARKERS), s
        for s in c.risky:
            assert hits(s, RISKY_MARKERS) and not hits(s, CAUTION_MARKERS), s


def test_analyser_reads_back_the_style_the_generator_wrote():
    rng = random.Random(7)
    prompts = prompts_for("train")
    for _ in range(500):
        p = rng.choice(prompts)
        style = random_sft_style(rng)
        prof = analyse(compose(p, style, rng), p)
        assert (prof.politeness > 0) == (style.politeness == "polite")
        assert (prof.audience > 0) == (style.audience == "quant")
        assert prof.on_topic and prof.myths == 0 and prof.fluent and not prof.degenerate
        if p.kind == "advice":
            assert (prof.safety > 0) == (style.safety == "cautious")


def test_analyser_flags_flaws():
    p = parse_prompt("Explain convexity.")
    rng = random.Random(0)
    wrong = analyse(compose(p, Style(flaw="wrong"), rng), p)
    assert wrong.myths == 1 and wrong.correctness == 0.0
    rude = analyse(compose(p, Style(politeness="rude"), rng), p)
    assert rude.politeness < 0
    loop = analyse(compose(p, Style(flaw="repetitive"), rng), p)
    assert loop.degenerate and loop.repetition > 0.3
    off = analyse(compose(p, Style(flaw="off_topic"), rng), p)
    assert not off.on_topic and off.other_facts >= 1
    assert analyse("", p).degenerate
    risky = analyse(compose(parse_prompt("Should I put my savings in junk bonds?"), Style(safety="risky"), rng))
    assert risky.safety < 0


def test_analyser_tolerates_a_slightly_garbled_copy_of_a_fact():
    garbled = (
        "Convexity describes how a bond's price curve bends as rates change, so the price does not move along a line."
    )
    assert analyse(garbled, "Explain convexity.").facts == 1


def test_empirical_label_accuracy_matches_bayes_accuracy():
    ann = GoldAnnotator("riley", seed=11)
    pairs = candidate_pairs(3000, seed=5)
    agree = sum(ann.label(p, a, b) == int(ann.score(p, a) > ann.score(p, b)) for p, a, b in pairs)
    bayes = ann.bayes_accuracy(pairs)
    assert 0.6 < bayes < 0.99
    assert abs(agree / len(pairs) - bayes) < 0.025  # ~3 standard errors at n = 3000


def test_lower_temperature_means_a_higher_ceiling():
    pairs = candidate_pairs(500, seed=1)
    assert GoldAnnotator("riley", temperature=0.3).bayes_accuracy(pairs) > GoldAnnotator("riley").bayes_accuracy(pairs)
    exact = GoldAnnotator("riley", temperature=0)
    ties = sum(exact.score(p, a) == exact.score(p, b) for p, a, b in pairs) / len(pairs)
    assert exact.bayes_accuracy(pairs) == pytest.approx(1.0 - ties / 2)  # a noiseless judge: only ties are coin flips


def test_personas_disagree_on_style_and_agree_on_what_is_bad():
    riley, quinn = GoldAnnotator("riley"), GoldAnnotator("quinn")
    p = parse_prompt("Explain duration.")
    rng = random.Random(3)
    short_retail = compose(p, Style("polite", "concise", "retail"), rng)
    long_quant = compose(p, Style("curt", "verbose", "quant"), rng)
    assert riley.score(p, short_retail) > riley.score(p, long_quant)
    assert quinn.score(p, long_quant) > quinn.score(p, short_retail)
    for flaw_style in (Style(flaw="wrong"), Style(politeness="rude"), Style(flaw="repetitive")):
        bad = compose(p, flaw_style, rng)
        for ann, good in ((riley, short_retail), (quinn, long_quant)):
            assert ann.score(p, good) > ann.score(p, bad)
    advice = parse_prompt("Should I borrow money to buy bonds?")
    for ann in (riley, quinn):
        careful = compose(advice, Style("curt", "concise", "retail", "cautious"), rng)
        reckless = compose(advice, Style("curt", "concise", "retail", "risky"), rng)
        assert ann.score(advice, careful) > ann.score(advice, reckless)


def test_a_stated_audience_overrides_the_persona_lean():
    riley = GoldAnnotator("riley")
    p = parse_prompt("Explain convexity for a quant.")
    rng = random.Random(2)
    quant = compose(p, Style("polite", "concise", "quant"), rng)
    retail = compose(p, Style("polite", "concise", "retail"), rng)
    assert riley.score(p, quant) > riley.score(p, retail)


def test_scores_any_text():
    score = GoldAnnotator("quinn").score("Explain convexity.", "I like turtles very much, they are green.")
    assert isinstance(score, float)


def test_bad_input_is_one_clear_sentence():
    with pytest.raises(TutorError, match="Unknown persona 'bob'; choose one of: riley, quinn"):
        GoldAnnotator("bob")
    with pytest.raises(TutorError, match="Unknown persona setting"):
        get_persona("riley").with_(kindness=2)
    with pytest.raises(TutorError, match="Unknown attribute"):
        from tutor.world.analyser import check_attribute

        check_attribute("funniness")
    with pytest.raises(TutorError, match="temperature"):
        GoldAnnotator("riley", temperature=-1)
    assert set(PERSONAS) == {"riley", "quinn"}


def test_analyser_reads_refusal_behaviour_and_reasoning_style():
    """Deferral: the adviser sentence among the world's caveats, or a real model's phrasing of it;
    reasoning: the share of sentences that give a reason, condition or example, word for word."""
    advice = parse_prompt("Should I put my savings in junk bonds?")
    junk = next(c for c in CONCEPTS if c.key == "junk_bonds")
    adviser = next(s for s in junk.cautions if "adviser" in s)
    others = [s for s in junk.cautions if "adviser" not in s]
    assert analyse(" ".join([others[0], junk.retail_defs[0], adviser]), advice).defers
    assert not analyse(" ".join([others[0], junk.retail_defs[0], others[1]]), advice).defers
    assert analyse("Please consult a financial advisor first.").defers
    assert analyse("I can't tell you what to do with your savings.").defers
    assert not analyse(" ".join(junk.risky)).defers

    stepwise = analyse("Duration is a number. If rates rise, prices fall. So long bonds fall most, because of time.")
    assert stepwise.reasoning == pytest.approx(2 / 3)  # "If ...", "So ..., because ..."; not the first
    assert analyse("Duration is a number. It is measured in years.").reasoning == 0.0
    assert analyse("Also, the motif is solid.").reasoning == 0.0  # "so" and "if" only as whole words
    # Both styles are in the SFT data, so training can move the share either way.
    readings = [analyse(x["completion"], x["prompt"]).reasoning for x in sft_examples(300)]
    assert min(readings) == 0.0 and max(readings) == 1.0 and 0.2 < sum(readings) / len(readings) < 0.6


def test_only_the_reviewer_rewards_deferral():
    """Riley and Quinn take no view on deferral beyond the caveat it is (their labels are the
    course's, unchanged); Casey, the compliance reviewer, prefers the answer that hands the decision
    to an adviser when all else is equal."""
    advice = parse_prompt("Should I put my savings in junk bonds?")
    junk = next(c for c in CONCEPTS if c.key == "junk_bonds")
    adviser = next(s for s in junk.cautions if "adviser" in s)
    other = next(s for s in junk.cautions[1:] if "adviser" not in s)
    body = [junk.cautions[0], junk.retail_defs[0]]
    defers, caveats = " ".join([*body, adviser]), " ".join([*body, other])
    assert analyse(defers, advice).safety == analyse(caveats, advice).safety  # both are caveats
    for name in PERSONAS:
        judge = get_persona(name)
        assert judge.deferral == 0.0
    casey = GoldAnnotator("casey")
    gap = casey.score(advice, defers) - casey.score(advice, caveats)  # both within Casey's length range
    assert gap == pytest.approx(casey.persona.deferral) and gap > 0


def test_quinn_wants_the_why_and_riley_takes_no_view():
    """Of two answers alike but for a reason given, Quinn gains by the weight on the share of
    sentences that explain; Riley and Casey have no such weight."""
    p = parse_prompt("Explain convexity.")
    convexity = next(c for c in CONCEPTS if c.key == "convexity")
    bare = "Convexity is the second derivative of the bond price with respect to yield, divided by the price."
    assert bare in convexity.quant_defs
    because = next(s for s in convexity.quant_more if " so " in s)
    asserted = next(s for s in convexity.quant_more if not analyse(s).reasoning)
    explains, states = analyse(f"{bare} {because}", p), analyse(f"{bare} {asserted}", p)
    assert explains.reasoning > states.reasoning
    quinn = GoldAnnotator("quinn")
    gap = quinn.score(p, f"{bare} {because}") - quinn.score(p, f"{bare} {asserted}")
    length_only = get_persona("quinn").with_(reasoning=0.0)
    neutral = GoldAnnotator(length_only).score(p, f"{bare} {because}") - GoldAnnotator(length_only).score(
        p, f"{bare} {asserted}"
    )
    assert gap > neutral
    assert gap - neutral == pytest.approx(quinn.persona.reasoning * (explains.reasoning - states.reasoning))
    assert get_persona("riley").reasoning == 0.0 == get_persona("casey").reasoning
