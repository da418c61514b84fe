"""Notebook 05's experiments made of several PPO runs: the β sweep, a second seed, a learning rate
that is too large, and what one PPO step costs.

Every extra run starts from the same SFT model and reuses the first run's reward normalisation
(`reward_stats`), so the runs differ only in the setting under study. With a dashboard
(`tutor.ui.dashboards.ppo_dashboard`), each run is drawn as a curve of its own; runs trained before
are drawn from their history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from tutor.errors import TutorError
from tutor.ppo import PPOSettings, PPOTrainer, StageModels, make_trainer
from tutor.ui.dashboards import shown_on


def replay(plot, name: str, history: Sequence[dict]) -> None:
    """Draw a finished run's `history` on `plot`, as a run called `name`."""
    plot.new_run(name)
    log = shown_on(plot)
    for step, metrics in enumerate(history, start=1):
        log(step, metrics)


def train_run(
    models: StageModels,
    settings: PPOSettings,
    *,
    plot=None,
    name: str = "",
    reward_stats: tuple[float, float] | None = None,
) -> PPOTrainer:
    """One PPO run with `settings` (drawn on `plot` as `name`, if given); returns its trainer."""
    if plot is not None:
        plot.new_run(name)
    trainer = make_trainer(models, settings, reward_stats=reward_stats)
    trainer.train(callbacks=[shown_on(plot)] if plot is not None else None, progress=False)
    return trainer


def beta_sweep(
    models: StageModels,
    settings: PPOSettings,
    betas: Mapping[str, tuple[float, int]],
    *,
    plot=None,
    reward_stats: tuple[float, float] | None = None,
    trained: Mapping[str, PPOTrainer] | None = None,
) -> dict[str, PPOTrainer]:
    """One run per entry of `betas` (name → (β, steps)), otherwise with `settings`.

    `trained` (name → trainer) are runs already done, e.g. the default β's: they are drawn, not
    trained again. Returns name → trainer, the `trained` runs first.
    """
    runs = dict(trained or {})
    if plot is not None:
        for name, trainer in runs.items():
            replay(plot, name, trainer.history)
    for name, (beta, steps) in betas.items():
        if name not in runs:
            runs[name] = train_run(
                models, replace(settings, beta=beta, steps=steps), plot=plot, name=name, reward_stats=reward_stats
            )
    return runs


def last_mean(history: Sequence[dict], key: str, k: int = 3) -> float:
    """`key` averaged over the last k steps of a run (a single rollout is a noisy measurement).

    It divides by k even when the run has fewer steps, as notebook 05 always has (FAST mode's
    β = 1 run of 2 steps then reads low by a third)."""
    return sum(h[key] for h in history[-k:]) / k


def peak_gold_step(history: Sequence[dict]) -> int:
    """The (1-based) step of a run's highest gold score."""
    return max(range(len(history)), key=lambda step: history[step]["gold/score"]) + 1


def sweep_table(runs: Mapping[str, PPOTrainer], k: int = 3) -> pd.DataFrame:
    """Per run: reward-model score, KL and gold score over the last k steps, and the gold peak's step."""
    return pd.DataFrame(
        {
            name: {
                "reward-model score": last_mean(t.history, "objective/scores", k),
                "KL": last_mean(t.history, "objective/kl", k),
                "gold score": last_mean(t.history, "gold/score", k),
                "peak gold (step)": peak_gold_step(t.history),
            }
            for name, t in runs.items()
        }
    ).round(2)


@dataclass
class SeedGap:
    """Two runs that differ only in their seed: the gold score's gap at each step they share."""

    other: PPOTrainer  # the run with the other seed
    gaps: list[float]  # |gold score of run 1 − run 2|, per step

    @property
    def mean(self) -> float:
        return sum(self.gaps) / len(self.gaps)

    @property
    def largest_step(self) -> int:
        """The (1-based) step where the two runs' gold scores are furthest apart."""
        return max(range(len(self.gaps)), key=self.gaps.__getitem__) + 1

    @property
    def largest(self) -> float:
        return self.gaps[self.largest_step - 1]


def seed_gap(
    models: StageModels, trainer: PPOTrainer, seed: int = 1, steps: int | None = None, *, plot=None
) -> SeedGap:
    """Train `trainer`'s settings again with another `seed` for `steps` steps (same prompts, same
    reward normalisation) and compare the gold scores step by step."""
    if plot is not None:
        replay(plot, f"seed {trainer.settings.seed}", trainer.history)
    other = train_run(
        models,
        replace(trainer.settings, seed=seed, steps=steps or trainer.settings.steps),
        plot=plot,
        name=f"seed {seed}",
        reward_stats=(trainer.reward_mean, trainer.reward_std),
    )
    shared = zip(trainer.history, other.history, strict=False)  # the steps both runs made
    gaps = [abs(a["gold/score"] - b["gold/score"]) for a, b in shared]
    return SeedGap(other, gaps)


def large_learning_rate(
    models: StageModels, trainer: PPOTrainer, factor: float = 5.0, steps: int = 2
) -> tuple[PPOTrainer, str | None]:
    """`trainer`'s settings with `factor` × the learning rate, for `steps` steps. Returns the run and,
    when training stopped on a NaN or infinite number, the TutorError's message (else None)."""
    settings = replace(trainer.settings, learning_rate=factor * trainer.settings.learning_rate)
    big = make_trainer(models, settings, reward_stats=(trainer.reward_mean, trainer.reward_std))
    try:
        big.train(steps=steps, progress=False)
    except TutorError as err:
        return big, str(err)
    return big, None


def step_cost(trainer: PPOTrainer, runs: Mapping[str, PPOTrainer] | None = None) -> dict:
    """What PPO costs: milliseconds per episode, the rollout's share of a step, about how many passes
    over every answer token one step makes, and the training seconds of `runs` together."""
    history = trainer.history
    return {
        "ms_per_episode": trainer.train_seconds / trainer.episodes * 1000,
        "rollout_share": sum(m["time/rollout_seconds"] for m in history) / sum(m["time/step_seconds"] for m in history),
        # sampling, the rollout's forward passes, then forward + backward of two networks per epoch
        "passes": 1 + 3 + 2 * 2 * trainer.settings.ppo_epochs,
        "runs_seconds": sum(t.train_seconds for t in (runs or {}).values()),
    }
