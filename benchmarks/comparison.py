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
NOTES = HERE / "results" / "comparison.md"  # its equal-labels section is rewritten from OUT
BLOCK = ("<!-- benchmarks/comparison.py -->", "<!-- /benchmarks/comparison.py -->")
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


def notes(result: dict) -> str:
    """The equal-labels section of comparison.md: every arm setting's numbers and the verdicts."""
    from tutor.labs.comparison import budget

    def interval(row):
        if not row["win_interval"]:
            return "one seed"
        low, high = max(0.0, row["win_interval"][0]), min(1.0, row["win_interval"][1])
        return f"{low:.0%}–{high:.0%}"

    lines = [
        f"Measured {result['when'][:10]} on the tiny model, full mode, 2-core CPU (load average at the end "
        f"{result['load_average'][0]}; each run records its own). Every arm: the held-out protocol of the stages "
        "(35 prompts × 8 answers, win-rate over the SFT stage's answers, ties ½), the exact per-token KL to SFT.",
        "",
        "| regime | method | fixed labels | β | seeds | labels used | win-rate over SFT (sd; 95 % interval) | KL | "
        "gold | reward-model accuracy | median s | peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["summary"]:
        sd = f"{r['win_rate_sd'] * 100:.1f}" if r["win_rate_sd"] is not None else "–"
        accuracy = f"{r['reward_accuracy']:.3f}" if "reward_accuracy" in r else "–"
        lines.append(
            f"| {r['regime']} | {r['method'].upper()} | {r['labels']:,} | {r['beta']:g} | "
            f"{', '.join(map(str, r['seeds']))} | {r['annotator_labels']:,} | {r['win_rate']:.1%} ({sd}; "
            f"{interval(r)}) | {r['kl']:.2f} | {r['gold']:.2f} | {accuracy} | {r['seconds_median']:.0f} | "
            f"{r['peak_rss_mb']:.0f} |"
        )
    lines += [
        "",
        *(f"- {line}" for line in budget.verdicts(result["summary"]) + budget.online_gains(result["summary"])),
    ]
    return "\n".join(lines) + "\n"


def write_notes(result: dict) -> None:
    text = NOTES.read_text() if NOTES.exists() else ""
    start, end = BLOCK
    if start not in text:
        text += f"\n## At equal labels (benchmarks/comparison.py → comparison.json)\n\n{start}\n{end}\n"
    head, rest = text.split(start, 1)
    NOTES.write_text(head + start + "\n" + notes(result) + end + rest.split(end, 1)[1])


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
        write_notes(result)
    print(f"wrote {OUT} and {NOTES}")


if __name__ == "__main__":
    main()
