"""Two labelers on one label file, as two real processes: they take turns, and every label either
of them was told is saved is in the file exactly once (or undone by an undo that said so)."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from tutor.errors import TutorError
from tutor.labeling import LabelStore
from tutor.labeling import lock as lock_module
from tutor.labeling.lock import file_lock
from tutor.world import candidate_pairs

PAIRS = list(dict.fromkeys(candidate_pairs(60, seed=11)))


def hammer(path: str, annotator: str, seed: int, start, out) -> None:
    """Label every pair it can, undoing every fifth label; report what the store acknowledged."""
    import random

    rng = random.Random(seed)
    order = PAIRS[:]
    rng.shuffle(order)
    acked, undone, refused = [], [], []
    store = LabelStore(path, annotator, PAIRS)  # both open the file before either writes
    start.wait()
    for step, pair in enumerate(order * 2):
        try:
            record = store.add(pair, rng.choice(["a", "b", "tie"]))
            acked.append((record["seq"], record["pair_id"]))
            if step % 5 == 4:
                target = store.undo()
                if target is not None:
                    undone.append(target["seq"])
        except TutorError as exc:
            if "already labelled" not in str(exc):
                refused.append(str(exc))
    out.put((annotator, acked, undone, refused))


def run_two(path: Path, names: tuple[str, str]) -> list:
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(len(names)), ctx.Queue()
    procs = [ctx.Process(target=hammer, args=(str(path), name, i, start, out)) for i, name in enumerate(names)]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=240) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    return results


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def test_two_processes_on_one_file_lose_no_acknowledged_label(tmp_path):
    path = tmp_path / "ada.jsonl"
    results = run_two(path, ("ada", "ada"))
    acked = [item for _, a, _, _ in results for item in a]
    undone = [seq for _, _, u, _ in results for seq in u]
    assert not [r for _, _, _, r in results if r], "no action may be refused while the other one writes"
    records = lines(path)
    seqs = [r["seq"] for r in records]
    assert len(seqs) == len(set(seqs)), "two records share a sequence number"
    by_seq = {r["seq"]: r for r in records}
    for seq, pair_id in acked:  # every acknowledged label is on disk, once, as it was acknowledged
        assert by_seq[seq]["kind"] == "label" and by_seq[seq]["pair_id"] == pair_id
    assert len(undone) == len(set(undone))
    undo_targets = [r["undoes"] for r in records if r["kind"] == "undo"]
    assert sorted(undo_targets) == sorted(undone), "every undo that reported success cancelled its own label"
    store = LabelStore(path, "ada", PAIRS)
    live = {seq for seq, _ in acked} - set(undone)
    assert {r["seq"] for r in store.records} == live
    assert len({r["pair_id"] for r in store.records}) == len(store.records)
    assert len(acked) >= len(PAIRS) and len(undone) > 0


def test_two_annotator_names_on_one_file_leave_it_readable(tmp_path):
    path = tmp_path / "shared.jsonl"
    results = run_two(path, ("ada", "bob"))
    names = {r["annotator"] for r in lines(path)}
    assert len(names) == 1, "a second annotator's labels were mixed into the file"
    owner = names.pop()
    other = [refused for name, _, _, refused in results if name != owner][0]
    assert other and all(f"holds the labels of {owner!r}" in message for message in other)
    assert len(LabelStore(path, read_only=True).records) > 0  # the file still opens


def test_a_writer_that_cannot_get_the_lock_is_told_and_nothing_is_written(tmp_path, monkeypatch):
    path = tmp_path / "ada.jsonl"
    store = LabelStore(path, "ada", PAIRS)
    monkeypatch.setattr(lock_module, "WAIT_S", 0.05)
    with file_lock(path):  # another writer holds the lock (flock excludes a second open file too)
        with pytest.raises(TutorError, match="Another labeler is writing to ada.jsonl"):
            store.add(PAIRS[0], "a")
    assert path.read_bytes() == b"" and len(store) == 0
    store.add(PAIRS[0], "a")
    assert len(LabelStore(path, "ada", PAIRS)) == 1


def test_the_lock_file_fallback_takes_turns_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "ada.jsonl"
    store = LabelStore(path, "ada", PAIRS)
    monkeypatch.setattr(lock_module, "fcntl", None)  # as on Windows
    monkeypatch.setattr(lock_module, "WAIT_S", 0.05)
    store.add(PAIRS[0], "a")
    assert not path.with_name("ada.jsonl.lock").exists()
    with file_lock(path):
        with pytest.raises(TutorError, match="Another labeler"):
            store.add(PAIRS[1], "b")
    store.undo()
    assert len(LabelStore(path, "ada", PAIRS)) == 0
