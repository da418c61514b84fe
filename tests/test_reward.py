"""Reward model: our Bradley–Terry loss equals RewardTrainer's; scoring sees what training saw;
bad preference data fails clearly (ties are dropped and counted); a short training run beats
chance on held-out pairs; the evaluation's numbers mean what they say."""

import pytest
import torch

from tutor.core.chat import as_conversational, conversation_texts
from tutor.core.models import TINY_DIR, load_tokenizer, tiny_config
from tutor.errors import TutorError
from tutor.preferences import check_preference_rows, gold_rows, to_dataset
from tutor.reward import (
    RewardSettings,
    bradley_terry_loss,
    evaluate_scores,
    held_out_pairs,
    make_trainer,
    pairwise_accuracy,
    preference_probability,
    score_texts,
)
from tutor.world import GoldAnnotator


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(TINY_DIR)


def tiny_reward_model(tokenizer, seed=0):
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(seed)
    config = tiny_config(tokenizer, num_hidden_layers=1, hidden_size=32, intermediate_size=64,
                         num_attention_heads=2, num_key_value_heads=2, num_labels=1)
    return AutoModelForSequenceClassification.from_config(config)


def trainer_for(tokenizer, dataset, tmp_path):
    return make_trainer(tiny_reward_model(tokenizer), tokenizer, dataset, tmp_path,
                        settings=RewardSettings(batch_size=4), progress=False)


# --------------------------------------------------------------------------- the twin


def test_bradley_terry_loss_equals_rewardtrainer_loss(tokenizer, tmp_path):
    trainer = trainer_for(tokenizer, to_dataset(gold_rows(8)), tmp_path)
    batch = next(iter(trainer.get_train_dataloader()))
    model = trainer.model.eval()
    with torch.no_grad():
        theirs = trainer.compute_loss(model, dict(batch))
        rewards = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, 0]
    chosen, rejected = rewards.chunk(2)  # the collator stacks every chosen answer, then every rejected one
    ours = bradley_terry_loss(chosen, rejected)
    assert torch.allclose(ours, theirs, atol=1e-6), (ours.item(), theirs.item())


def test_bradley_terry_margin_equals_rewardtrainer_margin(tokenizer, tmp_path):
    from datasets import Dataset

    rows = [{**r, "margin": 0.25 * i} for i, r in enumerate(gold_rows(8))]
    trainer = trainer_for(tokenizer, Dataset.from_list(rows), tmp_path)
    batch = next(iter(trainer.get_train_dataloader()))
    assert "margin" in batch
    model = trainer.model.eval()
    with torch.no_grad():
        theirs = trainer.compute_loss(model, dict(batch))
        rewards = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, 0]
    chosen, rejected = rewards.chunk(2)
    assert torch.allclose(bradley_terry_loss(chosen, rejected, batch["margin"]), theirs, atol=1e-6)
    assert not torch.allclose(bradley_terry_loss(chosen, rejected), theirs, atol=1e-6)


def test_score_texts_sees_the_tokens_the_trainer_trained_on(tokenizer, tmp_path):
    rows = gold_rows(6)
    trainer = trainer_for(tokenizer, to_dataset(rows), tmp_path)
    for row, processed in zip(rows, trainer.train_dataset, strict=True):
        text = conversation_texts(tokenizer, [row["prompt"][0]["content"]], [row["chosen"][0]["content"]])[0]
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == processed["chosen_ids"]


def test_a_score_does_not_depend_on_its_batch_neighbours(tokenizer):
    """Left padding and the pad token id let the head read each answer's real last token."""
    model = tiny_reward_model(tokenizer).eval()
    model.config.pad_token_id = tokenizer.pad_token_id
    prompts = ["Explain duration.", "Explain convexity."]
    answers = ["Short.", "Convexity is the curvature of the price-yield curve, which duration alone misses."]
    together = score_texts(model, tokenizer, prompts, answers)
    alone = [score_texts(model, tokenizer, [p], [a])[0] for p, a in zip(prompts, answers, strict=True)]
    assert together == pytest.approx(alone, abs=1e-5)


# --------------------------------------------------------------------------- the math


def test_bradley_terry_loss_values():
    assert bradley_terry_loss(torch.tensor([0.0]), torch.tensor([0.0])).item() == pytest.approx(0.6931, abs=1e-4)
    assert bradley_terry_loss(torch.tensor([5.0]), torch.tensor([0.0])) < bradley_terry_loss(torch.tensor([0.0]), torch.tensor([5.0]))
    big = bradley_terry_loss(torch.tensor([-200.0]), torch.tensor([200.0]))
    assert torch.isfinite(big) and big.item() == pytest.approx(400.0)


def test_probability_and_accuracy():
    assert preference_probability(2.0, 2.0).item() == pytest.approx(0.5)
    assert preference_probability(1.0, 0.0).item() == pytest.approx(0.7311, abs=1e-4)
    assert pairwise_accuracy([3.0, 1.0, 2.0], [1.0, 2.0, 2.0]) == pytest.approx(1 / 3)
    with pytest.raises(TutorError):
        pairwise_accuracy([], [])


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
    as_quinn = evaluate_scores(pairs, [quinn.score(p, a) for p, a, _ in pairs], [quinn.score(p, b) for p, _, b in pairs], riley)
    assert as_quinn["expected_accuracy"] < riley.bayes_accuracy(pairs) - 0.05


# --------------------------------------------------------------------------- bad preference data


ROW = as_conversational("Explain duration.", chosen="Duration measures rate sensitivity.", rejected="Whatever.")


@pytest.mark.parametrize(
    "rows, message",
    [
        ([], "empty"),
        ([{k: v for k, v in ROW.items() if k != "prompt"}], "row 0 has no 'prompt'"),
        ([ROW, {k: v for k, v in ROW.items() if k != "chosen"}], "row 1 has no 'chosen'"),
        ([{k: v for k, v in ROW.items() if k != "rejected"}], "row 0 has no 'rejected'"),
        ([ROW, as_conversational("Explain duration.", chosen="", rejected="Whatever.")], "row 1 has an empty 'chosen'"),
        ([as_conversational("  ", chosen="a", rejected="b")], "row 0 has an empty 'prompt'"),
        ([{"prompt": "Explain duration.", "chosen": "Good.", "rejected": ""}], "row 0 has an empty 'rejected'"),
    ],
)
def test_bad_preference_rows_name_the_row_and_field(rows, message):
    with pytest.raises(TutorError, match=message):
        check_preference_rows(rows)


def test_ties_are_dropped_and_counted():
    same = as_conversational("Explain duration.", chosen="Duration measures rate sensitivity.", rejected="Duration measures rate sensitivity.")
    flagged = {**ROW, "tie": True}
    kept, ties = check_preference_rows([ROW, same, flagged, ROW])
    assert len(kept) == 2 and ties == 2
    assert len(to_dataset([ROW, same])) == 1


def test_ties_can_be_refused_and_all_ties_is_an_error():
    same = as_conversational("Explain duration.", chosen="Same answer.", rejected="Same answer.")
    with pytest.raises(TutorError, match="row 1 is a tie"):
        check_preference_rows([ROW, same], drop_ties=False)
    with pytest.raises(TutorError, match="All 2 preference rows are ties"):
        check_preference_rows([same, same])


# --------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    import tutor

    mp = pytest.MonkeyPatch()
    mp.setenv("TUTOR_RUNS", str(tmp_path_factory.mktemp("runs")))
    yield tutor.setup(FAST=True, quiet=True)
    mp.undo()


def test_a_short_training_run_beats_chance_on_held_out_pairs(course):
    """400 gold pairs, one epoch, from the shipped base model (no SFT needed for this check)."""
    from tutor.reward import evaluate, train

    trained = train(course, RewardSettings(n_pairs=400), start=TINY_DIR, progress=False)
    assert trained.source.startswith("400 pairs labelled by the gold annotator")
    report = evaluate(trained.model, trained.tokenizer, held_out_pairs(300), GoldAnnotator("riley"))
    assert report["expected_accuracy"] >= 0.6, report
    assert report["expected_accuracy"] <= report["bayes_accuracy"] + 1e-9
    assert trained.losses[-1] < trained.losses[0]


def test_the_reward_heads_start_depends_on_its_seed_not_on_what_ran_before(tokenizer):
    """Notebook 04 and `rlhf-tutor run` must train the same reward model: the fresh score head is
    drawn from the settings' seed, and drawing it leaves the caller's random state alone."""
    from tutor.reward import init_reward_model

    torch.manual_seed(123)
    first = init_reward_model(TINY_DIR, tokenizer, seed=0).score.weight.detach().clone()
    after_first = torch.rand(1)
    torch.manual_seed(456)
    torch.rand(10)  # other work in the same process
    second = init_reward_model(TINY_DIR, tokenizer, seed=0).score.weight.detach()
    other_seed = init_reward_model(TINY_DIR, tokenizer, seed=1).score.weight.detach()
    assert torch.equal(first, second)
    assert not torch.equal(first, other_seed)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(1), after_first)  # the caller's stream did not move


def test_other_trainer_settings_reach_the_reward_trainer(course):
    from tutor.reward import train

    trained = train(course, RewardSettings(n_pairs=16), start=TINY_DIR, progress=False,
                    trainer_options={"weight_decay": 0.1})
    assert trained.trainer.args.weight_decay == 0.1


def test_the_learners_own_labels_are_used_when_there_are_enough(course):
    from tutor.labeling import LabelStore
    from tutor.reward import train
    from tutor.world import candidate_pairs

    pairs = candidate_pairs(24, seed=5)
    store = LabelStore(course.runs / "labels" / "you.jsonl", annotator_id="you", pair_set=pairs)
    judge = GoldAnnotator("quinn", seed=1)
    for pair in pairs:
        store.add(pair, "a" if judge.label(*pair) else "b")
    try:
        trained = train(course, RewardSettings(), start=TINY_DIR, progress=False)
    finally:
        (course.runs / "labels" / "you.jsonl").unlink()
    assert trained.source == "your 24 labels from notebook 03" and trained.n_train == 24


# --------------------------------------------------------------------------- notebook helpers


def test_what_it_learned_puts_a_perfect_model_on_the_gold_column():
    from tutor.reward import what_it_learned

    judge = GoldAnnotator("riley")
    pairs = held_out_pairs(60)
    prompts = [p for p, _, _ in pairs]
    texts = [a for _, a, _ in pairs]
    table = what_it_learned(prompts, texts, judge.scores(prompts, texts))
    assert (table["reward model"] == table["gold (riley)"]).all()
    assert table.loc["gold (riley)", "reward model"] == 1.0
    assert table.loc["myths", "gold (riley)"] < 0  # Riley dislikes wrong answers


def test_accuracy_by_clarity_of_the_gold_scores_is_the_ceiling():
    from tutor.reward import accuracy_by_clarity

    judge = GoldAnnotator("riley")
    pairs = held_out_pairs(200)
    table = accuracy_by_clarity(pairs, [judge.score(p, a) for p, a, _ in pairs], [judge.score(p, b) for p, _, b in pairs], judge)
    assert table["pairs"].sum() == 200
    assert (table["reward model"] - table["ceiling"]).abs().max() < 1e-3


def test_held_out_report_reads_the_stage_scores(course):
    """The stage writes held_out.json; the notebook reads the same report back without scoring."""
    import json

    from tutor.reward import held_out_report
    from tutor.stages import folder

    judge = GoldAnnotator("riley")
    pairs = held_out_pairs(50)
    where = folder(course, "reward")
    where.mkdir(parents=True, exist_ok=True)
    (where / "metrics.json").write_text(json.dumps({"stage": "reward", "fast": True, "metrics": {}}))
    scores = {"scores_a": [judge.score(p, a) for p, a, _ in pairs], "scores_b": [judge.score(p, b) for p, _, b in pairs]}
    (where / "held_out.json").write_text(json.dumps({"persona": "riley", "label_temperature": None, **scores}))
    try:
        got_pairs, report, annotator = held_out_report(course)
    finally:
        for name in ("metrics.json", "held_out.json"):
            (where / name).unlink()
    assert got_pairs == pairs and annotator.persona.name == "riley"
    assert report["expected_accuracy"] == pytest.approx(report["bayes_accuracy"])
