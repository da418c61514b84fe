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

from tutor.core.noise import compare_means, mean_difference_floor
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
    """`key` averaged over the last k steps of a run (a single rollout is a noisy measurement); a run
    shorter than k steps averages the steps it has."""
    last = history[-k:]
    return sum(h[key] for h in last) / len(last)


def gold_floor(a: Sequence[dict], b: Sequence[dict], k: int = 3) -> float:
    """95 % noise floor of the difference between two runs' gold scores averaged over their last k
    steps: two samplings of the same policy differ by more only 5 % of the time. Each step logs the
    spread of its answers' gold scores (`gold/score_sd`) and how many it scored (`gold/answers`)."""

    def spread(history: Sequence[dict]) -> tuple[float, int]:
        last = history[-k:]
        n = sum(h["gold/answers"] for h in last)
        return (sum(h["gold/score_sd"] ** 2 * h["gold/answers"] for h in last) / n) ** 0.5, n

    (sd_a, n_a), (sd_b, n_b) = spread(a), spread(b)
    return mean_difference_floor(sd_a, n_a, sd_b, n_b)


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


def beta_verdict(runs: Mapping[str, PPOTrainer], names: Sequence[str], k: int = 3) -> list[str]:
    """One sentence per neighbouring pair of `names` (runs in order of β): which gold score over the
    last k steps is higher, or "no measurable difference" inside their noise floor."""
    lines = []
    for a, b in zip(names, names[1:], strict=False):
        ha, hb = runs[a].history, runs[b].history
        first, second = (a, last_mean(ha, "gold/score", k)), (b, last_mean(hb, "gold/score", k))
        lines.append(compare_means(f"gold score, last {k} steps", first, second, gold_floor(ha, hb, k)))
    return lines


@dataclass
class SeedGap:
    """Two runs that differ only in their seed: the gold score's gap at each step they share, and the
    gap two samplings of one policy would show at that step (its 95 % noise floor)."""

    other: PPOTrainer  # the run with the other seed
    gaps: list[float]  # |gold score of run 1 − run 2|, per step
    floors: list[float]  # 95 % noise floor of that gap, per step

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

    @property
    def beyond_noise(self) -> int:
        """Steps whose gap is larger than its noise floor: where the seeds measurably part ways."""
        return sum(g > f for g, f in zip(self.gaps, self.floors, strict=True))


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
    shared = list(zip(trainer.history, other.history, strict=False))  # the steps both runs made
    gaps = [abs(a["gold/score"] - b["gold/score"]) for a, b in shared]
    floors = [gold_floor([a], [b], k=1) for a, b in shared]
    return SeedGap(other, gaps, floors)


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


def critic_free_peers(
    models: StageModels, trainer: PPOTrainer, baseline, methods: Sequence[str] = ("rloo", "grpo"), steps=None
) -> pd.DataFrame:
    """TRL's RLOO and GRPO on `trainer`'s budget (steps, episodes per step, answers per prompt, β,
    learning rate, answer length and reward normalisation), measured on `baseline`'s held-out
    prompts beside `trainer` itself: win-rate over SFT, KL, episodes/s, networks in memory."""
    from tutor.core.evaluation import evaluate_model
    from tutor.ppo.trl_peers import PeerSettings, train_peer

    s = trainer.settings
    rows = {}

    def measure(policy, seconds, episodes, networks):
        result = evaluate_model(
            policy,
            models.tokenizer,
            baseline.prompts,
            trainer.gold,
            baseline=baseline,
            ref_model=models.ref_policy,
            max_new_tokens=160,
        )
        return {
            "gold win-rate over SFT": result.gold_win_rate_vs_sft,
            "KL to SFT": result.kl,
            "episodes/s": episodes / seconds,
            "networks in memory": networks,
        }

    rows["our PPO"] = measure(trainer.unwrapped_policy, trainer.train_seconds, trainer.episodes, 4)
    for method in methods:
        settings = PeerSettings(
            method=method,
            steps=steps or trainer.step_count,
            batch_size=s.batch_size,
            answers_per_prompt=max(2, s.answers_per_prompt),
            beta=s.beta,
            learning_rate=s.learning_rate,
            max_new_tokens=s.max_new_tokens,
            temperature=s.temperature,
            seed=s.seed,
        )
        run = train_peer(models, settings, reward_stats=(trainer.reward_mean, trainer.reward_std))
        rows[f"TRL {method.upper()}"] = measure(run.policy, run.train_seconds, run.episodes, 3)
    return pd.DataFrame(rows).T


def diagnosis(history: Sequence[dict], result, sft_gold: float, k: int = 5) -> dict:
    """What a PPO run's own metrics say about its recipe: how well the value model predicts the
    return (explained variance, first and last k steps), how much of the score's variance is the
    prompt's (what a per-prompt baseline removes), how much of the first-token advantage is signal,
    and the KL spent per unit of gold gained on held-out prompts (`result`: an `Evaluation`)."""

    def mean(key, rows):
        values = [h[key] for h in rows if key in h and h[key] == h[key]]  # NaN (k = 1) left out
        return sum(values) / len(values) if values else float("nan")

    gained = result.gold - sft_gold
    return {
        "value model: explained variance, first steps": mean("val/var_explained", history[:k]),
        "value model: explained variance, last steps": mean("val/var_explained", history[-k:]),
        "share of score variance between prompts": mean("diag/prompt_share_of_score_var", history),
        "advantage signal (correlation with the within-prompt score)": mean("diag/advantage_signal", history),
        "gold gained on held-out prompts": gained,
        "KL (nats) per unit of gold gained": result.kl / gained if gained > 0 else float("inf"),
    }


def _results(name: str) -> dict | None:
    """benchmarks/results/<name>.json of a clone of the course, or None (an installed package has none)."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def recipe_runs() -> pd.DataFrame | None:
    """The runs that chose the PPO recipe (benchmarks/results/ppo_recipe.json), one row each."""
    data = _results("ppo_recipe")
    if data is None:
        return None
    return pd.DataFrame(
        {
            r["recipe"]: {
                "win-rate over SFT": r["gold_win_rate_vs_sft"],
                "KL": r["kl"],
                "gold": r["gold"],
                "critic explained variance": r["value_explained_variance_mean"],
                "advantage signal": r["advantage_signal"],
                "politeness": r["profile"]["politeness"],
                "correctness": r["profile"]["correctness"],
            }
            for r in data["runs"]
        }
    ).T.round(2)


def benchmark_summary(name: str = "ppo_vs_trl") -> pd.DataFrame | None:
    """A benchmark's per-method summary (mean, sd over seeds) as a table, or None without the file."""
    data = _results(name)
    if data is None:
        return None
    rows = {m: v for m, v in data["summary"].items() if isinstance(v, dict) and "win_rate_mean" in v}
    return pd.DataFrame(rows).T
