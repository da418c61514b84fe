"""The `ppo` stage of the course pipeline: PPO from the `sft` and `reward` stages, measured on the
SFT stage's held-out prompts, saved for notebook 07 and `rlhf-tutor run`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from torch import nn

from tutor import stages
from tutor.core.evaluation import Evaluation
from tutor.core.models import (
    count_parameters,
    load_causal_lm,
    load_reward_model,
    load_tokenizer,
    save,
)
from tutor.errors import TutorError
from tutor.ppo.config import PPOSettings
from tutor.ppo.trainer import PPOTrainer
from tutor.world import GoldAnnotator


@dataclass
class StageModels:
    """What PPO takes from earlier stages: the SFT model (policy start and frozen reference), the
    reward model and the tokenizer. `policy()` loads a fresh copy of the SFT model for each run."""

    sft: Path
    reward: Path
    tokenizer: object
    reward_tokenizer: object
    ref_policy: nn.Module
    reward_model: nn.Module
    device: str = "cpu"

    def policy(self):
        return load_causal_lm(self.sft, self.device)


def load_models(course) -> StageModels:
    """Load the `sft` and `reward` stages (building them first if they are missing)."""
    sft = stages.ensure(course, "sft")
    reward = stages.ensure(course, "reward")
    return StageModels(
        sft,
        reward,
        load_tokenizer(sft),
        load_tokenizer(reward),
        load_causal_lm(sft, course.device),
        load_reward_model(reward, course.device),
        course.device,
    )


def make_trainer(
    models: StageModels, settings: PPOSettings | None = None, *, reward=None, gold=None, **options
) -> PPOTrainer:
    """A PPOTrainer on a fresh copy of the SFT model, against the reward model (or `reward`), with
    the gold annotator (Riley, the persona the reward model learned from) watching."""
    return PPOTrainer(
        models.policy(),
        models.ref_policy,
        models.tokenizer,
        models.reward_model if reward is None else reward,
        settings,
        reward_tokenizer=models.reward_tokenizer if reward is None else None,
        gold=gold or GoldAnnotator("riley"),
        **options,
    )


def build_stage(course, where: Path, settings: PPOSettings | None = None, callbacks=None) -> dict:
    """The `ppo` stage: PPO against the reward model, then gold win-rate and KL on held-out prompts.
    `callbacks` (callables (step, metrics)) let a caller watch the training."""
    settings = settings or PPOSettings.for_mode(course.fast, course.model, seed=course.seed)
    models = load_models(course)
    trainer = make_trainer(models, settings)
    history = trainer.train(callbacks=callbacks, progress=False)
    result = trainer.evaluate(baseline=stages.load_samples(course, "sft"))  # the SFT stage's held-out prompts
    return _stage_metrics(where, trainer, models, history, result)


def save_stage(course, trainer: PPOTrainer, models: StageModels, history: list[dict], result: Evaluation) -> Path:
    """Save a run trained and evaluated elsewhere (notebook 05's) as the course's `ppo` stage, the
    same record `build_stage` writes, so that notebook 07 and `rlhf-tutor run` reuse it instead of
    training PPO again. `result` is `trainer.evaluate(baseline=<the SFT stage's samples>)`."""
    if not isinstance(result, Evaluation) or result.gold_win_rate_vs_sft is None:
        raise TutorError("save_stage() needs trainer.evaluate(baseline=...)'s result, with its win-rate over SFT.")
    if list(result.samples.prompts) != list(stages.load_samples(course, "sft").prompts):
        raise TutorError(
            "save_stage() needs the run evaluated on the SFT stage's held-out prompts "
            "(baseline=stages.load_samples(course, 'sft'))."
        )
    where = stages.folder(course, "ppo")
    where.mkdir(parents=True, exist_ok=True)
    metrics = _stage_metrics(where, trainer, models, history, result)
    seconds = trainer.train_seconds + result.eval_seconds  # as `stages.build` counts a stage: training + measuring
    stages.save_record(course, "ppo", metrics, seconds)
    return where


def recipe(s: PPOSettings, episodes: int) -> str:
    """The PPO recipe in one line, as `rlhf-tutor run` reports it."""
    baseline = ", leave-one-out baseline" if s.group_baseline else ""
    return (
        f"{episodes} episodes, {s.answers_per_prompt} answers/prompt{baseline}, beta {s.beta:g}, "
        f"lam {s.lam:g}, {s.ppo_epochs} epoch(s) x {s.batch_size // s.mini_batch_size} minibatch(es)"
    )


def _stage_metrics(
    where: Path, trainer: PPOTrainer, models: StageModels, history: list[dict], result: Evaluation
) -> dict:
    """Write the trained policy and its held-out answers into `where`; return the stage's metrics."""
    model = trainer.unwrapped_policy
    save(model, models.tokenizer, Path(where) / "model")  # under `accelerate launch`, rank 0 writes
    stages.save_samples(Path(where), result.samples)
    return {
        **result.metrics(),
        "recipe": recipe(trainer.settings, trainer.episodes),
        "train_seconds": round(trainer.train_seconds, 2),
        "episodes": trainer.episodes,
        "episodes_per_second": trainer.episodes / trainer.train_seconds,
        "tokens_per_second": trainer.tokens / trainer.train_seconds,
        "trained_tokens": trainer.trained_tokens,
        "final": {k: v for k, v in history[-1].items() if "/" in k},
        "reward_stats": {"mean": trainer.reward_mean, "std": trainer.reward_std},
        "value_init": trainer.value_init,
        "parameters": {
            "policy": count_parameters(model),
            "reference": count_parameters(models.ref_policy),
            "reward": count_parameters(models.reward_model),
            "value": count_parameters(trainer.accelerator.unwrap_model(trainer.value_model)),
        },
        "settings": asdict(trainer.settings),
    }
