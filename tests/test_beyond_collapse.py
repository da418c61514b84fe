"""Section 2 of notebook 08: the collapse measures read what they claim to read."""

import math

import pytest

from tutor.beyond.collapse import (
    CollapseSettings,
    distinct_n,
    diversity,
    jaccard,
    same_prompt_similarity,
    template,
    template_share,
    token_entropy,
)
from tutor.errors import TutorError
from tutor.world import compose, prompts_for
from tutor.world.answers import Style


def test_distinct_n_pools_over_texts():
    assert distinct_n(["a b c", "a b c"], 2) == pytest.approx(2 / 4)
    assert distinct_n(["a b c", "d e f"], 2) == 1.0
    assert distinct_n(["a a a a"], 1) == pytest.approx(1 / 4)
    with pytest.raises(TutorError):
        distinct_n(["a"], 0)


def test_similarity_is_one_for_copies_and_low_for_unrelated_answers():
    assert jaccard("the bond price falls", "the bond price falls") == 1.0
    assert jaccard("the bond price falls", "coupons pay interest twice") == 0.0
    assert same_prompt_similarity([["a b c", "a b c"], ["x y", "x y"]]) == 1.0
    with pytest.raises(TutorError):
        same_prompt_similarity([["only one"]])


def test_one_style_everywhere_is_one_template():
    import random

    prompts = [p for p in prompts_for("test") if p.kind == "explain"][:6]
    rng = random.Random(0)
    style = Style(politeness="curt", length="concise", audience="retail")
    same = [compose(p, style, rng) for p in prompts]
    assert template_share([p.text for p in prompts], same)[0] == 1.0
    assert "fact-retail" in template(same[0], prompts[0].text)
    mixed = [
        compose(p, Style(politeness=pol, audience=aud), rng)
        for p, (pol, aud) in zip(
            prompts, [("polite", "retail"), ("curt", "quant"), ("rude", "retail")] * 2, strict=False
        )
    ]
    assert template_share([p.text for p in prompts], mixed)[0] < 1.0


def test_entropy_is_in_nats_per_token_within_its_bounds(tiny_model, tiny_tokenizer):
    h = token_entropy(tiny_model, tiny_tokenizer, ["Explain convexity."], ["Convexity is the bend of a price curve."])
    assert 0 < h < math.log(len(tiny_tokenizer))


def test_diversity_needs_two_answers_per_prompt(tiny_model, tiny_tokenizer):
    with pytest.raises(TutorError, match="2 answers"):
        diversity(tiny_model, tiny_tokenizer, ["Explain convexity."], per_prompt=1)
    row = diversity(tiny_model, tiny_tokenizer, ["Explain convexity."], per_prompt=2)
    assert 0 <= row["distinct-2"] <= 1 and 0 < row["template share"] <= 1


def test_settings_are_checked():
    with pytest.raises(TutorError, match="betas"):
        CollapseSettings(betas=(-1.0,))
    with pytest.raises(TutorError, match="per_prompt"):
        CollapseSettings(per_prompt=1)
    assert 0.0 in CollapseSettings.for_mode(True).betas


def test_the_verdict_weighs_each_change_against_the_sft_noise_floor():
    import pandas as pd

    from tutor.beyond.collapse import MEASURES, verdict

    sft = dict.fromkeys(MEASURES, 0.5)
    other = dict.fromkeys(MEASURES, 0.52)
    low = {**sft, "template share": 0.9, "distinct-2": 0.51}
    lines = verdict(pd.DataFrame({"SFT": sft, "SFT, other seed": other, "β = 0": low}).T)
    by_measure = {line.split(":")[0]: line for line in lines}
    assert "beyond twice" in by_measure["template share"]
    assert "not a measured change" in by_measure["distinct-2"]
