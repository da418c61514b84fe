"""The reward model R(prompt, answer) → scalar, trained on Bradley–Terry pairs with TRL's RewardTrainer.

RLHF step 3 (notebook 04): PPO needs a number for any answer, thousands of times, without a person
in the loop. The reward model is the SFT model with a one-number head, trained to make the
labelled pairs likely: P(chosen ≻ rejected) = σ(R(chosen) − R(rejected)). Labels are noisy, so it is
graded against the best any model could do on them, the annotator's Bayes ceiling.

- `config.py`: RewardSettings;
- `loss.py`: the Bradley–Terry loss from scratch (our twin of TRL's), its probability, pairwise accuracy;
- `model.py`: the reward model made from the SFT model (pooled at the last token or over the answer),
  `load_reward` and `score_texts`;
- `train.py`: the RewardTrainer, `train`, `continue_training` (more labels for a trained model: online
  RLHF's refresh) and the course's `reward` stage;
- `accuracy.py`: held-out accuracy next to the Bayes ceiling, and what the model learned.
"""

from tutor.reward.accuracy import (
    accuracy_by_clarity,
    agreement_table,
    evaluate,
    evaluate_scores,
    held_out_pairs,
    held_out_report,
    what_it_learned,
)
from tutor.reward.config import RewardSettings
from tutor.reward.loss import bradley_terry_loss, pairwise_accuracy, preference_probability
from tutor.reward.model import POOLINGS, init_reward_model, load_reward, score_texts
from tutor.reward.train import TrainedReward, build_stage, continue_training, make_trainer, train

__all__ = [
    "POOLINGS",
    "RewardSettings",
    "TrainedReward",
    "accuracy_by_clarity",
    "agreement_table",
    "bradley_terry_loss",
    "build_stage",
    "continue_training",
    "evaluate",
    "evaluate_scores",
    "held_out_pairs",
    "held_out_report",
    "init_reward_model",
    "load_reward",
    "make_trainer",
    "pairwise_accuracy",
    "preference_probability",
    "score_texts",
    "train",
    "what_it_learned",
]
