"""The label store must never lose a label: append-only, fsynced, readable after any crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutor.errors import TutorError
from tutor.labeling import LabelStore, PairList
from tutor.world import candidate_pairs

REPO = Path(__file__).resolve().parents[1]
PAIRS = candidate_pairs(12, seed=3)


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "labels" / "ada.jsonl"


def test_every_action_is_one_line_on_disk_in_original_a_b_terms(path):
    store = LabelStore(path, annotator_id="ada", pair_set=PAIRS)
    store.add(PAIRS[0], "a", left="b", rationale="shorter")
    assert len(lines(path)) == 1  # on disk as soon as add() returns
    store.add(PAIRS[1], "b", left="b")
    store.add(PAIRS[2], "tie")
    store.add(PAIRS[3], "skip")
    recs = lines(path)
    assert [r["label"] for r in recs] == ["a", "b", "tie", "skip"]
    # the raw click: answer a was on the right in the first record, on the left... nowhere else
    assert [r["click"] for r in recs] == ["right", "left", "tie", "skip"]
    assert [r["left"] for r in recs] == ["b", "b", "a", "a"]
    first = recs[0]
    assert (first["prompt"], first["a"], first["b"]) == PAIRS[0]
    assert first["annotator"] == "ada" and first["rationale"] == "shorter" and first["by"] == "human"
    assert first["pair_set"] == PairList(PAIRS).fingerprint
    assert first["time"].endswith("+00:00")


def test_reopening_resumes_with_the_same_labels(path):
    store = LabelStore(path, annotator_id="ada", pair_set=PAIRS)
    for pair, label in zip(PAIRS[:5], ["a", "b", "tie", "skip", "a"], strict=True):
        store.add(pair, label)
    again = LabelStore(path, pair_set=PAIRS)
    assert again.annotator_id == "ada"
    assert again.labels == store.labels
    assert again.done == {PairList(PAIRS).ids[i] for i in range(5)}
    assert again.corrupt_lines == 0


def test_undo_is_a_tombstone_and_never_rewrites_the_file(path):
    store = LabelStore(path, annotator_id="ada", pair_set=PAIRS)
    store.add(PAIRS[0], "a")
    store.add(PAIRS[1], "b")
    before = path.read_bytes()
    undone = store.undo()
    assert undone["label"] == "b"
    assert path.read_bytes().startswith(before)  # appended, nothing above it changed
    tomb = lines(path)[-1]
    assert tomb["kind"] == "undo" and tomb["undoes"] == undone["seq"]
    assert LabelStore(path, pair_set=PAIRS).labels == {PairList(PAIRS).ids[0]: "a"}
    assert store.undo()["label"] == "a"
    assert store.undo() is None  # nothing left: no line written
    assert len(lines(path)) == 4
    reopened = LabelStore(path, pair_set=PAIRS)
    assert len(reopened) == 0 and reopened.undone == 2


def test_a_pair_cannot_be_labelled_twice_without_undo(path):
    store = LabelStore(path, annotator_id="ada", pair_set=PAIRS)
    store.add(PAIRS[0], "a")
    with pytest.raises(TutorError, match="already labelled"):
        store.add(PAIRS[0], "b")
    store.undo()
    store.add(PAIRS[0], "b")
    assert LabelStore(path).labels == {PairList(PAIRS).ids[0]: "b"}


def test_truncated_last_line_is_skipped_once_and_the_next_record_starts_on_a_fresh_line(path):
    store = LabelStore(path, annotator_id="ada", pair_set=PAIRS)
    for pair in PAIRS[:3]:
        store.add(pair, "a")
    data = path.read_bytes()
    path.write_bytes(data[:-40])  # the kernel died while writing the third record
    with pytest.warns(UserWarning, match="skipped 1 unreadable line") as caught:
        resumed = LabelStore(path, annotator_id="ada", pair_set=PAIRS)
    assert len(caught) == 1
    assert resumed.corrupt_lines == 1
    assert set(resumed.labels) == {PairList(PAIRS).ids[0], PairList(PAIRS).ids[1]}
    resumed.add(PAIRS[2], "b")  # after the cut-off fragment, not glued to it
    resumed.add(PAIRS[3], "tie")
    with pytest.warns(UserWarning, match="line 3"):
        final = LabelStore(path, pair_set=PAIRS)
    assert final.corrupt_lines == 1
    assert [final.labels[PairList(PAIRS).ids[i]] for i in range(4)] == ["a", "a", "b", "tie"]


def test_corrupted_lines_never_hide_their_neighbours(path):
    store = LabelStore(path, annotator_id="ada", pair_set=PAIRS)
    for pair in PAIRS[:4]:
        store.add(pair, "b")
    good = path.read_bytes().splitlines(keepends=True)
    mangled = [
        good[0],
        b"\x00\x00\x00\n",
        good[1],
        b'{"v": 1, "kind": "label", "se\xff\n',
        good[2],
        b'{"v": 1, "kind": "label", "label": "maybe"}\n',
        good[3],
    ]
    path.write_bytes(b"".join(mangled))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = LabelStore(path, pair_set=PAIRS)
    assert len(caught) == 1 and "skipped 3 unreadable line(s) (line 2, 4, 6)" in str(caught[0].message)
    assert len(again) == 4 and again.corrupt_lines == 3


def test_an_undo_whose_label_line_was_lost_undoes_nothing_else(path):
    store = LabelStore(path, annotator_id="ada", pair_set=PAIRS)
    store.add(PAIRS[0], "a")
    store.add(PAIRS[1], "a")
    store.undo()
    raw = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(raw[0] + b"garbage\n" + raw[2])  # the undone label's line is unreadable
    with pytest.warns(UserWarning):
        again = LabelStore(path, pair_set=PAIRS)
    assert again.labels == {PairList(PAIRS).ids[0]: "a"}


CRASH_SCRIPT = textwrap.dedent(
    """
    import sys
    from tutor.labeling import LabelStore
    from tutor.world import candidate_pairs

    pairs = candidate_pairs(400, seed=3)
    store = LabelStore(sys.argv[1], annotator_id="ada", pair_set=pairs)
    for i, pair in enumerate(pairs):
        if i % 7 == 6:
            store.undo()
            print("undo", flush=True)
        store.add(pair, "ab"[i % 2], rationale="x" * (i % 50))
        print("saved", i, flush=True)
    """
)


def test_killing_the_writer_mid_session_loses_nothing_it_acknowledged(path):
    pairs = candidate_pairs(400, seed=3)
    script = path.parent.parent / "writer.py"
    script.write_text(CRASH_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True, env=env)
    acked: list[int] = []
    undos = 0
    for line in proc.stdout:
        if line.startswith("saved"):
            acked.append(int(line.split()[1]))
        else:
            undos += 1
        if len(acked) >= 60:
            break
    proc.send_signal(signal.SIGKILL)  # no clean-up, no flush: like a killed kernel
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a half-written last line is allowed, and counted
        store = LabelStore(path, annotator_id="ada", pair_set=pairs)
    assert store.corrupt_lines <= 1
    ids = PairList(pairs).ids
    # replay what the writer reported: every label it acknowledged, minus the ones it undid
    expected = {}
    for i in acked:
        if i % 7 == 6:
            expected.pop(next(reversed(expected)))
        expected[ids[i]] = "ab"[i % 2]
    for pid, label in expected.items():
        assert store.labels[pid] == label
    # resume: label what is left; every pair ends up labelled exactly once
    for pair, pid in zip(pairs, ids, strict=True):
        if pid not in store.done:
            store.add(pair, "tie")
    final = LabelStore(path, pair_set=pairs)
    assert len(final) == len(pairs)
    assert all(final.labels[pid] == label for pid, label in expected.items())


def test_a_file_from_another_pair_set_is_refused_and_left_untouched(path):
    LabelStore(path, annotator_id="ada", pair_set=PAIRS).add(PAIRS[0], "a")
    before = path.read_bytes()
    other = candidate_pairs(12, seed=4)
    with pytest.raises(TutorError, match="different pair set"):
        LabelStore(path, annotator_id="ada", pair_set=other)
    assert path.read_bytes() == before


def test_a_file_of_another_annotator_is_refused(path):
    LabelStore(path, annotator_id="ada", pair_set=PAIRS).add(PAIRS[0], "a")
    with pytest.raises(TutorError, match="labels of 'ada', not 'bob'"):
        LabelStore(path, annotator_id="bob", pair_set=PAIRS)


def test_unknown_labels_are_refused_and_nothing_is_written(path):
    store = LabelStore(path, annotator_id="ada", pair_set=PAIRS)
    store.add(PAIRS[0], "a")
    before = path.read_bytes()
    for bad in ("A", "left", "both", None):
        with pytest.raises(TutorError, match="Unknown label"):
            store.add(PAIRS[1], bad)
    with pytest.raises(TutorError, match="left must be"):
        store.add(PAIRS[1], "a", left="right")
    with pytest.raises(TutorError, match="not in this store's pair set"):
        store.add(("another prompt", "x", "y"), "a")
    assert path.read_bytes() == before


def test_unwritable_paths_fail_before_any_labelling(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("my notes")
    with pytest.raises(TutorError, match="Cannot write labels"):
        LabelStore(blocker / "labels.jsonl", annotator_id="ada")
    assert blocker.read_text() == "my notes"
    with pytest.raises(TutorError, match="is a folder"):
        LabelStore(tmp_path, annotator_id="ada")


def test_a_failed_write_is_not_counted_and_the_next_one_works(path, monkeypatch):
    store = LabelStore(path, annotator_id="ada", pair_set=PAIRS)
    store.add(PAIRS[0], "a")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    before = path.read_bytes()
    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(TutorError, match="No space left on device.*not counted"):
        store.add(PAIRS[1], "b")
    assert len(store) == 1
    assert path.read_bytes() == before  # the unsynced line was taken back: the file agrees
    monkeypatch.undo()
    store.add(PAIRS[1], "b")
    assert LabelStore(path, pair_set=PAIRS).labels == store.labels


def test_a_file_that_is_not_a_label_file_is_refused_and_untouched(tmp_path):
    notebook = tmp_path / "notes.jsonl"
    notebook.write_text("line one\nline two\nline three\n")
    with pytest.raises(TutorError, match="does not look like a label file"):
        LabelStore(notebook, annotator_id="ada")
    assert notebook.read_text() == "line one\nline two\nline three\n"


def test_read_only_needs_an_existing_file_and_never_writes(path):
    with pytest.raises(TutorError, match="no label file"):
        LabelStore(path, read_only=True)
    LabelStore(path, annotator_id="ada").add(PAIRS[0], "a")
    read_only_store = LabelStore(path, read_only=True)
    with pytest.raises(TutorError, match="read_only"):
        read_only_store.add(PAIRS[1], "a")


def test_decided_pairs_are_the_live_a_b_choices_in_labelling_order(path):
    store = LabelStore(path, annotator_id="ada", pair_set=PAIRS)
    for pair, label in zip(PAIRS[:6], ["b", "tie", "a", "skip", "a", "b"], strict=True):
        store.add(pair, label)
    store.undo()  # takes back the last "b"
    assert [(p.prompt, p.a, p.b) for p in store.decided_pairs()] == [PAIRS[0], PAIRS[2], PAIRS[4]]
    assert [p.id for p in store.decided_pairs()] == [PairList(PAIRS).ids[i] for i in (0, 2, 4)]


# ----------------------------------------------------------------------- property: round trip

ACTIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("label"),
            st.integers(0, len(PAIRS) - 1),
            st.sampled_from(["a", "b", "tie", "skip"]),
            st.sampled_from(["a", "b"]),
            st.text(max_size=8),
        ),
        st.tuples(st.just("undo")),
        st.tuples(st.just("reopen")),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=ACTIONS)
def test_resumed_state_equals_the_state_in_memory(actions):
    """Any sequence of labels, undos and restarts: the file replays to exactly what was done."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "labels.jsonl"
        store = LabelStore(path, annotator_id="ada", pair_set=PAIRS)
        model: dict[str, tuple] = {}  # pair id -> (label, left, rationale), in action order
        ids = PairList(PAIRS).ids
        for action in actions:
            if action[0] == "label":
                _, i, label, left, why = action
                if ids[i] in model:
                    with pytest.raises(TutorError):
                        store.add(PAIRS[i], label, left=left, rationale=why)
                    continue
                store.add(PAIRS[i], label, left=left, rationale=why)
                model[ids[i]] = (label, left, why)
            elif action[0] == "undo":
                undone = store.undo()
                if model:
                    last = next(reversed(model))
                    assert undone["pair_id"] == last
                    del model[last]
                else:
                    assert undone is None
            else:
                store = LabelStore(path, pair_set=PAIRS)
            assert [(r["pair_id"], (r["label"], r["left"], r["rationale"])) for r in store.records] == list(
                model.items()
            )
        resumed = LabelStore(path, pair_set=PAIRS)
        assert resumed.records == store.records
        assert resumed.corrupt_lines == 0


def test_two_stores_on_one_file_never_label_a_pair_twice(path):
    first = LabelStore(path, annotator_id="ada", pair_set=PAIRS)
    second = LabelStore(path, annotator_id="ada", pair_set=PAIRS)  # e.g. the cell was run twice
    first.add(PAIRS[0], "a")
    with pytest.raises(TutorError, match="already labelled"):
        second.add(PAIRS[0], "b")  # second re-reads the file before acting
    second.add(PAIRS[1], "b")
    first.undo()  # undoes second's label: the latest on disk
    seqs = [r["seq"] for r in lines(path)]
    assert len(seqs) == len(set(seqs))  # no record number used twice
    assert LabelStore(path).labels == {PairList(PAIRS).ids[0]: "a"} == first.labels
