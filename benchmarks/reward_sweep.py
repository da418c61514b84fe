"""How close does the reward model get to the annotator's Bayes ceiling, by label count and noise?

Trains one reward model per (labels, label noise T) from the SFT stage (built first if missing)
and grades each on the same held-out pairs: expected accuracy against the annotator's noisy labels,
the Bayes ceiling, and agreement with the noise-free gold ranking. Also times each run and the SFT
stage itself. Results go to benchmarks/results/reward_sweep.json (read in benchmarks/results/reward.md).

    python benchmarks/reward_sweep.py                          # labels 250..4000 at T=1, T=0 and T=3 at 1000
    python benchmarks/reward_sweep.py --labels 250,1000 --noise 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "reward_sweep.json"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", default="250,500,1000,2000,4000", help="label counts at T=1")
    parser.add_argument("--noise", default="0,3", help="other noise temperatures, at --noise-labels labels")
    parser.add_argument("--noise-labels", type=int, default=1000)
    parser.add_argument("--eval-pairs", type=int, default=1000)
    args = parser.parse_args(argv)

    os.environ.setdefault("TUTOR_RUNS", tempfile.mkdtemp(prefix="reward-sweep-"))
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch

    import tutor
    from tutor.reward import RewardSettings, evaluate, held_out_pairs, train
    from tutor.stages import build, read_metrics
    from tutor.world import GoldAnnotator

    course = tutor.setup(FAST=False, quiet=True)
    if read_metrics(course, "sft") is None:
        build(course, "sft", progress=False)
    sft_record = read_metrics(course, "sft")
    pairs = held_out_pairs(args.eval_pairs)
    grid = [(int(n), 1.0) for n in args.labels.split(",")]
    grid += [(args.noise_labels, float(t)) for t in args.noise.split(",") if t.strip()]
    rows = []
    for n, temperature in grid:
        judge = GoldAnnotator("riley", temperature=temperature)
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        trained = train(course, RewardSettings(n_pairs=n, label_temperature=temperature), progress=False)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        report = evaluate(trained.model, trained.tokenizer, pairs, judge)
        row = {
            "labels": n,
            "label_noise_T": temperature,
            "train_seconds": round(seconds, 1),
            "train_cpu_seconds": round(cpu, 1),
            **{k: round(report[k], 4) for k in ("accuracy", "expected_accuracy", "bayes_accuracy", "gold_agreement")},
        }
        row["gap_to_ceiling_points"] = round(100 * (row["bayes_accuracy"] - row["expected_accuracy"]), 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads()},
        "sft": {
            "seconds": sft_record["seconds"],
            **{k: sft_record["metrics"][k] for k in ("follows_instruction_rate", "eos_rate", "gold")},
        },
        "eval_pairs": args.eval_pairs,
        "runs": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
