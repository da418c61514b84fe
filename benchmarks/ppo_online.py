"""Online RLHF (tutor.ppo.online): rounds of PPO → fresh labels on the policy's answers → reward-model
refresh, measured with the course's held-out protocol; writes benchmarks/results/ppo_online.json.

The label count is compared with the DPO stage's: `DPOSettings` rounds × prompts, each ranking
`answers_per_prompt` answers pairwise (the DPO stage reports its count as `annotator_labels`).

Run: ``PYTHONPATH=. python benchmarks/ppo_online.py [--seeds 0 1 2] [--labels-per-round 1000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from measure import peak_rss_gb  # noqa: E402  (this folder: see benchmarks/measure.py)

TARGETS = {"win_rate_mean": 0.85}


def dpo_label_count() -> int:
    """The DPO stage's annotator labels: rounds × prompts × C(answers per prompt, 2) comparisons."""
    from math import comb

    from tutor.dpo.config import DPOSettings

    s = DPOSettings()
    return s.rounds * s.n_pairs * comb(s.answers_per_prompt, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", default=str(ROOT / "runs"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--labels-per-round", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps-per-round", type=int, default=15)
    args = parser.parse_args()
    os.environ["TUTOR_RUNS"] = str(Path(args.runs).resolve())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.pop("TUTOR_FAST", None)

    import tutor
    from tutor import stages
    from tutor.ppo import PPOSettings, load_models
    from tutor.ppo.online import OnlineSettings, train_online

    course = tutor.setup(FAST=False, quiet=True)
    baseline = stages.load_samples(course, "sft")
    reward_labels = stages.read_metrics(course, "reward")["metrics"]["n_train_pairs"]
    runs = []
    for seed in args.seeds:
        models = load_models(course)
        settings = OnlineSettings(
            rounds=args.rounds, steps_per_round=args.steps_per_round, labels_per_round=args.labels_per_round, seed=seed
        )
        start = time.perf_counter()
        run = train_online(course, models, PPOSettings(seed=seed), settings)
        seconds = time.perf_counter() - start
        result = run.trainer.evaluate(baseline=baseline)
        row = {
            "seed": seed,
            "gold_win_rate_vs_sft": round(result.gold_win_rate_vs_sft, 4),
            "kl": round(result.kl, 3),
            "gold": round(result.gold, 3),
            "annotator_labels": reward_labels + run.labels,
            "fresh_labels": run.labels,
            "seconds": round(seconds, 1),
            "rounds": run.rounds,
            "profile": {k: round(v, 3) for k, v in result.profile.items()},
            "peak_rss_gb_so_far": round(peak_rss_gb(), 3),
        }
        print(json.dumps(row), flush=True)
        runs.append(row)
    wins = [r["gold_win_rate_vs_sft"] for r in runs]
    result = {
        "benchmark": "ppo_online",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "targets": TARGETS,
        "settings": {
            "rounds": args.rounds,
            "steps_per_round": args.steps_per_round,
            "labels_per_round": args.labels_per_round,
        },
        "dpo_stage_annotator_labels": dpo_label_count(),
        "runs": runs,
        "summary": {
            "seeds": args.seeds,
            "win_rate_mean": round(statistics.fmean(wins), 4),
            "win_rate_sd": round(statistics.stdev(wins), 4) if len(wins) > 1 else 0.0,
            "kl_mean": round(statistics.fmean(r["kl"] for r in runs), 3),
            "annotator_labels": runs[0]["annotator_labels"],
        },
    }
    out = HERE / "results" / "ppo_online.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["summary"], indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
