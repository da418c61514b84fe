"""The formulas of PPO for language models, one small function each.

Shapes: a batch of B answers, T response tokens each. `mask` is 1 on real response tokens (up to
and including the first EOS) and 0 on the padding after it, so every sum and mean here ignores
what the model never said. `tutor.ppo.trainer` strings these together into a training loop; the
exercises in notebook 05 ask the learner to write three of them (the per-token KL penalty, GAE and
the clipped surrogate loss) and check them against these.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tutor.errors import TutorError

KL_ESTIMATORS = ("k1", "k2", "k3")


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean over the positions where mask is 1 (all of them, or along `dim`)."""
    if dim is None:
        return (x * mask).sum() / mask.sum().clamp(min=1)
    return (x * mask).sum(dim) / mask.sum(dim).clamp(min=1)


def masked_var(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Unbiased variance over the masked positions (as the whitening in RLHF code bases uses)."""
    mean = masked_mean(x, mask)
    n = mask.sum()
    var = masked_mean((x - mean) ** 2, mask)
    return var * n / (n - 1).clamp(min=1)


def whiten(x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """Scale to unit variance over the mask (and centre, unless shift_mean=False); 0 outside it.

    Whitened advantages make the step size independent of the reward's scale.
    """
    mean, var = masked_mean(x, mask), masked_var(x, mask)
    out = (x - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        out = out + mean
    return out * mask


def token_logprobs(logits: torch.Tensor, tokens: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """log π(token) under `logits` at `temperature`: the SAME scaling the sampler used.

    Sampling at temperature T draws from softmax(logits / T); scoring with softmax(logits) instead
    would make the policy look different from what generated the data (and the KL go negative).
    """
    logps = F.log_softmax(logits.float() / temperature, dim=-1)
    return logps.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def token_entropy(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Entropy of the next-token distribution at each position (nats)."""
    logps = F.log_softmax(logits.float() / temperature, dim=-1)
    return -(logps.exp() * logps).sum(-1)


def kl_estimate(logps: torch.Tensor, ref_logps: torch.Tensor, kind: str = "k1") -> torch.Tensor:
    """Per-token estimates of KL(π ‖ π_ref) from tokens sampled from π.

    With log ρ = log π_ref − log π:
      k1 = −log ρ              unbiased, noisy, can be negative on a single token;
      k2 = ½ (log ρ)²          biased, never negative;
      k3 = (ρ − 1) − log ρ     unbiased and never negative (ρ − 1 ≥ log ρ).
    """
    log_ratio = ref_logps - logps
    if kind == "k1":
        return -log_ratio
    if kind == "k2":
        return 0.5 * log_ratio**2
    if kind == "k3":
        return torch.expm1(log_ratio) - log_ratio
    raise TutorError(f"Unknown KL estimator {kind!r}; choose one of {', '.join(KL_ESTIMATORS)}.")


def leave_one_out_baseline(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Each score minus the mean of the other k − 1 scores of its prompt (RLOO's baseline).

    `scores` (B,) holds groups of k consecutive answers to one prompt. The baseline does not depend
    on the answer it is subtracted from, so the policy gradient stays unbiased; it removes what is
    easy or hard about the prompt, which a value model must otherwise learn from one sample each.
    """
    groups = scores.view(-1, k)
    others = (groups.sum(1, keepdim=True) - groups) / (k - 1)
    return (groups - others).view(-1)


def explained_variance(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 − Var(target − predicted) / Var(target): 1 = a perfect critic, 0 = no better than the mean."""
    return 1 - (target - predicted).var() / target.var().clamp(min=1e-8)


def prompt_share_of_variance(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Share of the scores' variance that lies between prompts (groups of k consecutive answers):
    the part of every answer's score that a per-prompt baseline removes from its advantage."""
    if k < 2:
        return torch.tensor(float("nan"))
    means = scores.view(-1, k).mean(1)
    return means.var(unbiased=False) / scores.var(unbiased=False).clamp(min=1e-8)


def advantage_signal(advantages: torch.Tensor, scores: torch.Tensor, k: int) -> torch.Tensor:
    """Correlation of each answer's first-token advantage with its score minus its prompt's mean
    score (groups of k): 1 = the advantage says exactly which answers beat their siblings, 0 = noise."""
    if k < 2:
        return torch.tensor(float("nan"))
    centred = (scores.view(-1, k) - scores.view(-1, k).mean(1, keepdim=True)).view(-1)
    return torch.corrcoef(torch.stack([advantages, centred]))[0, 1]


def per_token_rewards(scores: torch.Tensor, kl: torch.Tensor, mask: torch.Tensor, beta: float) -> torch.Tensor:
    """r_t = −β·kl_t on every response token, plus the sequence's score on its LAST real token.

    `scores` has shape (B,), `kl` and `mask` (B, T). The reward model judges the whole answer, so
    its score arrives once, when the answer ends; the KL penalty is charged token by token.
    """
    rewards = -beta * kl * mask
    last = (mask.sum(1).long() - 1).clamp(min=0)
    rows = torch.arange(len(scores), device=scores.device)
    rewards[rows, last] += scores
    return rewards


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0, lam: float = 0.95):
    """Generalised advantage estimation, backwards over the response tokens.

    δ_t = r_t + γ·V_{t+1} − V_t ;  A_t = δ_t + γλ·A_{t+1} ;  returns_t = A_t + V_t,
    with V and A taken as 0 after the last real token. Returns (advantages, returns), 0 off the mask.
    """
    values = values * mask
    T = rewards.shape[1]
    advantages = torch.zeros_like(rewards)
    next_value = torch.zeros_like(rewards[:, 0])
    next_adv = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(T)):
        m = mask[:, t]
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        adv = delta + gamma * lam * next_adv
        advantages[:, t] = adv * m
        # Padding positions pass nothing backwards: the episode is over there.
        next_value = values[:, t] * m
        next_adv = adv * m
    returns = (advantages + values) * mask
    return advantages, returns


def policy_loss(logps, old_logps, advantages, mask, cliprange: float = 0.2):
    """PPO's clipped surrogate: mean over tokens of max(−A·ρ, −A·clip(ρ, 1−ε, 1+ε)), ρ = π/π_old.

    Returns (loss, clipfrac): clipfrac is the share of tokens where the clipped term was chosen,
    i.e. where the update is being held back.
    """
    ratio = torch.exp(logps - old_logps)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask)
    clipfrac = masked_mean((clipped > unclipped).float(), mask)
    return loss, clipfrac


def value_loss(values, old_values, returns, mask, cliprange_value: float = 0.2):
    """Clipped value loss: ½·mean of max((V − R)², (V_clip − R)²), V_clip within ±ε_v of V_old.

    Returns (loss, clipfrac).
    """
    clipped_values = old_values + torch.clamp(values - old_values, -cliprange_value, cliprange_value)
    unclipped = (values - returns) ** 2
    clipped = (clipped_values - returns) ** 2
    loss = 0.5 * masked_mean(torch.maximum(unclipped, clipped), mask)
    clipfrac = masked_mean((clipped > unclipped).float(), mask)
    return loss, clipfrac
