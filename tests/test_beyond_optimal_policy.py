"""Section 3 of notebook 08: π* in closed form, the distances to it, and training towards it."""

import pytest
import torch

from tutor.beyond.enumerable import make_world, restricted_policy, sequence_logps
from tutor.beyond.optimal_policy import (
    OptimalPolicySettings,
    centred_correlation,
    compare,
    fitted_rewards,
    kl_divergence,
    label_pairs,
    optimal_policy,
    total_variation,
)
from tutor.core.logprobs import answer_logps
from tutor.core.models import load_causal_lm
from tutor.errors import TutorError


def _objective(logpi, ref_logpi, rewards, beta):
    return (logpi.exp() * rewards).sum(-1) - beta * kl_divergence(logpi, ref_logpi)


def test_the_closed_form_maximises_the_kl_regularised_objective():
    gen = torch.Generator().manual_seed(0)
    ref = torch.log_softmax(torch.randn(5, 7, generator=gen, dtype=torch.float64), -1)
    rewards = torch.randn(5, 7, generator=gen, dtype=torch.float64) * 3
    for beta in (0.1, 1.0, 5.0):
        best = _objective(optimal_policy(ref, rewards, beta), ref, rewards, beta)
        for _ in range(50):
            other = torch.log_softmax(ref + rewards / beta + torch.randn(5, 7, generator=gen) * 0.5, -1)
            assert (best >= _objective(other, ref, rewards, beta) - 1e-9).all()


def test_small_beta_picks_the_best_answer_and_large_beta_keeps_the_reference():
    ref = torch.log_softmax(torch.tensor([[0.0, 1.0, 2.0]]), -1)
    rewards = torch.tensor([[3.0, 0.0, -1.0]])
    assert optimal_policy(ref, rewards, 0.01).exp()[0, 0] > 0.99
    assert torch.allclose(optimal_policy(ref, rewards, 1e4).exp(), ref.exp(), atol=1e-3)
    with pytest.raises(TutorError, match="beta"):
        optimal_policy(ref, rewards, 0.0)


def test_distances_are_zero_only_for_the_same_policy():
    p = torch.log_softmax(torch.tensor([[0.0, 1.0, 2.0]]), -1)
    q = torch.log_softmax(torch.tensor([[2.0, 1.0, 0.0]]), -1)
    assert kl_divergence(p, p).abs().item() < 1e-7 and total_variation(p, p).item() < 1e-7
    assert kl_divergence(p, q).item() > 0 and 0 < total_variation(p, q).item() <= 1


def test_centred_correlation_ignores_a_constant_per_prompt():
    r = torch.tensor([[1.0, 2.0, 4.0], [0.0, -1.0, 3.0]])
    shifted = r + torch.tensor([[10.0], [-7.0]])
    assert centred_correlation(shifted, r) == pytest.approx(1.0)
    assert centred_correlation(-r, r) == pytest.approx(-1.0)


def test_the_world_is_deterministic_distinct_and_short():
    a, b = make_world(4, 5, seed=3, max_words=40), make_world(4, 5, seed=3, max_words=40)
    assert a.prompts == b.prompts and a.candidates == b.candidates
    assert a.rewards.shape == (4, 5)
    for cands in a.candidates:
        assert len(set(cands)) == 5 and all(len(c.split()) <= 40 for c in cands)
    assert a.rewards.std() > 0.5  # candidates of mixed quality
    with pytest.raises(TutorError, match="k ≥ 2"):
        make_world(4, 1)


def test_sequence_logps_agree_with_the_course_logprob_api(tiny_model, tiny_tokenizer):
    world = make_world(3, 4, seed=1)
    seq = sequence_logps(tiny_model, tiny_tokenizer, world)
    flat_prompts = [p for p in world.prompts for _ in range(world.k)]
    flat_answers = [a for c in world.candidates for a in c]
    expected = answer_logps(tiny_model, tiny_tokenizer, flat_prompts, flat_answers).view(3, 4)
    assert torch.allclose(seq, expected, atol=1e-4)
    assert torch.allclose(restricted_policy(seq).exp().sum(-1), torch.ones(3), atol=1e-6)


def test_labels_follow_the_rewards_and_the_fitted_reward_recovers_them():
    world = make_world(6, 5, seed=0)
    pairs = label_pairs(world, repeats=6, seed=0)
    assert len(pairs) == 6 * 10 * 6
    agree = sum(world.rewards[p, w] > world.rewards[p, lo] for p, w, lo in pairs) / len(pairs)
    assert agree > 0.7
    assert centred_correlation(fitted_rewards(world, pairs), world.rewards) > 0.8


def test_settings_are_checked():
    with pytest.raises(TutorError, match="beta"):
        OptimalPolicySettings(beta=0)
    with pytest.raises(TutorError, match="samples"):
        OptimalPolicySettings(samples=1)
    OptimalPolicySettings(samples=0)
    fast = OptimalPolicySettings.for_mode(True)
    assert fast.n_prompts < OptimalPolicySettings().n_prompts


def test_both_methods_move_towards_the_optimal_policy(tiny_model, tiny_tokenizer):
    settings = OptimalPolicySettings(n_prompts=2, k=4, steps=5, ppo_epochs=1, label_repeats=4)
    result = compare(lambda: load_causal_lm("tiny"), tiny_model, tiny_tokenizer, settings, methods=("PPO-style", "DPO"))
    start = result.start["kl_to_optimal"]
    assert start > 0
    for name in ("PPO-style", "DPO"):
        assert result.runs[name].final["kl_to_optimal"] < start, name
    assert result.optimum["kl_to_optimal"] == pytest.approx(0.0, abs=1e-6)
    assert set(result.table().index) == {"SFT (start)", "PPO-style", "DPO", "π* (closed form)"}
    with pytest.raises(TutorError, match="Unknown method"):
        compare(lambda: tiny_model, tiny_model, tiny_tokenizer, settings, methods=("GRPO",))
