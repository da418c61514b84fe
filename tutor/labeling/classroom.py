"""A class of learners labels the same pairs; merge their files into one preference data set.

Preference is subjective, and the class measures it (`tutor.labeling.agreement`): Cohen's κ for
two annotators, Fleiss' κ for many, a table of the pairs they disagreed on most, and each
learner's agreement with the personas. The merged data set (one majority label per pair, or every
learner's own label) trains "the class reward model"; ties are dropped by default, like a single
learner's ties. `main` is the instructor's merge from a terminal (``python -m tutor.labeling``).
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from tutor.course import check_new_folder
from tutor.errors import TutorError
from tutor.labeling.agreement import VOTES, cohen_kappa, fleiss_kappa, majority, persona_agreement
from tutor.labeling.export import (
    ExportReport,
    empty_export_message,
    preference_rows,
    rows_to_dataset,
)
from tutor.labeling.store import LabelStore


def _label_files(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        path = Path(paths).expanduser()
        if not path.exists():
            raise TutorError(
                f"There is no file or folder at {str(path)!r}; give a folder of .jsonl label files or one file's path."
            )
        if path.is_dir():
            files = sorted(path.glob("*.jsonl"))
            if not files:
                raise TutorError(
                    f"The folder {str(path)!r} holds no .jsonl label files; collect the learners' files there first."
                )
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
        file_of: dict[str, Path] = {}  # annotator -> their label file
        for store in stores:
            if store.annotator_id in file_of:
                raise TutorError(
                    f"Annotator {store.annotator_id!r} appears in two files ({file_of[store.annotator_id].name} and "
                    f"{store.path.name}); "
                    "keep one file per learner (or give each learner their own annotator id)."
                )
            file_of[store.annotator_id] = store.path
        fingerprints = {store.fingerprint for store in stores if store.fingerprint is not None}
        if len(fingerprints) > 1:
            files_by_pair_set: dict[str, list[str]] = {}
            for store in stores:
                files_by_pair_set.setdefault(str(store.fingerprint), []).append(store.path.name)
            groups = "; ".join(
                f"{fingerprint}: {', '.join(names)}" for fingerprint, names in sorted(files_by_pair_set.items())
            )
            raise TutorError(
                f"These label files were written for different pair sets ({groups}); merge only files "
                "whose learners labelled the same pairs."
            )
        self.stores = list(stores)
        self.annotators = [store.annotator_id for store in stores]
        self.pairs: dict[str, dict] = {}  # pair id -> prompt / a / b, in first-seen order
        self.votes: dict[str, dict[str, str]] = {}  # pair id -> annotator -> label
        self.simulated = 0
        texts: dict[str, dict] = {}  # pair id -> prompt / a / b as the first file showed them
        first_file: dict[str, Path] = {}  # pair id -> that file
        for store in stores:
            for record in store.records:
                text = {"prompt": record["prompt"], "a": record["a"], "b": record["b"]}
                seen = texts.setdefault(record["pair_id"], text)
                if seen != text:
                    differs = ", ".join(key for key in text if text[key] != seen[key])
                    raise TutorError(
                        f"{first_file[record['pair_id']].name} and {store.path.name} hold pair {record['pair_id']!r} "
                        f"with a different {differs.replace(', ', ' and ')}, so their votes are not about the same "
                        "answers; merge only files labelled on one shared list of pairs (live pairs differ per "
                        "learner)."
                    )
                first_file.setdefault(record["pair_id"], store.path)
                if record["by"] != "human":
                    self.simulated += 1
                    if not include_simulated:
                        continue
                self.pairs.setdefault(record["pair_id"], text)
                self.votes.setdefault(record["pair_id"], {})[store.annotator_id] = record["label"]

    def no_labels_message(self, simulated_switch: str = "include_simulated=False") -> str:
        """The sentence for a class with no labels to merge (empty files, or only simulated labels left out)."""
        files = ", ".join(store.path.name for store in self.stores)
        if self.simulated and not self.votes:
            return (
                f"There are no labels to merge in {files}: all {self.simulated} label(s) were made by the simulated "
                f"annotator, which {simulated_switch} leaves out; collect files the learners labelled themselves."
            )
        return (
            f"There are no labels to merge in {files}; collect the files after the learners have labelled some pairs."
        )

    @classmethod
    def from_files(cls, paths, include_simulated: bool = True) -> Classroom:
        """Open every label file read-only (a folder of .jsonl files, one file, or a list of paths)."""
        return cls([LabelStore(p, read_only=True) for p in _label_files(paths)], include_simulated)

    def __repr__(self) -> str:
        return (
            f"Classroom({len(self.annotators)} annotators, {len(self.pairs)} pairs labelled, "
            f"{self.simulated} label(s) by the simulated annotator)"
        )

    def majority(self) -> dict[str, str]:
        """pair id -> class label ('a', 'b' or 'tie') for every pair someone did not skip."""
        labels = {}
        for pair_id, votes in self.votes.items():
            label = majority(votes.values())
            if label is not None:
                labels[pair_id] = label
        return labels

    def kappa(self) -> float:
        """Cohen's κ when there are two annotators, Fleiss' κ when there are more."""
        if len(self.annotators) < 2:
            raise TutorError("Agreement needs at least two annotators' label files.")
        if not self.votes:
            left_out = f" ({self.simulated} simulated label(s) were left out)" if self.simulated else ""
            raise TutorError(
                f"There are no labels to compare{left_out}; agreement needs pairs labelled by two or more annotators."
            )
        if len(self.annotators) == 2:
            return self.cohen_kappa(*self.annotators)
        return self.fleiss_kappa()

    def cohen_kappa(self, first: str, second: str) -> float:
        """Cohen's κ of two annotators on the pairs both of them labelled (skips left out)."""
        for name in (first, second):
            if name not in self.annotators:
                raise TutorError(f"Unknown annotator {name!r}; the annotators are: {', '.join(self.annotators)}.")
        both = [
            (votes[first], votes[second])
            for votes in self.votes.values()
            if votes.get(first) in VOTES and votes.get(second) in VOTES
        ]
        if not both:
            raise TutorError(
                f"{first!r} and {second!r} have no labelled pair in common, so their agreement is unknown."
            )
        return cohen_kappa([x for x, _ in both], [y for _, y in both])

    def fleiss_kappa(self) -> float:
        """Fleiss' κ over all annotators (pairs with at least two non-skip labels)."""
        table = [[Counter(votes.values())[vote] for vote in VOTES] for votes in self.votes.values()]
        return fleiss_kappa(table)

    def disagreements(self, top: int | None = None):
        """A table of pairs, most disputed first: votes, the class label and how split the class was.

        `majority_share` is the share of non-skip votes the winning label got; `agreement` is the
        share of annotator pairs who gave the same label (Fleiss' per-item P_i; empty below two votes).
        """
        import pandas as pd

        rows = []
        for pair_id, votes in self.votes.items():
            counts = Counter(votes.values())
            n = counts["a"] + counts["b"] + counts["tie"]
            pair_agreement = (
                sum(counts[vote] * (counts[vote] - 1) for vote in VOTES) / (n * (n - 1)) if n >= 2 else None
            )
            rows.append(
                {
                    "pair_id": pair_id,
                    "prompt": self.pairs[pair_id]["prompt"],
                    "a": counts["a"],
                    "b": counts["b"],
                    "tie": counts["tie"],
                    "skip": counts["skip"],
                    "class_label": majority(votes.values()),
                    "majority_share": max(counts["a"], counts["b"], counts["tie"]) / n if n else None,
                    "agreement": pair_agreement,
                }
            )
        rows.sort(
            key=lambda row: (row["agreement"] is None, row["agreement"] or 0.0, -(row["a"] + row["b"] + row["tie"]))
        )
        columns = ["pair_id", "prompt", "a", "b", "tie", "skip", "class_label", "majority_share", "agreement"]
        return pd.DataFrame(rows[:top] if top is not None else rows, columns=columns)

    def persona_table(self, personas: Sequence[str] = ("riley", "quinn"), include_simulated: bool = False):
        """Each annotator's agreement with each persona, over their own (not simulated) A/B choices."""
        import pandas as pd

        cache: dict = {}
        rows = []
        for store in self.stores:
            records = [record for record in store.records if include_simulated or record["by"] == "human"]
            result = persona_agreement(records, personas, cache)
            row = {"annotator": store.annotator_id, "choices": sum(record["label"] in ("a", "b") for record in records)}
            row.update({persona: agreement.rate for persona, agreement in result.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def _label_records(self, method: str) -> list[dict]:
        """The records to export: one per pair (its class label) or one per learner's label."""
        if method == "majority":
            return [{**self.pairs[pair_id], "label": label} for pair_id, label in self.majority().items()]
        if method == "all":
            return [
                {**self.pairs[pair_id], "label": label}
                for pair_id, votes in self.votes.items()
                for label in votes.values()
            ]
        raise TutorError(
            f"method must be 'majority' (one class label per pair) or 'all' (every learner's label), not {method!r}."
        )

    def export_report(self, *, method: str = "majority", ties: str = "drop") -> ExportReport:
        """What `to_dataset(method=method, ties=ties)` keeps and drops."""
        _, report = preference_rows(self._label_records(method), ties=ties)
        return report

    def to_dataset(
        self, *, method: str = "majority", conversational: bool = True, ties: str = "drop", quiet: bool = False
    ):
        """One preference data set for the class reward model (prompt / chosen / rejected).

        method="majority" gives one row per pair from the class vote; method="all" keeps every
        learner's own label, so a 20-to-10 pair appears 30 times and its split teaches uncertainty.
        """
        rows, report = preference_rows(self._label_records(method), ties=ties, conversational=conversational)
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
        if args.top < 0:
            raise TutorError(f"--top must be a whole number ≥ 0 of table rows, not {args.top}.")
        if args.out:
            check_new_folder(args.out)  # before the merge: never a datasets error at the end
        room = merge_labels(args.labels, include_simulated=not args.humans_only)
        print(room)
        if not room.votes:
            raise TutorError(room.no_labels_message("--humans-only"))
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
