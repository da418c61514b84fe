"""TRL's RLOO and GRPO beside our PPO: settings checked in one sentence, a tiny run that trains."""

import pytest
import torch

from tutor import TutorError
from tutor.ppo.trl_peers import PeerSettings, reward_function, train_peer


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(method="ppo"), "method must be one of 'rloo', 'grpo'"),
        (dict(batch_size=10, answers_per_prompt=4), "multiple of answers_per_prompt"),
        (dict(answers_per_prompt=1), "answers_per_prompt must be a whole number ≥ 2"),
        (dict(beta=-0.1), "beta"),
    ],
)
def test_bad_peer_settings_are_named(changes, words):
    with pytest.raises(TutorError, match=words):
        PeerSettings(**changes)


def test_the_reward_callable_reads_conversations_and_normalises(fast_course):
    from tutor import stages
    from tutor.core.models import load_reward_model, load_tokenizer
    from tutor.reward.model import score_texts

    folder = stages.ensure(fast_course, "reward", quiet=True)
    model, tok = load_reward_model(folder, "cpu"), load_tokenizer(folder)
    prompt, answer = "Explain convexity.", "Convexity is the curvature of the price-yield line."
    raw = score_texts(model, tok, [prompt], [answer])[0]
    fn = reward_function(model, tok, mean=1.0, std=2.0)
    got = fn([[{"role": "user", "content": prompt}]], [[{"role": "assistant", "content": answer}]])
    assert got == pytest.approx([(raw - 1.0) / 2.0])
    assert fn([prompt], [answer]) == pytest.approx(got)  # plain strings too


@pytest.mark.parametrize("method", ["rloo", "grpo"])
def test_a_tiny_peer_run_trains_the_sft_model(fast_course, method):
    from tutor.core.models import load_causal_lm
    from tutor.ppo import load_models

    models = load_models(fast_course)
    settings = PeerSettings(method=method, steps=1, batch_size=4, answers_per_prompt=2, max_new_tokens=16)
    run = train_peer(models, settings, prompts=["Explain convexity.", "What is a coupon?"])
    sft = load_causal_lm(models.sft, "cpu")
    moved = sum(float((a - b).abs().sum()) for a, b in zip(run.policy.parameters(), sft.parameters(), strict=True))
    assert moved > 0 and run.episodes == 4 and run.episodes_per_second > 0
    assert any("reward" in h for h in run.history)
    assert torch.isfinite(next(run.policy.parameters())).all()
