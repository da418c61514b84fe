"""DPOSettings: how the DPO stage makes its pairs and trains (`tutor.config`'s convention)."""

from __future__ import annotations

from dataclasses import dataclass

from tutor import real_models
from tutor.config import check_choice, check_flag, check_number, check_whole
from tutor.course import TINY
from tutor.errors import TutorError
from tutor.world import get_persona

# TRL's names for the pairwise losses the course compares (all share DPO's data and reference).
LOSS_TYPES = ("sigmoid", "ipo", "hinge", "robust", "sigmoid_norm")


@dataclass(frozen=True)
class DPOSettings:
    """How the DPO stage makes its pairs and trains (`tutor.config`'s convention). Defaults suit
    the tiny model on a 2-core CPU (the recipe's experiments: benchmarks/results/dpo.md); `for_mode`
    gives FAST mode's sketch.

    `data` picks the pairs: "on_policy" = the model's own answers, `answers_per_prompt` per prompt
    ranked by the annotator's pairwise labels, best vs worst (the learner's notebook-03 labels, pairs
    of SFT answers too, replace them when present); "gold" = the world's candidate answers labelled
    by the annotator.
    """

    n_pairs: int = 200  # per round
    epochs: float = 2.0
    learning_rate: float = 5e-4
    batch_size: int = 32
    chunk_pairs: int = 8  # pairs computed at once within a batch: the same gradient, less padding and memory
    beta: float = 0.2
    loss_type: str = "sigmoid"
    label_smoothing: float = 0.0  # the flip rate "robust" assumes
    reference_free: bool = False  # drop π_ref from the loss (a contrast, not a recipe)
    sft_weight: float = 1.0  # > 0 adds that much of the chosen answers' NLL (TRL's "sft" loss; RPO)
    max_length: int = 256
    persona: str = "riley"
    data: str = "on_policy"
    use_learner_labels: bool = True  # notebook 03's labels, when there are enough, replace the annotator's
    answers_per_prompt: int = 8  # on-policy data: answers the annotator ranks per prompt (pair = best, worst)
    rounds: int = 3  # on-policy data: rounds of sample → rank → train (iterative DPO)
    max_new_tokens: int = (
        96  # on-policy answers: 95 % of SFT answers end by then; one long answer keeps a whole batch generating
    )
    seed: int = 0

    def __post_init__(self):
        for name in ("n_pairs", "batch_size", "max_length", "rounds", "max_new_tokens"):
            check_whole(self, name)
        check_whole(self, "answers_per_prompt", minimum=2)
        check_whole(self, "chunk_pairs", minimum=0)  # 0 computes each batch at once
        check_whole(self, "seed", minimum=0)
        check_number(self, "epochs", above=0)
        check_number(self, "learning_rate", above=0)
        check_number(self, "beta", above=0)
        check_number(self, "sft_weight", at_least=0)
        check_number(self, "label_smoothing", at_least=0, below=0.5)
        check_choice(self, "loss_type", LOSS_TYPES)
        check_choice(self, "data", ("on_policy", "gold"))
        check_flag(self, "reference_free")
        check_flag(self, "use_learner_labels")
        get_persona(self.persona)
        if self.loss_type == "robust" and not 0 < self.label_smoothing < 0.5:
            raise TutorError(
                "The robust loss needs label_smoothing (the assumed label-flip rate) in (0, 0.5), got "
                f"{self.label_smoothing}."
            )

    @classmethod
    def for_mode(cls, fast: bool, model: str = TINY, **changes) -> DPOSettings:
        """FAST mode: a sketch of the recipe (32 pairs a round, 2 rounds, 4 answers ranked), not its
        result; a real model: `tutor.real_models`' changes."""
        base = dict(n_pairs=32, rounds=2, answers_per_prompt=4) if fast else {}
        if model != TINY:
            base.update(real_models.changes("dpo", fast))
        return cls(**{**base, **changes})
