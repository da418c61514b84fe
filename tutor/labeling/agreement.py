"""How much annotators agree: Cohen's κ for two, Fleiss' κ for many, and agreement with a persona.

Preference is subjective, and these numbers measure how much: κ corrects the share of equal labels
for the agreement chance alone would give, and a persona's agreement with someone is the share of
their A/B choices the persona (scoring both answers, without label noise) would have made too.

Majority rule, per pair: skips are not votes; among the votes for a, b and tie the one with
strictly the most votes wins, and any shared first place (a 3 – b 3, or a 2 – tie 2) is a tie.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tutor.errors import TutorError
from tutor.labeling.pairs import as_pair
from tutor.world.annotator import GoldAnnotator

VOTES = ("a", "b", "tie")  # the categories agreement is measured over; a skip is a missing rating


# ------------------------------------------------------------------------------ κ statistics


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float:
    """Cohen's κ of two annotators' labels on the same items: (p_o − p_e) / (1 − p_e).

    p_o is how often they agree, p_e how often they would agree by chance given how often each
    uses each label. κ = 1 is perfect agreement, 0 is chance level. Undefined (nan) when both
    annotators always use the same single label.
    """
    first, second = list(first), list(second)
    if len(first) != len(second):
        raise TutorError(f"cohen_kappa needs two label lists of the same length, got {len(first)} and {len(second)}.")
    if not first:
        raise TutorError("cohen_kappa needs at least one item labelled by both annotators.")
    n = len(first)
    observed = sum(x == y for x, y in zip(first, second, strict=True)) / n
    first_counts, second_counts = Counter(first), Counter(second)
    chance = sum(first_counts[label] * second_counts[label] for label in first_counts) / (n * n)
    if chance == 1:
        return math.nan
    return (observed - chance) / (1 - chance)


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float:
    """Fleiss' κ from an items × categories table: counts[i][j] = raters who put item i in j.

    With the same number of raters per item this is Fleiss (1971). Items may have different
    numbers of raters (a learner skipped a pair): each item's agreement P_i uses its own n_i, and
    items with fewer than two ratings are left out, since agreement needs a pair of raters.
    """
    rows = [list(row) for row in counts]
    if any(not all(isinstance(c, int) and c >= 0 for c in row) for row in rows):
        raise TutorError("fleiss_kappa needs a table of whole, non-negative counts (items × categories).")
    if len({len(row) for row in rows}) > 1:
        raise TutorError("fleiss_kappa needs every row (item) to have a count for each category.")
    rows = [row for row in rows if sum(row) >= 2]
    if not rows:
        raise TutorError("fleiss_kappa needs at least one item rated by two or more annotators.")
    agreement = [sum(c * (c - 1) for c in row) / (sum(row) * (sum(row) - 1)) for row in rows]
    p_bar = sum(agreement) / len(rows)
    total = sum(sum(row) for row in rows)
    shares = [sum(row[j] for row in rows) / total for j in range(len(rows[0]))]
    chance = sum(p * p for p in shares)
    if chance == 1:
        return math.nan
    return (p_bar - chance) / (1 - chance)


def majority(votes: Iterable[str]) -> str | None:
    """The class label from individual labels (see the module docstring); None if all skipped."""
    counts = Counter(vote for vote in votes if vote in VOTES)
    if not counts:
        return None
    (top, n), *rest = counts.most_common()
    if rest and rest[0][1] == n:
        return "tie"
    return top


# ------------------------------------------------------------------------ persona agreement


@dataclass(frozen=True)
class Agreement:
    """How many of someone's A/B choices a persona would have made too."""

    persona: str
    agree: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.agree / self.total if self.total else None

    def __str__(self) -> str:
        rate = "n/a" if self.rate is None else f"{self.rate:.0%}"
        return f"{self.persona}: {rate} ({self.agree}/{self.total})"


def persona_preference(persona: str, prompt: str, a: str, b: str, cache: dict | None = None, key=None) -> str | None:
    """'a' or 'b': the answer the persona scores higher (no label noise); None if they score equal."""
    if cache is not None and (persona, key) in cache:
        return cache[(persona, key)]
    judge = GoldAnnotator(persona)
    score_a, score_b = judge.score(prompt, a), judge.score(prompt, b)
    preferred = "a" if score_a > score_b else "b" if score_b > score_a else None
    if cache is not None:
        cache[(persona, key)] = preferred
    return preferred


def persona_agreement(
    records: Iterable[dict], personas: Sequence[str] = ("riley", "quinn"), cache: dict | None = None
) -> dict[str, Agreement]:
    """For each persona, the share of the A/B choices in `records` it agrees with (ties/skips left out)."""
    choices = [record for record in records if record["label"] in ("a", "b")]
    result = {}
    for persona in personas:
        agree = total = 0
        for record in choices:
            key = (record["pair_id"], record["prompt"], record["a"], record["b"]) if "pair_id" in record else None
            preferred = persona_preference(persona, record["prompt"], record["a"], record["b"], cache, key)
            if preferred is None:
                continue
            total += 1
            agree += preferred == record["label"]
        result[persona] = Agreement(persona, agree, total)
    return result


def agreement_table(agreements: dict[str, Agreement]):
    """A pandas table of `persona_agreement`'s result: one row per persona (agree, of, agreement)."""
    import pandas as pd

    columns = {persona: {"agree": a.agree, "of": a.total, "agreement": a.rate} for persona, a in agreements.items()}
    return pd.DataFrame(columns).T


def personas_agree(pairs: Iterable[object], first: str = "riley", second: str = "quinn") -> Agreement:
    """How often two personas prefer the same answer: the ceiling on "one true preference"."""
    agree = total = 0
    for item in pairs:
        pair = as_pair(item)
        first_prefers = persona_preference(first, pair.prompt, pair.a, pair.b)
        second_prefers = persona_preference(second, pair.prompt, pair.a, pair.b)
        if first_prefers is None or second_prefers is None:
            continue
        total += 1
        agree += first_prefers == second_prefers
    return Agreement(f"{first} vs {second}", agree, total)
