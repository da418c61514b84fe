"""A class of learners labels the same pairs; merge their files into one preference data set.

Preference is subjective, and the class measures it: Cohen's κ for two annotators, Fleiss' κ for
many, a table of the pairs they disagreed on most, and each learner's agreement with the personas.
The merged data set (one majority label per pair) trains "the class reward model".

Majority rule, per pair: skips are not votes; among the votes for a, b and tie the one with
strictly the most votes wins, and any shared first place (a 3 – b 3, or a 2 – tie 2) is a tie.
Ties are dropped from the data set by default, like a single learner's ties.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tutor.errors import TutorError
from tutor.labeling.store import (
    LabelStore,
    as_pair,
    empty_export_message,
    preference_rows,
    rows_to_dataset,
)

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
    c1, c2 = Counter(first), Counter(second)
    chance = sum(c1[k] * c2[k] for k in c1) / (n * n)
    if chance == 1:
        return math.nan
    return (observed - chance) / (1 - chance)


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float:
    """Fleiss' κ from an items × categories table: counts[i][j] = raters who put item i in j.

    With the same number of raters per item this is Fleiss (1971). Items may have different
    numbers of raters (a learner skipped a pair): each item's agreement P_i uses its own n_i, and
    items with fewer than two ratings are left out, since agreement needs a pair of raters.
    """
    rows = [list(r) for r in counts]
    if any(not all(isinstance(c, int) and c >= 0 for c in r) for r in rows):
        raise TutorError("fleiss_kappa needs a table of whole, non-negative counts (items × categories).")
    if len({len(r) for r in rows}) > 1:
        raise TutorError("fleiss_kappa needs every row (item) to have a count for each category.")
    rows = [r for r in rows if sum(r) >= 2]
    if not rows:
        raise TutorError("fleiss_kappa needs at least one item rated by two or more annotators.")
    agreement = [sum(c * (c - 1) for c in r) / (sum(r) * (sum(r) - 1)) for r in rows]
    p_bar = sum(agreement) / len(rows)
    total = sum(sum(r) for r in rows)
    shares = [sum(r[j] for r in rows) / total for j in range(len(rows[0]))]
    chance = sum(p * p for p in shares)
    if chance == 1:
        return math.nan
    return (p_bar - chance) / (1 - chance)


def majority(votes: Iterable[str]) -> str | None:
    """The class label from individual labels (see the module docstring); None if all skipped."""
    counts = Counter(v for v in votes if v in VOTES)
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
    from tutor.world.annotator import GoldAnnotator

    if cache is not None and (persona, key) in cache:
        return cache[(persona, key)]
    judge = GoldAnnotator(persona)
    sa, sb = judge.score(prompt, a), judge.score(prompt, b)
    preferred = "a" if sa > sb else "b" if sb > sa else None
    if cache is not None:
        cache[(persona, key)] = preferred
    return preferred


def persona_agreement(records: Iterable[dict], personas: Sequence[str] = ("riley", "quinn"), cache: dict | None = None) -> dict[str, Agreement]:
    """For each persona, the share of the A/B choices in `records` it agrees with (ties/skips left out)."""
    choices = [r for r in records if r["label"] in ("a", "b")]
    result = {}
    for persona in personas:
        agree = total = 0
        for r in choices:
            key = (r["pair_id"], r["prompt"], r["a"], r["b"]) if "pair_id" in r else None
            preferred = persona_preference(persona, r["prompt"], r["a"], r["b"], cache, key)
            if preferred is None:
                continue
            total += 1
            agree += preferred == r["label"]
        result[persona] = Agreement(persona, agree, total)
    return result


def personas_agree(pairs: Iterable[object], first: str = "riley", second: str = "quinn") -> Agreement:
    """How often two personas prefer the same answer: the ceiling on "one true preference"."""
    agree = total = 0
    for item in pairs:
        p = as_pair(item)
        x = persona_preference(first, p.prompt, p.a, p.b)
        y = persona_preference(second, p.prompt, p.a, p.b)
        if x is None or y is None:
            continue
        total += 1
        agree += x == y
    return Agreement(f"{first} vs {second}", agree, total)


# ---------------------------------------------------------------------------------- merging


def _label_files(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        path = Path(paths).expanduser()
        if not path.exists():
            raise TutorError(f"There is no file or folder at {str(path)!r}; give a folder of .jsonl label files or one file's path.")
        if path.is_dir():
            files = sorted(path.glob("*.jsonl"))
            if not files:
                raise TutorError(f"The folder {str(path)!r} holds no .jsonl label files; collect the learners' files there first.")
            return files
        return [path]
    files = [Path(p).expanduser() for p in paths]
    if not files:
        raise TutorError("No label files given; pass a folder of .jsonl files or a list of their paths.")
    return files


class Classroom:
    """Every learner's live labels on a shared pair set, ready to merge and compare.

    Build it with `merge_labels(folder_or_paths)`. All files must come from the same pair set
    (hand out one list of pairs), and each annotator may appear once. Labels made by the
    simulated annotator ("finish with the simulated annotator") count unless
    include_simulated=False; `simulated` says how many there were.
    """

    def __init__(self, stores: Sequence, include_simulated: bool = True):
        if not stores:
            raise TutorError("A classroom needs at least one label file.")
        owner: dict[str, Path] = {}
        for s in stores:
            if s.annotator_id in owner:
                raise TutorError(
                    f"Annotator {s.annotator_id!r} appears in two files ({owner[s.annotator_id].name} and {s.path.name}); "
                    "keep one file per learner (or give each learner their own annotator id)."
                )
            owner[s.annotator_id] = s.path
        fingerprints = {s.fingerprint for s in stores if s.fingerprint is not None}
        if len(fingerprints) > 1:
            by_fp: dict[str, list[str]] = {}
            for s in stores:
                by_fp.setdefault(str(s.fingerprint), []).append(s.path.name)
            groups = "; ".join(f"{fp}: {', '.join(names)}" for fp, names in sorted(by_fp.items()))
            raise TutorError(
                f"These label files were written for different pair sets ({groups}); merge only files "
                "whose learners labelled the same pairs."
            )
        self.stores = list(stores)
        self.annotators = [s.annotator_id for s in stores]
        self.pairs: dict[str, dict] = {}  # pair id -> prompt / a / b, in first-seen order
        self.votes: dict[str, dict[str, str]] = {}  # pair id -> annotator -> label
        self.simulated = 0
        for s in stores:
            for r in s.records:
                if r["by"] != "human":
                    self.simulated += 1
                    if not include_simulated:
                        continue
                self.pairs.setdefault(r["pair_id"], {"prompt": r["prompt"], "a": r["a"], "b": r["b"]})
                self.votes.setdefault(r["pair_id"], {})[s.annotator_id] = r["label"]

    @classmethod
    def from_files(cls, paths, include_simulated: bool = True) -> Classroom:
        return cls([LabelStore(p, read_only=True) for p in _label_files(paths)], include_simulated)

    def __repr__(self) -> str:
        return (
            f"Classroom({len(self.annotators)} annotators, {len(self.pairs)} pairs labelled, "
            f"{self.simulated} label(s) by the simulated annotator)"
        )

    def majority(self) -> dict[str, str]:
        """pair id -> class label ('a', 'b' or 'tie') for every pair someone did not skip."""
        out = {}
        for pid, votes in self.votes.items():
            label = majority(votes.values())
            if label is not None:
                out[pid] = label
        return out

    def kappa(self) -> float:
        """Cohen's κ when there are two annotators, Fleiss' κ when there are more."""
        if len(self.annotators) < 2:
            raise TutorError("Agreement needs at least two annotators' label files.")
        if not self.votes:
            left_out = f" ({self.simulated} simulated label(s) were left out)" if self.simulated else ""
            raise TutorError(f"There are no labels to compare{left_out}; agreement needs pairs labelled by two or more annotators.")
        if len(self.annotators) == 2:
            return self.cohen_kappa(*self.annotators)
        return self.fleiss_kappa()

    def cohen_kappa(self, first: str, second: str) -> float:
        """Cohen's κ of two annotators on the pairs both of them labelled (skips left out)."""
        for name in (first, second):
            if name not in self.annotators:
                raise TutorError(f"Unknown annotator {name!r}; the annotators are: {', '.join(self.annotators)}.")
        both = [
            (v[first], v[second])
            for v in self.votes.values()
            if v.get(first) in VOTES and v.get(second) in VOTES
        ]
        if not both:
            raise TutorError(f"{first!r} and {second!r} have no labelled pair in common, so their agreement is unknown.")
        return cohen_kappa([x for x, _ in both], [y for _, y in both])

    def fleiss_kappa(self) -> float:
        """Fleiss' κ over all annotators (pairs with at least two non-skip labels)."""
        table = [[Counter(v.values())[k] for k in VOTES] for v in self.votes.values()]
        return fleiss_kappa(table)

    def disagreements(self, top: int | None = None):
        """A table of pairs, most disputed first: votes, the class label and how split the class was.

        `majority_share` is the share of non-skip votes the winning label got; `agreement` is the
        share of annotator pairs who gave the same label (Fleiss' per-item P_i; empty below two votes).
        """
        import pandas as pd

        rows = []
        for pid, votes in self.votes.items():
            c = Counter(votes.values())
            n = c["a"] + c["b"] + c["tie"]
            pair_agreement = sum(c[k] * (c[k] - 1) for k in VOTES) / (n * (n - 1)) if n >= 2 else None
            rows.append(
                {
                    "pair_id": pid,
                    "prompt": self.pairs[pid]["prompt"],
                    "a": c["a"],
                    "b": c["b"],
                    "tie": c["tie"],
                    "skip": c["skip"],
                    "class_label": majority(votes.values()),
                    "majority_share": max(c["a"], c["b"], c["tie"]) / n if n else None,
                    "agreement": pair_agreement,
                }
            )
        rows.sort(key=lambda r: (r["agreement"] is None, r["agreement"] or 0.0, -(r["a"] + r["b"] + r["tie"])))
        return pd.DataFrame(rows[:top] if top is not None else rows)

    def persona_table(self, personas: Sequence[str] = ("riley", "quinn"), include_simulated: bool = False):
        """Each annotator's agreement with each persona, over their own (not simulated) A/B choices."""
        import pandas as pd

        cache: dict = {}
        rows = []
        for s in self.stores:
            records = [r for r in s.records if include_simulated or r["by"] == "human"]
            result = persona_agreement(records, personas, cache)
            row = {"annotator": s.annotator_id, "choices": sum(r["label"] in ("a", "b") for r in records)}
            row.update({p: a.rate for p, a in result.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def _records(self, method: str) -> list[dict]:
        if method == "majority":
            return [{**self.pairs[pid], "label": label} for pid, label in self.majority().items()]
        if method == "all":
            return [
                {**self.pairs[pid], "label": label}
                for pid, votes in self.votes.items()
                for label in votes.values()
            ]
        raise TutorError(f"method must be 'majority' (one class label per pair) or 'all' (every learner's label), not {method!r}.")

    def export_report(self, *, method: str = "majority", ties: str = "drop"):
        _, report = preference_rows(self._records(method), ties=ties)
        return report

    def to_dataset(self, *, method: str = "majority", conversational: bool = True, ties: str = "drop", quiet: bool = False):
        """One preference data set for the class reward model (prompt / chosen / rejected).

        method="majority" gives one row per pair from the class vote; method="all" keeps every
        learner's own label, so a 20-to-10 pair appears 30 times and its split teaches uncertainty.
        """
        rows, report = preference_rows(self._records(method), ties=ties, conversational=conversational)
        if not rows:
            raise TutorError(empty_export_message(f"the {len(self.annotators)} label files", report))
        if not quiet:
            print(f"Class of {len(self.annotators)} ({method}): {report}")
        return rows_to_dataset(rows)


def merge_labels(paths, include_simulated: bool = True) -> Classroom:
    """Read every learner's label file (a folder of .jsonl files, or a list of paths)."""
    return Classroom.from_files(paths, include_simulated)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tutor.labeling FOLDER --out DIR``: merge, report, save the data set."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tutor.labeling",
        description="Merge a class's label files into one preference data set.",
    )
    parser.add_argument("labels", help="a folder of .jsonl label files (or one file)")
    parser.add_argument("--out", help="save the merged data set here (datasets.save_to_disk)")
    parser.add_argument("--method", default="majority", choices=["majority", "all"])
    parser.add_argument("--ties", default="drop", choices=["drop", "both"])
    parser.add_argument("--humans-only", action="store_true", help="leave out simulated-annotator labels")
    parser.add_argument("--top", type=int, default=10, help="rows of the disagreement table to print")
    args = parser.parse_args(argv)
    try:
        room = merge_labels(args.labels, include_simulated=not args.humans_only)
        print(room)
        if len(room.annotators) >= 2:
            name = "Cohen's" if len(room.annotators) == 2 else "Fleiss'"
            print(f"{name} kappa: {room.kappa():.3f}")
        print(room.disagreements(top=args.top).drop(columns=["pair_id"]).to_string(index=False))
        dataset = room.to_dataset(method=args.method, ties=args.ties)
        if args.out:
            dataset.save_to_disk(args.out)
            print(f"Saved {len(dataset)} rows to {args.out}")
    except TutorError as exc:
        print(f"TutorError: {exc}")
        return 2
    return 0

