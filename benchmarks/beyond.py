"""Notebook 08's experiments in full mode, with their numbers and times.

Section 1 (why reward hacking happens: proxies on 250 / 1,000 / 4,000 labels and an ensemble,
best-of-n on one pool of SFT answers, and PPO at β = 0 against each single proxy), section 5 (the
real small model's answers to the advice questions, checked as a compliance reviewer would),
section 2 (why DPO matches PPO: distances to the closed-form π*), section 3 (the β sweep's collapse
measures) and section 4 (knowledge probes before and after SFT, PPO, DPO), each with its settings,
so the lead can re-run them after the PPO, reward-model and analyser changes. Results go to
benchmarks/results/beyond.json (read in benchmarks/results/beyond.md).

    python benchmarks/beyond.py                      # every section, full mode, runs in ./runs
    python benchmarks/beyond.py --sections hacking --rl-steps 20
    python benchmarks/beyond.py --sections domain    # SmolLM2's answers to the advice prompts (make real-model-setup)
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
    parser.add_argument("--sections", default="hacking,optimal,collapse,knowledge,domain")
    parser.add_argument("--real-answers", type=int, default=4, help="section 5: SmolLM2's answers per advice prompt")
    parser.add_argument("--labels", default="250,1000,4000", help="section 1: the proxies' label counts")
    parser.add_argument("--prompts", type=int, default=32, help="section 1: held-out prompts of the pool")
    parser.add_argument("--members", type=int, default=4, help="section 1: reward models in the ensemble")
    parser.add_argument("--rl-steps", type=int, default=20, help="section 1: PPO steps at β = 0 per proxy")
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

    if "hacking" in sections:
        from tutor.beyond import proxies
        from tutor.labs.reward_hacking import smoothed

        settings = proxies.ProxySettings(
            labels=tuple(int(n) for n in args.labels.split(",")), members=args.members, n_prompts=args.prompts
        )
        start = time.perf_counter()
        sweep = proxies.proxy_sweep(course, settings)
        lines = proxies.verdict(sweep)
        rl = []
        for labels in settings.labels:
            path = proxies.rl_path(course, proxies.train_proxy(course, labels), sweep, steps=args.rl_steps)
            rl.append(path)
            fit, gold = path["fit"], smoothed(path["gold"], 3)
            peak = max(range(len(gold)), key=gold.__getitem__)
            lines.append(
                f"PPO at β = 0 against {labels:,} labels, {args.rl_steps} steps (3-step averages of the rollouts' "
                f"gold, from SFT's): peaks at step {peak + 1} ({gold[peak]:+.2f} SFT sd), ends at {gold[-1]:+.2f} "
                f"at √KL {path['sqrt_kl'][-1]:.2f}; Gao's RL fit α {fit['alpha']:.2f}, β {fit['beta']:.2f}, "
                f"r² {fit['r2']:.2f}."
            )
        out["reward_hacking"] = {
            "settings": asdict(settings),
            "table": json.loads(sweep.table().to_json(orient="index")),
            "curves": json.loads(sweep.curves_frame().to_json(orient="records")),
            "member_correlation": sweep.member_correlation,
            "member_gold": sweep.member_gold,
            "rl": rl,
            "verdict": lines,
            "seconds": round(time.perf_counter() - start, 1),
            "when": time.strftime("%Y-%m-%d %H:%M"),
        }
        print("\n".join(lines), flush=True)

    if "domain" in sections:
        from tutor.beyond import domain

        start = time.perf_counter()
        prompts = [p for p in domain.advice_prompts() for _ in range(args.real_answers)]
        real = domain.real_model_answers(prompts)
        if real is None:
            print("domain: SmolLM2-135M-Instruct is not installed (make real-model-setup); section skipped.")
        else:
            out["domain"] = {
                "model": "SmolLM2-135M-Instruct (GGUF Q4_1, de-quantised to fp32)",
                **real,
                "seconds": round(time.perf_counter() - start, 1),
                "when": time.strftime("%Y-%m-%d %H:%M"),
            }
            print(json.dumps(real["compliance"]), flush=True)

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
