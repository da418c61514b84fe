"""The `ppo` stage: one record format, whether `build_stage` trained it or a notebook saved its run."""

import pytest

from tutor import TutorError, stages
from tutor.ppo import PPOSettings, build_stage, load_models, make_trainer, save_stage


def test_a_run_trained_in_a_notebook_is_saved_as_the_stage_that_07_reuses(fast_course, monkeypatch):
    """Notebook 05 trains and evaluates PPO itself, then `save_stage` writes the same record as
    `build_stage`; notebook 07's comparison then reads that run instead of training PPO again."""
    from tutor.labs.comparison import runs

    course = fast_course
    models = load_models(course)  # builds the FAST SFT and reward stages
    settings = PPOSettings.for_mode(True, steps=2)
    trainer = make_trainer(models, settings)
    history = trainer.train(progress=False)
    result = trainer.evaluate(baseline=stages.load_samples(course, "sft"))
    where = save_stage(course, trainer, models, history, result)
    assert result.samples is not None  # the notebook keeps using its own result
    saved = stages.read_metrics(course, "ppo")
    assert saved["fast"] and saved["seconds"] >= trainer.train_seconds
    assert saved["metrics"]["gold_win_rate_vs_sft"] == result.gold_win_rate_vs_sft
    assert stages.load_samples(course, "ppo").texts == result.samples.texts
    assert (where / "model").exists()
    other = course.model_runs / "ppo-built"
    other.mkdir()
    built = build_stage(course, other, settings=settings)
    assert set(built) == set(saved["metrics"])  # one record format, however the stage was made
    monkeypatch.setattr(runs.subprocess, "run", lambda *a, **kw: pytest.fail("the saved stage should be reused"))
    assert runs.runs_for(course, "ppo", [0], quiet=True)[0]["metrics"] == saved["metrics"]


def test_save_stage_refuses_a_result_without_the_sft_comparison(fast_course):
    with pytest.raises(TutorError, match="evaluate"):
        save_stage(fast_course, None, None, [], {"gold": 1.0})
