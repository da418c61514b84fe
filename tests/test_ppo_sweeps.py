"""Notebook 05's multi-run experiments (tutor.labs.ppo_sweeps), on FAST stages and a couple of short
steps: the β sweep, its table, a second seed, the large learning rate and the cost of a step."""

import pytest

from tutor import TutorError
from tutor.labs.ppo_sweeps import (
    beta_sweep,
    beta_verdict,
    gold_floor,
    large_learning_rate,
    last_mean,
    peak_gold_step,
    replay,
    seed_gap,
    step_cost,
    sweep_table,
)
from tutor.ppo import PPOSettings, PPOTrainer, load_models, make_trainer
from tutor.ui.dashboards import PPO_PANELS, ppo_dashboard

SHORT = dict(steps=2, batch_size=4, mini_batch_size=4, ppo_epochs=1, max_new_tokens=16, calibration_samples=4)


@pytest.fixture(scope="module")
def models(fast_course):
    return load_models(fast_course)  # builds the FAST SFT and reward stages


@pytest.fixture(scope="module")
def settings():
    return PPOSettings.for_mode(True, **SHORT)


@pytest.fixture(scope="module")
def trained(models, settings):
    """The default β's run, trained once (as notebook 05's section 3 trains it)."""
    trainer = make_trainer(models, settings)
    trainer.train(progress=False)
    return trainer


def dashboard(tmp_path, title):
    return ppo_dashboard(title=title, mode="file", folder=tmp_path)


def shown(history):
    """The metrics of a history that the PPO dashboard draws, step by step."""
    keys = [k for metrics in PPO_PANELS.values() for k in metrics]
    return {k: [(step, h[k]) for step, h in enumerate(history, start=1)] for k in keys}


def test_replay_draws_a_finished_run_under_its_name(tmp_path, trained):
    plot = dashboard(tmp_path, "replay")
    replay(plot, "β = 0.2", trained.history)
    assert list(plot.runs) == ["β = 0.2"]
    assert plot.runs["β = 0.2"] == shown(trained.history)


def test_beta_sweep_trains_each_beta_once_with_one_normalisation(tmp_path, models, settings, trained):
    stats = (trained.reward_mean, trained.reward_std)
    betas = {"β = 0": (0.0, 2), f"β = {settings.beta}": (settings.beta, settings.steps), "β = 1": (1.0, 1)}
    plot = dashboard(tmp_path, "β sweep")
    runs = beta_sweep(models, settings, betas, plot=plot, reward_stats=stats, trained={f"β = {settings.beta}": trained})
    plot.close()
    assert list(runs) == [f"β = {settings.beta}", "β = 0", "β = 1"]  # the trained run first, then the sweep's
    assert runs[f"β = {settings.beta}"] is trained  # drawn, not trained again
    for name in ("β = 0", "β = 1"):
        beta, steps = betas[name]
        run = runs[name]
        assert isinstance(run, PPOTrainer) and run is not trained
        assert run.settings.beta == beta and len(run.history) == steps
        assert (run.reward_mean, run.reward_std) == stats
        assert run.settings.learning_rate == settings.learning_rate and run.settings.seed == settings.seed
    assert list(plot.runs) == list(runs)  # one curve per run, in the same order
    assert plot.runs["β = 0"] == shown(runs["β = 0"].history)
    table = sweep_table(runs)
    assert list(table.columns) == list(runs)
    assert list(table.index) == ["reward-model score", "KL", "gold score", "peak gold (step)"]
    for name, run in runs.items():
        assert table[name]["KL"] == round(last_mean(run.history, "objective/kl"), 2)
        assert table[name]["gold score"] == round(last_mean(run.history, "gold/score"), 2)
        assert table[name]["peak gold (step)"] == peak_gold_step(run.history)
    no_plot = beta_sweep(models, settings, {"β = 0.5": (0.5, 1)}, reward_stats=stats)
    assert list(no_plot) == ["β = 0.5"] and len(no_plot["β = 0.5"].history) == 1


def test_last_mean_averages_the_last_k_steps_and_peak_gold_step_counts_from_one():
    history = [{"gold/score": g} for g in (1.0, 4.0, 2.0, 3.0)]
    assert last_mean(history, "gold/score", k=3) == pytest.approx(3.0)
    assert last_mean(history, "gold/score", k=1) == 3.0
    assert last_mean(history[:2], "gold/score", k=3) == pytest.approx(2.5)  # a short run: the steps it has
    assert peak_gold_step(history) == 2


def step(gold: float, sd: float = 1.5, n: int = 24) -> dict:
    return {"gold/score": gold, "gold/score_sd": sd, "gold/answers": n}


def test_gold_floor_is_the_95_percent_floor_of_two_means_and_shrinks_with_more_answers():
    a, b = [step(1.0)] * 3, [step(1.2)] * 3
    assert gold_floor(a, b) == pytest.approx(1.96 * (2 * 1.5**2 / 72) ** 0.5)
    assert gold_floor(a[:1], b[:1], k=1) == pytest.approx(1.96 * (2 * 1.5**2 / 24) ** 0.5)
    assert gold_floor([step(1.0, n=96)] * 3, [step(1.2, n=96)] * 3) < gold_floor(a, b)


def test_beta_verdict_ranks_only_differences_beyond_the_noise_floor():
    class Run:
        def __init__(self, golds, sd):
            self.history = [step(g, sd) for g in golds]

    runs = {"β = 0": Run([0.5] * 3, 1.5), "β = 0.05": Run([0.6] * 3, 1.5), "β = 1": Run([2.0] * 3, 0.2)}
    close, far = beta_verdict(runs, list(runs))
    assert "β = 0 0.50, β = 0.05 0.60" in close and close.endswith("no measurable difference.")
    assert "β = 1 is higher by 1.40" in far


def test_seed_gap_compares_the_gold_score_over_the_steps_both_runs_made(tmp_path, models, trained):
    plot = dashboard(tmp_path, "seeds")
    gap = seed_gap(models, trained, seed=1, steps=1, plot=plot)
    assert gap.other.settings.seed == 1 and len(gap.other.history) == 1
    assert (gap.other.reward_mean, gap.other.reward_std) == (trained.reward_mean, trained.reward_std)
    assert gap.gaps == [abs(trained.history[0]["gold/score"] - gap.other.history[0]["gold/score"])]
    assert gap.mean == gap.largest == gap.gaps[0] and gap.largest_step == 1
    assert gap.floors == [pytest.approx(gold_floor(trained.history[:1], gap.other.history, k=1))]
    assert gap.beyond_noise == int(gap.gaps[0] > gap.floors[0])
    assert list(plot.runs) == ["seed 0", "seed 1"]


def test_large_learning_rate_returns_the_run_and_the_error_that_stopped_it(models, trained, monkeypatch):
    big, error = large_learning_rate(models, trained, factor=5, steps=1)
    assert big.settings.learning_rate == 5 * trained.settings.learning_rate
    assert error is None and len(big.history) == 1

    def diverge(self):
        raise TutorError(
            f"PPO step {self.step_count}: the policy loss is NaN or infinite (1 value(s)), so training stopped; lower "
            "learning_rate."
        )

    monkeypatch.setattr(PPOTrainer, "step", diverge)
    stopped, error = large_learning_rate(models, trained, factor=5, steps=1)
    assert error.startswith("PPO step 0: the policy loss is NaN") and stopped.history == []


def test_step_cost_reports_time_per_episode_the_rollout_share_and_passes(trained):
    cost = step_cost(trained, {"a": trained, "b": trained})
    assert cost["ms_per_episode"] == pytest.approx(trained.train_seconds / trained.episodes * 1000)
    assert 0 < cost["rollout_share"] <= 1
    assert cost["passes"] == 1 + 3 + 2 * 2 * trained.settings.ppo_epochs
    assert cost["runs_seconds"] == pytest.approx(2 * trained.train_seconds)
    assert step_cost(trained)["runs_seconds"] == 0
