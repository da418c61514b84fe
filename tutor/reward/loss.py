"""The Bradley–Terry model and loss, from scratch: our twin of TRL's RewardTrainer loss.

Bradley–Terry says a person prefers answer a over answer b with probability
P(a ≻ b) = σ(R(a) − R(b)); the reward model is trained to maximise that likelihood of the labelled
pairs (`bradley_terry_loss`, tested to equal what RewardTrainer computes) and graded by how often
it ranks a pair's chosen answer first (`pairwise_accuracy`). Rewards hold one number per answer;
`chosen_rewards[i]` and `rejected_rewards[i]` belong to the same pair.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tutor.errors import TutorError


def bradley_terry_loss(chosen_rewards, rejected_rewards, margin=None):
    """Mean of −log σ(r_chosen − r_rejected − margin): the negative log-likelihood of the labels
    under Bradley–Terry. `margin` (optional, per pair) asks for a wider gap on clearer pairs."""
    diff = chosen_rewards - rejected_rewards
    if margin is not None:
        diff = diff - margin
    return -F.logsigmoid(diff).mean()


def preference_probability(reward_a, reward_b):
    """Bradley–Terry: the probability that a person prefers answer a over answer b."""
    return torch.sigmoid(torch.as_tensor(reward_a) - torch.as_tensor(reward_b))


def pairwise_accuracy(chosen_rewards, rejected_rewards) -> float:
    """Share of pairs where the chosen answer scores strictly higher (a tie counts as wrong)."""
    chosen = torch.as_tensor(chosen_rewards, dtype=torch.float64)
    rejected = torch.as_tensor(rejected_rewards, dtype=torch.float64)
    if chosen.numel() == 0:
        raise TutorError("pairwise_accuracy() needs at least one pair of rewards.")
    return float((chosen > rejected).double().mean())
