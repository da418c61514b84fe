"""Solutions to the exercises of notebook 04 (reward model). Try them yourself first!

Each function passes `tutor.exercises.check(name, function)`.
"""

import torch
import torch.nn.functional as F


def preference_probability(reward_a, reward_b):
    """Bradley–Terry: P(a ≻ b) = exp(r_a) / (exp(r_a) + exp(r_b)) = σ(r_a − r_b)."""
    return torch.sigmoid(reward_a - reward_b)


def bradley_terry_loss(chosen_rewards, rejected_rewards):
    """Negative log-likelihood of the labels: −log σ(r_chosen − r_rejected), averaged over pairs.
    (logsigmoid is the numerically safe way to write log(sigmoid(x)).)"""
    return -F.logsigmoid(chosen_rewards - rejected_rewards).mean()


def bradley_terry_margin_loss(chosen_rewards, rejected_rewards, margin):
    """Chosen must win by at least `margin`: −log σ(r_chosen − r_rejected − margin)."""
    return -F.logsigmoid(chosen_rewards - rejected_rewards - margin).mean()


def pairwise_accuracy(chosen_rewards, rejected_rewards):
    """Share of pairs ranked right; a tie is not a right ranking."""
    return (chosen_rewards > rejected_rewards).float().mean().item()


if __name__ == "__main__":
    from tutor.exercises import check

    check("preference_probability", preference_probability)
    check("bradley_terry_loss", bradley_terry_loss)
    check("bradley_terry_margin_loss", bradley_terry_margin_loss)
    check("pairwise_accuracy", pairwise_accuracy)
