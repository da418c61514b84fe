"""Seeded, deterministic text of the world: pretraining documents, SFT pairs, candidate answers.

Same seed, same text, on every machine: the course's numbers are reproducible because its data is.
"""

from __future__ import annotations

import random

from tutor.errors import TutorError
from tutor.world.answers import Style, compose, random_candidate_style, random_sft_style
from tutor.world.facts import EXPLAIN_CONCEPTS, FORUM_FILLER
from tutor.world.prompts import Prompt, split_prompts


def completion_prompt(text: str) -> str:
    """How a *base* model is asked a question: as the start of a forum post it should continue."""
    return f"Question: {text}\nAnswer:"


def prompts_for(split: str) -> list[Prompt]:
    train, test = split_prompts(seed=0)  # the split never moves with the data seed
    if split == "train":
        return train
    if split == "test":
        return test
    raise TutorError(f"Unknown split {split!r}; use 'train' or 'test'.")


def _glossary_article(rng: random.Random) -> str:
    c = rng.choice(EXPLAIN_CONCEPTS)
    facts = list(c.retail_defs + c.quant_defs + c.retail_more + c.quant_more)
    rng.shuffle(facts)
    title = c.name[0].upper() + c.name[1:]
    return f"{title}. " + " ".join(facts[: rng.randint(3, 6)])


def _forum_thread(rng: random.Random, prompts: list[Prompt]) -> str:
    lines = []
    for _ in range(rng.randint(1, 3)):
        p = rng.choice(prompts)
        lines.append(f"Question: {p.text}")
        for _ in range(rng.randint(1, 3)):
            answer = compose(p, random_candidate_style(rng), rng)
            if rng.random() < 0.1:
                answer = rng.choice(FORUM_FILLER) + " " + answer
            lines.append(f"Answer: {answer}")
    return "\n".join(lines)


def pretraining_corpus(n_docs: int = 4000, seed: int = 0) -> list[str]:
    """Documents the base model learns the world's language from: glossary articles and forum
    threads whose answers are of mixed quality (wrong, rude, risky ones included, as on the web)."""
    rng = random.Random(seed)
    prompts = prompts_for("train")
    return [_glossary_article(rng) if rng.random() < 0.35 else _forum_thread(rng, prompts) for _ in range(n_docs)]


def sft_examples(n: int = 2000, seed: int = 0, split: str = "train") -> list[dict]:
    """Prompt → ideal answer pairs: always correct and on-topic, deliberately varied in style."""
    rng = random.Random(seed)
    prompts = prompts_for(split)
    out = []
    for _ in range(n):
        p = rng.choice(prompts)
        style = random_sft_style(rng)
        out.append({"prompt": p.text, "completion": compose(p, style, rng), "style": style})
    return out


def candidate_pairs(n: int = 1000, seed: int = 0, split: str = "train") -> list[tuple[str, str, str]]:
    """(prompt, answer_a, answer_b) pairs of mixed quality — what a human is asked to compare."""
    rng = random.Random(seed)
    prompts = prompts_for(split)
    pairs: dict[tuple[str, str, str], None] = {}  # ordered set: a pair never appears twice
    while len(pairs) < n:
        p = rng.choice(prompts)
        a = compose(p, random_candidate_style(rng), rng)
        b = compose(p, random_candidate_style(rng), rng)
        if a != b and (p.text, b, a) not in pairs:
            pairs[(p.text, a, b)] = None
    return list(pairs)


def ideal_style(prompt: Prompt, persona_audience: float, concise: bool) -> Style:
    """The style a persona likes best for `prompt` (used to show the seed's 'Answer A / Answer B')."""
    audience = prompt.audience or ("quant" if persona_audience > 0 else "retail")
    return Style(
        politeness="polite" if concise else "curt",
        length="concise" if concise else "verbose",
        audience=audience,
        safety="cautious",
    )
