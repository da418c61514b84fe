"""The label store: every action of the learner reaches the disk before the next one can happen.

A label file is JSON Lines, one object per action, only ever appended to:

    {"v": 1, "kind": "label", "seq": 7, "pair_id": "…", "label": "b", "click": "left", "left": "b", …}
    {"v": 1, "kind": "undo",  "seq": 8, "undoes": 7, "pair_id": "…", …}

Each line is flushed and fsynced before the click counts, so a crashed kernel loses at most the
click it was writing. An undo is a tombstone that points at the label it cancels; nothing is ever
rewritten, so no bug in undo can destroy earlier work. Reading replays the lines in order; a line
that cannot be read (cut off mid-write) is skipped and counted, and every other line still counts.

Labels are stored in terms of the ORIGINAL answers a and b; `left` says which of them was shown on
the left and `click` what the learner actually pressed, so position bias can be studied later.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tutor.core.chat import as_conversational
from tutor.errors import TutorError

SCHEMA = 1
LABELS = ("a", "b", "tie", "skip")
CLICKS = ("left", "right", "tie", "skip")
SIDES = ("a", "b")
TIE_POLICIES = ("drop", "both")


# --------------------------------------------------------------------------------------- pairs


@dataclass(frozen=True)
class Pair:
    """Two answers to one prompt, with the id that every record of them carries."""

    id: str
    prompt: str
    a: str
    b: str


def pair_id(prompt: str, a: str, b: str) -> str:
    """A short id derived from the text, so the same pair gets the same id in every session."""
    return hashlib.sha1(json.dumps([prompt, a, b]).encode("utf-8")).hexdigest()[:12]


def _fingerprint(kind: str, items: Iterable[str]) -> str:
    return f"{kind}-" + hashlib.sha1("\n".join(items).encode("utf-8")).hexdigest()[:16]


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_pair(item: object, position: int | None = None) -> Pair:
    """Read one pair from a `Pair`, a `(prompt, a, b)` tuple or a dict with prompt / a / b."""
    where = "" if position is None else f" (item {position})"
    accepted = (
        "a (prompt, answer_a, answer_b) tuple of strings or a dict with 'prompt', 'a' and 'b' "
        "(optionally 'id')"
    )
    if isinstance(item, Pair):
        return item
    given_id = None
    if isinstance(item, dict):
        a = item.get("a", item.get("answer_a"))
        b = item.get("b", item.get("answer_b"))
        prompt = item.get("prompt")
        given_id = item.get("id", item.get("pair_id"))
    elif isinstance(item, (tuple, list)) and len(item) == 3:
        prompt, a, b = item
    else:
        raise TutorError(f"A pair{where} must be {accepted}, not {_describe(item)}.")
    if not all(isinstance(x, str) for x in (prompt, a, b)):
        raise TutorError(f"A pair{where} must be {accepted}; its prompt and answers must be strings, got {_describe(item)}.")
    if given_id is not None and (not isinstance(given_id, (str, int)) or str(given_id) == ""):
        raise TutorError(f"A pair id{where} must be a non-empty string or an integer, not {_describe(given_id)}.")
    pid = str(given_id) if given_id is not None else pair_id(prompt, a, b)
    return Pair(pid, prompt, a, b)


class PairList:
    """A fixed list of pairs to label (a data set, or `tutor.world.candidate_pairs`)."""

    live = False

    def __init__(self, pairs: Iterable[object]):
        if isinstance(pairs, (str, bytes, dict)) or not isinstance(pairs, Iterable):
            raise TutorError(
                f"Pairs must be a list of (prompt, answer_a, answer_b) tuples or dicts, not {_describe(pairs)}."
            )
        items = [as_pair(p, i) for i, p in enumerate(pairs)]
        if not items:
            raise TutorError("The pair list is empty; give at least one (prompt, answer_a, answer_b).")
        first: dict[str, int] = {}
        for i, p in enumerate(items):
            if p.id in first:
                raise TutorError(
                    f"The pair list holds pair id {p.id!r} twice (items {first[p.id]} and {i}); "
                    "every pair needs its own id, so drop the repeat (list(dict.fromkeys(pairs)) drops "
                    "repeated tuples) or give distinct 'id' values."
                )
            first[p.id] = i
        self._pairs = {p.id: p for p in items}
        self.ids = [p.id for p in items]
        self.fingerprint = _fingerprint(
            "list", sorted(f"{p.id}:{pair_id(p.prompt, p.a, p.b)}" for p in items)
        )

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Pair]:
        return iter(self._pairs.values())

    def __contains__(self, pid: object) -> bool:
        return pid in self._pairs

    def get(self, pid: str) -> Pair:
        return self._pairs[pid]

    def matches(self, pair: Pair) -> bool:
        return self._pairs.get(pair.id) == pair

    def remember(self, pair: Pair) -> None:
        """Fixed pairs need no memory; live sources keep answers that were already labelled."""

    def __repr__(self) -> str:
        return f"PairList({len(self)} pairs, {self.fingerprint})"


class LivePairs:
    """Pairs sampled on demand from a model: `sample(prompt)` returns two answers `(a, b)`.

    A prompt is sampled the first time it is shown; once labelled, its answers live in the label
    file, so resuming never re-samples (and never re-labels) a pair the learner already judged.
    The pair id is the prompt's position plus a hash of its text, so the same prompt may appear
    twice in the list to get two different pairs.
    """

    live = True

    def __init__(self, prompts: Iterable[object], sample: Callable[[str], tuple[str, str]]):
        if not callable(sample):
            raise TutorError(f"sample must be a function prompt -> (answer_a, answer_b), not {_describe(sample)}.")
        if isinstance(prompts, (str, bytes)) or not isinstance(prompts, Iterable):
            raise TutorError(f"prompts must be a list of prompt strings, not {_describe(prompts)}.")
        texts = []
        for i, p in enumerate(prompts):
            text = getattr(p, "text", p)  # tutor.world.Prompt or a plain string
            if not isinstance(text, str) or not text.strip():
                raise TutorError(f"Prompt {i} must be a non-empty string, not {_describe(p)}.")
            texts.append(text)
        if not texts:
            raise TutorError("The prompt list is empty; give at least one prompt to sample answers for.")
        self._sample = sample
        self.ids = [f"{i:04d}-{hashlib.sha1(t.encode('utf-8')).hexdigest()[:8]}" for i, t in enumerate(texts)]
        self._prompts = dict(zip(self.ids, texts, strict=True))
        self._cache: dict[str, Pair] = {}
        self.fingerprint = _fingerprint("live", self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Pair]:
        return (self.get(pid) for pid in self.ids)

    def __contains__(self, pid: object) -> bool:
        return pid in self._prompts

    def get(self, pid: str) -> Pair:
        if pid not in self._cache:
            prompt = self._prompts[pid]
            out = self._sample(prompt)
            if not (isinstance(out, (tuple, list)) and len(out) == 2 and all(isinstance(x, str) for x in out)):
                raise TutorError(
                    f"sample(prompt) must return two answer strings (answer_a, answer_b), got {_describe(out)}."
                )
            self._cache[pid] = Pair(pid, prompt, out[0], out[1])
        return self._cache[pid]

    def matches(self, pair: Pair) -> bool:
        return self._prompts.get(pair.id) == pair.prompt

    def remember(self, pair: Pair) -> None:
        if pair.id in self._prompts:
            self._cache[pair.id] = pair

    def __repr__(self) -> str:
        return f"LivePairs({len(self)} prompts, {self.fingerprint})"


def as_pair_source(pairs: object) -> PairList | LivePairs:
    if isinstance(pairs, (PairList, LivePairs)):
        return pairs
    return PairList(pairs)  # type: ignore[arg-type]


def label_for_click(click: str, left: str) -> str:
    """Translate what was pressed (left / right / tie / skip) into a label on the original a / b."""
    if click not in CLICKS:
        raise TutorError(f"Unknown click {click!r}; use one of {', '.join(map(repr, CLICKS))}.")
    if left not in SIDES:
        raise TutorError(f"left must be 'a' or 'b' (the answer shown on the left), not {left!r}.")
    if click == "left":
        return left
    if click == "right":
        return "b" if left == "a" else "a"
    return click


def click_for_label(label: str, left: str) -> str:
    if label in ("tie", "skip"):
        return label
    return "left" if label == left else "right"


# ---------------------------------------------------------------------------------- records


def _check_record(obj: object) -> dict:
    """Return the record if it is a well-formed label or undo record; raise ValueError if not."""
    if not isinstance(obj, dict) or obj.get("v") != SCHEMA:
        raise ValueError("not a version-1 record")
    if not isinstance(obj.get("seq"), int) or not isinstance(obj.get("pair_id"), str):
        raise ValueError("no seq / pair_id")
    if not isinstance(obj.get("annotator"), str):
        raise ValueError("no annotator")
    kind = obj.get("kind")
    if kind == "label":
        for key in ("prompt", "a", "b", "rationale", "by"):
            if not isinstance(obj.get(key), str):
                raise ValueError(f"no {key}")
        if obj.get("label") not in LABELS or obj.get("left") not in SIDES or obj.get("click") not in CLICKS:
            raise ValueError("unknown label / left / click value")
    elif kind == "undo":
        if not isinstance(obj.get("undoes"), int):
            raise ValueError("undo without target")
    else:
        raise ValueError("unknown kind")
    return obj


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

    A tie is no evidence either way: dropped by default, or with ties="both" kept as two rows with
    chosen and rejected swapped, which pulls a Bradley–Terry reward model towards equal scores.
    """
    if ties not in TIE_POLICIES:
        raise TutorError(f"ties must be 'drop' or 'both', not {ties!r}.")

    def row(prompt: str, chosen: str, rejected: str) -> dict:
        if conversational:
            return as_conversational(prompt, chosen=chosen, rejected=rejected)
        return {"prompt": prompt, "chosen": chosen, "rejected": rejected}

    rows, counts = [], Counter()
    for r in records:
        label = r["label"]
        counts[label] += 1
        if label == "a":
            rows.append(row(r["prompt"], r["a"], r["b"]))
        elif label == "b":
            rows.append(row(r["prompt"], r["b"], r["a"]))
        elif label == "tie" and ties == "both":
            rows.append(row(r["prompt"], r["a"], r["b"]))
            rows.append(row(r["prompt"], r["b"], r["a"]))
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
    return (
        f"Nothing to export from {source}: {report.choices} A/B choices, {report.ties} tie(s) "
        f"and {report.skips} skip(s) give no preference rows; label at least one pair "
        "'A is better' or 'B is better' (ties count only with ties='both')."
    )


# ------------------------------------------------------------------------------------ store


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
            raise TutorError(f"annotator_id must be a non-empty string such as 'ada', not {_describe(annotator_id)}.")
        self.path = Path(path).expanduser()
        self.read_only = read_only
        self.pairs = as_pair_source(pair_set) if pair_set is not None else None
        if read_only:
            if not self.path.is_file():
                raise TutorError(f"There is no label file at {str(self.path)!r}; give the path of a .jsonl file written by the labeler.")
        else:
            self._prepare()
        self._warned = 0  # unreadable lines already warned about
        file_annotators, file_fingerprints = self._load()

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

        if len(file_fingerprints) > 1:
            raise TutorError(
                f"{self.path.name} mixes labels of different pair sets ({', '.join(sorted(file_fingerprints))}); "
                "keep one label file per pair set."
            )
        file_fingerprint = next(iter(file_fingerprints), None)
        if self.pairs is not None and file_fingerprint is not None and file_fingerprint != self.pairs.fingerprint:
            raise TutorError(
                f"{self.path.name} was written for a different pair set ({file_fingerprint}, these pairs are "
                f"{self.pairs.fingerprint}); open it with the pairs it was labelled on, or label these pairs in a new file."
            )
        self.fingerprint = self.pairs.fingerprint if self.pairs is not None else file_fingerprint
        if self.pairs is not None:
            for pair in self._seen.values():
                self.pairs.remember(pair)

    # -- reading -----------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Create the folder and file now, so an unwritable path fails before any labelling."""
        if self.path.is_dir():
            raise TutorError(f"{str(self.path)!r} is a folder; give a file path such as {str(self.path / 'labels.jsonl')!r}.")
        existed = self.path.exists()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab"):
                pass
        except OSError as exc:
            raise TutorError(
                f"Cannot write labels to {str(self.path)!r} ({exc.strerror or exc}); choose a path in a folder you can write to."
            ) from None
        if not existed:
            _fsync_folder(self.path.parent)

    def _load(self) -> tuple[set[str], set[str]]:
        """Replay the whole file into memory; return the annotators and pair sets it names."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise TutorError(f"Cannot read the label file {str(self.path)!r} ({exc.strerror or exc}).") from None
        self._active: dict[str, dict] = {}  # pair id -> its live label record, in action order
        self._by_seq: dict[int, dict] = {}  # seq -> live label record (undo targets)
        self._seen: dict[str, Pair] = {}  # every pair that ever got a label, with its text
        self.undone = 0
        self.bad_lines: list[int] = []
        self._next_seq = 0
        self._known_size = len(data)
        annotators: set[str] = set()
        fingerprints: set[str] = set()
        good = 0
        for number, raw in enumerate(data.split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                rec = _check_record(json.loads(raw.decode("utf-8")))
            except (ValueError, UnicodeDecodeError):  # json.JSONDecodeError is a ValueError
                self.bad_lines.append(number)
                continue
            good += 1
            annotators.add(rec["annotator"])
            if rec.get("pair_set") is not None:
                fingerprints.add(str(rec["pair_set"]))
            self._apply(rec)
        if good == 0 and len(self.bad_lines) > 1:
            raise TutorError(
                f"{str(self.path)!r} does not look like a label file (none of its {len(self.bad_lines)} lines is a "
                "label record); it was left untouched, so give a new file name for the labels."
            )
        if len(self.bad_lines) > self._warned:
            self._warned = len(self.bad_lines)
            shown = ", ".join(map(str, self.bad_lines[:10])) + (" …" if len(self.bad_lines) > 10 else "")
            warnings.warn(
                f"{self.path.name}: skipped {len(self.bad_lines)} unreadable line(s) (line {shown}), "
                "probably cut off when the kernel stopped mid-write; every other line was read.",
                UserWarning,
                stacklevel=3,
            )
        return annotators, fingerprints

    def _apply(self, rec: dict) -> None:
        self._next_seq = max(self._next_seq, rec["seq"] + 1)
        if rec["kind"] == "label":
            old = self._active.pop(rec["pair_id"], None)
            if old is not None:
                self._by_seq.pop(old["seq"], None)
            self._active[rec["pair_id"]] = rec
            self._by_seq[rec["seq"]] = rec
            self._seen[rec["pair_id"]] = Pair(rec["pair_id"], rec["prompt"], rec["a"], rec["b"])
        else:
            target = self._by_seq.pop(rec["undoes"], None)
            if target is not None:
                del self._active[target["pair_id"]]
                self.undone += 1

    # -- writing -----------------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self.read_only:
            raise TutorError(f"This store was opened read_only; open {self.path.name} without read_only to label.")

    def _append(self, rec: dict) -> None:
        """Append one line and fsync it. A previous line cut off mid-write stays on its own line."""
        self._check_writable()
        line = (json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8")
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
                        view = view[f.write(view):]
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
        if self.pairs is not None:
            for pair in self._seen.values():
                self.pairs.remember(pair)
        return True

    def _pair(self, pair: object) -> Pair:
        pair = as_pair(pair)
        if self.pairs is not None:
            if pair.id not in self.pairs:
                raise TutorError(f"Pair {pair.id!r} is not in this store's pair set; label only the pairs the store was opened with.")
            if not self.pairs.matches(pair):
                raise TutorError(f"Pair {pair.id!r} has a different prompt or answers than the pair set says; label the pair as listed.")
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
            raise TutorError(f"A rationale must be text, not {_describe(rationale)}.")
        if not isinstance(by, str) or not by:
            raise TutorError(f"by must name who labelled ('human' or 'simulated:<persona>'), not {_describe(by)}.")
        pair = self._pair(pair)
        self.refresh()
        if pair.id in self._active:
            raise TutorError(
                f"Pair {pair.id!r} is already labelled {self._active[pair.id]['label']!r}; undo that label first to change it."
            )
        rec = {
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
        self._append(rec)
        self._apply(rec)
        return rec

    def undo(self) -> dict | None:
        """Cancel the most recent live label with a tombstone line; return it (None if nothing to undo)."""
        self._check_writable()
        self.refresh()
        if not self._active:
            return None
        target = next(reversed(self._active.values()))
        rec = {
            "v": SCHEMA,
            "kind": "undo",
            "seq": self._next_seq,
            "time": _now(),
            "annotator": self.annotator_id,
            "pair_set": self.fingerprint,
            "pair_id": target["pair_id"],
            "undoes": target["seq"],
        }
        self._append(rec)
        self._apply(rec)
        return target

    # -- state -------------------------------------------------------------------------------

    @property
    def records(self) -> list[dict]:
        """The live label records (undone ones removed), in the order they were made."""
        return list(self._active.values())

    @property
    def labels(self) -> dict[str, str]:
        """pair id -> label for every pair with a live label (skips included)."""
        return {pid: r["label"] for pid, r in self._active.items()}

    @property
    def done(self) -> set[str]:
        """Ids of pairs that need no more work: labelled, tied or skipped."""
        return set(self._active)

    @property
    def corrupt_lines(self) -> int:
        return len(self.bad_lines)

    def seen_pair(self, pid: str) -> Pair | None:
        """The text of a pair as it was labelled (live pairs are never re-sampled on resume)."""
        return self._seen.get(pid)

    def counts(self) -> Counter:
        return Counter(r["label"] for r in self._active.values())

    def __len__(self) -> int:
        return len(self._active)

    def __repr__(self) -> str:
        c = self.counts()
        return (
            f"LabelStore({str(self.path)!r}, annotator={self.annotator_id!r}: {len(self)} done — "
            f"a {c['a']}, b {c['b']}, tie {c['tie']}, skip {c['skip']})"
        )

    # -- export ------------------------------------------------------------------------------

    def export_report(self, *, ties: str = "drop") -> ExportReport:
        _, report = preference_rows(self.records, ties=ties)
        return ExportReport(**{**report.__dict__, "undone": self.undone, "unreadable": self.corrupt_lines})

    def to_dataset(self, *, conversational: bool = True, ties: str = "drop", quiet: bool = False):
        """The labels as a TRL preference `datasets.Dataset` (prompt / chosen / rejected).

        Conversational rows hold chat messages (TRL applies the chat template); with
        conversational=False they are plain strings. Prints what was kept and dropped.
        """
        rows, _ = preference_rows(self.records, ties=ties, conversational=conversational)
        report = self.export_report(ties=ties)
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
