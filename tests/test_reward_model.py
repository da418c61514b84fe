"""The reward model and its loss: our Bradley–Terry loss equals RewardTrainer's (with and without a
margin); scoring sees the tokens training saw, whatever the batch; the fresh head's start depends on
its seed alone."""

import pytest
import torch

from tutor.core.chat import conversation_texts
from tutor.core.models import TINY_DIR, tiny_config
from tutor.errors import TutorError
from tutor.preferences import gold_rows, to_dataset
from tutor.reward import (
    RewardSettings,
    bradley_terry_loss,
    init_reward_model,
    make_trainer,
    pairwise_accuracy,
    preference_probability,
    score_texts,
)


def tiny_reward_model(tokenizer, seed=0):
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(seed)
    config = tiny_config(
        tokenizer,
        num_hidden_layers=1,
        hidden_size=32,
        intermediate_size=64,
        num_attention_heads=2,
        num_key_value_heads=2,
        num_labels=1,
    )
    return AutoModelForSequenceClassification.from_config(config)


def trainer_for(tokenizer, dataset, tmp_path):
    return make_trainer(
        tiny_reward_model(tokenizer),
        tokenizer,
        dataset,
        tmp_path,
        settings=RewardSettings(batch_size=4),
        progress=False,
    )


# --------------------------------------------------------------------------- the twin


def test_bradley_terry_loss_equals_rewardtrainer_loss(tiny_tokenizer, tmp_path):
    trainer = trainer_for(tiny_tokenizer, to_dataset(gold_rows(8)), tmp_path)
    batch = next(iter(trainer.get_train_dataloader()))
    model = trainer.model.eval()
    with torch.no_grad():
        theirs = trainer.compute_loss(model, dict(batch))
        rewards = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, 0]
    chosen, rejected = rewards.chunk(2)  # the collator stacks every chosen answer, then every rejected one
    ours = bradley_terry_loss(chosen, rejected)
    assert torch.allclose(ours, theirs, atol=1e-6), (ours.item(), theirs.item())


def test_bradley_terry_margin_equals_rewardtrainer_margin(tiny_tokenizer, tmp_path):
    from datasets import Dataset

    rows = [{**r, "margin": 0.25 * i} for i, r in enumerate(gold_rows(8))]
    trainer = trainer_for(tiny_tokenizer, Dataset.from_list(rows), tmp_path)
    batch = next(iter(trainer.get_train_dataloader()))
    assert "margin" in batch
    model = trainer.model.eval()
    with torch.no_grad():
        theirs = trainer.compute_loss(model, dict(batch))
        rewards = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, 0]
    chosen, rejected = rewards.chunk(2)
    assert torch.allclose(bradley_terry_loss(chosen, rejected, batch["margin"]), theirs, atol=1e-6)
    assert not torch.allclose(bradley_terry_loss(chosen, rejected), theirs, atol=1e-6)


# --------------------------------------------------------------------------- the math


def test_bradley_terry_loss_values():
    assert bradley_terry_loss(torch.tensor([0.0]), torch.tensor([0.0])).item() == pytest.approx(0.6931, abs=1e-4)
    assert bradley_terry_loss(torch.tensor([5.0]), torch.tensor([0.0])) < bradley_terry_loss(
        torch.tensor([0.0]), torch.tensor([5.0])
    )
    big = bradley_terry_loss(torch.tensor([-200.0]), torch.tensor([200.0]))
    assert torch.isfinite(big) and big.item() == pytest.approx(400.0)


def test_probability_and_accuracy():
    assert preference_probability(2.0, 2.0).item() == pytest.approx(0.5)
    assert preference_probability(1.0, 0.0).item() == pytest.approx(0.7311, abs=1e-4)
    assert pairwise_accuracy([3.0, 1.0, 2.0], [1.0, 2.0, 2.0]) == pytest.approx(1 / 3)
    with pytest.raises(TutorError):
        pairwise_accuracy([], [])


# --------------------------------------------------------------------------- the model and its scores


def test_score_texts_sees_the_tokens_the_trainer_trained_on(tiny_tokenizer, tmp_path):
    rows = gold_rows(6)
    trainer = trainer_for(tiny_tokenizer, to_dataset(rows), tmp_path)
    for row, processed in zip(rows, trainer.train_dataset, strict=True):
        text = conversation_texts(tiny_tokenizer, [row["prompt"][0]["content"]], [row["chosen"][0]["content"]])[0]
        assert tiny_tokenizer(text, add_special_tokens=False)["input_ids"] == processed["chosen_ids"]


def test_a_score_does_not_depend_on_its_batch_neighbours(tiny_tokenizer):
    """Left padding and the pad token id let the head read each answer's real last token."""
    model = tiny_reward_model(tiny_tokenizer).eval()
    model.config.pad_token_id = tiny_tokenizer.pad_token_id
    prompts = ["Explain duration.", "Explain convexity."]
    answers = ["Short.", "Convexity is the curvature of the price-yield curve, which duration alone misses."]
    together = score_texts(model, tiny_tokenizer, prompts, answers)
    alone = [score_texts(model, tiny_tokenizer, [p], [a])[0] for p, a in zip(prompts, answers, strict=True)]
    assert together == pytest.approx(alone, abs=1e-5)


def test_the_reward_heads_start_depends_on_its_seed_not_on_what_ran_before(tiny_tokenizer):
    """Notebook 04 and `rlhf-tutor run` must train the same reward model: the fresh score head is
    drawn from the settings' seed, and drawing it leaves the caller's random state alone."""
    torch.manual_seed(123)
    first = init_reward_model(TINY_DIR, tiny_tokenizer, seed=0).score.weight.detach().clone()
    after_first = torch.rand(1)
    torch.manual_seed(456)
    torch.rand(10)  # other work in the same process
    second = init_reward_model(TINY_DIR, tiny_tokenizer, seed=0).score.weight.detach()
    other_seed = init_reward_model(TINY_DIR, tiny_tokenizer, seed=1).score.weight.detach()
    assert torch.equal(first, second)
    assert not torch.equal(first, other_seed)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(1), after_first)  # the caller's stream did not move


def test_a_missing_start_folder_is_one_clear_sentence(tiny_tokenizer, tmp_path):
    with pytest.raises(TutorError, match="No model at .* to initialise the reward model from"):
        init_reward_model(tmp_path / "nowhere", tiny_tokenizer)
