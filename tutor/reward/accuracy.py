"""How good a reward model is: held-out accuracy next to the annotator's Bayes ceiling, and what it learned.

Labels are noisy, so no model can predict them all: each evaluation reports the model's `accuracy`
on one draw of held-out labels next to the annotator's `bayes_accuracy` ceiling on the same pairs,
and `expected_accuracy`, the noise-free expectation of that accuracy (a tighter estimate). The
rest serves notebook 04: the stage's saved held-out report, accuracy by how clear a pair is, the
attributes the scores follow, and how well several models agree with several annotators.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence

import pandas as pd

from tutor.errors import TutorError
from tutor.reward.model import score_texts
from tutor.stages import ensure, folder
from tutor.world import GoldAnnotator, analyse, candidate_pairs


def held_out_pairs(n: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """(prompt, a, b) pairs on held-out prompts: what the reward model is graded on."""
    return candidate_pairs(n, seed=seed, split="test")


def evaluate(model, tokenizer, pairs: Sequence[tuple[str, str, str]], annotator, label_seed: int = 1) -> dict:
    """Score both answers of every held-out pair with the reward model, then `evaluate_scores`."""
    if not pairs:
        raise TutorError("evaluate() needs at least one (prompt, a, b) pair.")
    prompts = [p for p, _, _ in pairs]
    scores_a = score_texts(model, tokenizer, prompts, [a for _, a, _ in pairs])
    scores_b = score_texts(model, tokenizer, prompts, [b for _, _, b in pairs])
    return evaluate_scores(pairs, scores_a, scores_b, annotator, label_seed)


def evaluate_scores(
    pairs, scores_a: Sequence[float], scores_b: Sequence[float], annotator, label_seed: int = 1
) -> dict:
    """How well scores rank (prompt, a, b) pairs for `annotator`, three ways, on the same pairs:

    accuracy: agreement with one draw of the annotator's noisy labels (what a person labelling
        these pairs would see; a fixed seed gives every model the same draw);
    expected_accuracy: its expectation over the label noise (no sampling error from the labels);
    bayes_accuracy: the best any model could expect on these pairs, mean of max(p, 1 − p);
    gold_agreement: agreement with the noise-free preference (sign of the gold score difference).
    margins: R(labelled chosen) − R(labelled rejected) for each pair, for a histogram;
    scores_a, scores_b: the scores themselves.
    """
    n = len(pairs)
    if not n or not (n == len(scores_a) == len(scores_b)):
        raise TutorError(
            f"evaluate_scores() needs equally many pairs and scores, at least one (got {n} pairs, "
            f"{len(scores_a)} and {len(scores_b)} scores)."
        )
    picks = [int(sa > sb) for sa, sb in zip(scores_a, scores_b, strict=True)]
    probs = [annotator.prob_first_preferred(p, a, b) for p, a, b in pairs]
    rng = random.Random(label_seed)
    labels = [int(rng.random() < prob) for prob in probs]
    decided = [(pick, prob > 0.5) for pick, prob in zip(picks, probs, strict=True) if prob != 0.5]
    return {
        "accuracy": sum(pick == label for pick, label in zip(picks, labels, strict=True)) / n,
        "expected_accuracy": sum(prob if pick else 1 - prob for pick, prob in zip(picks, probs, strict=True)) / n,
        "bayes_accuracy": sum(max(prob, 1 - prob) for prob in probs) / n,
        "gold_agreement": sum((pick == 1) == better for pick, better in decided) / max(len(decided), 1),
        "n_eval_pairs": n,
        "margins": [sa - sb if label else sb - sa for sa, sb, label in zip(scores_a, scores_b, labels, strict=True)],
        "scores_a": list(scores_a),
        "scores_b": list(scores_b),
    }


def held_out_report(course) -> tuple[list[tuple[str, str, str]], dict, object]:
    """The reward stage's held-out evaluation (built if missing), from its saved scores:
    (pairs, `evaluate_scores` report, the annotator it was graded against)."""
    ensure(course, "reward", quiet=True)
    saved = json.loads((folder(course, "reward") / "held_out.json").read_text())
    pairs = held_out_pairs(len(saved["scores_a"]))
    annotator = GoldAnnotator(saved["persona"], temperature=saved["label_temperature"])
    return pairs, evaluate_scores(pairs, saved["scores_a"], saved["scores_b"], annotator), annotator


def accuracy_by_clarity(pairs, scores_a, scores_b, annotator, edges=(0.5, 0.6, 0.75, 0.9, 1.0)):
    """Expected accuracy of the scores' picks on pairs grouped by how clear the annotator's
    preference is (max(p, 1 − p)): reward models get clear pairs right and coin flips wrong."""
    rows = []
    for (p, a, b), sa, sb in zip(pairs, scores_a, scores_b, strict=True):
        prob = annotator.prob_first_preferred(p, a, b)
        rows.append({"clarity": max(prob, 1 - prob), "right": prob if sa > sb else 1 - prob})
    table = pd.DataFrame(rows)
    table["annotator's clarity"] = pd.cut(table["clarity"], list(edges), include_lowest=True)
    grouped = table.groupby("annotator's clarity", observed=True)
    return pd.DataFrame(
        {"pairs": grouped.size(), "ceiling": grouped["clarity"].mean(), "reward model": grouped["right"].mean()}
    ).round(3)


ATTRIBUTES = ("words", "politeness", "audience", "safety", "facts", "myths", "on_topic", "degenerate")


def what_it_learned(prompts: Sequence[str], texts: Sequence[str], scores: Sequence[float], personas=("riley", "quinn")):
    """Correlation of reward-model scores with each persona's gold score and with each analyser
    attribute, next to the same correlations for the gold scores (what the RM *should* track)."""
    frame = pd.DataFrame([analyse(t, p).as_dict() for p, t in zip(prompts, texts, strict=True)])[list(ATTRIBUTES)]
    frame = frame.astype(float)
    frame["reward model"] = list(scores)
    for name in personas:
        frame[f"gold ({name})"] = GoldAnnotator(name).scores(prompts, texts)
    columns = ["reward model"] + [f"gold ({name})" for name in personas]
    return frame.corr().loc[[f"gold ({name})" for name in personas] + list(ATTRIBUTES), columns].round(2)


def agreement_table(pairs, scores: dict[str, tuple[Sequence[float], Sequence[float]]], annotators):
    """Expected agreement of each model's picks with each annotator's labels on the same pairs:
    one column per model (`scores` maps its name to its (scores_a, scores_b)), one row per annotator."""
    return pd.DataFrame(
        {
            name: {
                f"agrees with {who.persona.name.title()}": evaluate_scores(pairs, scores_a, scores_b, who)[
                    "expected_accuracy"
                ]
                for who in annotators
            }
            for name, (scores_a, scores_b) in scores.items()
        }
    )
