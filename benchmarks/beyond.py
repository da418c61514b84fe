"""Notebook 08's three experiments in full mode, with their numbers and times.

Section 3 (why DPO matches PPO: distances to the closed-form π*), section 2 (the β sweep's collapse
measures) and section 4 (knowledge probes before and after SFT, PPO, DPO), each with its settings,
so the lead can re-run them after the PPO, reward-model and analyser changes. Results go to
benchmarks/results/beyond.json (read in benchmarks/results/beyond.md).

    python benchmarks/beyond.py                      # all three, full mode, runs in ./runs
    python benchmarks/beyond.py --sections optimal --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "beyond.json"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="optimal,collapse,knowledge")
    parser.add_argument("--seeds", default="0", help="seeds of the enumerable-world experiment")
    parser.add_argument("--fast", action="store_true", help="FAST mode's settings (a smoke test)")
    args = parser.parse_args(argv)

    import tutor
    from tutor import stages
    from tutor.core.models import load_causal_lm, load_tokenizer

    course = tutor.setup(FAST=args.fast, quiet=True)
    sft = stages.ensure(course, "sft", quiet=True)
    tokenizer, reference = load_tokenizer(sft), load_causal_lm(sft)
    out = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    out["machine"] = {"python": platform.python_version(), "cpus": __import__("os").cpu_count()}
    sections = args.sections.split(",")

    if "optimal" in sections:
        from dataclasses import replace

        from tutor.beyond.optimal_policy import OptimalPolicySettings, compare

        runs = []
        for seed in map(int, args.seeds.split(",")):
            settings = replace(OptimalPolicySettings.for_mode(course.fast), seed=seed)
            start = time.perf_counter()
            result = compare(lambda: load_causal_lm(sft), reference, tokenizer, settings)
            record = result.as_dict()
            record["verdict"] = result.verdict()
            record["seconds_total"] = round(time.perf_counter() - start, 1)
            runs.append(record)
            print("\n".join(record["verdict"]), flush=True)
        out["optimal_policy"] = runs

    if "collapse" in sections:
        from tutor.beyond.collapse import CollapseSettings, beta_sweep, verdict
        from tutor.ppo import load_models

        settings = CollapseSettings.for_mode(course.fast)
        start = time.perf_counter()
        table, _ = beta_sweep(load_models(course), settings)
        out["collapse"] = {
            "settings": asdict(settings),
            "table": json.loads(table.to_json(orient="index")),
            "verdict": verdict(table),
            "seconds": round(time.perf_counter() - start, 1),
        }
        print("\n".join(out["collapse"]["verdict"]), flush=True)

    if "knowledge" in sections:
        from tutor.beyond import knowledge

        start = time.perf_counter()
        models = {
            (n.upper() if n != "base" else n): (load_causal_lm(stages.ensure(course, n, quiet=True)), n != "base")
            for n in ("base", "sft", "ppo", "dpo")
        }
        table = knowledge.probe(models, tokenizer)
        out["knowledge"] = {
            "table": json.loads(table.to_json(orient="index")),
            "verdict": knowledge.verdict(table),
            "seconds": round(time.perf_counter() - start, 1),
        }
        print("\n".join(out["knowledge"]["verdict"]), flush=True)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1, default=str) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
