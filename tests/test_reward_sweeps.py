"""Notebook 04's noise sweep: one reward model per label-noise temperature, graded on the same
pairs; the stage's model joins as a last row, graded from its saved scores."""

import shutil

import pytest

from tutor.core.models import TINY_DIR
from tutor.labs.reward_sweeps import noise_sweep
from tutor.reward import held_out_pairs
from tutor.stages import folder, save_record
from tutor.world import GoldAnnotator


@pytest.fixture(scope="module")
def course_with_sft(fast_course):
    """The shipped model stands in for the SFT stage (the sweep starts from it; no training needed)."""
    shutil.copytree(TINY_DIR, folder(fast_course, "sft") / "model")
    save_record(fast_course, "sft", {}, 0.0)
    return fast_course


def test_noise_sweep_grades_each_temperature_and_the_stage(course_with_sft):
    riley = GoldAnnotator("riley")
    pairs = held_out_pairs(40)
    longer = held_out_pairs(60)  # the stage's saved scores cover more pairs than the sweep grades
    stage = (500, [riley.score(p, a) for p, a, _ in longer], [riley.score(p, b) for p, _, b in longer])
    table = noise_sweep(course_with_sft, pairs, n_pairs=16, temperatures=(0.0, 3.0), stage=stage)
    assert list(table.index) == [(16, 0.0), (16, 3.0), (500, 1.0)]
    assert list(table.columns) == ["Bayes ceiling", "expected accuracy", "gold agreement"]
    assert table.loc[(16, 0.0), "Bayes ceiling"] > table.loc[(16, 3.0), "Bayes ceiling"]  # noise lowers the ceiling
    assert ((table >= 0) & (table <= 1)).all().all()
    assert table.loc[(500, 1.0), "expected accuracy"] == pytest.approx(riley.bayes_accuracy(pairs), abs=1e-3)
    assert table.loc[(500, 1.0), "gold agreement"] == 1.0
