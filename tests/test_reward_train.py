"""Training the reward model: a short run beats chance on held-out pairs; other RewardConfig
settings reach the trainer; the learner's own labels from notebook 03 are used when there are enough."""

from tutor.core.models import TINY_DIR
from tutor.labeling import LabelStore
from tutor.reward import RewardSettings, evaluate, held_out_pairs, train
from tutor.world import GoldAnnotator, candidate_pairs


def test_a_short_training_run_beats_chance_on_held_out_pairs(fast_course):
    """400 gold pairs, one epoch, from the shipped base model (no SFT needed for this check)."""
    trained = train(fast_course, RewardSettings(n_pairs=400), start=TINY_DIR, progress=False)
    assert trained.source.startswith("400 pairs labelled by the gold annotator")
    report = evaluate(trained.model, trained.tokenizer, held_out_pairs(300), GoldAnnotator("riley"))
    assert report["expected_accuracy"] >= 0.6, report
    assert report["expected_accuracy"] <= report["bayes_accuracy"] + 1e-9
    assert trained.losses[-1] < trained.losses[0]


def test_other_trainer_settings_reach_the_reward_trainer(fast_course):
    trained = train(
        fast_course, RewardSettings(n_pairs=16), start=TINY_DIR, progress=False, trainer_options={"weight_decay": 0.1}
    )
    assert trained.trainer.args.weight_decay == 0.1


def test_the_learners_own_labels_are_used_when_there_are_enough(fast_course):
    pairs = candidate_pairs(24, seed=5)
    store = LabelStore(fast_course.runs / "labels" / "you.jsonl", annotator_id="you", pair_set=pairs)
    judge = GoldAnnotator("quinn", seed=1)
    for pair in pairs:
        store.add(pair, "a" if judge.label(*pair) else "b")
    try:
        trained = train(fast_course, RewardSettings(), start=TINY_DIR, progress=False)
    finally:
        (fast_course.runs / "labels" / "you.jsonl").unlink()
    assert trained.source == "your 24 labels from notebook 03" and trained.n_train == 24
