"""PPO's formulas against plain reference loops and the properties the course states about them."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tutor import TutorError
from tutor.ppo.math import (
    gae,
    kl_estimate,
    masked_mean,
    per_token_rewards,
    policy_loss,
    token_logprobs,
    value_loss,
    whiten,
)


def random_mask(gen, B, T):
    """Each row: a prefix of 1 … T real tokens, then padding."""
    lengths = torch.randint(1, T + 1, (B,), generator=gen)
    return (torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)).float()


def gae_reference(rewards, values, lengths, gamma, lam):
    """Textbook GAE, one episode at a time, in plain Python floats."""
    B, T = len(rewards), len(rewards[0])
    adv = [[0.0] * T for _ in range(B)]
    ret = [[0.0] * T for _ in range(B)]
    for b in range(B):
        n = lengths[b]
        running = 0.0
        for t in reversed(range(n)):
            next_v = values[b][t + 1] if t + 1 < n else 0.0
            delta = rewards[b][t] + gamma * next_v - values[b][t]
            running = delta + gamma * lam * running
            adv[b][t] = running
            ret[b][t] = running + values[b][t]
    return adv, ret


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    B=st.integers(1, 5),
    T=st.integers(1, 12),
    gamma=st.floats(0.5, 1.0),
    lam=st.floats(0.0, 1.0),
)
def test_gae_matches_a_plain_loop(seed, B, T, gamma, lam):
    gen = torch.Generator().manual_seed(seed)
    mask = random_mask(gen, B, T)
    rewards = torch.randn(B, T, generator=gen, dtype=torch.float64) * mask
    values = torch.randn(B, T, generator=gen, dtype=torch.float64)  # garbage on padding on purpose
    adv, ret = gae(rewards, values, mask.double(), gamma, lam)
    lengths = mask.sum(1).long().tolist()
    ref_adv, ref_ret = gae_reference(rewards.tolist(), values.tolist(), lengths, gamma, lam)
    assert torch.allclose(adv, torch.tensor(ref_adv, dtype=torch.float64), atol=1e-9)
    assert torch.allclose(ret, torch.tensor(ref_ret, dtype=torch.float64), atol=1e-9)


def test_gae_with_lambda_one_and_gamma_one_is_return_minus_value():
    """λ = γ = 1: the advantage is the (undiscounted) reward still to come minus V_t."""
    gen = torch.Generator().manual_seed(0)
    mask = random_mask(gen, 4, 9)
    rewards = torch.randn(4, 9, generator=gen) * mask
    values = torch.randn(4, 9, generator=gen)
    adv, ret = gae(rewards, values, mask, 1.0, 1.0)
    to_go = torch.flip(torch.cumsum(torch.flip(rewards, [1]), 1), [1]) * mask
    assert torch.allclose(ret, to_go, atol=1e-5)
    assert torch.allclose(adv, (to_go - values) * mask, atol=1e-5)


def test_per_token_rewards_put_the_score_on_the_last_real_token():
    mask = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]], dtype=torch.float32)
    kl = torch.full((3, 4), 0.5)
    scores = torch.tensor([2.0, -1.0, 3.0])
    r = per_token_rewards(scores, kl, mask, beta=0.1)
    expected = torch.tensor([[-0.05, -0.05, 1.95, 0.0], [-1.05, 0, 0, 0], [-0.05, -0.05, -0.05, 2.95]])
    assert torch.allclose(r, expected)


def test_kl_estimators_k3_never_negative_and_k1_can_be():
    gen = torch.Generator().manual_seed(1)
    logps = -torch.rand(1000, generator=gen) * 5
    ref = -torch.rand(1000, generator=gen) * 5
    assert (kl_estimate(logps, ref, "k3") >= 0).all()
    assert (kl_estimate(logps, ref, "k2") >= 0).all()
    assert (kl_estimate(logps, ref, "k1") < 0).any()


def test_k1_and_k3_agree_in_expectation_on_samples_from_pi():
    """Both are unbiased for KL(π‖π_ref) when tokens are drawn from π; compare with the exact KL."""
    gen = torch.Generator().manual_seed(2)
    logits_pi = torch.randn(50, generator=gen)
    logits_ref = logits_pi + 0.7 * torch.randn(50, generator=gen)
    lp, lr = torch.log_softmax(logits_pi, 0), torch.log_softmax(logits_ref, 0)
    exact = float((lp.exp() * (lp - lr)).sum())
    tokens = torch.multinomial(lp.exp(), 200_000, replacement=True, generator=gen)
    k1 = float(kl_estimate(lp[tokens], lr[tokens], "k1").mean())
    k3 = float(kl_estimate(lp[tokens], lr[tokens], "k3").mean())
    assert exact > 0.1
    assert k1 == pytest.approx(exact, rel=0.05)
    assert k3 == pytest.approx(exact, rel=0.05)
    # ... but not on samples from the wrong distribution (the "negative KL" bug): k1 goes negative.
    wrong = torch.multinomial(lr.exp(), 200_000, replacement=True, generator=gen)
    assert float(kl_estimate(lp[wrong], lr[wrong], "k1").mean()) < 0


def test_unknown_kl_estimator_is_a_tutor_error():
    with pytest.raises(TutorError, match="k1"):
        kl_estimate(torch.zeros(2), torch.zeros(2), "k4")


def test_token_logprobs_use_the_temperature():
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 5, 11, generator=gen)
    tokens = torch.randint(11, (2, 5), generator=gen)
    got = token_logprobs(logits, tokens, temperature=0.5)
    want = torch.log_softmax(logits / 0.5, -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    assert torch.allclose(got, want)
    assert not torch.allclose(got, token_logprobs(logits, tokens, 1.0))


def test_whiten_gives_zero_mean_unit_variance_on_the_mask_and_zero_off_it():
    gen = torch.Generator().manual_seed(4)
    mask = random_mask(gen, 6, 10)
    x = torch.randn(6, 10, generator=gen) * 3 + 5
    w = whiten(x, mask)
    assert float(masked_mean(w, mask)) == pytest.approx(0.0, abs=1e-5)
    vals = w[mask.bool()]
    assert float(vals.var()) == pytest.approx(1.0, rel=1e-3)
    assert (w[~mask.bool()] == 0).all()


def test_policy_loss_clips_only_in_the_direction_that_helps():
    mask = torch.ones(1, 4)
    old = torch.zeros(1, 4)
    # ratios 1.5, 1.5, 0.5, 0.5 with advantages +1, −1, +1, −1
    new = torch.log(torch.tensor([[1.5, 1.5, 0.5, 0.5]]))
    adv = torch.tensor([[1.0, -1.0, 1.0, -1.0]])
    loss, clipfrac = policy_loss(new, old, adv, mask, cliprange=0.2)
    # +A, ρ>1+ε: clipped to 1.2 → −1.2;  −A, ρ>1: unclipped 1.5;  +A, ρ<1: unclipped −0.5;
    # −A, ρ<1−ε: clipped to 0.8 → 0.8.
    assert float(loss) == pytest.approx((-1.2 + 1.5 - 0.5 + 0.8) / 4)
    assert float(clipfrac) == pytest.approx(0.5)


def test_policy_loss_gradient_vanishes_where_clipped():
    mask = torch.ones(1, 2)
    new = torch.log(torch.tensor([[1.5, 1.1]])).requires_grad_(True)
    loss, _ = policy_loss(new, torch.zeros(1, 2), torch.ones(1, 2), mask, cliprange=0.2)
    loss.backward()
    assert float(new.grad[0, 0]) == 0.0  # beyond 1 + ε with a positive advantage: no push further
    assert float(new.grad[0, 1]) != 0.0


def test_policy_loss_ignores_padding():
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    new = torch.tensor([[0.1, -0.1, 50.0]])
    adv = torch.tensor([[1.0, 1.0, 1e6]])
    loss, _ = policy_loss(new, torch.zeros(1, 3), adv, mask)
    assert math.isfinite(float(loss)) and abs(float(loss)) < 2


def test_value_loss_clipping():
    mask = torch.ones(1, 2)
    old = torch.zeros(1, 2)
    values = torch.tensor([[1.0, 0.1]])
    returns = torch.tensor([[1.0, 0.1]])
    loss, clipfrac = value_loss(values, old, returns, mask, cliprange_value=0.2)
    # first: unclipped error 0, clipped value 0.2 → error 0.64: the larger one counts.
    assert float(loss) == pytest.approx(0.5 * (0.64 + 0.0) / 2)
    assert float(clipfrac) == pytest.approx(0.5)
