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


def test_persona_agreement_is_one_for_a_persona_with_itself_and_less_across():
    from tutor.labs.reward_sweeps import persona_agreement

    pairs = held_out_pairs(80)
    same = persona_agreement(pairs, "riley", "riley")
    assert same["gold_score_correlation"] == pytest.approx(1.0) and same["gold_preferences_differ"] == 0.0
    across = persona_agreement(pairs)
    assert 0.0 < across["gold_preferences_differ"] < 0.5 and across["gold_score_correlation"] < 0.99


def test_the_benchmarks_tables_read_back_per_change_and_per_label_count(tmp_path):
    import importlib.util
    import json

    from tutor.labs.reward_sweeps import measured_ablations

    spec = importlib.util.spec_from_file_location("bench", TINY_DIR.parents[2] / "benchmarks" / "reward_ablations.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    runs = []
    for seed, acc in enumerate((0.70, 0.68)):
        for changes, labels in (({}, 1000), ({"pooling": "mean"}, 1000), ({}, 250)):
            bump = 0.02 if changes else (-0.05 if labels == 250 else 0.0)
            runs.append(
                {
                    "changes": changes,
                    "labels": labels,
                    "seed": seed,
                    "expected_accuracy": acc + bump,
                    "bayes_accuracy": 0.83,
                    "gold_agreement": 0.75,
                    "train_seconds": 1.0,
                    "gap_to_ceiling_points": round(100 * (0.83 - acc - bump), 1),
                }
            )
    path = tmp_path / "reward_ablations.json"
    path.write_text(json.dumps({"runs": runs, "summary": bench.summary(runs)}))
    ablations, curve = measured_ablations(path)
    assert ablations.loc["previous default (last token)", "expected accuracy"] == pytest.approx(0.69)
    assert ablations.loc["previous default (last token)", "sd over seeds"] == pytest.approx(0.01414, abs=1e-4)
    assert ablations.loc["mean pooling over the answer", "expected accuracy"] == pytest.approx(0.71)
    assert ablations.loc["previous default (last token)", "seeds"] == 2
    assert ablations.loc["mean pooling over the answer", "gain on the same seeds (points)"] == pytest.approx(2.0)
    if bench.course_default() == {}:  # the course default is the previous one: its curve is that row's
        assert list(curve.index) == [250, 1000]
        assert curve.loc[250, "expected accuracy"] == pytest.approx(0.64)
    assert measured_ablations(tmp_path / "missing.json") is None
