"""How much does one evaluation draw move the course's numbers, and does our sampler match transformers'?

Samples the SFT model's answers to the held-out evaluation prompts (8 per prompt, as a full-mode
evaluation does) under many seeds, twice per seed: with `tutor.core.sampling.sample` (our KV-cache
loop) and with transformers' `generate` (same settings: pure sampling at T = 1). Reports Riley's
mean gold score per draw: the spread across seeds is the luck of one evaluation, and the two
samplers' means should agree (they draw from the same distribution). Also records where the fixed
evaluation seed (`tutor.core.evaluation.sample_eval`) falls. Results: benchmarks/results/eval_noise.json.

    python benchmarks/eval_noise.py --runs runs     # a runs folder holding the SFT stage (built if missing)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "eval_noise.json"

from measure import generate_answers  # noqa: E402  (this folder: see benchmarks/measure.py)


def generate_texts(model, tokenizer, prompts, seed: int) -> list[str]:
    """transformers' own sampler, answers cut at the first EOS like `tutor.core.sampling.sample`'s."""
    import torch

    torch.manual_seed(seed)
    rows = generate_answers(model, tokenizer, prompts, max_new_tokens=160, batch_size=len(prompts))
    eos = tokenizer.eos_token_id
    return [
        tokenizer.decode(row[:-1] if row and row[-1] == eos else row, skip_special_tokens=True).strip() for row in rows
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default=str(ROOT / "runs"))
    parser.add_argument("--seeds", type=int, default=12)
    args = parser.parse_args()
    os.environ["TUTOR_RUNS"] = args.runs
    os.environ["HF_HUB_OFFLINE"] = "1"

    import tutor
    from tutor.core.evaluation import eval_prompts, sample_eval
    from tutor.core.models import load_causal_lm, load_tokenizer
    from tutor.core.sampling import sample
    from tutor.stages import ensure
    from tutor.world import GoldAnnotator

    course = tutor.setup(FAST=False, quiet=True)
    folder = ensure(course, "sft", quiet=True)
    model, tokenizer = load_causal_lm(folder, course.device), load_tokenizer(folder)
    riley = GoldAnnotator("riley")
    prompts = eval_prompts(False)
    ours, theirs = [], []
    t0 = time.perf_counter()
    for seed in range(10, 10 + args.seeds):
        ours.append(statistics.mean(riley.scores(prompts, sample(model, tokenizer, prompts, seed=seed).texts)))
        theirs.append(statistics.mean(riley.scores(prompts, generate_texts(model, tokenizer, prompts, seed))))
        print(f"seed {seed}: gold {ours[-1]:.3f} (tutor) {theirs[-1]:.3f} (generate)", flush=True)
    fixed = statistics.mean(riley.scores(prompts, sample_eval(model, tokenizer, prompts).texts))

    def stats(values):
        return {
            "mean": round(statistics.mean(values), 4),
            "stdev": round(statistics.stdev(values), 4),
            "per_seed": [round(v, 4) for v in values],
        }

    result = {
        "answers_per_draw": len(prompts),
        "seeds": args.seeds,
        "seconds": round(time.perf_counter() - t0, 1),
        "sft_gold_tutor_sampler": stats(ours),
        "sft_gold_transformers_generate": stats(theirs),
        "sft_gold_fixed_evaluation_seed": round(fixed, 4),
        "fixed_seed_z_score": round((fixed - statistics.mean(ours)) / statistics.stdev(ours), 2),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if not isinstance(v, dict)}))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
