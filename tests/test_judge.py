"""The judge sees garbage: stutters, broken words and run-on text are degenerate, clean text is not."""

import json
from pathlib import Path

import pytest

from tutor.world import GoldAnnotator, analyse, candidate_pairs, sft_examples
from tutor.world.analyser import _repetition, _words

PROMPT = "Explain convexity."
CLEAN = (
    "Put simply, convexity describes how a bond's price curve bends as interest rates change, so the price does not "
    "move along a straight line."
)
SFT_SAMPLES = Path(__file__).parent / "data" / "sft_samples.jsonl"


@pytest.mark.parametrize(
    "garbage",
    [
        "push the the the the face value",  # what a β = 0 policy writes
        "Convexity is the the curve of the price and the the yield line.",
        " ".join(["Convexity means the price curve bends and when yields fall the price rises"] * 5) + ".",
        "Convexity is the curvv in the pricce-yieldd line, so pricess risee when yieldss falll.",
    ],
)
def test_garbage_is_degenerate_and_scores_below_clean_text(garbage):
    judge = GoldAnnotator("riley")
    p = analyse(garbage, PROMPT)
    assert p.degenerate and not p.fluent
    assert judge.score(PROMPT, garbage) < judge.score(PROMPT, CLEAN) - 3


def test_the_new_measures_count_what_they_name():
    p = analyse("push the the the the face value. Value is par.")
    assert p.stutters == 3  # "the the" three times; "value. Value" crosses a sentence end
    assert analyse("Convexity is the curvv of the pricce line.").broken_words == 2
    assert analyse("Hola amigos que tal estas hoy mismo").broken_words == 0  # mostly unknown: not world text
    assert analyse("Convexity is good. " + "and the price " * 20 + "rises.").longest_sentence == 61


def test_sloppiness_costs_a_capped_fixed_amount_per_mistake():
    judge = GoldAnnotator("riley")
    clean = judge.score(PROMPT, CLEAN)
    one = CLEAN.replace("curve", "curve curve")
    assert analyse(one, PROMPT).stutters == 1 and not analyse(one, PROMPT).degenerate
    assert judge.score(PROMPT, one) == pytest.approx(clean - judge.persona.sloppy)
    many = "the the price price yield yield curve curve bends bends now"
    assert clean - judge.score(PROMPT, many) <= judge.persona.sloppy_cap + judge.persona.degenerate + 4


def test_world_candidates_are_flagged_exactly_as_before_and_never_sloppy():
    for _, a, b in candidate_pairs(2000, seed=0):
        for text in (a, b):
            p = analyse(text)
            words = _words(text)
            assert p.degenerate == (len(words) < 3 or _repetition(words) > 0.3), text
            assert p.stutters == p.broken_words == 0, text
    for row in sft_examples(500):
        p = analyse(row["completion"], row["prompt"])
        assert p.fluent and p.stutters == p.broken_words == 0


def test_the_sft_models_own_samples_are_not_called_degenerate():
    """280 held-out answers of the full-mode SFT model (seed 0, runs/tiny/sft/samples.jsonl), saved once."""
    rows = [json.loads(line) for line in SFT_SAMPLES.read_text().splitlines()]
    assert len(rows) >= 200
    flagged = [r["text"] for r in rows if analyse(r["text"], r["prompt"]).degenerate]
    assert len(flagged) <= len(rows) // 100, flagged[:3]
