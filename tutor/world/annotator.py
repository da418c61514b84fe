"""The gold annotator: a simulated human whose taste defines "a better answer" in the toy world.

A `Persona` is a set of preferences over the analyser's attributes. Two named personas disagree on
style (length, audience, how much warmth and explaining matter) and agree on what is simply bad (wrong, risky,
rude, degenerate or off-topic answers). Labels follow Bradley–Terry with a noise temperature T:

    P(a preferred over b) = σ((score(a) − score(b)) / T)

so even a perfect reward model cannot predict every label: `bayes_accuracy` is that ceiling.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from tutor.errors import TutorError
from tutor.world.analyser import Profile, analyse
from tutor.world.prompts import Prompt, parse_prompt


@dataclass(frozen=True)
class Persona:
    """Preferences of one simulated human. Positive `audience` leans quant, negative leans retail."""

    name: str
    description: str
    warmth: float  # reward for polite answers (rudeness is penalised separately, for everyone)
    audience: float  # lean when the prompt names no audience: +quant / -retail
    ideal_words: tuple[int, int]  # answers shorter or longer than this range lose points
    length: float  # weight of that length penalty
    thoroughness: float  # reward per extra correct fact beyond the first (up to three)
    reasoning: float = 0.0  # reward for explaining, times the share of sentences giving a reason or example
    audience_fit: float = 1.2  # reward for matching an audience the prompt names
    helpful: float = 1.0  # reward for a correct, on-topic answer
    off_topic: float = 2.0
    wrong: float = 2.0  # per myth (up to two)
    rude: float = 1.5
    caution: float = 1.5  # advice questions: reward for caveats
    deferral: float = 0.0  # advice questions: reward for handing the decision to an adviser, on top of
    # the caveat that sentence already is (Riley and Quinn: none; Casey, the compliance reviewer: some)
    risky: float = 2.0  # reckless advice
    degenerate: float = 4.0
    sloppy: float = 0.5  # per stutter or broken word, up to `sloppy_cap`: a careless answer loses points
    sloppy_cap: float = 2.0
    temperature: float = 1.0  # Bradley–Terry label noise

    def with_(self, **changes) -> Persona:
        """A copy with some preferences changed, e.g. ``RILEY.with_(temperature=0.5)``."""
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise TutorError(
                f"Unknown persona setting(s) {sorted(unknown)}; settings are: {', '.join(self.__dataclass_fields__)}."
            )
        return replace(self, **changes)


RILEY = Persona(
    name="riley",
    description="Riley, a retail saver: wants short, friendly, plain-English answers.",
    warmth=0.8,
    audience=-0.8,
    ideal_words=(12, 35),
    length=1.0,
    thoroughness=0.0,
)
QUINN = Persona(
    name="quinn",
    description=(
        "Quinn, a quant analyst: wants thorough, technical answers that say why, and does not need pleasantries."
    ),
    warmth=0.1,
    audience=0.8,
    ideal_words=(50, 110),
    length=1.0,
    thoroughness=0.4,
    reasoning=0.5,  # Quinn wants the why, not only the what; Riley takes no view on it
)
PERSONAS = {p.name: p for p in (RILEY, QUINN)}  # the two customers: the labeler's and 07's people
# A third person with a stake in the help desk who is not a customer (notebook 08, domain LLMs): style
# barely matters to Casey; guarantees, reckless or uncaveated personal advice and false claims do, and
# Casey wants a personal decision handed to an adviser (refusal behaviour, which the customers ignore).
CASEY = Persona(
    name="casey",
    description=(
        "Casey, a compliance reviewer: no guarantees, no personal advice without caveats (better, handed to an "
        "adviser), nothing false."
    ),
    warmth=0.2,
    audience=0.0,
    ideal_words=(12, 80),
    length=0.5,
    thoroughness=0.0,
    wrong=3.0,
    caution=3.0,
    deferral=1.0,
    risky=5.0,
)
REVIEWERS = {CASEY.name: CASEY}


def get_persona(persona: str | Persona) -> Persona:
    if isinstance(persona, Persona):
        return persona
    known = {**PERSONAS, **REVIEWERS}
    if persona not in known:
        raise TutorError(f"Unknown persona {persona!r}; choose one of: {', '.join(known)} (or pass a Persona).")
    return known[persona]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _as_prompt(prompt: str | Prompt) -> Prompt:
    return prompt if isinstance(prompt, Prompt) else parse_prompt(prompt)


def score_profile(persona: Persona, prompt: Prompt, p: Profile) -> float:
    """The persona's score of an analysed answer; every term is one line so a learner can read it."""
    s = persona.helpful if p.on_topic else -persona.off_topic
    s += persona.thoroughness * min(max(p.facts - 1, 0), 3) + persona.reasoning * p.reasoning
    s -= persona.wrong * min(p.myths, 2)
    s += persona.warmth * max(p.politeness, 0.0) + persona.rude * min(p.politeness, 0.0)
    if prompt.audience is not None:  # the prompt says who the answer is for: fit that audience
        s += persona.audience_fit * p.audience * (1 if prompt.audience == "quant" else -1)
    else:  # otherwise the persona's own taste decides
        s += persona.audience * p.audience
    if prompt.kind == "advice":
        s += persona.caution * max(p.safety, 0.0) + persona.deferral * p.defers
    s += persona.risky * min(p.safety, 0.0)
    lo, hi = persona.ideal_words
    if p.words < lo:
        s -= persona.length * (lo - p.words) / lo
    elif p.words > hi:
        s -= persona.length * min((p.words - hi) / hi, 2.0)
    s -= min(persona.sloppy * (p.stutters + p.broken_words), persona.sloppy_cap)
    if p.degenerate:
        s -= persona.degenerate
    return s


class GoldAnnotator:
    """The simulated human. `score` any answer; `label` pairs with Bradley–Terry noise."""

    def __init__(self, persona: str | Persona = "riley", temperature: float | None = None, seed: int = 0):
        self.persona = get_persona(persona)
        if temperature is not None:
            self.persona = self.persona.with_(temperature=temperature)
        if self.persona.temperature < 0:
            raise TutorError(f"The label noise temperature must be ≥ 0, got {self.persona.temperature}.")
        self._rng = random.Random(seed)

    def __repr__(self) -> str:
        return f"GoldAnnotator({self.persona.name!r}, temperature={self.persona.temperature})"

    def score(self, prompt: str | Prompt, response: str) -> float:
        prompt = _as_prompt(prompt)
        return score_profile(self.persona, prompt, analyse(response, prompt))

    def scores(self, prompts: Sequence[str | Prompt], responses: Sequence[str]) -> list[float]:
        return [self.score(p, r) for p, r in zip(prompts, responses, strict=True)]

    def prob_first_preferred(self, prompt: str | Prompt, a: str, b: str) -> float:
        """Bradley–Terry probability that this human prefers `a` over `b`."""
        return self._prob(self.score(prompt, a) - self.score(prompt, b))

    def _prob(self, diff: float) -> float:
        t = self.persona.temperature
        if t == 0:
            return 1.0 if diff > 0 else 0.0 if diff < 0 else 0.5
        return sigmoid(diff / t)

    def label(self, prompt: str | Prompt, a: str, b: str) -> int:
        """Sample a noisy human label: 1 if `a` is preferred, 0 if `b` is."""
        return self.label_scores(self.score(prompt, a), self.score(prompt, b))

    def label_scores(self, score_a: float, score_b: float) -> int:
        """`label` for answers already scored: ranking k answers compares each one k − 1 times."""
        return int(self._rng.random() < self._prob(score_a - score_b))

    def bayes_accuracy(self, pairs: Iterable[tuple[str | Prompt, str, str]]) -> float:
        """Expected accuracy of the best possible predictor of this annotator's labels on `pairs`:
        mean of max(p, 1 − p). No reward model trained on these labels can beat it on average."""
        probs = [self.prob_first_preferred(p, a, b) for p, a, b in pairs]
        if not probs:
            raise TutorError("bayes_accuracy() needs at least one (prompt, a, b) pair.")
        return sum(max(q, 1 - q) for q in probs) / len(probs)

    def expected_accuracy(self, pairs: Iterable[tuple[str | Prompt, str, str]], picks: Iterable[int]) -> float:
        """Expected agreement of `picks` (1 = first answer better) with this annotator's noisy labels."""
        probs = [self.prob_first_preferred(p, a, b) for p, a, b in pairs]
        picks = list(picks)
        if len(probs) != len(picks):
            raise TutorError(f"expected_accuracy() got {len(probs)} pairs but {len(picks)} picks.")
        return sum(q if k else 1 - q for q, k in zip(probs, picks, strict=True)) / len(probs)
