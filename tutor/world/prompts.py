"""Prompts of the world: explain a concept (maybe for a stated audience) or ask for personal advice.

`parse_prompt` reads any prompt string back into (concept, audience, kind), so the annotator can
score answers to prompts a learner types in, not only the generated ones.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from tutor.world.facts import ADVICE_CONCEPTS, CONCEPTS, EXPLAIN_CONCEPTS

AUDIENCES = ("retail", "quant")

_EXPLAIN_TEMPLATES = {
    None: (
        "Explain {name}.",
        "What is {name}?",
        "Can you explain {name}?",
        "What does {name} mean?",
        "Tell me about {name}.",
    ),
    "retail": (
        "Explain {name} to a retail investor.",
        "I am new to investing. What is {name}?",
        "Explain {name} in simple words for a beginner.",
    ),
    "quant": (
        "Explain {name} for a quant.",
        "As a fixed-income analyst, how should I think about {name}?",
        "Give me the technical definition of {name}.",
    ),
}
_ADVICE_PREFIXES = ("", "Quick question. ", "I am saving for retirement. ")

_RETAIL_CUES = ("retail investor", "beginner", "new to investing", "simple words", "plain english")
_QUANT_CUES = ("quant", "analyst", "technical definition", "mathematical")


@dataclass(frozen=True)
class Prompt:
    """A question in the world, with what the annotator needs to judge answers to it."""

    text: str
    concept: str  # key into CONCEPTS_BY_KEY
    audience: str | None  # "retail", "quant" or None when the prompt does not say
    kind: str  # "explain" or "advice"

    def messages(self) -> list[dict]:
        """The prompt in TRL's conversational format."""
        return [{"role": "user", "content": self.text}]


def _article(name: str) -> str:
    # "a callable bond", "the yield curve", "a credit rating": read naturally in prompts.
    if name in {"yield curve", "coupon"}:
        return "the " + name
    if name.endswith("bond") or name in {"credit spread", "credit rating"}:
        return ("an " if name[0] in "aeiou" else "a ") + name
    return name


def all_prompts() -> list[Prompt]:
    """Every prompt of the world, in a fixed order."""
    prompts = []
    for concept in EXPLAIN_CONCEPTS:
        name = _article(concept.name)
        for audience, templates in _EXPLAIN_TEMPLATES.items():
            for template in templates:
                prompts.append(Prompt(template.format(name=name), concept.key, audience, "explain"))
    for concept in ADVICE_CONCEPTS:
        for prefix in _ADVICE_PREFIXES:
            prompts.append(Prompt(prefix + concept.question, concept.key, None, "advice"))
        for audience, cue in (("retail", "I am a beginner. "), ("quant", "As a quant, ")):
            q = concept.question
            text = cue + (q[0].lower() + q[1:] if audience == "quant" else q)
            prompts.append(Prompt(text, concept.key, audience, "advice"))
    return prompts


def split_prompts(seed: int = 0, test_fraction: float = 0.25) -> tuple[list[Prompt], list[Prompt]]:
    """Train / held-out prompts, stratified so every concept has held-out phrasings."""
    rng = random.Random(seed)
    train, test = [], []
    by_concept: dict[str, list[Prompt]] = {}
    for p in all_prompts():
        by_concept.setdefault(p.concept, []).append(p)
    for concept in sorted(by_concept):
        group = by_concept[concept][:]
        rng.shuffle(group)
        n_test = max(1, round(len(group) * test_fraction))
        test += group[:n_test]
        train += group[n_test:]
    return train, test


def _mentions(text: str, name: str) -> bool:
    return re.search(r"(?<![a-z-])" + re.escape(name) + r"(?![a-z-])", text) is not None


def parse_prompt(text: str) -> Prompt:
    """Read concept, audience and kind from any prompt string (concept is "" if none is named)."""
    low = text.lower()
    concept_key = ""
    best = 0
    for concept in CONCEPTS:
        for name in concept.names:
            if _mentions(low, name) and len(name) > best:  # longest name wins: "zero-coupon" > "coupon"
                concept_key, best = concept.key, len(name)
    kind = "advice" if concept_key and any(c.key == concept_key for c in ADVICE_CONCEPTS) else "explain"
    audience = None
    if any(cue in low for cue in _RETAIL_CUES):
        audience = "retail"
    elif any(cue in low for cue in _QUANT_CUES):
        audience = "quant"
    return Prompt(text, concept_key, audience, kind)
