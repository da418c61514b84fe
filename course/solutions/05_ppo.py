"""Solutions to notebook 05's exercises (PPO). Try them yourself first: `tutor.exercises.check`
tells you what is wrong without giving the answer away."""

import torch


def kl_penalty_rewards(scores, logps, ref_logps, mask, beta):
    """Per-token reward: −β·KL on every real token, plus the score on the last real token."""
    rewards = -beta * (logps - ref_logps) * mask
    last = mask.sum(dim=1).long() - 1  # index of each row's last real token
    rewards[torch.arange(len(scores)), last] += scores
    return rewards


def gae(rewards, values, mask, gamma, lam):
    """Generalised advantage estimation, walking backwards from the end of each answer."""
    B, T = rewards.shape
    advantages = torch.zeros_like(rewards)
    for b in range(B):
        n = int(mask[b].sum())  # real tokens in this answer
        next_value, next_advantage = 0.0, 0.0  # nothing comes after the last token
        for t in reversed(range(n)):
            delta = rewards[b, t] + gamma * next_value - values[b, t]
            advantages[b, t] = delta + gamma * lam * next_advantage
            next_value, next_advantage = values[b, t], advantages[b, t]
    returns = (advantages + values) * mask
    return advantages, returns


def clipped_surrogate(logps, old_logps, advantages, mask, cliprange):
    """PPO's clipped policy loss, averaged over real tokens."""
    ratio = torch.exp(logps - old_logps)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1 - cliprange, 1 + cliprange)
    return (torch.maximum(unclipped, clipped) * mask).sum() / mask.sum()
