"""Each stage on the tiny model with two processes against one process with the same batch
(tests/multiprocess_run.py): seconds per stage, how far the ranks' weights are from each other and
from the single-process run, and PPO's seed-to-seed spread. Writes benchmarks/results/multiprocess.json.

    python benchmarks/two_processes.py               # runs the three launches (a few minutes)
    python benchmarks/two_processes.py --from DIR    # summarise earlier runs: DIR/two, DIR/one, DIR/one-seed1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "multiprocess.json"
SCRIPT = ROOT / "tests" / "multiprocess_run.py"
STAGES = ("sft", "reward", "dpo", "ppo")


def run(root: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    accelerate = Path(sys.executable).with_name("accelerate")
    config = ROOT / "configs" / "accelerate" / "ddp.yaml"
    commands = [
        [str(accelerate), "launch", "--config_file", str(config), str(SCRIPT), "--out", str(root / "two")],
        [sys.executable, str(SCRIPT), "--out", str(root / "one")],
        [sys.executable, str(SCRIPT), "--stages", "ppo", "--seed", "1", "--out", str(root / "one-seed1")],
    ]
    for command in commands:
        subprocess.run(command, cwd=ROOT, env=env, check=True)


def flat(weights: dict, minus: dict | None = None) -> torch.Tensor:
    keys = sorted(minus if minus else weights)  # the shipped file stores the tied output weights once
    return torch.cat([(weights[k] - (minus[k] if minus else 0)).flatten() for k in keys])


def summarise(root: Path) -> dict:
    from tutor.core.models import TINY_DIR

    start = load_file(str(TINY_DIR / "model.safetensors"))
    out = {}
    for stage in STAGES:
        w = {name: load_file(str(root / name / f"{stage}-rank0.safetensors")) for name in ("two", "one")}
        other_rank = load_file(str(root / "two" / f"{stage}-rank1.safetensors"))
        records = {name: json.loads((root / name / f"{stage}-rank0.json").read_text()) for name in ("two", "one")}
        row = {
            "seconds_two_processes": round(records["two"]["seconds"], 1),
            "seconds_one_process": round(records["one"]["seconds"], 1),
            "max_weight_diff_between_ranks": max(float((w["two"][k] - other_rank[k]).abs().max()) for k in other_rank),
            "relative_distance_two_vs_one": float((flat(w["two"]) - flat(w["one"])).norm() / flat(w["one"]).norm()),
        }
        if stage == "ppo":
            seed1 = load_file(str(root / "one-seed1" / "ppo-rank0.safetensors"))
            moved = {name: flat(weights, start) for name, weights in (*w.items(), ("one-seed1", seed1))}
            row["update_norm_ratio_two_vs_one"] = float(moved["two"].norm() / moved["one"].norm())
            row["update_distance_two_vs_one"] = float((moved["two"] - moved["one"]).norm() / moved["one"].norm())
            row["update_distance_seed1_vs_one"] = float(
                (moved["one-seed1"] - moved["one"]).norm() / moved["one"].norm()
            )
        out[stage] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--from", dest="source", default=None, help="a folder holding two/, one/ and one-seed1/")
    args = parser.parse_args()
    root = Path(args.source) if args.source else Path(tempfile.mkdtemp(prefix="multiprocess-"))
    if not args.source:
        run(root)
    result = {
        "model": "tiny",
        "processes": 2,
        "launcher": "accelerate launch (torchrun), gloo on CPU",
        "stages": summarise(root),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
