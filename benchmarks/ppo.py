"""Benchmark PPO and write benchmarks/results/ppo.json.

- the `ppo` stage at its default settings: training time, episodes/s and tokens/s, gold win-rate over
  the SFT model and mean per-sequence KL on held-out prompts, peak RSS;
- notebook 05 executed top to bottom in FAST and in full mode: wall time and the kernel's peak RSS
  (targets: FAST ≤ 30 s, full ≤ 150 s, ≤ 1.5 GB), with the SFT and reward stages already built, as
  they are after notebooks 02 and 04.

Run: ``PYTHONPATH=. python benchmarks/ppo.py [--runs FOLDER] [--skip-notebook] [--fast-only]``.
The runs folder (default ./runs) keeps the SFT and reward stages between runs; they are built
first if missing (not timed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from measure import peak_rss_gb, run_notebook  # noqa: E402  (this folder: see benchmarks/measure.py)

from tutor.course import model_runs  # noqa: E402  (after the path: runs from a clone without install)

TARGETS = {
    "notebook_full_s": 150.0,
    "notebook_fast_s": 30.0,
    "peak_rss_gb": 1.5,
    "gold_win_rate_vs_sft": 0.82,
    "kl": 5.0,
}


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def stage_benchmark(fast: bool) -> dict:
    import tutor
    from tutor import stages

    course = tutor.setup(FAST=fast, quiet=True)
    stages.ensure(course, "sft")
    stages.ensure(course, "reward")
    start = time.perf_counter()
    record = stages.build(course, "ppo")
    seconds = time.perf_counter() - start
    m = record["metrics"]
    return {
        "mode": "FAST" if fast else "full",
        "stage_seconds": round(seconds, 2),
        "train_seconds": m["train_seconds"],
        "episodes": m["episodes"],
        "episodes_per_second": round(m["episodes_per_second"], 2),
        "tokens_per_second": round(m["tokens_per_second"], 1),
        "gold_win_rate_vs_sft": round(m["gold_win_rate_vs_sft"], 3),
        "kl": round(m["kl"], 3),
        "gold": round(m["gold"], 3),
        "eos_rate": m["eos_rate"],
        "profile": m["profile"],
        "settings": m["settings"],
        "peak_rss_gb_so_far": round(peak_rss_gb(), 3),
    }


def notebook_benchmark(fast: bool, runs: Path) -> dict:
    """Execute notebook 05 in a fresh kernel (as tests/test_notebooks.py does) and time it."""
    start = time.perf_counter()
    record = run_notebook(ROOT / "notebooks" / "05_ppo.ipynb", fast, runs)
    wall = time.perf_counter() - start
    if "error" in record:
        raise SystemExit(f"notebook 05 failed ({'FAST' if fast else 'full'}):\n{record['error']}")
    return {
        "mode": "FAST" if fast else "full",
        "execute_seconds": record["seconds"],
        "wall_seconds_with_startup": round(wall, 1),
        "kernel_peak_rss_gb": round(record["peak_rss_mb"] / 1024, 3),
        "kernel_cpu_seconds": record["kernel_cpu_seconds"],  # ≈ quiet single-core time
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", default=str(ROOT / "runs"), help="runs folder holding the SFT and reward stages")
    parser.add_argument("--skip-notebook", action="store_true")
    parser.add_argument("--fast-only", action="store_true")
    args = parser.parse_args()
    runs = Path(args.runs).resolve()
    os.environ["TUTOR_RUNS"] = str(runs)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.pop("TUTOR_FAST", None)
    load = os.getloadavg()
    modes = [True] if args.fast_only else [True, False]
    result = {
        "benchmark": "ppo",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "torch_threads": _torch_threads(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "load_average_at_start": [round(x, 2) for x in load],
        },
        "targets": TARGETS,
        "stage": [stage_benchmark(fast) for fast in modes],
    }
    if not args.skip_notebook:
        with tempfile.TemporaryDirectory() as tmp:
            # Notebook runs get their own copy of the earlier stages, so the ppo stage above is not reused.
            for fast in modes:
                copy = Path(tmp) / ("fast" if fast else "full")
                for stage in ("base", "sft", "reward"):
                    if (model_runs(runs, "tiny", fast) / stage).exists():
                        shutil.copytree(model_runs(runs, "tiny", fast) / stage, model_runs(copy, "tiny", fast) / stage)
                result.setdefault("notebook", []).append(notebook_benchmark(fast, copy))
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out = HERE / "results" / "ppo.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
