"""A label file is keyed by what its labels mean: a new pair set, mode or model starts its own file,
the same ones resume theirs, and notebook 03's Run All before labelling says so in a sentence."""

from __future__ import annotations

import pytest
import torch

from tutor.core.models import load_causal_lm, load_tokenizer
from tutor.labeling import LivePairs, PairList, PreferenceLabeler
from tutor.labeling.pairs import model_fingerprint
from tutor.labeling.widget import default_path
from tutor.world import candidate_pairs

PROMPTS = ["Explain duration.", "What is a coupon?", "Explain convexity."]


def fixed_answers(prompt):
    return "Short: " + prompt, "A longer answer: " + prompt


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path / "runs"))
    return tmp_path / "runs"


def test_another_pair_set_starts_its_own_file_and_the_same_one_resumes(runs):
    first = PreferenceLabeler(LivePairs(PROMPTS, fixed_answers), annotator="you", double_click_s=0)
    first.simulate("riley")
    assert "a new file for 3 pairs" in first.file_note()
    other = PreferenceLabeler(LivePairs(PROMPTS[:2], fixed_answers), annotator="you", double_click_s=0)
    assert other.store.path != first.store.path and len(other.store) == 0
    again = PreferenceLabeler(LivePairs(PROMPTS, fixed_answers), annotator="you", double_click_s=0)
    assert again.store.path == first.store.path and len(again.store) == 3
    assert "resumed: 3 of 3 pairs already done" in again.file_note()
    assert str(again.store.path) in again.file_note()


def test_a_retrained_model_or_other_sampling_settings_start_a_new_file(runs, tiny_model, nudged_model):
    tokenizer = load_tokenizer("tiny")
    old = LivePairs.from_model(PROMPTS, tiny_model, tokenizer, max_new_tokens=8)
    assert (
        LivePairs.from_model(PROMPTS, load_causal_lm("tiny"), tokenizer, max_new_tokens=8).fingerprint
        == old.fingerprint
    )
    new_model = LivePairs.from_model(PROMPTS, nudged_model, tokenizer, max_new_tokens=8)
    new_length = LivePairs.from_model(PROMPTS, tiny_model, tokenizer, max_new_tokens=16)
    paths = {default_path("you", source) for source in (old, new_model, new_length)}
    assert len(paths) == 3
    labeler = PreferenceLabeler(old, annotator="you", double_click_s=0)
    labeler.simulate("riley", 1)
    # the full-mode (or retrained) SFT model's pairs open a fresh file instead of refusing the old one
    fresh = PreferenceLabeler(new_model, annotator="you", double_click_s=0)
    assert len(fresh.store) == 0 and fresh.store.path != labeler.store.path


def test_model_fingerprint_follows_the_weights(tiny_model):
    before = model_fingerprint(tiny_model)
    with torch.no_grad():
        next(tiny_model.parameters()).view(-1)[0] += 1e-3
    assert model_fingerprint(tiny_model) != before


def test_a_fixed_pair_list_resumes_its_file_whatever_the_mode(runs):
    pairs = candidate_pairs(4, seed=3)
    assert default_path("you", pairs) == default_path("you", PairList(pairs))
    assert default_path("you", pairs) != default_path("you", candidate_pairs(5, seed=3))
