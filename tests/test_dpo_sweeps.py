"""Notebook 06's sweeps (FAST, tiny runs): comparable runs on the same pairs and prompts, one run
per β drawn as a run of its own, and TRL's named loss variants."""

import pytest

from tutor import dpo, stages
from tutor.labs.dpo_sweeps import SweepSetup
from tutor.preferences import gold_dataset
from tutor.ui.dashboards import dpo_dashboard

METRICS = ["gold_win_rate_vs_sft", "kl", "gold", "on_topic", "words", "seconds"]


@pytest.fixture(scope="module")
def sweep(fast_course):
    stages.ensure(fast_course, "sft", quiet=True)
    return SweepSetup.for_course(fast_course, gold_dataset(12, seed=6), n_pairs=8)


def test_a_sweep_measures_one_answer_per_held_out_prompt_against_the_sft_answer(fast_course, sweep):
    sft = stages.load_samples(fast_course, "sft")
    assert len(sweep.pairs) == 8 and sweep.max_new_tokens == 96
    assert len(sweep.prompts) == len(set(sweep.prompts)) == 20  # FAST: 20 held-out prompts, one answer each
    assert all(
        sft.texts[sft.prompts.index(p)] == answer for p, answer in zip(sweep.prompts, sweep.baseline, strict=True)
    )


def test_each_beta_is_a_run_of_its_own_and_the_plot_changes_nothing(fast_course, sweep, tmp_path):
    settings = dpo.DPOSettings.for_mode(True)
    plot = dpo_dashboard(panels={"margin": ["rewards/margins"]}, title="β sweep", mode="file", folder=tmp_path)
    rows = sweep.beta_sweep(fast_course, settings, [0.5, 1.0], plot=plot)
    plot.close()
    scored = sweep.scored
    assert list(rows) == ["β=0.5", "β=1.0"] and all(list(row) == METRICS for row in rows.values())
    assert {"β=0.5", "β=1.0"} <= set(plot.runs) and all(plot.runs[f"β={b}"]["rewards/margins"] for b in (0.5, 1.0))
    again = sweep.run(fast_course, settings, beta=1.0)
    assert sweep.scored is scored  # the pairs were scored by the reference once for every run
    assert {k: again[k] for k in METRICS[:-1]} == {k: rows["β=1.0"][k] for k in METRICS[:-1]}


def test_fast_variants_are_a_sketch_of_three_losses(fast_course, sweep):
    dpo_row = {metric: 0.0 for metric in METRICS}  # stands for the DPO run made already
    rows = sweep.variants(fast_course, dpo.DPOSettings.for_mode(True), dpo_row=dpo_row)
    assert list(rows) == ["sigmoid (DPO)", "ipo", "SimPO-like (no π_ref)"] and rows["sigmoid (DPO)"] is dpo_row
    assert rows["ipo"] != rows["SimPO-like (no π_ref)"]
