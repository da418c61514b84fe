"""The reward model's variants and its continued training: mean pooling reads the answer's tokens
only and survives saving; the LM-loss trainer adds exactly coef × the chosen answers' LM loss;
`continue_training` moves a trained model on new labels without touching the saved one; bad input
(a missing reward model, another vocabulary, an unknown pooling) is one sentence."""

import pytest
import torch

from tutor.core.chat import conversation_texts
from tutor.core.models import TINY_DIR, load_causal_lm, load_reward_model, save
from tutor.errors import TutorError
from tutor.preferences import gold_dataset, gold_rows, to_dataset
from tutor.reward import (
    RewardSettings,
    TrainedReward,
    bradley_terry_loss,
    continue_training,
    evaluate,
    init_reward_model,
    load_reward,
    make_trainer,
    score_texts,
)
from tutor.reward.model import answer_token_id, answer_weights
from tutor.reward.train import chosen_lm_loss
from tutor.world import GoldAnnotator, candidate_pairs

PROMPTS = ["Explain duration.", "Explain convexity."]
ANSWERS = ["Short.", "Convexity is the curvature of the price-yield curve, which duration alone misses."]


@pytest.fixture(scope="module")
def mean_model(tiny_tokenizer):
    return init_reward_model(TINY_DIR, tiny_tokenizer, pooling="mean").eval()


def test_answer_weights_average_over_the_answer_tokens_only(tiny_tokenizer):
    marker = answer_token_id(tiny_tokenizer)
    assert marker == tiny_tokenizer.convert_tokens_to_ids("<|assistant|>")
    texts = conversation_texts(tiny_tokenizer, PROMPTS, ANSWERS)
    enc = tiny_tokenizer(texts, add_special_tokens=False, padding=True, return_tensors="pt")
    weights = answer_weights(enc["input_ids"], enc["attention_mask"], marker)
    assert torch.allclose(weights.sum(-1), torch.ones(2))
    for row, ids, mask in zip(weights, enc["input_ids"], enc["attention_mask"], strict=True):
        start = int((ids == marker).nonzero().max()) + 1
        assert (row[:start] == 0).all() and (row[mask == 0] == 0).all()
        assert torch.allclose(row[start:][mask[start:] == 1], row[start:][mask[start:] == 1][0])


def test_a_mean_pooled_score_ignores_padding_and_neighbours(mean_model, tiny_tokenizer):
    together = score_texts(mean_model, tiny_tokenizer, PROMPTS, ANSWERS)
    alone = [score_texts(mean_model, tiny_tokenizer, [p], [a])[0] for p, a in zip(PROMPTS, ANSWERS, strict=True)]
    assert together == pytest.approx(alone, abs=1e-5)


def test_mean_pooling_is_the_mean_of_the_answers_token_readings(mean_model, tiny_tokenizer):
    text = conversation_texts(tiny_tokenizer, PROMPTS[1:], ANSWERS[1:])[0]
    enc = tiny_tokenizer(text, add_special_tokens=False, return_tensors="pt")
    with torch.no_grad():
        hidden = mean_model.base_model(**enc).last_hidden_state
        readings = mean_model.score(hidden)[0, :, 0]
        score = mean_model(**enc).logits[0, 0]
    start = int((enc["input_ids"][0] == answer_token_id(tiny_tokenizer)).nonzero().max()) + 1
    assert score.item() == pytest.approx(readings[start:].mean().item(), abs=1e-5)
    assert score.item() != pytest.approx(readings[-1].item(), abs=1e-4)  # not the last token's reading


def test_a_saved_mean_pooled_model_loads_back_pooled_the_same(mean_model, tiny_tokenizer, tmp_path):
    save(mean_model, tiny_tokenizer, tmp_path / "rm")
    for loaded in (load_reward_model(tmp_path / "rm"), load_reward(tmp_path / "rm", tokenizer=tiny_tokenizer)[0]):
        assert loaded.config.reward_pooling == "mean"
        assert score_texts(loaded, tiny_tokenizer, PROMPTS, ANSWERS) == pytest.approx(
            score_texts(mean_model, tiny_tokenizer, PROMPTS, ANSWERS), abs=1e-5
        )


def test_the_last_token_model_is_transformers_own(tiny_tokenizer):
    from transformers import AutoModelForSequenceClassification

    model = init_reward_model(TINY_DIR, tiny_tokenizer, pooling="last")
    assert type(model) is AutoModelForSequenceClassification._model_mapping[type(model.config)]


def test_the_lm_loss_trainer_adds_coef_times_the_chosen_answers_lm_loss(tiny_tokenizer, tmp_path):
    settings = RewardSettings(batch_size=4, lm_coef=0.5)
    model = init_reward_model(TINY_DIR, tiny_tokenizer)
    trainer = make_trainer(model, tiny_tokenizer, to_dataset(gold_rows(8)), tmp_path, settings=settings, progress=False)
    batch = dict(next(iter(trainer.get_train_dataloader())))
    model.train()  # the extra term is a training loss (dropout is off: same numbers as eval)
    with torch.no_grad():
        total = trainer.compute_loss(model, dict(batch))
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True)
        chosen, rejected = out.logits[:, 0].chunk(2)
        lm = chosen_lm_loss(model, batch, out.hidden_states[-1])
    # the same number as the causal LM's own loss on the chosen answers' tokens
    causal = load_causal_lm(TINY_DIR)
    ids, mask = batch["input_ids"][:4], batch["attention_mask"][:4]
    labels = ids.masked_fill(answer_weights(ids, mask, answer_token_id(tiny_tokenizer)) == 0, -100)
    with torch.no_grad():
        expected = causal(input_ids=ids, attention_mask=mask, labels=labels).loss
    assert lm.item() == pytest.approx(expected.item(), abs=1e-4)
    assert total.item() == pytest.approx((bradley_terry_loss(chosen, rejected) + 0.5 * lm).item(), abs=1e-5)


def test_continue_training_learns_from_new_labels_and_leaves_the_saved_model(fast_course, tiny_tokenizer, tmp_path):
    model = init_reward_model(TINY_DIR, tiny_tokenizer, seed=0)
    save(model, tiny_tokenizer, tmp_path / "rm")
    judge = GoldAnnotator("riley", temperature=0.0)
    new_pairs = candidate_pairs(300, seed=7)
    before = evaluate(model, tiny_tokenizer, new_pairs[:200], judge)["expected_accuracy"]
    data = gold_dataset(300, seed=7, temperature=0.0)
    refreshed = continue_training(fast_course, tmp_path / "rm", data, RewardSettings(), progress=False)
    assert isinstance(refreshed, TrainedReward) and refreshed.n_train == 300
    after = evaluate(refreshed.model, refreshed.tokenizer, new_pairs[:200], judge)["expected_accuracy"]
    assert after > before + 0.1, (before, after)
    saved = load_reward_model(tmp_path / "rm")
    assert score_texts(saved, tiny_tokenizer, PROMPTS, ANSWERS) == pytest.approx(
        score_texts(model, tiny_tokenizer, PROMPTS, ANSWERS), abs=1e-6
    )
    again = continue_training(fast_course, refreshed, gold_dataset(16, seed=8), RewardSettings(), progress=False)
    assert again.model is refreshed.model and again.n_train == 16  # a TrainedReward trains in place


def test_the_regularisers_reach_the_model_and_the_trainer(tiny_tokenizer, tmp_path):
    settings = RewardSettings(batch_size=4, dropout=0.1, weight_decay=0.1, center_rewards=0.01)
    model = init_reward_model(TINY_DIR, tiny_tokenizer, dropout=settings.dropout)
    assert model.config.attention_dropout == 0.1
    trainer = make_trainer(model, tiny_tokenizer, to_dataset(gold_rows(8)), tmp_path, settings=settings, progress=False)
    assert trainer.args.disable_dropout is False  # TRL would switch the dropout off
    assert trainer.args.weight_decay == 0.1 and trainer.args.center_rewards_coefficient == 0.01


# --------------------------------------------------------------------------- bad input


def test_a_missing_reward_model_is_one_sentence(tmp_path):
    with pytest.raises(TutorError, match="No reward model at") as err:
        load_reward(tmp_path / "nowhere")
    assert "\n" not in str(err.value)


def test_a_reward_model_of_another_vocabulary_is_one_sentence(mean_model, tiny_tokenizer, tmp_path):
    from tutor.core.tokenizer import train_tokenizer

    save(mean_model, tiny_tokenizer, tmp_path / "rm")
    other = train_tokenizer(["Convexity is curvature. Duration is a slope."] * 20, 300)
    with pytest.raises(TutorError, match="different vocabulary") as err:
        load_reward(tmp_path / "rm", tokenizer=other)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"pooling": "max"}, "RewardSettings.pooling must be one of"),
        ({"lm_coef": -1.0}, "RewardSettings.lm_coef"),
        ({"dropout": 1.0}, "RewardSettings.dropout"),
        ({"weight_decay": -0.1}, "RewardSettings.weight_decay"),
    ],
)
def test_bad_reward_settings_are_one_sentence(changes, words):
    with pytest.raises(TutorError, match=words):
        RewardSettings(**changes)


def test_the_lm_loss_needs_tied_embeddings(tiny_tokenizer, fast_course):
    from tutor.reward.train import check_lm_loss

    model = init_reward_model(TINY_DIR, tiny_tokenizer)
    model.config.tie_word_embeddings = False
    with pytest.raises(TutorError, match="tied"):
        check_lm_loss(model, RewardSettings(lm_coef=0.1))
