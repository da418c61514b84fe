"""The pair sources: a fixed `PairList` refuses bad or repeated pairs; `LivePairs` samples each
pair once, as it is shown, and never again after a resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tutor.core.sampling import sample
from tutor.errors import TutorError
from tutor.labeling import LabelStore, LivePairs, PairList, prompts_to_label
from tutor.world import candidate_pairs, prompts_for

PAIRS = candidate_pairs(12, seed=3)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "labels" / "ada.jsonl"


def test_duplicate_pair_ids_are_refused():
    with pytest.raises(TutorError, match="twice"):
        PairList([PAIRS[0], PAIRS[1], PAIRS[0]])
    with pytest.raises(TutorError, match="pair id '7' twice"):
        PairList([{"id": 7, "prompt": "p", "a": "x", "b": "y"}, {"id": "7", "prompt": "q", "a": "x", "b": "y"}])


@pytest.mark.parametrize("bad", [("p", "a"), ("p", 1, "b"), {"prompt": "p", "a": "x"}, 5])
def test_malformed_pairs_get_one_clear_sentence(bad):
    with pytest.raises(TutorError, match=r"\(prompt, answer_a, answer_b\) tuple of strings or a dict"):
        PairList([PAIRS[0], bad])
    with pytest.raises(TutorError, match="must be a list"):
        PairList("Explain duration.")


# ------------------------------------------------------------------------------- live pairs


def test_live_pairs_are_sampled_once_and_never_resampled_after_resume(path):
    calls = []

    def sample(prompt):
        calls.append(prompt)
        return f"{prompt} short answer {len(calls)}", f"{prompt} long answer {len(calls)}"

    prompts = ["Explain duration.", "What is a coupon?", "Explain duration."]  # a prompt twice: two pairs
    live = LivePairs(prompts, sample)
    store = LabelStore(path, annotator_id="ada", pair_set=live)
    first = live.get(live.ids[0])
    assert live.get(live.ids[0]) is first and len(calls) == 1
    store.add(first, "b")

    live2 = LivePairs(prompts, sample)
    resumed = LabelStore(path, annotator_id="ada", pair_set=live2)
    assert resumed.done == {live.ids[0]}
    assert live2.get(live.ids[0]) == first  # the labelled answers come from the file
    assert len(calls) == 1
    with pytest.raises(TutorError, match="different pair set"):
        LabelStore(path, pair_set=LivePairs(prompts[:2], sample))


def test_a_sampler_returning_the_wrong_thing_is_named():
    live = LivePairs(["Explain duration."], lambda p: "one answer")
    with pytest.raises(TutorError, match="two answer strings"):
        live.get(live.ids[0])
    with pytest.raises(TutorError, match="sample must be a function"):
        LivePairs(["Explain duration."], "not a function")


def test_live_pairs_from_a_model_are_two_samples_of_the_same_prompt(tiny_model, tiny_tokenizer):
    prompts = ["Explain duration.", "What is a coupon?"]
    live = LivePairs.from_model(prompts, tiny_model, tiny_tokenizer, max_new_tokens=12)
    torch.manual_seed(0)
    pair = live.get(live.ids[1])
    torch.manual_seed(0)
    expected = sample(tiny_model, tiny_tokenizer, [prompts[1], prompts[1]], max_new_tokens=12).texts
    assert (pair.prompt, pair.a, pair.b) == (prompts[1], *expected)
    assert live.get(live.ids[1]) is pair  # sampled once


def test_prompts_to_label_are_the_training_prompts_in_a_seeded_order():
    prompts = prompts_to_label(seed=0)
    assert sorted(prompts) == sorted(p.text for p in prompts_for("train"))
    assert prompts == prompts_to_label(seed=0)
    assert prompts != prompts_to_label(seed=1)
    assert sorted(prompts_to_label(seed=0, split="test")) == sorted(p.text for p in prompts_for("test"))
