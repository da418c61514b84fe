"""RewardSettings: how the reward stage trains and is graded (`tutor.config`'s convention)."""

from __future__ import annotations

from dataclasses import dataclass

from tutor import real_models
from tutor.config import check_choice, check_number, check_whole
from tutor.course import TINY
from tutor.reward.model import POOLINGS
from tutor.world import get_persona


@dataclass(frozen=True)
class RewardSettings:
    """How the reward stage trains and is graded (`tutor.config`'s convention). Defaults suit the
    tiny model on a 2-core CPU (why each one: benchmarks/results/reward.md); `for_mode` gives FAST
    mode's and a real model's."""

    n_pairs: int = 1000  # labelled training pairs (when the learner's own labels are not used)
    epochs: float = 1.0  # more epochs over the same noisy labels did not help
    learning_rate: float = 1e-3  # tiny models need far more than TRL's 1e-4
    batch_size: int = 8  # more, smaller steps
    warmup_steps: int = 10
    max_length: int = 512  # TRL drops longer pairs; every answer of the world fits
    n_eval_pairs: int = 1000  # held-out pairs: the accuracy's standard error is ≈ 1.4 points
    persona: str = "riley"
    label_temperature: float | None = None  # annotator noise; None keeps the persona's own (T=1)
    seed: int = 0
    # A second pooling and regularisers: mean pooling, the LM loss, centring and weight decay were each
    # measured alone at 1,000 labels and none adopted, since none moved held-out accuracy beyond the
    # spread over seeds (benchmarks/results/reward.md); dropout is offered, not measured.
    pooling: str = "last"  # which token's reading is the score: "last", or "mean" over the answer
    lm_coef: float = 0.0  # keep the LM loss on chosen answers, weighted so (0: off); needs tied embeddings
    center_rewards: float = 0.0  # TRL's center_rewards_coefficient: pulls mean scores to 0 (0: off)
    weight_decay: float = 0.0
    dropout: float = 0.0  # attention dropout while training (TRL turns dropout off unless this is > 0)

    def __post_init__(self):
        for name in ("n_pairs", "batch_size", "max_length", "n_eval_pairs"):
            check_whole(self, name)
        check_whole(self, "warmup_steps", minimum=0)
        check_whole(self, "seed", minimum=0)
        check_number(self, "epochs", above=0)
        check_number(self, "learning_rate", above=0)
        check_number(self, "label_temperature", at_least=0, optional=True)  # 0: noise-free labels
        check_choice(self, "pooling", POOLINGS)
        check_number(self, "lm_coef", at_least=0)
        check_number(self, "center_rewards", at_least=0)
        check_number(self, "weight_decay", at_least=0)
        check_number(self, "dropout", at_least=0, below=1)
        get_persona(self.persona)

    @classmethod
    def for_mode(cls, fast: bool, model: str = TINY, **changes) -> RewardSettings:
        """FAST mode: 160 pairs, graded on 200. A real pretrained model: `tutor.real_models`' changes."""
        base = {"n_pairs": 160, "n_eval_pairs": 200} if fast else {}
        if model != TINY:
            base.update(real_models.changes("reward", fast))
        return cls(**{**base, **changes})
