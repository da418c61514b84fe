"""Notebook 04's sweep: small reward models trained on labels of different noise, graded alike.

Each run trains a reward model on `n_pairs` labels from Riley at one Bradley–Terry temperature T
and grades it on the same held-out pairs against that annotator (Bayes ceiling, expected accuracy)
and against Riley's noise-free ranking (gold agreement): what the labels taught, whatever the
noise. The full-size sweep over label counts is benchmarks/reward_sweep.py
(benchmarks/results/reward.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from tutor.reward import RewardSettings, evaluate, evaluate_scores, train
from tutor.world import GoldAnnotator

COLUMNS = {
    "Bayes ceiling": "bayes_accuracy",
    "expected accuracy": "expected_accuracy",
    "gold agreement": "gold_agreement",
}


def sweep_row(labels: int, temperature: float, report: dict) -> dict:
    """One row of the sweep's table from an `evaluate` report."""
    return {"labels": labels, "label noise T": temperature, **{name: report[key] for name, key in COLUMNS.items()}}


def noise_sweep(
    course,
    pairs: Sequence[tuple[str, str, str]],
    n_pairs: int,
    temperatures=(0.0, 1.0, 3.0),
    stage: tuple[int, Sequence[float], Sequence[float]] | None = None,
):
    """One reward model per label-noise temperature, each trained on `n_pairs` of Riley's labels and
    graded on `pairs`; a table indexed by (labels, label noise T).

    stage: (labels, scores_a, scores_b) of a reward model trained on Riley's labels at T = 1 (the
    course's stage), whose held-out scores start with `pairs`: graded the same way, as a last row.
    """
    rows = []
    for temperature in temperatures:
        judge = GoldAnnotator("riley", temperature=temperature)
        trained = train(course, RewardSettings(n_pairs=n_pairs, label_temperature=temperature), progress=False)
        rows.append(sweep_row(n_pairs, temperature, evaluate(trained.model, trained.tokenizer, pairs, judge)))
    if stage is not None:
        labels, scores_a, scores_b = stage
        report = evaluate_scores(pairs, scores_a[: len(pairs)], scores_b[: len(pairs)], GoldAnnotator("riley"))
        rows.append(sweep_row(labels, 1.0, report))
    return pd.DataFrame(rows).set_index(["labels", "label noise T"]).round(3)
