"""Exercises of notebook 04 (reward model): Bradley–Terry probability and loss, pairwise accuracy.

Rewards are 1-D tensors with one number per answer; `chosen_rewards[i]` and `rejected_rewards[i]`
belong to the same pair. One pair in every input is extreme (rewards ±100, float32), where a naive
exp(r) overflows and log(sigmoid(x)) underflows to log(0): the stable formulas pass, naive ones fail.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tutor.exercises import Exercise, register
from tutor.reward import bradley_terry_loss, pairwise_accuracy, preference_probability


def _pair_inputs(gen, extreme: bool = True):
    n = int(torch.randint(3, 12, (1,), generator=gen))
    chosen, rejected = torch.randn(n, generator=gen) * 2.0, torch.randn(n, generator=gen) * 2.0
    if extreme:  # a pair the model ranks very wrong, at a random place in the batch
        i = int(torch.randint(0, n, (1,), generator=gen))
        chosen[i], rejected[i] = -100.0, 100.0
    return {"chosen_rewards": chosen, "rejected_rewards": rejected}


# --------------------------------------------------------------------------- P(a ≻ b)


def _prob_inputs(gen):
    inputs = _pair_inputs(gen)
    return {"reward_a": inputs["rejected_rewards"], "reward_b": inputs["chosen_rewards"]}  # r_a = 100, r_b = −100


register(
    Exercise(
        name="preference_probability",
        summary="preference_probability(reward_a, reward_b) -> tensor: the Bradley–Terry probability that "
        "answer a is preferred over answer b, for each pair.",
        reference=preference_probability,
        make_inputs=_prob_inputs,
        mistakes={
            "that is P(b ≻ a): the probability grows with reward_a − reward_b.": lambda reward_a, reward_b: (
                torch.sigmoid(reward_b - reward_a)
            ),
            "rewards can be negative, so reward_a / (reward_a + reward_b) is not a probability; "
            "Bradley–Terry uses exp(r_a) / (exp(r_a) + exp(r_b)).": lambda reward_a, reward_b: (
                reward_a / (reward_a + reward_b)
            ),
            "squash the difference into (0, 1) with the sigmoid σ(x) = 1 / (1 + e^(−x)).": lambda reward_a, reward_b: (
                reward_a - reward_b
            ),
            "the Bradley–Terry model uses the difference of rewards, not their ratio.": lambda reward_a, reward_b: (
                torch.sigmoid(reward_a / reward_b)
            ),
            "exp(r_a) / (exp(r_a) + exp(r_b)) is right on paper but exp(100) overflows to inf (inf / inf = nan): "
            "write it as σ(r_a − r_b), which never overflows.": lambda reward_a, reward_b: (
                torch.exp(reward_a) / (torch.exp(reward_a) + torch.exp(reward_b))
            ),
        },
    )
)


# --------------------------------------------------------------------------- the loss


def _bt_swapped(chosen_rewards, rejected_rewards):
    return -F.logsigmoid(rejected_rewards - chosen_rewards).mean()


def _bt_no_log(chosen_rewards, rejected_rewards):
    return -torch.sigmoid(chosen_rewards - rejected_rewards).mean()


def _bt_sum(chosen_rewards, rejected_rewards):
    return -F.logsigmoid(chosen_rewards - rejected_rewards).sum()


def _bt_positive(chosen_rewards, rejected_rewards):
    return F.logsigmoid(chosen_rewards - rejected_rewards).mean()


def _bt_one_minus(chosen_rewards, rejected_rewards):
    return (1 - torch.sigmoid(chosen_rewards - rejected_rewards)).mean()


def _bt_unstable(chosen_rewards, rejected_rewards):
    return -torch.log(torch.sigmoid(chosen_rewards - rejected_rewards)).mean()


UNSTABLE = (
    "log(sigmoid(x)) underflows: σ(−200) rounds to 0 and log(0) = −inf. Use F.logsigmoid(x) "
    "(the same number, computed without forming σ first)."
)


def _bt_reference(chosen_rewards, rejected_rewards):
    return bradley_terry_loss(chosen_rewards, rejected_rewards)


register(
    Exercise(
        name="bradley_terry_loss",
        summary="bradley_terry_loss(chosen_rewards, rejected_rewards) -> scalar: the mean negative "
        "log-likelihood of 'chosen ≻ rejected' under Bradley–Terry.",
        reference=_bt_reference,
        make_inputs=_pair_inputs,
        mistakes={
            "chosen and rejected are swapped: the loss must fall as r_chosen − r_rejected grows.": _bt_swapped,
            "take the log of the probability: the loss is −log σ(r_chosen − r_rejected), not −σ(…).": _bt_no_log,
            "1 − σ(…) is an error rate, not a log-likelihood: use −log σ(r_chosen − r_rejected).": _bt_one_minus,
            "take the mean over pairs, not the sum (the loss should not grow with the batch size).": _bt_sum,
            "a loss is the NEGATIVE log-likelihood: flip the sign.": _bt_positive,
            UNSTABLE: _bt_unstable,
        },
    )
)


def _margin_inputs(gen):
    inputs = _pair_inputs(gen)
    inputs["margin"] = torch.rand(inputs["chosen_rewards"].shape[0], generator=gen) * 2.0
    return inputs


register(
    Exercise(
        name="bradley_terry_margin_loss",
        summary="bradley_terry_margin_loss(chosen_rewards, rejected_rewards, margin) -> scalar: like "
        "bradley_terry_loss, but chosen must beat rejected by at least `margin` (one per pair): "
        "the mean over pairs of −log σ(r_chosen − r_rejected − margin).",
        reference=bradley_terry_loss,
        make_inputs=_margin_inputs,
        mistakes={
            (
                "subtract the margin from the reward difference (a wider gap is required), do not add it."
            ): lambda chosen_rewards, rejected_rewards, margin: (
                -F.logsigmoid(chosen_rewards - rejected_rewards + margin).mean()
            ),
            (
                "the margin goes inside the sigmoid, with the reward difference."
            ): lambda chosen_rewards, rejected_rewards, margin: (
                -F.logsigmoid(chosen_rewards - rejected_rewards) + margin
            ).mean(),
            (
                "the margin was ignored: subtract it from r_chosen − r_rejected."
            ): lambda chosen_rewards, rejected_rewards, margin: -F.logsigmoid(chosen_rewards - rejected_rewards).mean(),
            UNSTABLE: lambda chosen_rewards, rejected_rewards, margin: (
                -torch.log(torch.sigmoid(chosen_rewards - rejected_rewards - margin)).mean()
            ),
        },
    )
)


# --------------------------------------------------------------------------- pairwise accuracy


def _acc_inputs(gen):
    inputs = _pair_inputs(gen, extreme=False)
    # Round so that some pairs tie: a reward model that cannot tell two answers apart is not right.
    inputs = {k: torch.round(v) for k, v in inputs.items()}
    inputs["rejected_rewards"][0] = inputs["chosen_rewards"][0]
    return inputs


register(
    Exercise(
        name="pairwise_accuracy",
        summary="pairwise_accuracy(chosen_rewards, rejected_rewards) -> float in [0, 1]: share of pairs in "
        "which the chosen answer gets the strictly higher reward. The tie rule: a pair with equal rewards "
        "counts as wrong (the model could not tell the answers apart), and stays in the denominator.",
        reference=pairwise_accuracy,
        make_inputs=_acc_inputs,
        mistakes={
            (
                "a tie (equal rewards) is not a correct ranking: count only r_chosen > r_rejected."
            ): lambda chosen_rewards, rejected_rewards: float((chosen_rewards >= rejected_rewards).float().mean()),
            (
                "a tie stays in the denominator and counts as wrong: divide by all pairs, not by the untied ones."
            ): lambda chosen_rewards, rejected_rewards: float(
                (chosen_rewards > rejected_rewards).sum() / max(int((chosen_rewards != rejected_rewards).sum()), 1)
            ),
            (
                "a tie counts as wrong, not as half right (that is the win-rate's rule, not accuracy's)."
            ): lambda chosen_rewards, rejected_rewards: float(
                (
                    (chosen_rewards > rejected_rewards).float() + 0.5 * (chosen_rewards == rejected_rewards).float()
                ).mean()
            ),
            "return the share of correct pairs, not their count.": lambda chosen_rewards, rejected_rewards: float(
                (chosen_rewards > rejected_rewards).sum()
            ),
            (
                "the comparison is reversed: the chosen answer should get the higher reward."
            ): lambda chosen_rewards, rejected_rewards: float((chosen_rewards < rejected_rewards).float().mean()),
        },
    )
)
