"""PPO for language models, written out so it can be read in one sitting: maximise E[R] − β·KL.

Four models take part:

- the **policy** π (starts as the SFT model; the only one whose answers we keep),
- the frozen **reference** π_ref (the SFT model; the KL penalty measures the distance to it),
- the frozen **reward** source R (the reward-model stage, or any Python function of the texts),
- the **value model** V (a critic that predicts, at each token, the reward still to come).

One PPO step = one **rollout** (sample answers, score them, compute per-token rewards, values and
advantages) followed by several **epochs** of clipped updates over shuffled minibatches of that
rollout.

Where each piece lives: `trainer.py` (PPOTrainer: the numbered step; read it first), `math.py`
(the formulas), `rollout.py` (the Rollout and the model calls that make one), `value.py`
(ValueModel), `kl_controller.py` (adaptive β), `config.py` (PPOSettings), `checks.py` (input
validation), `distributed.py` (multi-process plumbing), `stage.py` (the course's `ppo` stage).
"""

from tutor.ppo.config import PPOSettings
from tutor.ppo.kl_controller import AdaptiveKLController
from tutor.ppo.rollout import Rollout
from tutor.ppo.stage import StageModels, build_stage, load_models, make_trainer, save_stage
from tutor.ppo.trainer import PPOTrainer
from tutor.ppo.value import ValueModel

__all__ = [
    "AdaptiveKLController",
    "PPOSettings",
    "PPOTrainer",
    "Rollout",
    "StageModels",
    "ValueModel",
    "build_stage",
    "load_models",
    "make_trainer",
    "save_stage",
]
