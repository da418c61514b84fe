"""Quality target of the shipped base model: ≥ 90 % of 50 samples for held-out prompts are fluent
world text by the analyser (not degenerate, not empty). Writes benchmarks/results/base_model.json."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tutor.core.models import load_causal_lm, load_tokenizer
from tutor.core.sampling import sample
from tutor.world import analyse, prompts_for

RESULTS = Path(__file__).resolve().parent / "results" / "base_model.json"


def main() -> None:
    tokenizer, model = load_tokenizer("tiny"), load_causal_lm("tiny")
    test = [p.text for p in prompts_for("test")]
    prompts = (test * 2)[:50]
    start = time.perf_counter()
    samples = sample(model, tokenizer, prompts, chat=False, max_new_tokens=160, seed=0)
    seconds = time.perf_counter() - start
    profiles = [analyse(t, p) for t, p in zip(samples.texts, prompts, strict=True)]
    result = {
        "samples": len(prompts),
        "fluent_rate": sum(p.fluent for p in profiles) / len(profiles),
        "degenerate_rate": sum(p.degenerate for p in profiles) / len(profiles),
        "empty": sum(p.words == 0 for p in profiles),
        "target_fluent_rate": 0.9,
        "sampling_seconds": round(seconds, 2),
    }
    result["meets_target"] = result["fluent_rate"] >= result["target_fluent_rate"]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
