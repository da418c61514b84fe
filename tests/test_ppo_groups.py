"""Several answers per prompt and the leave-one-out baseline in our PPO, and the diagnosis it reports."""

import pytest
import torch

from tutor import TutorError
from tutor.ppo import PPOSettings, PPOTrainer
from tutor.ppo.math import advantage_signal, explained_variance, leave_one_out_baseline, prompt_share_of_variance
from tutor.world import prompts_for

TRAIN = [p.text for p in prompts_for("train")]


def test_leave_one_out_baseline_subtracts_the_mean_of_the_other_answers():
    scores = torch.tensor([1.0, 2.0, 3.0, 6.0, 10.0, 10.0, 10.0, 10.0])
    out = leave_one_out_baseline(scores, 4)
    assert out[0] == pytest.approx(1 - (2 + 3 + 6) / 3)
    assert out[3] == pytest.approx(6 - 2)
    assert torch.allclose(out[4:], torch.zeros(4))  # a prompt whose answers all score alike teaches nothing
    # Shifting one prompt's scores by a constant (an easy prompt) changes nothing.
    shifted = scores.clone()
    shifted[:4] += 5
    assert torch.allclose(leave_one_out_baseline(shifted, 4), out)


def test_diagnosis_measures():
    scores = torch.tensor([0.0, 1.0, 10.0, 11.0])  # two prompts, two answers each: mostly between prompts
    assert prompt_share_of_variance(scores, 2) == pytest.approx(25 / 25.25)
    assert torch.isnan(prompt_share_of_variance(scores, 1))
    assert advantage_signal(torch.tensor([-1.0, 1.0, -1.0, 1.0]), scores, 2) == pytest.approx(1.0)
    assert advantage_signal(torch.tensor([1.0, -1.0, -1.0, 1.0]), scores, 2) == pytest.approx(0.0)
    assert explained_variance(scores, scores) == pytest.approx(1.0)
    assert explained_variance(torch.full((4,), scores.mean()), scores) == pytest.approx(0.0)


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(batch_size=10, mini_batch_size=5, answers_per_prompt=4), "multiple of answers_per_prompt"),
        (dict(group_baseline=True, answers_per_prompt=1), "answers_per_prompt ≥ 2"),
        (dict(answers_per_prompt=0), "answers_per_prompt"),
    ],
)
def test_bad_group_settings_are_named(changes, words):
    with pytest.raises(TutorError, match=words):
        PPOSettings(**changes)


def test_a_step_answers_each_prompt_k_times_and_pays_the_baselined_score(tiny_model, tiny_tokenizer):
    from tutor.core.models import load_causal_lm

    settings = PPOSettings(
        steps=1,
        batch_size=8,
        mini_batch_size=4,
        answers_per_prompt=4,
        group_baseline=True,
        max_new_tokens=24,
        calibration_samples=8,
        beta=0.0,
    )
    reward = lambda prompts, texts: [float(len(t)) for t in texts]  # noqa: E731
    trainer = PPOTrainer(tiny_model, load_causal_lm("tiny"), tiny_tokenizer, reward, settings, prompts=TRAIN)
    seen = []
    rollout = trainer.rollout
    trainer.rollout = lambda prompts: seen.append(rollout(prompts)) or seen[-1]
    metrics = trainer.step()
    r = seen[0]
    assert r.prompts[:4] == [r.prompts[0]] * 4 and r.prompts[4:] == [r.prompts[4]] * 4
    assert r.prompts[4] != r.prompts[0]
    paid = r.rewards.sum(1)  # β = 0: the score paid on the last token is all the reward
    assert torch.allclose(paid, leave_one_out_baseline(r.scores, 4), atol=1e-5)
    assert not torch.allclose(paid, r.scores)
    assert 0.0 <= metrics["diag/prompt_share_of_score_var"] <= 1.0
