"""Solutions to notebook 03's exercises (agreement). Try them yourself first!

Each function passes `tutor.exercises.check(name, function)`.
"""

from collections import Counter


def cohens_kappa(first, second):
    """κ = (p_o − p_e) / (1 − p_e): observed agreement, corrected for what each annotator's own
    label frequencies would give by chance."""
    n = len(first)
    p_o = sum(x == y for x, y in zip(first, second, strict=True)) / n
    c1, c2 = Counter(first), Counter(second)
    p_e = sum(c1[k] / n * c2[k] / n for k in c1)
    return (p_o - p_e) / (1 - p_e)


def majority_vote(votes_per_pair):
    """Skips are not votes; strictly the most votes wins; a shared first place is a tie."""
    labels = []
    for votes in votes_per_pair:
        counts = Counter(v for v in votes if v != "skip")
        if not counts:
            labels.append(None)
            continue
        top = max(counts.values())
        winners = [label for label, n in counts.items() if n == top]
        labels.append(winners[0] if len(winners) == 1 else "tie")
    return labels


def pairwise_agreement(first, second):
    """Keep the items both annotators decided ('a' or 'b'); the share of those they agree on."""
    decided = [(x, y) for x, y in zip(first, second, strict=True) if x != "tie" and y != "tie"]
    return sum(x == y for x, y in decided) / len(decided)
