"""The comparison's training runs: one record per method, seed and persona, cached on disk.

A record holds what the table reports (gold win-rate over SFT, KL to SFT, wall time, peak memory)
and the folder of the answers the run wrote. Seed 0 for Riley is the course's own stage (notebooks
05 and 06, or `rlhf-tutor run`). Every other run is cached in runs/<model>/compare/; the missing
ones train one after another in ONE child process (`python -m tutor.labs.comparison`), so that
their peak memory is not the notebook's and start-up is paid once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import tutor
from tutor import stages
from tutor.core.memory import peak_rss_mb, reset_peak_rss
from tutor.core.sampling import Samples
from tutor.errors import TutorError

METHODS = ("ppo", "dpo")


def check_method(method: str) -> str:
    if method not in METHODS:
        raise TutorError(f"Unknown method {method!r}; compare one of: {', '.join(METHODS)}.")
    return method


def run_folder(course, method: str, seed: int, persona: str = "riley") -> Path:
    return course.model_runs / "compare" / f"{method}-{persona}-seed{seed}"


def is_the_stage(seed: int, persona: str) -> bool:
    """Seed 0 for Riley is the course's own stage (notebooks 05 and 06, or `rlhf-tutor run`)."""
    return seed == 0 and persona == "riley"


def read_record(folder: Path, fast: bool) -> dict | None:
    """The record saved in `folder`, or None when there is none or it is of the other mode: a FAST
    run never stands in for a full one, nor a full run for a FAST comparison (like with like)."""
    try:
        record = json.loads((folder / "record.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if bool(record.get("fast")) != bool(fast):
        return None
    return record


def write_record(folder: Path, record: dict) -> dict:
    """Save a run's record in its folder; return it as `read_record` will see it (JSON types)."""
    text = json.dumps(record, indent=2)
    (folder / "record.json").write_text(text)
    return json.loads(text)


def stage_record(course, method: str) -> dict | None:
    """The stage itself stands in for seed 0 (Riley): same settings, already trained."""
    record = stages.read_metrics(course, method)
    if record is None or record.get("fast") != course.fast:
        return None
    return {
        "method": method,
        "seed": 0,
        "persona": "riley",
        "fast": course.fast,
        "model": course.model,
        "seconds": record["seconds"],
        "peak_rss_mb": None,  # built inside a notebook or `rlhf-tutor run`: not measured on its own
        "metrics": {k: v for k, v in record["metrics"].items() if k != "history"},
        "folder": str(stages.folder(course, method)),
    }


def cached_record(course, method: str, seed: int, persona: str) -> dict | None:
    """The run's record, or None when it must be trained (a missing stage too: it is built with the
    other missing runs, in the child process, so that this process stays small)."""
    if is_the_stage(seed, persona):
        return stage_record(course, method)
    return read_record(run_folder(course, method, seed, persona), course.fast)


def all_runs(
    course,
    methods: Sequence[str] = METHODS,
    seeds: Sequence[int] = (0, 1, 2),
    persona: str = "riley",
    quiet: bool = False,
) -> dict[str, list[dict]]:
    """Per method, one record per seed: from the stage or the cache, and all those missing trained
    one after another in a single child process (each run's peak memory is the process's highest
    RSS during that run, after the previous run's memory was handed back)."""
    for method in methods:
        check_method(method)
    records = {(m, seed): cached_record(course, m, seed, persona) for m in methods for seed in seeds}
    missing = [key for key, record in records.items() if record is None]
    if missing:
        train_in_child_process(course, missing, persona, quiet)
        for method, seed in missing:
            records[(method, seed)] = cached_record(course, method, seed, persona)
            if records[(method, seed)] is None:
                raise TutorError(
                    f"Training {method.upper()} (seed {seed}) finished without writing its record "
                    f"in {run_folder(course, method, seed, persona)} (or the stage's metrics.json)."
                )
    return {m: [records[(m, seed)] for seed in seeds] for m in methods}


def runs_for(
    course, method: str, seeds: Sequence[int] = (0, 1, 2), persona: str = "riley", quiet: bool = False
) -> list[dict]:
    """One record per seed (see `all_runs`)."""
    return all_runs(course, [method], seeds, persona, quiet)[method]


def _describe_runs(runs: Sequence[tuple[str, int]]) -> str:
    """("dpo", 1), ("dpo", 2), ("ppo", 1) → "DPO seeds 1, 2 and PPO seed 1"."""
    seeds_by_method: dict[str, list[int]] = {}
    for method, seed in runs:
        seeds_by_method.setdefault(method, []).append(seed)
    return " and ".join(
        f"{method.upper()} seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
        for method, seeds in seeds_by_method.items()
    )


def train_in_child_process(course, runs: Sequence[tuple[str, int]], persona: str, quiet: bool) -> None:
    """Train `runs` ((method, seed) pairs) with `python -m tutor.labs.comparison`, one after another."""
    if not quiet:
        print(f"[compare] training {_describe_runs(runs)} for {persona} (a separate process, to measure its memory) …")
    package_parent = str(Path(tutor.__file__).resolve().parents[1])  # the child imports this very package
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in [package_parent, os.environ.get("PYTHONPATH", "")] if p),
    }
    cmd = [
        sys.executable,
        "-m",
        "tutor.labs.comparison",
        *[f"{m}:{seed}" for m, seed in runs],
        "--persona",
        persona,
        "--model",
        course.model,
        "--runs",
        str(course.runs),
    ] + (["--fast"] if course.fast else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
        raise TutorError(f"Training {_describe_runs(runs)} ({persona}) failed: {tail[0][:300]}")


def train_run(course, method: str, seed: int, persona: str, folder: Path) -> dict:
    """Train `method` from the SFT stage with this seed (and persona, DPO only) into `folder`, in
    this process; return its record (time and peak memory of the training alone)."""
    stages.ensure(course, "sft", quiet=True)
    if method == "ppo":
        stages.ensure(course, "reward", quiet=True)
    reset_peak_rss()
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    if method == "dpo":
        from tutor.dpo import DPOSettings, build_stage

        # another persona's model learns that persona's labels, never the learner's own
        settings = DPOSettings.for_mode(course.fast, seed=seed, persona=persona, use_learner_labels=persona == "riley")
        metrics = build_stage(course, folder, settings=settings, progress=False, measure_rounds=False)
    else:
        from tutor.ppo import PPOSettings, build_stage

        if persona != "riley":
            raise TutorError("PPO is compared for Riley only: its reward model learned Riley's labels.")
        metrics = build_stage(course, folder, settings=PPOSettings.for_mode(course.fast, seed=seed))
    seconds = time.perf_counter() - start
    return {
        "method": method,
        "seed": seed,
        "persona": persona,
        "fast": course.fast,
        "model": course.model,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_mb": round(rss_before, 1),
        "metrics": {k: v for k, v in metrics.items() if k != "history"},
    }


def run_samples(record: dict):
    """The held-out answers a run wrote (the same prompts as the SFT stage's samples)."""
    folder = Path(record.get("folder") or "")
    path = folder / "samples.jsonl"
    if not path.exists():
        raise TutorError(f"No samples.jsonl in {str(folder)!r}; delete the folder so the run is rebuilt.")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return Samples([r["prompt"] for r in rows], [r["text"] for r in rows], [r["ended"] for r in rows])
