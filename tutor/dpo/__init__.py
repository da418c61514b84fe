"""Direct Preference Optimisation: learn from preference pairs without a reward model or an RL loop.

DPO's loss for one pair (prompt x, chosen y_w, rejected y_l) is

    −log σ( β · [ (log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x)) ] )

where π is the model being trained and π_ref the frozen SFT model. β·log(π/π_ref) is the *implicit
reward* of an answer: DPO is a reward model hidden inside the policy. Training goes through TRL's
`DPOTrainer` (`trl_trainer`); `dpo_loss` (`loss`) is our from-scratch twin of its loss, tested to
agree with it. The stage trains in rounds (`rounds`): each samples fresh answers from the model as
it is now, has the annotator rank them (`pairs`), and trains on those pairs with the round's start
as reference.

    config.py       DPOSettings, LOSS_TYPES
    loss.py         implicit_reward, dpo_loss
    checks.py       what DPO refuses before training
    trl_trainer.py  TRL's DPOTrainer with the CPU speed-ups, make_trainer
    pairs.py        sampled answers, their ranking, the training pairs of a round
    rounds.py       train (the rounds loop), DPORun
    stage.py        evaluate, build_stage
"""

from tutor.dpo.config import LOSS_TYPES, DPOSettings
from tutor.dpo.loss import dpo_loss, implicit_reward
from tutor.dpo.pairs import (
    Answers,
    TrainingData,
    best_and_worst,
    label_quality,
    rank_answers,
    rank_by_labels,
    sample_answers,
    sft_answers,
    training_data,
)
from tutor.dpo.rounds import DPORun, train
from tutor.dpo.stage import build_stage, evaluate
from tutor.dpo.trl_trainer import make_trainer

__all__ = [
    "LOSS_TYPES",
    "Answers",
    "DPORun",
    "DPOSettings",
    "TrainingData",
    "best_and_worst",
    "build_stage",
    "dpo_loss",
    "evaluate",
    "implicit_reward",
    "label_quality",
    "make_trainer",
    "rank_answers",
    "rank_by_labels",
    "sample_answers",
    "sft_answers",
    "train",
    "training_data",
]
