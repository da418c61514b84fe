"""Readable legend names for the metric keys trainers log (TRL's and ours): a learner reads
"score − β·KL" where the log says `objective/rlhf_reward`. Unknown keys are shown as they are."""

from __future__ import annotations

LABELS = {
    "mean_token_accuracy": "token accuracy",
    "objective/scores": "reward-model score",
    "objective/rlhf_reward": "score − β·KL (what PPO maximises)",
    "objective/non_score_reward": "−β·KL",
    "objective/kl": "KL to SFT",
    "objective/entropy": "entropy (nats/answer)",
    "gold/score": "gold score (the annotator)",
    "rewards/chosen": "chosen answers",
    "rewards/rejected": "rejected answers",
    "rewards/margins": "margin (chosen − rejected)",
    "rewards/accuracies": "share with chosen > rejected",
    "logps/chosen": "log π(chosen)",
    "logps/rejected": "log π(rejected)",
    "eval_accuracy": "held-out accuracy",
    "accuracy": "accuracy",
}

SMOOTHING_NOTE = "faint: each step · bold: smoothed"


def readable(name: str) -> str:
    """The legend name of a logged metric key."""
    return LABELS.get(name, name)
