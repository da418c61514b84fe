"""Benchmark the labeling targets and write benchmarks/results/labeling.json.

- click to disk: one button click, fsync included, until the next pair is on screen (≤ 100 ms);
- resume: opening a label file of 10,000 records with its pair set (≤ 1 s);
- merge: 30 learners × 40 labels → majority, κ, disagreement table, data set (≤ 1 s).

Run: ``PYTHONPATH=. python benchmarks/labeling.py [--dir FOLDER]``. The label files go in a
temporary folder on the same disk as the repository unless --dir says otherwise, because fsync
costs what the disk makes it cost (a RAM disk would flatter the numbers).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tutor.labeling import LabelStore, PreferenceLabeler, merge_labels  # noqa: E402
from tutor.world import candidate_pairs  # noqa: E402

TARGETS = {"click_to_disk_ms": 100.0, "resume_10000_s": 1.0, "merge_30x40_s": 1.0}


def summary(values: list[float]) -> dict:
    values = sorted(values)
    return {
        "median": round(statistics.median(values), 4),
        "p95": round(values[min(len(values) - 1, int(0.95 * len(values)))], 4),
        "max": round(values[-1], 4),
        "runs": len(values),
    }


@contextmanager
def no_fsync():
    """Only for building big fixture files fast; never while timing what a learner waits for."""
    real = os.fsync
    os.fsync = lambda fd: None
    try:
        yield
    finally:
        os.fsync = real


def unique_pairs(n: int, seed: int) -> list[tuple[str, str, str]]:
    return list(dict.fromkeys(candidate_pairs(n + n // 20 + 10, seed=seed)))[:n]


def bench_click(folder: Path, clicks: int = 200) -> dict:
    pairs = unique_pairs(clicks + 1, seed=1)
    labeler = PreferenceLabeler(pairs, folder / "click.jsonl", "bench", agreement_after=10)
    path = labeler.store.path
    times = []
    for i in range(clicks):
        size = path.stat().st_size
        start = time.perf_counter()
        labeler.click("left" if i % 2 == 0 else "right")  # alternate: the double-click guard stays on
        times.append((time.perf_counter() - start) * 1000)
        assert path.stat().st_size > size, "the click did not reach the file"
    fsyncs = []
    with open(folder / "fsync.probe", "ab") as f:
        for _ in range(50):
            f.write(b"x" * 600 + b"\n")
            f.flush()
            start = time.perf_counter()
            os.fsync(f.fileno())
            fsyncs.append((time.perf_counter() - start) * 1000)
    return {"click_ms": summary(times), "fsync_alone_ms": summary(fsyncs)}


def bench_resume(folder: Path, records: int = 10_000, repeats: int = 5) -> dict:
    pairs = unique_pairs(records, seed=2)
    path = folder / "resume.jsonl"
    rng = random.Random(0)
    with no_fsync():
        store = LabelStore(path, annotator_id="bench", pair_set=pairs)
        written = i = 0
        while written < records:  # ~10 % of the actions are undos, as in real sessions
            if len(store) and rng.random() < 0.1:
                store.undo()
            else:
                store.add(pairs[i], rng.choice(["a", "b", "b", "tie", "skip"]), rationale="because" * rng.randint(0, 3))
                i += 1
            written += 1
    store_times, labeler_times = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        resumed = LabelStore(path, annotator_id="bench", pair_set=pairs)
        store_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        PreferenceLabeler(pairs, path, "bench")
        labeler_times.append(time.perf_counter() - start)
    return {
        "records": records,
        "file_mb": round(path.stat().st_size / 1e6, 2),
        "labels_live": len(resumed),
        "store_open_s": summary(store_times),
        "labeler_open_s": summary(labeler_times),
    }


def bench_merge(folder: Path, learners: int = 30, labels: int = 40, repeats: int = 5) -> dict:
    pairs = unique_pairs(labels, seed=3)
    room_dir = folder / "class"
    rng = random.Random(1)
    with no_fsync():
        for k in range(learners):
            store = LabelStore(room_dir / f"learner{k:02d}.jsonl", annotator_id=f"learner{k:02d}", pair_set=pairs)
            for pair in pairs:
                store.add(pair, rng.choice(["a", "a", "b", "tie", "skip"]), left=rng.choice("ab"))
    import datasets  # noqa: F401  (imported once per session in a notebook; not part of the merge)
    import pandas  # noqa: F401

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        room = merge_labels(room_dir)
        room.majority()
        kappa = room.kappa()
        room.disagreements()
        dataset = room.to_dataset(quiet=True)
        times.append(time.perf_counter() - start)
    return {
        "learners": learners,
        "labels_each": labels,
        "fleiss_kappa": round(kappa, 4),
        "rows": len(dataset),
        "merge_s": summary(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="folder for the label files (default: a temporary folder next to this script)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "labeling.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir or HERE) as tmp:
        folder = Path(tmp)
        click = bench_click(folder)
        resume = bench_resume(folder)
        merge = bench_merge(folder)
    result = {
        "benchmark": "labeling",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "targets": TARGETS,
        "click_to_disk": click,
        "resume": resume,
        "merge": merge,
        "pass": {
            "click_to_disk_ms": click["click_ms"]["p95"] <= TARGETS["click_to_disk_ms"],
            "resume_10000_s": resume["labeler_open_s"]["max"] <= TARGETS["resume_10000_s"],
            "merge_30x40_s": merge["merge_s"]["max"] <= TARGETS["merge_30x40_s"],
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
