"""DPO's rounds: each round trains on fresh pairs; the learner's labels make a single round."""

from tutor import dpo
from tutor.core.models import TINY_DIR
from tutor.dpo import pairs as dpo_pairs
from tutor.preferences import gold_dataset


def test_the_learners_labels_train_one_round_of_one_label_a_pair(fast_course, monkeypatch):
    """The learner's labels cannot be asked for again on the model's fresh answers: a run on them
    stops after its first round, and each pair cost one comparison."""
    monkeypatch.setattr(dpo_pairs, "learner_dataset", lambda runs: gold_dataset(24, seed=4))
    settings = dpo.DPOSettings.for_mode(True, rounds=2, epochs=0.25)
    run = dpo.train(fast_course, settings, start=TINY_DIR, progress=False)
    assert [r["round"] for r in run.rounds] == [1]
    assert run.rounds[0]["labels"] == 24 and run.source == "your 24 labels from notebook 03"


def test_ranked_on_policy_rounds_record_every_comparison_asked(tmp_path, monkeypatch):
    """k answers ranked by all their pairwise labels cost k·(k−1)/2 labels per training pair."""
    import tutor

    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    course = tutor.setup(FAST=True, quiet=True)
    settings = dpo.DPOSettings.for_mode(
        True, n_pairs=8, rounds=2, epochs=0.25, answers_per_prompt=3, use_learner_labels=False
    )
    run = dpo.train(course, settings, start=TINY_DIR, progress=False)
    assert [r["labels"] for r in run.rounds] == [r["pairs"] * 3 for r in run.rounds]
    assert all(r["trained_tokens"] > 0 for r in run.rounds)  # TRL's count of what each round read
