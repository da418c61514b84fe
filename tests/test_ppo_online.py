"""Online RLHF: the label budget is checked in one sentence, and a tiny loop refreshes the reward model."""

import pytest

from tutor import TutorError
from tutor.ppo.online import OnlineSettings, train_online


def test_a_budget_below_one_round_is_refused_in_one_sentence():
    with pytest.raises(TutorError, match=r"label_budget \(100\) is below what one round needs"):
        OnlineSettings(labels_per_round=200, label_budget=100)
    with pytest.raises(TutorError, match="labels_per_round"):
        OnlineSettings(labels_per_round=4)


def test_the_budget_decides_how_many_refreshes_there_are():
    assert OnlineSettings(rounds=3, labels_per_round=100).refreshes == 2  # none after the last round
    assert OnlineSettings(rounds=3, labels_per_round=100, label_budget=150).refreshes == 1


def test_a_tiny_online_loop_labels_fresh_answers_and_swaps_the_reward_model(fast_course):
    from tutor.ppo import PPOSettings, load_models

    models = load_models(fast_course)
    ppo = PPOSettings.for_mode(True, batch_size=8, mini_batch_size=8, max_new_tokens=32, calibration_samples=8)
    settings = OnlineSettings(rounds=2, steps_per_round=1, labels_per_round=16)
    before = next(models.reward_model.parameters()).detach().clone()
    run = train_online(fast_course, models, ppo, settings, rows=None)
    assert run.labels == 16 and len(run.rounds) == 2 and run.trainer.step_count == 2
    after = next(run.trainer.reward_model.parameters())
    assert run.trainer.reward_model is not models.reward_model
    assert not after.detach().equal(before)  # refreshed: trained further on old + new labels


def test_a_fresh_pair_with_an_empty_or_repeated_answer_is_not_asked_about(monkeypatch):
    """A policy that stops at once writes an empty answer: the reward model's data check refuses an
    empty side (it once stopped an online run at its first refresh), and a pair of equal answers
    teaches nothing. Neither is labelled, and neither counts as a label spent."""
    from types import SimpleNamespace

    import tutor.ppo.rollout
    from tutor.ppo.online import label_policy_pairs
    from tutor.world import GoldAnnotator

    answers = iter([["Duration is time.", "", "Same.", "Same.", "Duration is a number.", "Duration is time."]])
    monkeypatch.setattr(tutor.ppo.rollout, "detokenize", lambda tokenizer, ids, mask: next(answers))
    trainer = SimpleNamespace(
        _next_prompts=lambda n: ["What is duration?"] * n,
        sample=lambda model, prompts: SimpleNamespace(response_ids=None, response_mask=None),
        unwrapped_policy=None,
        tokenizer=None,
    )
    rows = label_policy_pairs(trainer, 3, GoldAnnotator("riley"))
    assert len(rows) == 1
    assert {rows[0]["chosen"][-1]["content"], rows[0]["rejected"][-1]["content"]} == {
        "Duration is a number.",
        "Duration is time.",
    }
