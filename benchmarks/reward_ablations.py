"""Is the reward model's gap to the Bayes ceiling a tuning problem or a capacity problem?

Trains the default reward model (1,000 noisy labels, from the SFT stage) with one setting changed at
a time — seed, learning rate, epochs, batch size, weight decay, starting from the base model instead
of SFT — and grades each on the same held-out pairs as benchmarks/reward_sweep.py. A last run fits
2,000 *noise-free* labels for 4 epochs and also grades agreement with the gold ranking on its own
training pairs: when it fits those (≈ 1.0) but not held-out ones, the model memorises answers
instead of learning the annotator's features. Results go to benchmarks/results/reward_ablations.json
(read in benchmarks/results/reward.md).

    python benchmarks/reward_ablations.py
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "reward_ablations.json"

# (name, RewardSettings changes, other RewardConfig settings, start from the base model?)
VARIANTS = [
    ("default", {}, {}, False),
    ("seed 1", {"seed": 1}, {}, False),
    ("seed 2", {"seed": 2}, {}, False),
    ("learning rate 3e-4", {"learning_rate": 3e-4}, {}, False),
    ("learning rate 3e-3", {"learning_rate": 3e-3}, {}, False),
    ("3 epochs", {"epochs": 3.0}, {}, False),
    ("batch 32, 3 epochs, lr 2e-3", {"batch_size": 32, "epochs": 3.0, "learning_rate": 2e-3}, {}, False),
    ("weight decay 0.1, 2 epochs", {"epochs": 2.0}, {"weight_decay": 0.1}, False),
    ("start from the base model", {}, {}, True),
    (
        "capacity: 2,000 noise-free labels, 4 epochs, lr 5e-4",
        {"n_pairs": 2000, "epochs": 4.0, "learning_rate": 5e-4, "label_temperature": 0.0},
        {},
        False,
    ),
]


def main() -> int:
    os.environ.setdefault("TUTOR_RUNS", tempfile.mkdtemp(prefix="reward-ablations-"))
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch

    import tutor
    from tutor import reward
    from tutor.course import TINY
    from tutor.stages import build, model_folder, read_metrics
    from tutor.world import GoldAnnotator, candidate_pairs

    course = tutor.setup(FAST=False, quiet=True)
    if read_metrics(course, "sft") is None:
        build(course, "sft", progress=False)
    judge = GoldAnnotator("riley")
    held_out = reward.held_out_pairs(1000)
    rows = []
    for name, changes, trainer_options, from_base in VARIANTS:
        settings = replace(reward.RewardSettings(), **changes)
        start = model_folder(course, "base") if from_base else None
        t0 = time.perf_counter()
        trained = reward.train(course, settings, start=start, progress=False, trainer_options=trainer_options)
        seconds = time.perf_counter() - t0
        report = reward.evaluate(trained.model, trained.tokenizer, held_out, judge)
        own = candidate_pairs(500, seed=settings.seed)  # the first 500 of its own training pairs
        fit = reward.evaluate(trained.model, trained.tokenizer, own, judge)
        row = {
            "variant": name,
            "train_seconds": round(seconds, 1),
            **{k: round(report[k], 4) for k in ("expected_accuracy", "bayes_accuracy", "gold_agreement")},
            "gold_agreement_on_own_training_pairs": round(fit["gold_agreement"], 4),
        }
        row["gap_to_ceiling_points"] = round(100 * (row["bayes_accuracy"] - row["expected_accuracy"]), 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads()},
        "model": TINY,
        "eval_pairs": len(held_out),
        "runs": rows,
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
