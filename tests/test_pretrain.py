"""Pretraining: settings are checked where they are written; the learning rate warms up then decays;
a few steps from random weights lower the loss and call every callback; the shipped model's
next-token guesses are what notebook 01 shows."""

import pytest

from tutor.core.models import load_causal_lm
from tutor.errors import TutorError
from tutor.pretrain import PretrainSettings, learning_rate_at, pretrain, top_next_tokens


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"steps": 0}, "PretrainSettings.steps must be a whole number ≥ 1"),
        ({"learning_rate": -1.0}, "PretrainSettings.learning_rate must be a finite number > 0"),
        ({"warmup_steps": 2.5}, "PretrainSettings.warmup_steps must be a whole number ≥ 0"),
    ],
)
def test_bad_settings_are_one_clear_sentence(changes, message):
    with pytest.raises(TutorError, match=message):
        PretrainSettings(**changes)


def test_the_learning_rate_warms_up_then_decays_to_a_tenth():
    settings = PretrainSettings(steps=100, warmup_steps=10, learning_rate=1.0)
    rates = [learning_rate_at(step, settings) for step in range(settings.steps)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(rates[9:-1], rates[10:], strict=True))
    assert rates[-1] == pytest.approx(0.1, abs=1e-3)


def test_a_few_steps_lower_the_loss_and_feed_the_callbacks(tiny_tokenizer):
    seen = []
    settings = PretrainSettings(steps=8, batch_size=4, seq_len=64, warmup_steps=2, n_docs=40)
    result = pretrain(
        settings,
        tokenizer=tiny_tokenizer,
        callbacks=[lambda step, metrics: seen.append((step, metrics))],
        progress=False,
    )
    assert [step for step, _ in seen] == list(range(8))
    assert [metrics["loss"] for _, metrics in seen] == result.losses
    assert result.losses[-1] < result.losses[0]
    again = pretrain(settings, tokenizer=tiny_tokenizer, progress=False)
    assert again.losses == result.losses  # seeded: the same run twice


def test_top_next_tokens_of_the_shipped_model(tiny_tokenizer):
    top = top_next_tokens(load_causal_lm("tiny"), tiny_tokenizer, "Convexity is the second", k=5)
    assert len(top) == 5 and top[0][0] == " derivative" and top[0][1] > 0.9
    assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)
