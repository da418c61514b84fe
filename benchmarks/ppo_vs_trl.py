"""Our PPO beside TRL's RLOO and GRPO on the same SFT model, reward model, prompts and episode budget;
writes benchmarks/results/ppo_vs_trl.json.

Each run is measured with the course's held-out protocol (`sample_eval`, seed 1234, the gold
win-rate over the SFT stage's saved answers, the exact KL to the SFT model). Our PPO runs at the
`ppo` stage's settings; RLOO and GRPO get the same steps, episodes per step, answers per prompt, β,
learning rate and answer length, and the reward normalised on SFT answers as our PPO's is. Episodes/s
are comparable only between runs of one process (the machine is shared): `--part` lets two
processes split the seeds, and `--merge` joins their files, keeping each part's timings together.

Run: ``PYTHONPATH=. python benchmarks/ppo_vs_trl.py [--seeds 0 1 2] [--methods ppo rloo grpo]
[--steps 45] [--set beta=0.03 ...] [--part NAME] [--merge PART.json ...]``. `--set` changes PPOSettings
fields for every method (RLOO and GRPO take the β, learning rate, batch and lengths from them too).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from measure import peak_rss_gb  # noqa: E402  (this folder: see benchmarks/measure.py)

TARGETS = {"ppo_win_rate_mean": 0.82, "ppo_win_rate_each": 0.78, "ppo_kl_max": 5.0, "ppo_episodes_per_s_vs_rloo": 0.8}
MODELS_IN_MEMORY = {"ppo": 4, "rloo": 3, "grpo": 3}  # policy, reference, reward (+ value model for PPO)


def parse_changes(pairs: list[str]) -> dict:
    """`--set name=value ...` → PPOSettings changes, each value cast to its field's type."""
    from dataclasses import fields

    from tutor.ppo import PPOSettings

    types = {f.name: type(getattr(PPOSettings(), f.name)) for f in fields(PPOSettings)}
    changes = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in types:
            raise SystemExit(f"--set {pair}: PPOSettings has no field {name!r}; fields: {', '.join(types)}.")
        kind = types[name]
        changes[name] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return changes


def run_one(course, models, method: str, seed: int, steps: int | None, changes: dict | None = None) -> dict:
    import torch

    from tutor import stages
    from tutor.core.evaluation import evaluate_model
    from tutor.ppo import PPOSettings, make_trainer
    from tutor.ppo.trl_peers import PeerSettings, train_peer
    from tutor.world import GoldAnnotator

    settings = PPOSettings.for_mode(course.fast, seed=seed, **(changes or {}))
    if steps is not None:
        settings = replace(settings, steps=steps)
    baseline = stages.load_samples(course, "sft")
    torch.manual_seed(seed)
    trainer = make_trainer(models, settings)  # for RLOO and GRPO: only its reward normalisation
    if method == "ppo":
        trainer.train(progress=False)
        policy, seconds, episodes = trainer.unwrapped_policy, trainer.train_seconds, trainer.episodes
        extra = {
            "var_explained_last5": statistics.fmean(h["val/var_explained"] for h in trainer.history[-5:]),
            "advantage_signal_mean": statistics.fmean(h["diag/advantage_signal"] for h in trainer.history),
        }
    else:
        peer = PeerSettings(
            method=method,
            steps=settings.steps,
            batch_size=settings.batch_size,
            answers_per_prompt=settings.answers_per_prompt,
            beta=settings.beta,
            learning_rate=settings.learning_rate,
            max_new_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
            seed=seed,
        )
        run = train_peer(models, peer, reward_stats=(trainer.reward_mean, trainer.reward_std))
        policy, seconds, episodes, extra = run.policy, run.train_seconds, run.episodes, {}
    result = evaluate_model(
        policy,
        models.tokenizer,
        baseline.prompts,
        GoldAnnotator("riley"),
        baseline=baseline,
        ref_model=models.ref_policy,
        seed=1234,
        max_new_tokens=160,
    )
    return {
        "method": method,
        "seed": seed,
        "steps": settings.steps,
        "changes": changes or {},
        "episodes": episodes,
        "train_seconds": round(seconds, 1),
        "episodes_per_second": round(episodes / seconds, 2),
        "gold_win_rate_vs_sft": round(result.gold_win_rate_vs_sft, 4),
        "kl": round(result.kl, 3),
        "gold": round(result.gold, 3),
        "models_in_memory": MODELS_IN_MEMORY[method],
        "profile": {k: round(v, 3) for k, v in result.profile.items()},
        "peak_rss_gb_so_far": round(peak_rss_gb(), 3),
        **extra,
    }


def summarise(runs: list[dict]) -> dict:
    """Mean and spread of each method over its seeds; episodes/s as a ratio to RLOO within each part."""
    out = {}
    for method in dict.fromkeys(r["method"] for r in runs):
        rows = [r for r in runs if r["method"] == method]
        wins = [r["gold_win_rate_vs_sft"] for r in rows]
        out[method] = {
            "seeds": [r["seed"] for r in rows],
            "win_rate_mean": round(statistics.fmean(wins), 4),
            "win_rate_sd": round(statistics.stdev(wins), 4) if len(wins) > 1 else 0.0,
            "win_rate_min": min(wins),
            "kl_mean": round(statistics.fmean(r["kl"] for r in rows), 3),
            "kl_max": max(r["kl"] for r in rows),
            "episodes_per_second_mean": round(statistics.fmean(r["episodes_per_second"] for r in rows), 2),
            "models_in_memory": rows[0]["models_in_memory"],
        }
    ratios = []
    for part in dict.fromkeys(r.get("part", "") for r in runs):
        for seed in dict.fromkeys(r["seed"] for r in runs):
            by = {r["method"]: r for r in runs if r.get("part", "") == part and r["seed"] == seed}
            if "ppo" in by and "rloo" in by:
                ratios.append(by["ppo"]["episodes_per_second"] / by["rloo"]["episodes_per_second"])
    if ratios:
        out["ppo_episodes_per_second_vs_rloo"] = {
            "per_seed": [round(x, 3) for x in ratios],
            "mean": round(statistics.fmean(ratios), 3),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", default=str(ROOT / "runs"), help="runs folder holding the SFT and reward stages")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=["ppo", "rloo", "grpo"])
    parser.add_argument("--steps", type=int, default=None, help="default: the ppo stage's")
    parser.add_argument("--set", nargs="+", default=[], metavar="NAME=VALUE", help="PPOSettings changes")
    parser.add_argument("--part", default=None, help="write results/ppo_vs_trl.PART.json (merge them later)")
    parser.add_argument("--merge", nargs="+", default=None, help="part files to join into ppo_vs_trl.json")
    args = parser.parse_args()
    out = HERE / "results" / "ppo_vs_trl.json"
    if args.merge:
        parts = [json.loads(Path(p).read_text()) for p in args.merge]
        runs = [r for p in parts for r in p["runs"]]
        result = {**parts[0], "parts": [p["part"] for p in parts], "runs": runs, "summary": summarise(runs)}
        result.pop("part", None)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result["summary"], indent=2))
        return
    os.environ["TUTOR_RUNS"] = str(Path(args.runs).resolve())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.pop("TUTOR_FAST", None)
    import torch

    import tutor
    from tutor.ppo import PPOSettings, load_models

    changes = parse_changes(args.set)
    course = tutor.setup(FAST=False, quiet=True)
    models = load_models(course)
    result = {
        "benchmark": "ppo_vs_trl",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "targets": TARGETS,
        "ppo_settings": asdict(PPOSettings.for_mode(False, **changes)),
        "part": args.part or "",
        "runs": [],
    }
    start = time.perf_counter()
    for seed in args.seeds:
        for method in args.methods:
            row = {**run_one(course, models, method, seed, args.steps, changes), "part": args.part or ""}
            print(json.dumps(row), flush=True)
            result["runs"].append(row)
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["summary"] = summarise(result["runs"])
    if args.part:
        out = HERE / "results" / f"ppo_vs_trl.{args.part}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["summary"], indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
