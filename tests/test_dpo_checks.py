"""DPO refuses bad input with one clear sentence: its settings, its pairs, its reference model."""

import pytest

from tutor import TutorError, dpo
from tutor.core.chat import as_conversational
from tutor.core.models import tiny_config
from tutor.preferences import gold_dataset, to_dataset


def test_empty_dataset_is_a_clear_error(nudged_model, tiny_model, tiny_tokenizer, tmp_path):
    from datasets import Dataset

    empty = Dataset.from_dict({"prompt": [], "chosen": [], "rejected": []})
    with pytest.raises(TutorError, match="empty"):
        dpo.make_trainer(nudged_model, tiny_model, tiny_tokenizer, empty, tmp_path)


def test_overlong_prompt_is_a_clear_error(nudged_model, tiny_model, tiny_tokenizer, tmp_path):
    long_prompt = "Explain convexity " + "and duration " * 200
    data = to_dataset(
        [as_conversational(long_prompt, chosen="Short answer.", rejected="Another answer.")] + gold_dataset(4).to_list()
    )
    with pytest.raises(TutorError, match="row 0 has a prompt of .* tokens"):
        dpo.make_trainer(nudged_model, tiny_model, tiny_tokenizer, data, tmp_path)


def test_reference_with_another_vocabulary_is_a_clear_error(nudged_model, tiny_tokenizer, tmp_path):
    from transformers import AutoModelForCausalLM

    other = AutoModelForCausalLM.from_config(
        tiny_config(tiny_tokenizer, vocab_size=2048, hidden_size=64, intermediate_size=128, num_hidden_layers=1)
    )
    with pytest.raises(TutorError, match="reference model has a vocabulary of 2048"):
        dpo.make_trainer(nudged_model, other, tiny_tokenizer, gold_dataset(4), tmp_path)


def test_model_as_its_own_reference_is_refused(nudged_model, tiny_tokenizer, tmp_path):
    with pytest.raises(TutorError, match="separate frozen copy"):
        dpo.make_trainer(nudged_model, nudged_model, tiny_tokenizer, gold_dataset(4), tmp_path)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"loss_type": "simpo"}, "DPOSettings.loss_type"),
        ({"data": "web"}, "DPOSettings.data"),
        ({"loss_type": "robust"}, "label_smoothing"),
        ({"chunk_pairs": -1}, "chunk_pairs"),
    ],
)
def test_bad_settings_are_clear_errors(change, match):
    with pytest.raises(TutorError, match=match):
        dpo.DPOSettings(**change)
