"""Preference data in TRL's format: `prompt` / `chosen` / `rejected` (conversational).

The reward model (notebook 04) and DPO (notebook 06) train on the same data: pairs labelled by the
gold annotator by default, or the learner's own labels from notebook 03 when that notebook has run.
`check_preference_rows` turns malformed data into one sentence naming the row and field.
"""

from __future__ import annotations

from pathlib import Path

from tutor.core.chat import as_conversational, message_text
from tutor.errors import TutorError

FIELDS = ("prompt", "chosen", "rejected")


def short_repr(value: object) -> str:
    """`repr(value)` cut to 60 characters, to name a bad value in an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _field_format(value) -> str | None:
    """'text' for a plain string, 'chat' for a list of {'role', 'content'} messages, None otherwise."""
    if isinstance(value, str):
        return "text"
    if (
        isinstance(value, list)
        and value
        and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in value
        )
    ):
        return "chat"
    return None


def check_preference_rows(rows, drop_ties: bool = True) -> tuple[list[dict], int]:
    """Validate preference rows; return (kept rows, number of ties dropped).

    Every field is a plain string or a list of chat messages, one format for every row (TRL reads a
    data set in one format). A tie (`chosen` equal to `rejected`, or a row marked `tie`) says nothing
    about which answer is better, so it is dropped and counted rather than trained on.
    """
    if isinstance(rows, (str, bytes, dict)) or rows is None or not hasattr(rows, "__iter__"):
        raise TutorError(
            "Preference data must be a list of rows (dicts with 'prompt', 'chosen' and 'rejected'), not "
            f"{short_repr(rows)}."
        )
    rows = list(rows)
    if not rows:
        raise TutorError("The preference data set is empty; it needs rows with 'prompt', 'chosen' and 'rejected'.")
    kept, ties, first_format = [], 0, None
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TutorError(
                f"Preference row {i} is {short_repr(row)}, not a dict with 'prompt', 'chosen' and 'rejected'."
            )
        for field in FIELDS:
            if field not in row:
                raise TutorError(
                    f"Preference row {i} has no {field!r} field; each row needs 'prompt', 'chosen' and 'rejected'."
                )
            if _field_format(row[field]) is None:
                raise TutorError(
                    f"Preference row {i}'s {field!r} is {short_repr(row[field])}; give a string or a list of chat "
                    "messages such as [{'role': 'user', 'content': '...'}]."
                )
            if not message_text(row[field]).strip():
                raise TutorError(f"Preference row {i} has an empty {field!r}; fill it in or remove the row.")
        formats = {field: _field_format(row[field]) for field in FIELDS}
        if len(set(formats.values())) > 1:
            described = ", ".join(f"{field} {kind}" for field, kind in formats.items())
            raise TutorError(
                f"Preference row {i} mixes plain text and chat messages ({described}); use one format for "
                "prompt, chosen and rejected (tutor.core.chat.as_conversational makes chat rows)."
            )
        row_format = formats["prompt"]
        first_format = first_format or row_format
        if row_format != first_format:
            raise TutorError(
                f"Preference row {i} is {'chat messages' if row_format == 'chat' else 'plain text'} but row 0 is "
                f"{'chat messages' if first_format == 'chat' else 'plain text'}; use one format for every row "
                "(tutor.core.chat.as_conversational makes chat rows)."
            )
        if row.get("tie") or message_text(row["chosen"]).strip() == message_text(row["rejected"]).strip():
            if not drop_ties:
                raise TutorError(f"Preference row {i} is a tie (chosen equals rejected); ties carry no preference.")
            ties += 1
            continue
        kept.append(row)
    if not kept:
        raise TutorError(f"All {len(rows)} preference rows are ties; nothing is left to learn from.")
    return kept, ties


def gold_rows(n: int, seed: int = 0, split: str = "train", persona="riley", temperature=None) -> list[dict]:
    """`n` candidate pairs labelled (with Bradley–Terry noise) by a gold-annotator persona."""
    from tutor.world import GoldAnnotator, candidate_pairs

    judge = GoldAnnotator(persona, temperature=temperature, seed=seed)
    rows = []
    for prompt, a, b in candidate_pairs(n, seed=seed, split=split):
        chosen, rejected = (a, b) if judge.label(prompt, a, b) else (b, a)
        rows.append(as_conversational(prompt, chosen=chosen, rejected=rejected))
    return rows


def to_dataset(rows):
    from datasets import Dataset

    kept, _ = check_preference_rows(rows)
    return Dataset.from_list([{k: r[k] for k in FIELDS} for r in kept])


def gold_dataset(n: int, seed: int = 0, split: str = "train", persona="riley", temperature=None):
    """A TRL preference `Dataset` labelled by the gold annotator."""
    return to_dataset(gold_rows(n, seed, split, persona, temperature))


def learner_label_files(runs: Path) -> list[Path]:
    """Label files notebook 03 wrote (runs/labels/*.jsonl)."""
    folder = Path(runs) / "labels"
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


def learner_dataset(runs: Path, min_pairs: int = 20, include_simulated: bool = False):
    """The learner's labels from notebook 03 as a preference Dataset, or None if there are fewer
    than `min_pairs`. Labels the simulated annotator filled in (headless runs, the "finish" button)
    count only with include_simulated=True: the pipeline should learn *your* taste, not a stand-in's.
    """
    from tutor.labeling.export import preference_rows
    from tutor.labeling.store import LabelStore

    rows = []
    for path in learner_label_files(runs):
        records = LabelStore(path, read_only=True).records
        if not include_simulated:
            records = [record for record in records if str(record.get("by", "human")) == "human"]
        rows += preference_rows(records)[0]
    if len(rows) < min_pairs:
        return None
    return to_dataset(rows)


def preference_data(course, n: int, persona="riley", use_learner_labels: bool = True, seed: int = 0):
    """What the reward model and DPO train on: the learner's own labels when notebook 03 left at
    least 20, else `n` pairs labelled by the gold annotator. Returns (dataset, source description)."""
    if use_learner_labels:
        learner = learner_dataset(course.runs)
        if learner is not None:
            return learner, f"your {len(learner)} labels from notebook 03"
    return gold_dataset(n, seed=seed, persona=persona), f"{n} pairs labelled by the gold annotator ({persona})"
