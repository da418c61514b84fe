"""Which change to the reward model matters? An ablation table and a learning curve against the ceiling.

Every run trains a reward model with TRL's RewardTrainer from the full-mode SFT stage on Riley's
noisy labels (T = 1) and is graded on the same 1,000 held-out pairs: expected accuracy (no luck of
the label draw), the Bayes ceiling, agreement with the noise-free gold ranking.

- ablations, at 1,000 labels: the course's previous default (last-token score, no regulariser), each
  change alone, and the changes together, over seeds (the seed draws the labelled pairs, the
  head's start and the batch order);
- learning curve: the course default at 250 / 1,000 / 4,000 labels.

Runs accumulate in benchmarks/results/reward_ablations.json (a run already there is kept unless
--again), so the table can be filled in several sittings or processes:

    python benchmarks/reward_ablations.py                                    # everything, seeds 0-2
    python benchmarks/reward_ablations.py --part ablations --seeds 0 --variants "mean pooling"
    python benchmarks/reward_ablations.py --part curve --labels 250,4000
    python benchmarks/reward_ablations.py --summary                          # print the tables only
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "reward_ablations.json"

# name → RewardSettings changes from the previous default (last-token score, no regulariser)
PREVIOUS = {"pooling": "last", "lm_coef": 0.0, "center_rewards": 0.0, "weight_decay": 0.0, "epochs": 1.0}
BASELINE = "previous default (last token)"
VARIANTS = {
    BASELINE: {},
    "mean pooling over the answer": {"pooling": "mean"},
    "LM loss 0.5 on chosen answers": {"lm_coef": 0.5},
    "centred rewards 0.01": {"center_rewards": 0.01},
    "weight decay 0.1": {"weight_decay": 0.1},
    "all four together": {"pooling": "mean", "lm_coef": 0.5, "center_rewards": 0.01, "weight_decay": 0.1},
}


def run_one(course, changes: dict, n_labels: int, seed: int, held_out) -> dict:
    from dataclasses import replace

    from tutor import reward
    from tutor.world import GoldAnnotator

    settings = replace(reward.RewardSettings(), **{**PREVIOUS, **changes, "n_pairs": n_labels, "seed": seed})
    t0 = time.perf_counter()
    trained = reward.train(course, settings, progress=False)
    seconds = time.perf_counter() - t0
    report = reward.evaluate(trained.model, trained.tokenizer, held_out, GoldAnnotator("riley"))
    row = {k: round(report[k], 4) for k in ("expected_accuracy", "bayes_accuracy", "gold_agreement")}
    row["gap_to_ceiling_points"] = round(100 * (row["bayes_accuracy"] - row["expected_accuracy"]), 1)
    return {**row, "train_seconds": round(seconds, 1)}


def load() -> dict:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {"runs": []}


def record(row: dict) -> None:
    """Add one run to the results file (locked: several processes may fill it at once)."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = load()
        result["runs"] = [r for r in result["runs"] if run_key(r) != run_key(row)]
        result["runs"].append(row)
        result["summary"] = summary(result["runs"])
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")


def run_key(row: dict) -> tuple:
    """One run is its settings, label count and seed (a curve point and an ablation row can share it)."""
    return (json.dumps(row["changes"], sort_keys=True), row["labels"], row["seed"])


def table_rows(runs: list[dict]) -> dict[tuple, list[dict]]:
    """The runs behind each row of the two tables: (part, name, labels) → runs over seeds."""
    default = json.dumps(course_default(), sort_keys=True)
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        changes = json.dumps(r["changes"], sort_keys=True)
        for name, variant in VARIANTS.items():
            if changes == json.dumps(variant, sort_keys=True) and r["labels"] == 1000:
                groups.setdefault(("ablations", name, 1000), []).append(r)
        if changes == default:
            if r["labels"] == 1000 and default != "{}":  # else it is the previous default's row
                groups.setdefault(("ablations", "course default (together)", 1000), []).append(r)
            groups.setdefault(("curve", "course default (together)", r["labels"]), []).append(r)
    return groups


def course_default() -> dict:
    """The course default's settings, written as changes from the previous default."""
    from tutor.reward import RewardSettings

    default = RewardSettings()
    return {k: getattr(default, k) for k in PREVIOUS if getattr(default, k) != PREVIOUS[k]}


def summary(runs: list[dict]) -> list[dict]:
    """Mean ± sd of expected accuracy and gap per table row, over the seeds run."""
    groups = table_rows(runs)
    previous = {r["seed"]: r["expected_accuracy"] for r in groups.get(("ablations", BASELINE, 1000), [])}
    out = []
    for (part, variant, labels), rows in groups.items():
        paired = [r["expected_accuracy"] - previous[r["seed"]] for r in rows if r["seed"] in previous]
        acc = [r["expected_accuracy"] for r in rows]
        gap = [r["gap_to_ceiling_points"] for r in rows]
        out.append(
            {
                "part": part,
                "variant": variant,
                "labels": labels,
                "seeds": sorted(r["seed"] for r in rows),
                "expected_accuracy_mean": round(statistics.mean(acc), 4),
                "expected_accuracy_sd": round(statistics.stdev(acc), 4) if len(acc) > 1 else None,
                "bayes_accuracy": rows[0]["bayes_accuracy"],
                "gap_points_mean": round(statistics.mean(gap), 1),
                "gold_agreement_mean": round(statistics.mean(r["gold_agreement"] for r in rows), 4),
                "train_seconds_mean": round(statistics.mean(r["train_seconds"] for r in rows), 1),
                # the change's gain over the previous default on the same seeds (same pairs, same start)
                "vs_previous_points": round(100 * statistics.mean(paired), 1)
                if part == "ablations" and paired
                else None,
            }
        )
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("ablations", "curve", "both"), default="both")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--variants", default=None, help="comma-separated names (default: all, and together)")
    parser.add_argument("--labels", default="250,1000,4000", help="the learning curve's label counts")
    parser.add_argument("--again", action="store_true", help="rerun runs already in the results file")
    parser.add_argument("--summary", action="store_true", help="print the tables and stop")
    args = parser.parse_args(argv)
    if args.summary:
        for row in load().get("summary", []):
            print(json.dumps(row))
        return 0

    os.environ.setdefault("TUTOR_RUNS", tempfile.mkdtemp(prefix="reward-ablations-"))
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch

    import tutor
    from tutor import reward
    from tutor.stages import build, read_metrics

    course = tutor.setup(FAST=False, quiet=True)
    if read_metrics(course, "sft") is None:
        build(course, "sft", progress=False)
    held_out = reward.held_out_pairs(1000)
    together = course_default()
    variants = {**VARIANTS, "course default (together)": together}
    chosen = variants if args.variants is None else {n: variants[n] for n in args.variants.split(",")}
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = []
    if args.part in ("ablations", "both"):
        jobs += [("ablations", name, changes, 1000) for name, changes in chosen.items()]
    if args.part in ("curve", "both"):
        jobs += [("curve", "course default (together)", together, int(n)) for n in args.labels.split(",")]
    done = {run_key(r) for r in load()["runs"]}
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    for seed in seeds:
        for part, name, changes, n_labels in jobs:
            key = run_key({"changes": changes, "labels": n_labels, "seed": seed})
            if key in done and not args.again:
                continue
            done.add(key)
            row = run_one(course, changes, n_labels, seed, held_out)
            row = {"part": part, "variant": name, "labels": n_labels, "seed": seed, "changes": changes, **row}
            row["load_average"] = round(os.getloadavg()[0], 1)
            row["machine"] = machine
            record(row)
            print(json.dumps({k: v for k, v in row.items() if k != "machine"}), flush=True)
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
