"""DPO's loss from scratch: the twin of TRL's "sigmoid" loss, tested to agree with what it computes and logs."""

from __future__ import annotations

import torch.nn.functional as F

from tutor.errors import TutorError


def check_beta(beta: float) -> float:
    """β scales the implicit reward; it must be a positive number."""
    try:
        ok = float(beta) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise TutorError(f"beta must be a number > 0 (typical values 0.05–0.5), got {beta!r}.")
    return float(beta)


def implicit_reward(logps, ref_logps, beta: float):
    """β · (log π(y|x) − log π_ref(y|x)): how much more likely the policy makes an answer than the
    reference did, in units DPO treats as reward."""
    return beta * (logps - ref_logps)


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta: float):
    """DPO's loss, −log σ(r(x, y_w) − r(x, y_l)) with r the implicit reward, averaged over the batch.

    Args:
        policy_chosen_logps: (batch,) log π(y_w|x), summed over each chosen answer's tokens.
        policy_rejected_logps: (batch,) log π(y_l|x), the same for the rejected answers.
        ref_chosen_logps: (batch,) log π_ref(y_w|x).
        ref_rejected_logps: (batch,) log π_ref(y_l|x).
        beta: the KL price β > 0.

    Returns:
        (loss, chosen_rewards, rejected_rewards): the loss, a scalar, and the (batch,) implicit
        rewards of the chosen and rejected answers (detached); the margin is their difference.
    """
    beta = check_beta(beta)
    chosen_rewards = implicit_reward(policy_chosen_logps, ref_chosen_logps, beta)
    rejected_rewards = implicit_reward(policy_rejected_logps, ref_rejected_logps, beta)
    loss = -F.logsigmoid(chosen_rewards - rejected_rewards).mean()
    return loss, chosen_rewards.detach(), rejected_rewards.detach()
