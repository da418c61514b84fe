"""PPOSettings: every knob of our PPO, one frozen dataclass (`tutor.config`'s convention)."""

from __future__ import annotations

from dataclasses import dataclass

from tutor import real_models
from tutor.config import check_choice, check_flag, check_number, check_whole
from tutor.course import TINY
from tutor.errors import TutorError
from tutor.ppo.math import KL_ESTIMATORS


@dataclass(frozen=True)
class PPOSettings:
    """How PPO trains (`tutor.config`'s convention). Defaults suit the tiny model on a laptop CPU;
    `for_mode` gives FAST mode's."""

    steps: int = 45  # PPO steps: one rollout batch + its updates each (1,080 episodes)
    batch_size: int = 24  # episodes (prompt → sampled answer) per rollout, split over the processes
    answers_per_prompt: int = 4  # k answers to each prompt in a rollout (batch_size / k prompts)
    group_baseline: bool = True  # subtract the mean score of the prompt's k − 1 other answers
    # (RLOO's leave-one-out baseline) from each score, before the KL and the value model see it
    mini_batch_size: int = 24  # episodes per gradient step
    ppo_epochs: int = 1  # passes over each rollout: more updates per rollout drifted further for less
    # gold (benchmarks/results/ppo_recipe.md)
    learning_rate: float = 3e-4  # policy and value model (a 1 M-parameter model needs far more than 1e-6)
    anneal_lr: bool = True  # decay the learning rate linearly to 0 over `steps`: the last updates
    # are small, so the final policy is less a matter of which rollout came last
    max_grad_norm: float = 1.0
    max_new_tokens: int = 96  # answers longer than this are cut and count as "no EOS"
    temperature: float = 1.0  # sampling temperature; log-probs are computed at the same one
    beta: float = 0.05  # weight of the per-token KL penalty to the reference (SFT) model
    kl_estimator: str = "k1"  # per-token KL in the reward: "k1" (unbiased) or "k3" (≥ 0 too)
    target_kl: float | None = None  # set (e.g. 3.0) for the adaptive KL controller; None = fixed β
    kl_horizon: int = 1000  # episodes over which the adaptive controller corrects β
    gamma: float = 1.0  # discount: the score at the end counts as much as an early token's KL
    lam: float = 1.0  # GAE λ: 1 = the whole return, no trust in a critic that explains little of it
    cliprange: float = 0.2  # PPO ε: how far π/π_old may move on one rollout
    cliprange_value: float = 0.2  # ε_v for the clipped value loss
    vf_coef: float = 0.1  # weight of the value loss in the total loss
    whiten_advantages: bool = True
    missing_eos_penalty: float = 1.0  # subtracted from the (normalised) score of answers with no EOS
    normalize_reward: bool = True  # scores → mean 0, std 1 on SFT samples before training
    calibration_samples: int = 64  # SFT answers used for that normalisation
    value_init: str = "sft"  # "sft" (zero head: predicts the baselined score's mean, 0), "reward"
    # (copy the reward model: it predicts the score before the baseline), "auto" (reward when there is one)
    train_value_trunk: bool = True  # False: only the value head trains, on features computed once
    # per rollout by the frozen trunk — the update then runs one network instead of two
    seed: int = 0

    def __post_init__(self):
        for name in (
            "steps",
            "batch_size",
            "answers_per_prompt",
            "mini_batch_size",
            "ppo_epochs",
            "max_new_tokens",
            "kl_horizon",
            "calibration_samples",
        ):
            check_whole(self, name)
        check_whole(self, "seed", minimum=0)
        if self.batch_size % self.answers_per_prompt:
            raise TutorError(
                f"PPOSettings.batch_size ({self.batch_size}) must be a multiple of answers_per_prompt "
                f"({self.answers_per_prompt}): a rollout holds whole groups of answers to a prompt."
            )
        if self.mini_batch_size > self.batch_size:
            raise TutorError(
                f"PPOSettings.mini_batch_size ({self.mini_batch_size}) must not exceed batch_size "
                f"({self.batch_size}): a minibatch is a slice of one rollout."
            )
        check_number(self, "beta", at_least=0)
        for name in ("learning_rate", "temperature", "cliprange", "cliprange_value", "max_grad_norm"):
            check_number(self, name, above=0)
        for name in ("gamma", "lam"):
            check_number(self, name, at_least=0, at_most=1)
        check_number(self, "vf_coef", at_least=0)
        check_number(self, "missing_eos_penalty")
        check_number(self, "target_kl", above=0, optional=True)
        check_choice(self, "kl_estimator", KL_ESTIMATORS)
        check_choice(self, "value_init", ("auto", "reward", "sft"))
        for name in ("anneal_lr", "whiten_advantages", "normalize_reward", "train_value_trunk", "group_baseline"):
            check_flag(self, name)
        if self.group_baseline and self.answers_per_prompt < 2:
            raise TutorError(
                "PPOSettings.group_baseline needs answers_per_prompt ≥ 2: the baseline of an answer is "
                f"the mean score of the other answers to its prompt (got answers_per_prompt={self.answers_per_prompt})."
            )

    @classmethod
    def for_mode(cls, fast: bool, model: str = TINY, **changes) -> PPOSettings:
        """FAST mode trains for fewer steps on smaller rollouts; a real model: `tutor.real_models`' changes."""
        base = dict(steps=4, batch_size=12, mini_batch_size=12, calibration_samples=32) if fast else {}
        if model != TINY:
            base.update(real_models.changes("ppo", fast))
        return cls(**{**base, **changes})
