"""Notebook 03's exercises: Cohen's κ, the majority vote of a class, and pairwise agreement — each
with the rule for ties and skips stated, since that is where these numbers usually go wrong.

Labels are strings, as the label files store them: "a", "b", "tie" and (for votes) "skip".
"""

from __future__ import annotations

import random
from collections import Counter

from tutor.exercises import Exercise, register
from tutor.labeling.agreement import cohen_kappa, majority

LABELS = ("a", "b", "tie")


def _random(gen) -> random.Random:
    """A Python RNG seeded from the checker's torch generator (labels are strings, not tensors)."""
    import torch

    return random.Random(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))


def _two_annotators(gen, n_min: int = 12, n_max: int = 30):
    """Two correlated label lists: the second copies the first 60 % of the time. Both use at least
    two labels, and each list has at least one tie and two decided items both agree on."""
    rng = _random(gen)
    n = rng.randint(n_min, n_max)
    first = [rng.choices(LABELS, weights=(4, 4, 2))[0] for _ in range(n)]
    second = [x if rng.random() < 0.6 else rng.choice(LABELS) for x in first]
    first[:4], second[:4] = ["a", "b", "tie", "a"], ["a", "b", "a", "tie"]  # shuffled below
    order = list(range(n))
    rng.shuffle(order)
    return [first[i] for i in order], [second[i] for i in order]


# --------------------------------------------------------------------------- 1. Cohen's κ


def _kappa_inputs(gen):
    first, second = _two_annotators(gen)
    return {"first": first, "second": second}


def _observed(first, second):
    return sum(x == y for x, y in zip(first, second, strict=True)) / len(first)


def _chance(first, second, pooled=False, uniform=False):
    n = len(first)
    if uniform:
        return 1 / len(set(first) | set(second))
    c1, c2 = Counter(first), Counter(second)
    if pooled:
        return sum(((c1[k] + c2[k]) / (2 * n)) ** 2 for k in set(c1) | set(c2))
    return sum(c1[k] * c2[k] for k in c1) / (n * n)


register(
    Exercise(
        name="cohens_kappa",
        summary="cohens_kappa(first, second) -> float: Cohen's κ = (p_o − p_e) / (1 − p_e) of two annotators' "
        "labels ('a', 'b', 'tie') on the same items; p_o is the share of equal labels, p_e = Σ_k p_1(k)·p_2(k) "
        "with p_i(k) the share of items annotator i labelled k.",
        reference=cohen_kappa,
        make_inputs=_kappa_inputs,
        mistakes={
            (
                "that is the raw agreement p_o: κ corrects it for the agreement chance alone would give."
            ): lambda first, second: _observed(first, second),
            (
                "divide by 1 − p_e: κ is the share of the agreement *above chance* that was possible."
            ): lambda first, second: _observed(first, second) - _chance(first, second),
            "chance agreement uses each annotator's own label shares, p_e = Σ_k p_1(k)·p_2(k), "
            "not 1 / (number of labels).": lambda first, second: (
                (_observed(first, second) - _chance(first, second, uniform=True))
                / (1 - _chance(first, second, uniform=True))
            ),
            "that is Scott's π (both annotators' labels pooled): Cohen's κ multiplies each annotator's own "
            "shares.": lambda first, second: (
                (_observed(first, second) - _chance(first, second, pooled=True))
                / (1 - _chance(first, second, pooled=True))
            ),
        },
    )
)


# --------------------------------------------------------------------------- 2. majority vote


def majority_vote(votes_per_pair):
    """The class's label of each pair (see `tutor.labeling.agreement`): skips are not votes; the
    label with strictly the most votes wins; any shared first place is "tie"; all skips → None."""
    return [majority(votes) for votes in votes_per_pair]


_EDGE_CASES = (
    ["a", "a", "b", "b", "b", "b", "a", "a"],  # 4 – 4: a shared first place
    ["a", "a", "tie", "tie", "b"],  # a 2 – tie 2: a shared first place, with a tie vote
    ["tie", "tie", "tie", "a", "a"],  # 'tie' is a vote and can win
    ["skip", "skip", "skip", "a", "a", "b"],  # skips are not votes
    ["skip", "skip"],  # nobody voted
    ["a", "a", "b", "tie"],  # a plurality without an absolute majority
)


def _vote_inputs(gen):
    rng = _random(gen)
    pairs = [list(case) for case in _EDGE_CASES]
    for _ in range(rng.randint(3, 8)):
        pairs.append(
            [rng.choices(("a", "b", "tie", "skip"), weights=(4, 4, 1, 1))[0] for _ in range(rng.randint(1, 7))]
        )
    rng.shuffle(pairs)
    for votes in pairs:
        rng.shuffle(votes)
    return {"votes_per_pair": pairs}


def _vote(votes, *, skip_is_vote=False, break_ties=False, ignore_tie_votes=False, absolute=False, none_is_tie=False):
    counts = Counter(v for v in votes if skip_is_vote or v != "skip")
    if ignore_tie_votes:
        counts.pop("tie", None)
    if not counts:
        return "tie" if none_is_tie else None
    (top, n), *rest = counts.most_common()
    if absolute:
        return top if n > sum(counts.values()) / 2 else "tie"
    if rest and rest[0][1] == n and not break_ties:
        return "tie"
    return top


register(
    Exercise(
        name="majority_vote",
        summary="majority_vote(votes_per_pair) -> list: for each pair's votes ('a', 'b', 'tie', 'skip'), the "
        "class's label. Rule: skips are not votes; the label with strictly the most votes wins ('tie' is a "
        "vote like the others); a shared first place (a 3 – b 3, or a 2 – tie 2) is 'tie'; no votes → None.",
        reference=majority_vote,
        make_inputs=_vote_inputs,
        mistakes={
            (
                "a shared first place (a 4 – b 4) is a tie: do not let the label counted first win it."
            ): lambda votes_per_pair: [_vote(v, break_ties=True) for v in votes_per_pair],
            (
                "skips are not votes: leave them out before counting (three skips do not beat two votes for a)."
            ): lambda votes_per_pair: [_vote(v, skip_is_vote=True) for v in votes_per_pair],
            (
                "'tie' is a vote like 'a' and 'b': three votes for tie beat two for a, and a 2 – tie 2 is a shared "
                "first place."
            ): lambda votes_per_pair: [_vote(v, ignore_tie_votes=True) for v in votes_per_pair],
            "the rule is a plurality, not an absolute majority: a 2 – b 1 – tie 1 is 'a'.": lambda votes_per_pair: [
                _vote(v, absolute=True) for v in votes_per_pair
            ],
            "a pair nobody voted on (all skips) has no label: return None for it, not 'tie'.": lambda votes_per_pair: [
                _vote(v, none_is_tie=True) for v in votes_per_pair
            ],
        },
    )
)


# --------------------------------------------------------------------------- 3. pairwise agreement


def pairwise_agreement(first, second):
    """Share of the items both annotators decided ('a' or 'b') on which they picked the same answer.
    The tie rule: an item where either said 'tie' is left out (neither agreement nor disagreement)."""
    decided = [(x, y) for x, y in zip(first, second, strict=True) if x in ("a", "b") and y in ("a", "b")]
    return sum(x == y for x, y in decided) / len(decided)


def _agreement_inputs(gen):
    first, second = _two_annotators(gen)
    first[0], second[0] = "tie", "tie"  # both tied once too
    first[1], second[1] = "a", "b"  # and one disagreement, so counting the tie as agreement changes the share
    return {"first": first, "second": second}


def _agree(first, second, rule):
    both = list(zip(first, second, strict=True))
    if rule == "tie-tie agrees":
        kept = [(x, y) for x, y in both if (x in "ab" and y in "ab") or x == y == "tie"]
        return sum(x == y for x, y in kept) / len(kept)
    if rule == "all items":
        return sum(x == y for x, y in both if x != "tie") / len(both)
    if rule == "raw":
        return sum(x == y for x, y in both) / len(both)
    if rule == "half":
        return sum(1.0 if x == y != "tie" else 0.5 if "tie" in (x, y) else 0.0 for x, y in both) / len(both)
    decided = [(x, y) for x, y in both if x in ("a", "b") and y in ("a", "b")]
    return sum(x == y for x, y in decided)  # "count"


register(
    Exercise(
        name="pairwise_agreement",
        summary="pairwise_agreement(first, second) -> float: of the items both annotators decided ('a' or 'b'), "
        "the share where they picked the same answer. Tie rule: an item where either annotator said 'tie' "
        "is left out of both the count and the denominator.",
        reference=pairwise_agreement,
        make_inputs=_agreement_inputs,
        mistakes={
            (
                "two ties are not an agreement on which answer is better: leave out every item with a 'tie'."
            ): lambda first, second: _agree(first, second, "tie-tie agrees"),
            (
                "items with a tie are left out of the denominator too, not counted as disagreements."
            ): lambda first, second: _agree(first, second, "all items"),
            (
                "that is the share of equal labels over all items (ties included): the rule leaves tied items out."
            ): lambda first, second: _agree(first, second, "raw"),
            "a tie is not half an agreement here: leave tied items out.": lambda first, second: _agree(
                first, second, "half"
            ),
            "return the share of agreeing items, not their count.": lambda first, second: _agree(
                first, second, "count"
            ),
        },
    )
)
