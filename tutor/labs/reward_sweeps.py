"""Notebook 04's sweep: small reward models trained on labels of different noise, graded alike.

Each run trains a reward model on `n_pairs` labels from Riley at one Bradley–Terry temperature T
and grades it on the same held-out pairs against that annotator (Bayes ceiling, expected accuracy)
and against Riley's noise-free ranking (gold agreement): what the labels taught, whatever the
noise. The full-size sweep over label counts is benchmarks/reward_sweep.py
(benchmarks/results/reward.md); `measured_ablations` reads benchmarks/reward_ablations.py's tables
(which change to the reward model mattered, and its learning curve) for notebook 04, and
`persona_agreement` says how much two personas agree before their reward models are compared.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

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
        settings = RewardSettings.for_mode(course.fast, course.model, n_pairs=n_pairs, label_temperature=temperature)
        trained = train(course, settings, progress=False)
        rows.append(sweep_row(n_pairs, temperature, evaluate(trained.model, trained.tokenizer, pairs, judge)))
    if stage is not None:
        labels, scores_a, scores_b = stage
        report = evaluate_scores(pairs, scores_a[: len(pairs)], scores_b[: len(pairs)], GoldAnnotator("riley"))
        rows.append(sweep_row(labels, 1.0, report))
    return pd.DataFrame(rows).set_index(["labels", "label noise T"]).round(3)


RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "reward_ablations.json"


def measured_ablations(path: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The benchmark's tables (benchmarks/reward_ablations.py), or None when its results file is not
    in this copy of the course (a pip install has no benchmarks/ folder).

    Returns (ablations, learning curve): expected accuracy mean and sd over the seeds run, the Bayes
    ceiling, the gap in points, gold agreement; ablations at 1,000 labels, one row per change, with
    its gain over the previous recipe on the same seeds (seeds differ by more than most changes)."""
    path = Path(path) if path is not None else RESULTS
    if not path.is_file():
        return None
    rows = json.loads(path.read_text()).get("summary", [])
    table = pd.DataFrame(rows)
    if table.empty:
        return None
    table = table.rename(
        columns={
            "expected_accuracy_mean": "expected accuracy",
            "expected_accuracy_sd": "sd over seeds",
            "bayes_accuracy": "Bayes ceiling",
            "gap_points_mean": "gap (points)",
            "gold_agreement_mean": "gold agreement",
            "vs_previous_points": "gain on the same seeds (points)",
        }
    )
    table["seeds"] = table["seeds"].map(len)
    columns = ["expected accuracy", "sd over seeds", "seeds", "Bayes ceiling", "gap (points)", "gold agreement"]
    ablations = table[table["part"] == "ablations"].set_index("variant")
    ablations = ablations.reindex(columns=[*columns, "gain on the same seeds (points)"])
    curve = table[table["part"] == "curve"].set_index("labels").sort_index().reindex(columns=columns)
    return ablations, curve


def persona_agreement(pairs: Sequence[tuple[str, str, str]], first="riley", second="quinn") -> dict:
    """How much two personas themselves agree on the same (prompt, a, b) pairs: the correlation of
    their gold scores over every answer, and the share of pairs (where both have a preference) on
    which their noise-free preferences differ. What two reward models' disagreement should be
    compared with before it is called taste."""
    one, two = GoldAnnotator(first), GoldAnnotator(second)
    prompts = [p for p, _, _ in pairs] * 2
    answers = [a for _, a, _ in pairs] + [b for _, _, b in pairs]
    s1, s2 = one.scores(prompts, answers), two.scores(prompts, answers)
    n = len(pairs)
    differ = decided = 0
    for i in range(n):
        d1, d2 = s1[i] - s1[n + i], s2[i] - s2[n + i]
        if d1 and d2:
            decided += 1
            differ += (d1 > 0) != (d2 > 0)
    return {
        "gold_score_correlation": float(pd.Series(s1).corr(pd.Series(s2))),
        "gold_preferences_differ": differ / max(decided, 1),
        "pairs": n,
    }
