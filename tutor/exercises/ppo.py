"""Notebook 05 exercises: the per-token KL penalty, GAE and PPO's clipped surrogate loss.

Each reference is the function `tutor.ppo.trainer` trains with (from `tutor.ppo.math`); each mistake
is one learners (and RLHF code bases) really make. Inputs have padded rows whose padding holds junk
(as real batches do), so forgetting the mask anywhere is caught.
"""

from __future__ import annotations

import torch

from tutor.exercises import Exercise, register
from tutor.ppo.math import gae, kl_estimate, masked_mean, per_token_rewards, policy_loss


def _mask(gen, B: int, T: int) -> torch.Tensor:
    lengths = torch.randint(2, T + 1, (B,), generator=gen)
    lengths[0] = T - 2  # at least one padded row, always
    return (torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)).float()


# ---------------------------------------------------------------- 1. per-token rewards with KL


def kl_rewards_reference(scores, logps, ref_logps, mask, beta):
    return per_token_rewards(scores, kl_estimate(logps, ref_logps, "k1") * mask, mask, beta)


def _kl_inputs(gen):
    B, T = 4, 7
    mask = _mask(gen, B, T)
    logps = -torch.rand(B, T, generator=gen) * 4
    ref_logps = -torch.rand(B, T, generator=gen) * 4
    return {
        "scores": torch.randn(B, generator=gen),
        "logps": logps * mask + (1 - mask) * -torch.rand(B, T, generator=gen) * 9,  # padding holds junk,
        "ref_logps": ref_logps * mask + (1 - mask) * -3.0,  # as in real batches
        "mask": mask,
        "beta": float(torch.rand(1, generator=gen)) * 0.5 + 0.05,
    }


def _score_at_final_column(scores, logps, ref_logps, mask, beta):
    r = -beta * (logps - ref_logps) * mask
    r[:, -1] += scores
    return r


def _score_everywhere(scores, logps, ref_logps, mask, beta):
    return (-beta * (logps - ref_logps) + scores.unsqueeze(1)) * mask


def _kl_sign_flipped(scores, logps, ref_logps, mask, beta):
    return per_token_rewards(scores, (ref_logps - logps) * mask, mask, beta)


def _kl_unmasked(scores, logps, ref_logps, mask, beta):
    rewards = -beta * (logps - ref_logps)
    last = mask.sum(1).long() - 1
    rewards[torch.arange(len(scores)), last] += scores
    return rewards


def _no_kl(scores, logps, ref_logps, mask, beta):
    return per_token_rewards(scores, torch.zeros_like(logps), mask, beta)


register(
    Exercise(
        name="kl_penalty_rewards",
        summary=(
            "kl_penalty_rewards(scores, logps, ref_logps, mask, beta) -> rewards (B × T): on every response "
            "token r_t = −β·(log π − log π_ref), and the sequence's score is added on its LAST real token "
            "(mask is 1 on real tokens, 0 on padding; rewards are 0 on padding)."
        ),
        reference=kl_rewards_reference,
        make_inputs=_kl_inputs,
        mistakes={
            (
                "the score belongs on each row's last REAL token (mask.sum(1) − 1), not on the last column."
            ): _score_at_final_column,
            "the score is paid once per answer, at its end, not on every token.": _score_everywhere,
            (
                "the per-token KL is log π − log π_ref (policy minus reference); the penalty is −β times it."
            ): _kl_sign_flipped,
            "multiply by the mask: padding after EOS must get no reward and no penalty.": _kl_unmasked,
            "the KL penalty is missing: every token should pay −β·(log π − log π_ref).": _no_kl,
        },
    )
)


# ---------------------------------------------------------------- 2. GAE


def _gae_inputs(gen):
    B, T = 3, 8
    mask = _mask(gen, B, T)
    junk = torch.randn(B, T, generator=gen, dtype=torch.float64) * 3 * (1 - mask)  # padding is not zeroed
    return {
        "rewards": torch.randn(B, T, generator=gen, dtype=torch.float64) * mask + junk,
        "values": torch.randn(B, T, generator=gen, dtype=torch.float64) * mask + (1 - mask) * 5.0,
        "mask": mask.double(),
        "gamma": float(torch.rand(1, generator=gen)) * 0.2 + 0.8,
        "lam": float(torch.rand(1, generator=gen)) * 0.3 + 0.65,
    }


def _gae_loop(
    rewards,
    values,
    mask,
    gamma,
    lam,
    *,
    bootstrap_padding=False,
    lam_only=False,
    returns_to_go=False,
    no_mask=False,
    unmasked_returns=False,
):
    B, T = rewards.shape
    adv = torch.zeros_like(rewards)
    ret = torch.zeros_like(rewards)
    for b in range(B):
        n = T if no_mask else int(mask[b].sum())
        running = 0.0
        for t in reversed(range(n)):
            if t + 1 < n or (bootstrap_padding and t + 1 < T):
                next_v = values[b, t + 1]
            else:
                next_v = 0.0
            delta = rewards[b, t] + gamma * next_v - values[b, t]
            running = delta + (lam if lam_only else gamma * lam) * running
            adv[b, t] = running
        if returns_to_go:
            acc = 0.0
            for t in reversed(range(n)):
                acc = rewards[b, t] + gamma * acc
                ret[b, t] = acc
        else:
            ret[b, :n] = adv[b, :n] + values[b, :n]
    if unmasked_returns:
        ret = adv + values
    return adv, ret


register(
    Exercise(
        name="gae",
        summary=(
            "gae(rewards, values, mask, gamma, lam) -> (advantages, returns), each B × T: backwards over "
            "the response tokens δ_t = r_t + γ·V_{t+1} − V_t, A_t = δ_t + γλ·A_{t+1}, returns = A + V; "
            "V_{t+1} and A_{t+1} are 0 after the last real token; both outputs are 0 on padding "
            "(so returns = (A + V)·mask: the values on padding are junk)."
        ),
        reference=gae,
        make_inputs=_gae_inputs,
        mistakes={
            (
                "after the last real token the episode is over: use V = 0 there, not the value stored on padding."
            ): lambda **kw: _gae_loop(**kw, bootstrap_padding=True),
            "the recursion is A_t = δ_t + γ·λ·A_{t+1}: the discount γ multiplies λ too.": lambda **kw: _gae_loop(
                **kw, lam_only=True
            ),
            "returns are advantages + values (the value target), not the discounted reward-to-go.": lambda **kw: (
                _gae_loop(**kw, returns_to_go=True)
            ),
            "stop at each row's last real token (use the mask): padding is not part of the answer.": lambda **kw: (
                _gae_loop(**kw, no_mask=True)
            ),
            "your advantages are right; now the returns: values hold junk on padding, so "
            "returns = (advantages + values) · mask, 0 on padding like the advantages.": lambda **kw: _gae_loop(
                **kw, unmasked_returns=True
            ),
        },
        atol=1e-6,
    )
)


# ---------------------------------------------------------------- 3. the clipped surrogate loss


def surrogate_reference(logps, old_logps, advantages, mask, cliprange):
    return policy_loss(logps, old_logps, advantages, mask, cliprange)[0]


def _surrogate_inputs(gen):
    B, T = 4, 6
    mask = _mask(gen, B, T)
    old = -torch.rand(B, T, generator=gen) * 3
    return {
        "logps": old + torch.randn(B, T, generator=gen) * 0.4,  # ratios well outside 1 ± ε too
        "old_logps": old,
        "advantages": torch.randn(B, T, generator=gen) * mask + (1 - mask) * torch.randn(B, T, generator=gen) * 4,
        "mask": mask,  # advantages and logps on padding are junk: only the mask says what counts
        "cliprange": 0.2,
    }


def _ratio(logps, old_logps):
    return torch.exp(logps - old_logps)


register(
    Exercise(
        name="clipped_surrogate",
        summary=(
            "clipped_surrogate(logps, old_logps, advantages, mask, cliprange) -> scalar loss: with "
            "ρ = exp(log π − log π_old), the mean over real tokens of max(−A·ρ, −A·clip(ρ, 1 − ε, 1 + ε))."
        ),
        reference=surrogate_reference,
        make_inputs=_surrogate_inputs,
        mistakes={
            (
                "without clipping this is the plain policy gradient: clip ρ to [1 − ε, 1 + ε] in the second term."
            ): lambda logps, old_logps, advantages, mask, cliprange: masked_mean(
                -advantages * _ratio(logps, old_logps), mask
            ),
            (
                "PPO takes the pessimistic term: max of the two NEGATED objectives (or min of the objectives), not min."
            ): lambda logps, old_logps, advantages, mask, cliprange: masked_mean(
                torch.minimum(
                    -advantages * _ratio(logps, old_logps),
                    -advantages * _ratio(logps, old_logps).clamp(1 - cliprange, 1 + cliprange),
                ),
                mask,
            ),
            (
                "this is a loss to minimise: negate the objective (−A·ρ)."
            ): lambda logps, old_logps, advantages, mask, cliprange: (
                -surrogate_reference(logps, old_logps, advantages, mask, cliprange)
            ),
            (
                "average over real tokens only: divide by mask.sum(), not by the number of positions."
            ): lambda logps, old_logps, advantages, mask, cliprange: (
                torch.maximum(
                    -advantages * _ratio(logps, old_logps),
                    -advantages * _ratio(logps, old_logps).clamp(1 - cliprange, 1 + cliprange),
                )
                * mask
            ).mean(),
            (
                "multiply by the mask before summing: padding holds junk advantages, so sum only real tokens' terms."
            ): lambda logps, old_logps, advantages, mask, cliprange: (
                torch.maximum(
                    -advantages * _ratio(logps, old_logps),
                    -advantages * _ratio(logps, old_logps).clamp(1 - cliprange, 1 + cliprange),
                ).sum()
                / mask.sum()
            ),
            (
                "the ratio is exp(log π − log π_old), a ratio of probabilities, not of log-probabilities."
            ): lambda logps, old_logps, advantages, mask, cliprange: masked_mean(
                torch.maximum(
                    -advantages * (logps / old_logps),
                    -advantages * (logps / old_logps).clamp(1 - cliprange, 1 + cliprange),
                ),
                mask,
            ),
        },
    )
)
