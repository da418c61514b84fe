"""Write answers in a chosen style: the generator behind SFT data, candidates and forum text.

A `Style` fixes the seed's attributes: politeness, length, audience, safety (advice only) and
correctness. `compose` turns (prompt, style) into text; the same text read by the analyser gives the
style back, which is what lets the course measure "what RL fine-tuning actually changed".
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from tutor.world.facts import (
    CONCEPTS_BY_KEY,
    EXPLAIN_CONCEPTS,
    POLITE_CLOSERS,
    POLITE_OPENERS,
    RUDE_CLOSERS,
    RUDE_OPENERS,
)
from tutor.world.prompts import Prompt

POLITENESS = ("polite", "curt", "rude")
LENGTHS = ("concise", "verbose")
SAFETY = ("cautious", "direct", "risky")
FLAWS = (None, "wrong", "off_topic", "repetitive", "truncated")


@dataclass(frozen=True)
class Style:
    """How an answer is written. SFT answers vary only in politeness (polite/curt), length,
    audience and, for advice, caution (cautious/direct); flaws appear only in candidates."""

    politeness: str = "curt"
    length: str = "concise"
    audience: str = "retail"
    safety: str = "cautious"
    flaw: str | None = None


def random_sft_style(rng: random.Random) -> Style:
    """A correct, on-topic style, varied along the dimensions preference learning chooses between."""
    return Style(
        politeness=rng.choice(("polite", "curt")),
        length=rng.choice(LENGTHS),
        audience=rng.choice(("retail", "quant")),
        safety=rng.choice(("cautious", "direct")),
    )


def random_candidate_style(rng: random.Random) -> Style:
    """Mixed quality: mostly good styles, some rude, wrong, risky, off-topic or degenerate answers."""
    style = random_sft_style(rng)
    if rng.random() < 0.12:
        style = replace(style, politeness="rude")
    if rng.random() < 0.25:
        style = replace(style, safety="risky")
    r = rng.random()
    flaw = (
        "wrong"
        if r < 0.12
        else "off_topic"
        if r < 0.17
        else "repetitive"
        if r < 0.21
        else "truncated"
        if r < 0.24
        else None
    )
    return replace(style, flaw=flaw)


def _facts(concept, audience: str, rng: random.Random, verbose: bool) -> list[str]:
    defs = concept.retail_defs if audience == "retail" else concept.quant_defs
    more = concept.retail_more if audience == "retail" else concept.quant_more
    sentences = [rng.choice(defs)]
    if verbose:
        k = min(len(more), rng.choice((2, 3)))
        sentences += rng.sample(list(more), k)
    return sentences


def compose(prompt: Prompt, style: Style, rng: random.Random) -> str:
    """Write an answer to `prompt` in `style` (deterministic for a given rng state)."""
    concept = CONCEPTS_BY_KEY[prompt.concept]
    verbose = style.length == "verbose"
    body: list[str]
    if style.flaw == "off_topic":
        other = rng.choice([c for c in EXPLAIN_CONCEPTS if c.key != concept.key])
        body = _facts(other, style.audience, rng, verbose)
    else:
        body = _facts(concept, style.audience, rng, verbose)
        if style.flaw == "wrong":
            body[0] = rng.choice(concept.myths)
    if concept.advice:
        if style.safety == "cautious":
            n = 2 if verbose else 1
            cautions = [concept.cautions[0]] + rng.sample(list(concept.cautions[1:]), n)
            body = [cautions[0]] + body + cautions[1:]
        elif style.safety == "risky":
            body = [rng.choice(concept.risky)] + body[: 1 if not verbose else 2]
    elif style.safety == "risky" and rng.random() < 0.5:
        # A reckless aside now and then even in explanations: "... so go all in."
        body.append(rng.choice(CONCEPTS_BY_KEY["junk_bonds"].risky))

    opener: list[str] = []
    closer: list[str] = []
    if style.politeness == "polite":
        opener = [rng.choice(POLITE_OPENERS)]
        if verbose or rng.random() < 0.5:
            closer = [rng.choice(POLITE_CLOSERS)]
    elif style.politeness == "rude":
        first = rng.choice(RUDE_OPENERS)
        if first.endswith(","):  # "Obviously, convexity is ..."
            body = [first + " " + body[0][0].lower() + body[0][1:]] + body[1:]
        else:
            opener = [first]
        closer = [rng.choice(RUDE_CLOSERS)]
    sentences = opener + body + closer
    text = " ".join(sentences)
    if style.flaw == "repetitive":
        text = " ".join(sentences + [body[0]] * rng.choice((3, 4, 5)))
    elif style.flaw == "truncated":
        words = text.split()
        text = " ".join(words[: max(3, len(words) // 3)])
    return text
