"""Section 4 of notebook 08: the knowledge probes measure knowledge."""

import random

import pytest

from tutor.beyond.knowledge import fact_recall, held_out_explain_prompts, perplexity, truth_over_myths, truth_pairs
from tutor.world import parse_prompt, pretraining_corpus
from tutor.world.facts import CONCEPTS_BY_KEY


def test_truth_pairs_hold_a_fact_and_a_myth_of_the_asked_concept():
    prompts = held_out_explain_prompts(5)
    for prompt, fact, myth in truth_pairs(prompts, per_prompt=2):
        c = CONCEPTS_BY_KEY[parse_prompt(prompt).concept]
        assert fact in c.retail_defs + c.quant_defs and myth in c.myths


def test_fact_recall_counts_true_answers_and_not_myths():
    prompt = "Explain convexity."
    c = CONCEPTS_BY_KEY["convexity"]
    assert fact_recall([prompt, prompt], [c.retail_defs[0], c.myths[0]]) == 0.5


def test_the_shipped_model_knows_more_than_chance(tiny_model, tiny_tokenizer):
    pairs = truth_pairs(held_out_explain_prompts(6), per_prompt=2)
    result = truth_over_myths(tiny_model, tiny_tokenizer, pairs, chat=False)
    assert 0 <= result["truth over myths"] <= 1


def test_perplexity_is_lower_on_world_text_than_on_shuffled_words(tiny_model, tiny_tokenizer):
    docs = pretraining_corpus(8, seed=123)
    rng = random.Random(0)
    shuffled = [" ".join(rng.sample(d.split(), len(d.split()))) for d in docs]
    world, noise = perplexity(tiny_model, tiny_tokenizer, docs), perplexity(tiny_model, tiny_tokenizer, shuffled)
    assert 1 <= world < noise
    assert world == pytest.approx(perplexity(tiny_model, tiny_tokenizer, docs, batch_size=3), rel=1e-4)


def test_the_verdict_names_every_aligned_model():
    import pandas as pd

    from tutor.beyond.knowledge import verdict

    row = {
        "fact recall": 0.9,
        "fact recall ± (1 s.e.)": 0.05,
        "truth over myths": 1.0,
        "perplexity": 1.3,
        "gold score": 1.0,
    }
    table = pd.DataFrame({"base": row, "SFT": row, "PPO": {**row, "gold score": 2.0}}).T
    lines = verdict(table)
    assert lines[0].startswith("base → SFT") and any(line.startswith("PPO vs SFT") for line in lines)
    assert "gold score 1.00 → 2.00" in lines[-1]
