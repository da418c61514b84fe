"""TRL's critic-free online RL beside our PPO: RLOOTrainer and GRPOTrainer on the same SFT model,
reward model, training prompts and episode budget.

Both sample several answers per prompt and use the group itself as the baseline (RLOO: the mean of
the other answers' rewards; GRPO: the group mean, divided by the group's std), so they need no
value model: three networks in memory instead of our PPO's four. The reward is a Python callable
around `tutor.reward.score_texts`, normalised on SFT answers like our PPO's, so β means the same.

TRL reloads the reference model from `model.config._name_or_path` (field notes): we pass the SFT
stage's folder as the model, so policy and reference both load from it.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass

from tutor.config import check_choice, check_number, check_whole
from tutor.course import TINY
from tutor.errors import TutorError

METHODS = ("rloo", "grpo")


@dataclass(frozen=True)
class PeerSettings:
    """A TRL online-RL run (`tutor.config`'s convention); defaults match the PPO stage's budget."""

    method: str = "rloo"  # "rloo" (RLOOTrainer) or "grpo" (GRPOTrainer)
    steps: int = 45
    batch_size: int = 24  # episodes (answers) per step
    answers_per_prompt: int = 4  # TRL's num_generations
    beta: float = 0.05  # KL weight (RLOO: in the reward; GRPO: in the loss)
    learning_rate: float = 3e-4
    max_new_tokens: int = 96
    temperature: float = 1.0
    seed: int = 0

    def __post_init__(self):
        check_choice(self, "method", METHODS)
        for name in ("steps", "batch_size", "max_new_tokens"):
            check_whole(self, name)
        check_whole(self, "answers_per_prompt", minimum=2)
        check_whole(self, "seed", minimum=0)
        if self.batch_size % self.answers_per_prompt:
            raise TutorError(
                f"PeerSettings.batch_size ({self.batch_size}) must be a multiple of answers_per_prompt "
                f"({self.answers_per_prompt}): TRL splits each batch into whole groups of answers to a prompt."
            )
        check_number(self, "beta", at_least=0)
        check_number(self, "learning_rate", above=0)
        check_number(self, "temperature", above=0)

    @classmethod
    def for_mode(cls, fast: bool, model: str = TINY, **changes) -> PeerSettings:
        """FAST mode: a few short steps."""
        base = dict(steps=3, batch_size=8) if fast else {}
        return cls(**{**base, **changes})


def reward_function(reward_model, reward_tokenizer, mean: float = 0.0, std: float = 1.0):
    """TRL's reward callable `(prompts, completions, **kw) → scores`: the reward model's score,
    normalised as our PPO normalises it."""
    from tutor.reward.model import score_texts

    def normalised_reward(prompts, completions, **kwargs):
        texts = [_content(p, "user") for p in prompts]
        answers = [_content(c, "assistant") for c in completions]
        return [(s - mean) / std for s in score_texts(reward_model, reward_tokenizer, texts, answers)]

    normalised_reward.__name__ = "reward_model"
    return normalised_reward


def _content(message, role: str) -> str:
    """The text of a conversational prompt or completion (a list of messages), or a plain string."""
    if isinstance(message, str):
        return message
    return "".join(m["content"] for m in message if m["role"] == role)


@dataclass
class PeerRun:
    """A finished TRL run: the trained policy, its metric history (TRL's names) and its cost."""

    method: str
    policy: object
    history: list[dict]
    train_seconds: float
    episodes: int

    @property
    def episodes_per_second(self) -> float:
        return self.episodes / self.train_seconds


def train_peer(models, settings: PeerSettings | None = None, *, reward_stats=None, prompts=None) -> PeerRun:
    """Train TRL's RLOO or GRPO from `models` (a `tutor.ppo.StageModels`). `reward_stats` (mean, std)
    normalises the reward (e.g. a PPO trainer's `reward_mean, reward_std`)."""
    import torch
    from datasets import Dataset
    from transformers import trainer_callback
    from trl import GRPOConfig, GRPOTrainer, RLOOConfig, RLOOTrainer

    from tutor.core.trl_setup import common_args
    from tutor.world import prompts_for

    s = settings or PeerSettings()
    mean, std = reward_stats or (0.0, 1.0)
    texts = list(prompts) if prompts is not None else [p.text for p in prompts_for("train")]
    data = Dataset.from_list([{"prompt": [{"role": "user", "content": t}]} for t in texts])
    config_type, trainer_type = (RLOOConfig, RLOOTrainer) if s.method == "rloo" else (GRPOConfig, GRPOTrainer)
    history: list[dict] = []
    with tempfile.TemporaryDirectory() as out:
        args = common_args(
            out,
            models.device,
            seed=s.seed,
            data_seed=s.seed,
            learning_rate=s.learning_rate,
            lr_scheduler_type="constant",
            max_steps=s.steps,
            per_device_train_batch_size=s.batch_size,
            gradient_accumulation_steps=1,
            num_generations=s.answers_per_prompt,
            max_completion_length=s.max_new_tokens,
            temperature=s.temperature,
            beta=s.beta,
            disable_dropout=True,
            disable_tqdm=True,
        )
        try:
            config = config_type(**args)
        except ValueError as exc:  # TRL's own check of the batch, the generations, ...
            raise TutorError(f"TRL's {config_type.__name__} rejected these settings: {exc}") from None
        torch.manual_seed(s.seed)
        trainer = trainer_type(
            model=str(models.sft),
            reward_funcs=reward_function(models.reward_model, models.reward_tokenizer, mean, std),
            args=config,
            train_dataset=data,
            processing_class=models.tokenizer,
        )
        for printer in (trainer_callback.PrinterCallback, trainer_callback.ProgressCallback):
            trainer.remove_callback(printer)  # a learner reads our table, not TRL's log lines
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        history = [h for h in trainer.state.log_history if "reward" in h or "loss" in h]
        policy = trainer.accelerator.unwrap_model(trainer.model).eval()
    return PeerRun(s.method, policy, history, seconds, s.steps * s.batch_size)
