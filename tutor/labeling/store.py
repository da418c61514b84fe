"""The label store: every action of the learner reaches the disk before the next one can happen.

A label file is JSON Lines, one object per action, only ever appended to:

    {"v": 1, "kind": "label", "seq": 7, "pair_id": "…", "label": "b", "click": "left", "left": "b", …}
    {"v": 1, "kind": "undo",  "seq": 8, "undoes": 7, "pair_id": "…", …}

Each line is flushed and fsynced before the click counts, so a crashed kernel loses at most the
click it was writing. An undo is a tombstone that points at the label it cancels; nothing is ever
rewritten, so no bug in undo can destroy earlier work. Reading replays the lines in order; a line
that cannot be read (cut off mid-write) is skipped and counted, and every other line still counts.

Two labelers on one file (the cell run twice, two notebooks) take turns: `add` and `undo` hold an
exclusive lock on the file (`tutor.labeling.lock`) while they re-read it, check and append, so no
two records share a sequence number, no acknowledged label is replaced, an undo cancels exactly the
label it names, and a second annotator name is refused rather than written into the file.

Labels are stored in terms of the ORIGINAL answers a and b; `left` says which of them was shown on
the left and `click` what the learner actually pressed (`tutor.labeling.clicks`), so position bias
can be studied later.
"""

from __future__ import annotations

import codecs
import json
import os
import warnings
from collections import Counter
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from tutor.errors import TutorError
from tutor.labeling.clicks import CLICKS, SIDES, click_for_label
from tutor.labeling.export import (
    ExportReport,
    empty_export_message,
    preference_rows,
    rows_to_dataset,
)
from tutor.labeling.lock import file_lock
from tutor.labeling.pairs import Pair, as_pair, as_pair_source, clean_text, short_repr

SCHEMA = 1
LABELS = ("a", "b", "tie", "skip")
TORN_PREFIX = b'{"v": 1, "kind": "'  # how every record starts: a first record cut off mid-write does too


def _check_record(record: object) -> dict:
    """Return the record if it is a well-formed label or undo record; raise ValueError if not."""
    if not isinstance(record, dict) or record.get("v") != SCHEMA:
        raise ValueError("not a version-1 record")
    if not isinstance(record.get("seq"), int) or not isinstance(record.get("pair_id"), str):
        raise ValueError("no seq / pair_id")
    if not isinstance(record.get("annotator"), str):
        raise ValueError("no annotator")
    kind = record.get("kind")
    if kind == "label":
        for key in ("prompt", "a", "b", "rationale", "by"):
            if not isinstance(record.get(key), str):
                raise ValueError(f"no {key}")
        if record.get("label") not in LABELS or record.get("left") not in SIDES or record.get("click") not in CLICKS:
            raise ValueError("unknown label / left / click value")
    elif kind == "undo":
        if not isinstance(record.get("undoes"), int):
            raise ValueError("undo without target")
    else:
        raise ValueError("unknown kind")
    return record


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class LabelStore:
    """One annotator's labels for one pair set, in an append-only, crash-safe JSONL file.

    ``LabelStore(path, annotator_id="ada", pair_set=pairs)`` opens (or creates) the file and
    replays it: `done` holds the pairs already labelled, so a new session resumes where the last
    one stopped. `pair_set` (a list of pairs, `PairList` or `LivePairs`) guards against mixing
    files: a file written for other pairs is refused. `read_only=True` reads a file without ever
    writing to it (the classroom merge does this).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        annotator_id: str | None = None,
        pair_set: object | None = None,
        *,
        read_only: bool = False,
    ):
        if annotator_id is not None and (not isinstance(annotator_id, str) or not annotator_id.strip()):
            raise TutorError(f"annotator_id must be a non-empty string such as 'ada', not {short_repr(annotator_id)}.")
        self.path = Path(path).expanduser()
        self.read_only = read_only
        self.pairs = as_pair_source(pair_set) if pair_set is not None else None
        if read_only:
            if not self.path.is_file():
                raise TutorError(
                    f"There is no label file at {str(self.path)!r}; give the path of a .jsonl file written by the "
                    "labeler."
                )
        else:
            self._prepare()
        self._warned_lines = 0  # unreadable lines already warned about
        self._annotator_arg = annotator_id
        file_annotators, file_fingerprints = self._load()
        self._check_owner(file_annotators, file_fingerprints)
        self._remember_labelled_pairs()

    def _check_owner(self, file_annotators: set[str], file_fingerprints: set[str]) -> None:
        """One annotator and one pair set per file: refuse a file written by someone else or for other pairs."""
        annotator_id = self._annotator_arg
        if len(file_annotators) > 1:
            raise TutorError(
                f"{self.path.name} holds labels from several annotators ({', '.join(sorted(file_annotators))}); "
                "keep one label file per annotator and merge them with tutor.labeling.merge_labels."
            )
        file_annotator = next(iter(file_annotators), None)
        if annotator_id is not None and file_annotator is not None and annotator_id != file_annotator:
            raise TutorError(
                f"{self.path.name} holds the labels of {file_annotator!r}, not {annotator_id!r}; "
                f"use annotator_id={file_annotator!r} to resume it, or a new file for {annotator_id!r}."
            )
        self.annotator_id = annotator_id or file_annotator or "learner"
        self._annotator_arg = self.annotator_id  # a later writer of another name is refused, not mixed in

        if len(file_fingerprints) > 1:
            raise TutorError(
                f"{self.path.name} mixes labels of different pair sets ({', '.join(sorted(file_fingerprints))}); "
                "keep one label file per pair set."
            )
        file_fingerprint = next(iter(file_fingerprints), None)
        if self.pairs is not None and file_fingerprint is not None and file_fingerprint != self.pairs.fingerprint:
            raise TutorError(
                f"{self.path.name} was written for a different pair set ({file_fingerprint}, these pairs are "
                f"{self.pairs.fingerprint}); open it with the pairs it was labelled on, or label these pairs in a new "
                "file."
            )
        self.fingerprint = self.pairs.fingerprint if self.pairs is not None else file_fingerprint

    # -- reading -----------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Create the folder and file now, so an unwritable path fails before any labelling."""
        if self.path.is_dir():
            raise TutorError(
                f"{str(self.path)!r} is a folder; give a file path such as {str(self.path / 'labels.jsonl')!r}."
            )
        existed = self.path.exists()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab"):
                pass
        except OSError as exc:
            raise TutorError(
                f"Cannot write labels to {str(self.path)!r} ({exc.strerror or exc}); choose a path in a folder you can "
                "write to."
            ) from None
        if not existed:
            _fsync_folder(self.path.parent)

    def _load(self) -> tuple[set[str], set[str]]:
        """Replay the whole file into memory; return the annotators and pair sets it names."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise TutorError(f"Cannot read the label file {str(self.path)!r} ({exc.strerror or exc}).") from None
        self._live: dict[str, dict] = {}  # pair id -> its live label record, in action order
        self._live_by_seq: dict[int, dict] = {}  # seq -> live label record (undo targets)
        self._labelled_pairs: dict[str, Pair] = {}  # every pair that ever got a label, with its text
        self.undone = 0
        self.bad_lines: list[int] = []
        self._next_seq = 0
        self._known_size = len(data)
        self._file_annotators: set[str] = set()
        self._file_fingerprints: set[str] = set()
        annotators, fingerprints = self._file_annotators, self._file_fingerprints
        good, first_bad = 0, b""
        # A byte-order mark (an editor's "UTF-8 with BOM") is not part of the first record.
        for number, raw in enumerate(data.removeprefix(codecs.BOM_UTF8).split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                record = _check_record(json.loads(raw.decode("utf-8")))
            except (ValueError, UnicodeDecodeError, RecursionError):  # JSONDecodeError is a ValueError;
                self.bad_lines.append(number)  # RecursionError: a line nested thousands of levels deep
                first_bad = first_bad or raw
                continue
            good += 1
            annotators.add(record["annotator"])
            if record.get("pair_set") is not None:
                fingerprints.add(str(record["pair_set"]))
            self._apply(record)
        cut_off_first_record = len(self.bad_lines) == 1 and first_bad.lstrip().startswith(TORN_PREFIX)
        if good == 0 and self.bad_lines and not cut_off_first_record:
            raise TutorError(
                f"{str(self.path)!r} does not look like a label file (none of its {len(self.bad_lines)} lines is a "
                "label record); it was left untouched, so give a new file name for the labels."
            )
        if len(self.bad_lines) > self._warned_lines:
            self._warned_lines = len(self.bad_lines)
            shown = ", ".join(map(str, self.bad_lines[:10])) + (" …" if len(self.bad_lines) > 10 else "")
            warnings.warn(
                f"{self.path.name}: skipped {len(self.bad_lines)} unreadable line(s) (line {shown}), "
                "probably cut off when the kernel stopped mid-write; every other line was read.",
                UserWarning,
                stacklevel=3,
            )
        return annotators, fingerprints

    def _apply(self, record: dict) -> None:
        """Replay one record: a label replaces the pair's live label, an undo cancels its target."""
        self._next_seq = max(self._next_seq, record["seq"] + 1)
        if record["kind"] == "label":
            previous = self._live.pop(record["pair_id"], None)
            if previous is not None:
                self._live_by_seq.pop(previous["seq"], None)
            self._live[record["pair_id"]] = record
            self._live_by_seq[record["seq"]] = record
            self._labelled_pairs[record["pair_id"]] = Pair(
                record["pair_id"], record["prompt"], record["a"], record["b"]
            )
        else:
            target = self._live_by_seq.pop(record["undoes"], None)
            if target is not None:
                del self._live[target["pair_id"]]
                self.undone += 1

    def _remember_labelled_pairs(self) -> None:
        """Hand the labelled answers to the pair source, so live pairs are never re-sampled."""
        if self.pairs is not None:
            for pair in self._labelled_pairs.values():
                self.pairs.remember(pair)

    # -- writing -----------------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self.read_only:
            raise TutorError(f"This store was opened read_only; open {self.path.name} without read_only to label.")

    def _append(self, record: dict) -> None:
        """Append one line and fsync it. A previous line cut off mid-write stays on its own line."""
        self._check_writable()
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            with open(self.path, "a+b", buffering=0) as f:  # unbuffered: no bytes left behind on failure
                f.seek(0, os.SEEK_END)
                size = f.tell()
                if size:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        line = b"\n" + line
                    f.seek(0, os.SEEK_END)
                try:
                    view = memoryview(line)
                    while view:  # a raw write may write fewer bytes than asked
                        view = view[f.write(view) :]
                    os.fsync(f.fileno())
                except OSError:
                    _roll_back(f, size)
                    raise
                self._known_size = f.tell()
        except OSError as exc:
            raise TutorError(
                f"Could not save to {str(self.path)!r} ({exc.strerror or exc}), so this action was not "
                "counted; free some disk space or choose a writable path, then try again."
            ) from None

    def refresh(self) -> bool:
        """Re-read the file if something else wrote to it (a second labeler on the same file).

        Called before every action, so two open labelers never label one pair twice or reuse a
        record number. Returns True when the file had changed.
        """
        try:
            size = self.path.stat().st_size
        except OSError:
            size = -1
        if size == self._known_size:
            return False
        if size == -1:
            self._prepare()
        self._load()
        self._remember_labelled_pairs()
        return True

    def _refresh_and_check(self) -> None:
        """Under the lock: re-read the file, then refuse to write if someone else's labels are in it."""
        self.refresh()
        self._check_owner(self._file_annotators, self._file_fingerprints)

    def _locked(self):
        """The file's write lock: held from re-reading the file to the fsync of the new line."""
        return file_lock(self.path)

    def _pair(self, pair: object) -> Pair:
        pair = as_pair(pair)
        if self.pairs is not None:
            if pair.id not in self.pairs:
                raise TutorError(
                    f"Pair {pair.id!r} is not in this store's pair set; label only the pairs the store was opened with."
                )
            if not self.pairs.matches(pair):
                raise TutorError(
                    f"Pair {pair.id!r} has a different prompt or answers than the pair set says; label the pair as "
                    "listed."
                )
        return pair

    def add(self, pair: object, label: str, *, left: str = "a", rationale: str = "", by: str = "human") -> dict:
        """Record one label (in terms of the original answers: 'a', 'b', 'tie' or 'skip').

        `left` is the answer that was shown on the left; `by` says who decided ('human' or
        'simulated:<persona>'). The record is on disk when this returns.
        """
        self._check_writable()
        if label not in LABELS:
            raise TutorError(
                f"Unknown label {label!r}; use 'a', 'b', 'tie' or 'skip' (in terms of the original answers a and b)."
            )
        if left not in SIDES:
            raise TutorError(f"left must be 'a' or 'b' (the answer shown on the left), not {left!r}.")
        if not isinstance(rationale, str):
            raise TutorError(f"A rationale must be text, not {short_repr(rationale)}.")
        rationale = clean_text(rationale)  # a lone surrogate (cannot be UTF-8) becomes U+FFFD
        if not isinstance(by, str) or not by:
            raise TutorError(f"by must name who labelled ('human' or 'simulated:<persona>'), not {short_repr(by)}.")
        pair = self._pair(pair)
        with self._locked():
            self._refresh_and_check()
            if pair.id in self._live:
                raise TutorError(
                    f"Pair {pair.id!r} is already labelled {self._live[pair.id]['label']!r}; undo that label first to "
                    "change it."
                )
            return self._write_label(pair, label, left, rationale, by)

    def _write_label(self, pair: Pair, label: str, left: str, rationale: str, by: str) -> dict:
        record = {
            "v": SCHEMA,
            "kind": "label",
            "seq": self._next_seq,
            "time": _now(),
            "annotator": self.annotator_id,
            "pair_set": self.fingerprint,
            "pair_id": pair.id,
            "label": label,
            "click": click_for_label(label, left),
            "left": left,
            "by": by,
            "rationale": rationale,
            "prompt": pair.prompt,
            "a": pair.a,
            "b": pair.b,
        }
        self._append(record)
        self._apply(record)
        return record

    def undo(self) -> dict | None:
        """Cancel the most recent live label with a tombstone line; return it (None if nothing to undo)."""
        self._check_writable()
        with self._locked():
            self._refresh_and_check()
            if not self._live:
                return None
            return self._write_undo(next(reversed(self._live.values())))

    def _write_undo(self, target: dict) -> dict:
        record = {
            "v": SCHEMA,
            "kind": "undo",
            "seq": self._next_seq,
            "time": _now(),
            "annotator": self.annotator_id,
            "pair_set": self.fingerprint,
            "pair_id": target["pair_id"],
            "undoes": target["seq"],
        }
        self._append(record)
        self._apply(record)
        return target

    # -- state -------------------------------------------------------------------------------

    @property
    def records(self) -> list[dict]:
        """The live label records (undone ones removed), in the order they were made."""
        return list(self._live.values())

    @property
    def labels(self) -> dict[str, str]:
        """pair id -> label for every pair with a live label (skips included)."""
        return {pair_id: record["label"] for pair_id, record in self._live.items()}

    @property
    def done(self) -> set[str]:
        """Ids of pairs that need no more work: labelled, tied or skipped."""
        return set(self._live)

    @property
    def corrupt_lines(self) -> int:
        return len(self.bad_lines)

    def seen_pair(self, pair_id: str) -> Pair | None:
        """The text of a pair as it was labelled (live pairs are never re-sampled on resume)."""
        return self._labelled_pairs.get(pair_id)

    def decided_pairs(self) -> list[Pair]:
        """The pairs with a live A/B choice (neither tied nor skipped), in the order they were labelled."""
        return [
            Pair(record["pair_id"], record["prompt"], record["a"], record["b"])
            for record in self._live.values()
            if record["label"] in ("a", "b")
        ]

    def counts(self) -> Counter:
        return Counter(record["label"] for record in self._live.values())

    def __len__(self) -> int:
        return len(self._live)

    def __repr__(self) -> str:
        counts = self.counts()
        return (
            f"LabelStore({str(self.path)!r}, annotator={self.annotator_id!r}: {len(self)} done — "
            f"a {counts['a']}, b {counts['b']}, tie {counts['tie']}, skip {counts['skip']})"
        )

    # -- export ------------------------------------------------------------------------------

    def _export(self, ties: str, conversational: bool = True) -> tuple[list[dict], ExportReport]:
        rows, report = preference_rows(self.records, ties=ties, conversational=conversational)
        return rows, replace(report, undone=self.undone, unreadable=self.corrupt_lines)

    def export_report(self, *, ties: str = "drop") -> ExportReport:
        """What `to_dataset(ties=ties)` keeps and drops, including undone and unreadable lines."""
        return self._export(ties)[1]

    def to_dataset(self, *, conversational: bool = True, ties: str = "drop", quiet: bool = False):
        """The labels as a TRL preference `datasets.Dataset` (prompt / chosen / rejected).

        Conversational rows hold chat messages (TRL applies the chat template); with
        conversational=False they are plain strings. Prints what was kept and dropped.
        """
        rows, report = self._export(ties, conversational)
        if not rows:
            raise TutorError(empty_export_message(self.path.name, report))
        dataset = rows_to_dataset(rows)
        if not quiet:
            print(f"{self.path.name}: {report}")
        return dataset


def _roll_back(f, size: int) -> None:
    """Cut off the bytes of a failed append (only ours), so the file says what the learner was told."""
    try:
        f.truncate(size)
    except (OSError, ValueError):
        pass  # if even that fails, a half line is skipped as unreadable when the file is read


def _fsync_folder(folder: Path) -> None:
    """Make a newly created file's name durable too (POSIX; a no-op where folders can't be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
