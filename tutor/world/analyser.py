"""Measure any text for the seed's attributes: politeness, length, audience, safety, refusal
behaviour, reasoning style, correctness, topic and degeneracy.

These numbers are what the course plots as "what RL fine-tuning actually changed". Style attributes
come from marker phrases, so they work on any English text (including a real model's output);
correctness and topic come from matching sentences against the world's facts and myths, fuzzily, so
a tiny model's slightly garbled copy of a fact still counts.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache

from tutor.errors import TutorError
from tutor.world.facts import (
    CAUTION_MARKERS,
    CONCEPTS,
    DEFERRAL_MARKERS,
    FORUM_FILLER,
    POLITE_CLOSERS,
    POLITE_MARKERS,
    POLITE_OPENERS,
    QUANT_MARKERS,
    REASONING_MARKERS,
    RETAIL_MARKERS,
    RISKY_MARKERS,
    RUDE_CLOSERS,
    RUDE_MARKERS,
    RUDE_OPENERS,
)
from tutor.world.prompts import Prompt, parse_prompt

FUZZY_MATCH = 0.5  # word-bigram Jaccard above which a sentence counts as a copy of a known one
# Garbage a collapsed policy writes ("push the the the the face value", run-on text, broken words):
MAX_STUTTERS = 1  # immediate word repeats ("the the") allowed before the answer counts as degenerate
MIN_BROKEN = 3  # broken words needed to call an answer degenerate: max(MIN_BROKEN, BROKEN_SHARE of its words)
BROKEN_SHARE = 0.1
KNOWN_FOR_BROKEN = 0.5  # broken words are counted only in text that is mostly world words
MAX_SENTENCE = 48  # words; the world's longest sentence has fewer, a run-on answer has more

_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_CLAUSE = re.compile(r"[.,;:!?]")


@dataclass(frozen=True)
class Profile:
    """The analyser's reading of one answer. Scales: politeness -1 (rude) .. +1 (polite);
    audience -1 (retail) .. +1 (quant); safety -1 (risky) .. +1 (caveated)."""

    words: int
    sentences: int
    politeness: float
    audience: float
    safety: float
    defers: bool  # hands a personal decision to an adviser (the world's refusal behaviour)
    reasoning: float  # share of sentences giving a reason, consequence, condition or example
    facts: int  # true sentences about the asked concept
    myths: int  # false sentences (any concept)
    other_facts: int  # true sentences about some other concept
    correctness: float  # facts / (facts + myths); 0 when the answer states nothing checkable
    on_topic: bool
    topic: str  # the concept most of the answer is about ("" if none)
    repetition: float  # 0 = every word trigram distinct, 1 = one trigram over and over
    vocab_rate: float  # share of words from the world's vocabulary
    known_rate: float  # share of sentences that are (fuzzy) copies of world sentences
    stutters: int  # immediate word repeats, "the the"
    broken_words: int  # words outside the world's vocabulary, in text that is mostly world words
    longest_sentence: int  # words in the longest sentence
    degenerate: bool  # empty, looping, stuttering, broken or run-on
    fluent: bool  # well-formed world text: not degenerate, world words, mostly known sentences

    def as_dict(self) -> dict:
        return asdict(self)


ATTRIBUTES = tuple(Profile.__dataclass_fields__)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _bigrams(words: list[str]) -> frozenset:
    return frozenset(zip(words, words[1:], strict=False)) if len(words) > 1 else frozenset(words)


def split_sentences(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _SENT_SPLIT.split(text.strip())) if s]


@lru_cache(maxsize=1)
def _bank() -> tuple[list[tuple[frozenset, str, str]], dict[str, tuple[str, str]], frozenset]:
    """Every world sentence with its label (concept key, kind) and the world vocabulary."""
    rows: list[tuple[str, str, str]] = []
    for c in CONCEPTS:
        for s in c.retail_defs + c.quant_defs + c.retail_more + c.quant_more:
            rows.append((s, c.key, "fact"))
        rows += [(s, c.key, "myth") for s in c.myths]
        rows += [(s, c.key, "caution") for s in c.cautions]
        rows += [(s, c.key, "risky") for s in c.risky]
    for s in POLITE_OPENERS + POLITE_CLOSERS + RUDE_OPENERS + RUDE_CLOSERS + FORUM_FILLER:
        rows.append((s, "", "style"))
    from tutor.world.prompts import all_prompts

    rows += [(p.text, p.concept, "prompt") for p in all_prompts()]
    exact = {" ".join(_words(s)): (key, kind) for s, key, kind in rows}
    fuzzy = [(_bigrams(_words(s)), key, kind) for s, key, kind in rows]
    vocab = {w for s, _, _ in rows for w in _words(s)} | {"question", "answer"}
    return fuzzy, exact, frozenset(vocab)


def _label(sentence: str) -> tuple[str, str] | None:
    fuzzy, exact, _ = _bank()
    words = _words(sentence)
    if words and words[0] in ("question", "answer"):  # forum markers in a base model's text
        words = words[1:]
    key = " ".join(words)
    if key in exact:
        return exact[key]
    grams = _bigrams(words)
    if not grams:
        return None
    best, label = 0.0, None
    for other, concept, kind in fuzzy:
        inter = len(grams & other)
        if inter:
            j = inter / len(grams | other)
            if j > best:
                best, label = j, (concept, kind)
    return label if best >= FUZZY_MATCH else None


def _count(text: str, markers: tuple[str, ...]) -> int:
    return sum(text.count(m) for m in markers)


def _gives_reason(sentence: str) -> bool:
    padded = f" {' '.join(_words(sentence))} "
    return any(f" {m} " in padded for m in REASONING_MARKERS)


def _repetition(words: list[str]) -> float:
    if len(words) < 4:
        return 0.0
    trigrams = list(zip(words, words[1:], words[2:], strict=False))
    return 1.0 - len(set(trigrams)) / len(trigrams)


def _stutters(text: str) -> int:
    """Immediate word repeats inside a clause: "the the" counts, "... duration. Duration is" does not."""
    count = 0
    for clause in _CLAUSE.split(text.lower()):
        words = _WORD.findall(clause)
        count += sum(a == b for a, b in zip(words, words[1:], strict=False))
    return count


def _broken_words(words: list[str], vocab: frozenset) -> int:
    """Words the world never uses, counted only when most words are the world's: a tiny model's
    broken word ("convexi", "durationn") is noise in world text, while a real model's English is not."""
    unknown = sum(w not in vocab for w in words)
    return unknown if words and 1 - unknown / len(words) >= KNOWN_FOR_BROKEN else 0


def analyse(text: str, prompt: str | Prompt | None = None) -> Profile:
    """Measure `text` (any string) as an answer to `prompt` (optional: sets what "on topic" means)."""
    if not isinstance(text, str):
        raise TutorError(f"analyse() measures text: got {type(text).__name__}, expected a string.")
    if isinstance(prompt, str):
        prompt = parse_prompt(prompt)
    low = text.lower()
    words = _words(text)
    sentences = split_sentences(text)
    polite, rude = _count(low, POLITE_MARKERS), _count(low, RUDE_MARKERS)
    retail, quant = _count(low, RETAIL_MARKERS), _count(low, QUANT_MARKERS)
    caution, risky = _count(low, CAUTION_MARKERS), _count(low, RISKY_MARKERS)

    per_concept: dict[str, int] = {}
    myths = known = 0
    for s in sentences:
        label = _label(s)
        if label is None:
            continue
        known += 1
        concept, kind = label
        if kind == "myth":
            myths += 1
        elif kind == "fact":
            per_concept[concept] = per_concept.get(concept, 0) + 1
    topic = max(per_concept, key=lambda k: per_concept[k]) if per_concept else ""
    asked = prompt.concept if prompt is not None and prompt.concept else topic
    facts = per_concept.get(asked, 0)
    other = sum(per_concept.values()) - facts

    reasons = sum(_gives_reason(s) for s in sentences)
    _, _, vocab = _bank()
    vocab_rate = sum(w in vocab for w in words) / len(words) if words else 0.0
    repetition = _repetition(words)
    known_rate = known / len(sentences) if sentences else 0.0
    stutters = _stutters(text)
    broken = _broken_words(words, vocab)
    longest = max((len(_words(s)) for s in sentences), default=0)
    # Degenerate means empty, looping, stuttering, broken or run-on, for any model; text outside the
    # world's vocabulary (a real model's English) is not degenerate, only not *world* text (see `fluent`).
    degenerate = (
        len(words) < 3
        or repetition > 0.3
        or stutters > MAX_STUTTERS
        or broken >= max(MIN_BROKEN, BROKEN_SHARE * len(words))
        or longest > MAX_SENTENCE
    )
    return Profile(
        words=len(words),
        sentences=len(sentences),
        politeness=(min(polite, 2) - min(rude, 2)) / 2,
        audience=(quant - retail) / (quant + retail) if quant + retail else 0.0,
        safety=max(-1.0, min(1.0, (min(caution, 2) - 2 * min(risky, 2)) / 2)),
        defers=any(m in low for m in DEFERRAL_MARKERS),
        reasoning=reasons / len(sentences) if sentences else 0.0,
        facts=facts,
        myths=myths,
        other_facts=other,
        correctness=facts / (facts + myths) if facts + myths else 0.0,
        on_topic=facts >= 1 and facts >= other,
        topic=topic,
        repetition=repetition,
        vocab_rate=vocab_rate,
        known_rate=known_rate,
        stutters=stutters,
        broken_words=broken,
        longest_sentence=longest,
        degenerate=degenerate,
        fluent=not degenerate and vocab_rate >= 0.9 and known_rate >= 0.5,
    )


def profile_table(texts: list[str], prompts: list[str | Prompt] | None = None) -> dict[str, float]:
    """Average attribute profile of many answers (booleans become rates) — one row of a chart."""
    if not texts:
        raise TutorError("profile_table() needs at least one text to average.")
    prompts = prompts if prompts is not None else [None] * len(texts)
    rows = [analyse(t, p).as_dict() for t, p in zip(texts, prompts, strict=True)]
    out = {}
    for key in ATTRIBUTES:
        if key == "topic":
            continue
        vals = [float(r[key]) for r in rows]
        out[key] = sum(vals) / len(vals)
    return out


def check_attribute(name: str) -> str:
    if name not in ATTRIBUTES:
        raise TutorError(f"Unknown attribute {name!r}; the analyser measures: {', '.join(ATTRIBUTES)}.")
    return name
