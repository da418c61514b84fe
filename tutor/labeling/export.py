"""Label records → TRL preference rows (`prompt` / `chosen` / `rejected`), counting what was left out.

An A/B choice is one row. A tie is no evidence either way: dropped by default, or with ties="both"
kept as two rows with chosen and rejected swapped. A skip carries nothing and is dropped. The
`ExportReport` says how many of each there were, so the learner knows what was lost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from tutor.core.chat import as_conversational
from tutor.errors import TutorError

TIE_POLICIES = ("drop", "both")


@dataclass(frozen=True)
class ExportReport:
    """What went into a preference data set, and what was left out on purpose."""

    rows: int
    choices: int  # labels that preferred a or b
    ties: int
    skips: int
    ties_policy: str
    undone: int = 0
    unreadable: int = 0

    def __str__(self) -> str:
        tie_fate = "each kept as two opposite rows" if self.ties_policy == "both" else "dropped"
        text = (
            f"{self.rows} preference rows from {self.choices} A/B choices; "
            f"{self.ties} tie(s) {tie_fate}; {self.skips} skip(s) dropped"
        )
        extras = []
        if self.undone:
            extras.append(f"{self.undone} undone label(s)")
        if self.unreadable:
            extras.append(f"{self.unreadable} unreadable line(s)")
        return text + (f"; ignored {' and '.join(extras)}." if extras else ".")


def preference_rows(
    records: Iterable[dict], *, ties: str = "drop", conversational: bool = True
) -> tuple[list[dict], ExportReport]:
    """Turn label records (prompt, a, b, label) into TRL preference rows, counting every choice.

    With ties="both" a tie becomes two rows with chosen and rejected swapped, which pulls a
    Bradley–Terry reward model towards equal scores.
    """
    if ties not in TIE_POLICIES:
        raise TutorError(f"ties must be 'drop' or 'both', not {ties!r}.")

    def row(prompt: str, chosen: str, rejected: str) -> dict:
        if conversational:
            return as_conversational(prompt, chosen=chosen, rejected=rejected)
        return {"prompt": prompt, "chosen": chosen, "rejected": rejected}

    rows, counts = [], Counter()
    for record in records:
        label = record["label"]
        counts[label] += 1
        if label == "a":
            rows.append(row(record["prompt"], record["a"], record["b"]))
        elif label == "b":
            rows.append(row(record["prompt"], record["b"], record["a"]))
        elif label == "tie" and ties == "both":
            rows.append(row(record["prompt"], record["a"], record["b"]))
            rows.append(row(record["prompt"], record["b"], record["a"]))
    report = ExportReport(
        rows=len(rows),
        choices=counts["a"] + counts["b"],
        ties=counts["tie"],
        skips=counts["skip"],
        ties_policy=ties,
    )
    return rows, report


def rows_to_dataset(rows: list[dict]):
    """A `datasets.Dataset` with exactly the columns TRL's RewardTrainer and DPOTrainer read."""
    from datasets import Dataset

    return Dataset.from_list(rows)


def empty_export_message(source: str, report: ExportReport) -> str:
    """The one sentence a `TutorError` says when `source`'s labels give no preference rows."""
    return (
        f"Nothing to export from {source}: {report.choices} A/B choices, {report.ties} tie(s) "
        f"and {report.skips} skip(s) give no preference rows; label at least one pair "
        "'A is better' or 'B is better' (ties count only with ties='both')."
    )
