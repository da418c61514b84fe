"""PPO vs DPO at equal label budgets (tutor.labs.comparison.budget): the controlled experiment of
notebook 07, written to benchmarks/results/comparison.json after every arm (resumable: trained
arms are cached in runs/<model>/compare/budget and read back, never trained twice).

Groups, in the order they run (`--groups` picks some):
- main: offline and online, PPO and DPO, 1,000 fixed labels (+ 2 × 1,000 fresh online), seeds 0–2;
- curve: offline at 250 and 4,000 labels (the label-efficiency curve; 1,000 comes from main);
- frontier: offline at 1,000 labels, two more β per method (gold against √KL; the default β from main).

Run: ``PYTHONPATH=. python benchmarks/comparison.py [--groups main curve frontier] [--seeds 0 1 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

OUT = HERE / "results" / "comparison.json"
GROUPS = ("main", "curve", "frontier")
FRONTIER_BETAS = {"ppo": (0.02, 0.2), "dpo": (0.05, 0.8)}


def plan(groups, seeds, curve_seeds) -> list[tuple[str, object]]:
    from tutor.labs.comparison.budget import Arm

    arms = []
    if "main" in groups:
        arms += [
            ("main", Arm(regime, method, 1000, seed))
            for regime in ("offline", "online")
            for seed in seeds
            for method in ("ppo", "dpo")
        ]
    if "curve" in groups:
        arms += [
            ("curve", Arm("offline", method, n, seed))
            for n in (250, 4000)
            for seed in curve_seeds
            for method in ("ppo", "dpo")
        ]
    if "frontier" in groups:
        arms += [
            ("frontier", Arm("offline", method, 1000, 0, beta=beta))
            for method, betas in FRONTIER_BETAS.items()
            for beta in betas
        ]
    return arms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", default=str(ROOT / "runs"))
    parser.add_argument("--groups", nargs="+", choices=GROUPS, default=list(GROUPS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--curve-seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    os.environ["TUTOR_RUNS"] = str(Path(args.runs).resolve())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.pop("TUTOR_FAST", None)

    import tutor
    from tutor.core.memory import release_memory
    from tutor.labs.comparison import budget

    previous = budget.measured(OUT) or {}
    records = {r["name"]: r for r in previous.get("runs", [])}
    for group, arm in plan(args.groups, args.seeds, args.curve_seeds):
        release_memory()
        course = tutor.setup(FAST=False, seed=arm.seed, quiet=True)  # seeded as if it ran alone
        record = budget.arm_record(course, arm)
        record = {**record, "group": group}
        records[arm.name] = {k: v for k, v in record.items() if k != "folder"}
        m = record["metrics"]
        print(
            f"{arm.name}: win {m['gold_win_rate_vs_sft']:.3f}, KL {m['kl']:.2f}, "
            f"labels {m['annotator_labels']}, {record['seconds']:.0f} s, {record['peak_rss_mb']:.0f} MB",
            flush=True,
        )
        runs = sorted(records.values(), key=lambda r: r["name"])
        result = {
            "benchmark": "comparison",
            "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "protocol": budget.__doc__.strip().split("\n\n")[1],
            "summary": budget.summarise_arms(runs),
            "runs": runs,
        }
        OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
