"""Grading a reward model: the evaluation's numbers mean what they say (the annotator's own scores
reach the Bayes ceiling), the notebook's tables put a perfect model where it belongs, and the
stage's saved held-out report reads back without scoring."""

import json

import pytest

from tutor.errors import TutorError
from tutor.reward import (
    accuracy_by_clarity,
    agreement_table,
    evaluate_scores,
    held_out_pairs,
    held_out_report,
    what_it_learned,
)
from tutor.stages import folder
from tutor.world import GoldAnnotator


def gold_scores(judge, pairs):
    return [judge.score(p, a) for p, a, _ in pairs], [judge.score(p, b) for p, _, b in pairs]


def test_evaluation_with_the_annotators_own_scores_reaches_the_ceiling():
    judge = GoldAnnotator("riley")
    pairs = held_out_pairs(200)
    gold_a = [judge.score(p, a) for p, a, _ in pairs]
    gold_b = [judge.score(p, b) for p, _, b in pairs]
    perfect = evaluate_scores(pairs, gold_a, gold_b, judge)
    assert perfect["expected_accuracy"] == pytest.approx(perfect["bayes_accuracy"])
    assert perfect["gold_agreement"] == 1.0
    backwards = evaluate_scores(pairs, gold_b, gold_a, judge)
    assert backwards["expected_accuracy"] == pytest.approx(1 - perfect["bayes_accuracy"])
    assert abs(perfect["accuracy"] - perfect["expected_accuracy"]) < 0.1  # one draw of noisy labels
    assert perfect["margins"] and len(perfect["margins"]) == 200


def test_the_other_persona_is_a_worse_predictor_of_riley():
    riley, quinn = GoldAnnotator("riley"), GoldAnnotator("quinn")
    pairs = held_out_pairs(300)
    as_quinn = evaluate_scores(
        pairs, [quinn.score(p, a) for p, a, _ in pairs], [quinn.score(p, b) for p, _, b in pairs], riley
    )
    assert as_quinn["expected_accuracy"] < riley.bayes_accuracy(pairs) - 0.05


def test_mismatched_scores_are_one_clear_sentence():
    pairs = held_out_pairs(3)
    with pytest.raises(TutorError, match="equally many pairs and scores"):
        evaluate_scores(pairs, [0.0, 1.0], [1.0, 0.0, 2.0], GoldAnnotator("riley"))


# --------------------------------------------------------------------------- notebook 04's tables


def test_what_it_learned_puts_a_perfect_model_on_the_gold_column():
    judge = GoldAnnotator("riley")
    pairs = held_out_pairs(60)
    prompts = [p for p, _, _ in pairs]
    texts = [a for _, a, _ in pairs]
    table = what_it_learned(prompts, texts, judge.scores(prompts, texts))
    assert (table["reward model"] == table["gold (riley)"]).all()
    assert table.loc["gold (riley)", "reward model"] == 1.0
    assert table.loc["myths", "gold (riley)"] < 0  # Riley dislikes wrong answers


def test_accuracy_by_clarity_of_the_gold_scores_is_the_ceiling():
    judge = GoldAnnotator("riley")
    pairs = held_out_pairs(200)
    table = accuracy_by_clarity(
        pairs, [judge.score(p, a) for p, a, _ in pairs], [judge.score(p, b) for p, _, b in pairs], judge
    )
    assert table["pairs"].sum() == 200
    assert (table["reward model"] - table["ceiling"]).abs().max() < 1e-3


def test_agreement_table_puts_each_persona_on_its_own_ceiling():
    riley, quinn = GoldAnnotator("riley"), GoldAnnotator("quinn")
    pairs = held_out_pairs(100)
    table = agreement_table(
        pairs,
        {"Riley's scores": gold_scores(riley, pairs), "Quinn's scores": gold_scores(quinn, pairs)},
        annotators=(riley, quinn),
    )
    assert list(table.columns) == ["Riley's scores", "Quinn's scores"]
    assert list(table.index) == ["agrees with Riley", "agrees with Quinn"]
    assert table.loc["agrees with Riley", "Riley's scores"] == pytest.approx(riley.bayes_accuracy(pairs))
    assert table.loc["agrees with Quinn", "Quinn's scores"] == pytest.approx(quinn.bayes_accuracy(pairs))
    assert table.loc["agrees with Riley", "Quinn's scores"] < table.loc["agrees with Riley", "Riley's scores"]


def test_held_out_report_reads_the_stage_scores(fast_course):
    """The stage writes held_out.json; the notebook reads the same report back without scoring."""
    judge = GoldAnnotator("riley")
    pairs = held_out_pairs(50)
    where = folder(fast_course, "reward")
    where.mkdir(parents=True, exist_ok=True)
    (where / "metrics.json").write_text(json.dumps({"stage": "reward", "fast": True, "metrics": {}}))
    scores = {
        "scores_a": [judge.score(p, a) for p, a, _ in pairs],
        "scores_b": [judge.score(p, b) for p, _, b in pairs],
    }
    (where / "held_out.json").write_text(json.dumps({"persona": "riley", "label_temperature": None, **scores}))
    try:
        got_pairs, report, annotator = held_out_report(fast_course)
    finally:
        for name in ("metrics.json", "held_out.json"):
            (where / name).unlink()
    assert got_pairs == pairs and annotator.persona.name == "riley"
    assert report["expected_accuracy"] == pytest.approx(report["bayes_accuracy"])
