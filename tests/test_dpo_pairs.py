"""DPO's pairs: a persona ranks sampled answers its own way, the SFT model's answers are kept for
reuse, and a round's data says what it is (the learner's labels or ranked answers)."""

import random

import pytest
import torch

import tutor
from tutor import dpo, stages
from tutor.core.chat import message_text
from tutor.core.models import load_causal_lm, load_tokenizer, save
from tutor.dpo import pairs as dpo_pairs
from tutor.preferences import gold_dataset
from tutor.world import Style, compose, parse_prompt, prompts_for


def test_each_persona_ranks_the_same_answers_its_own_way():
    """Given the same answers, Riley's pairs choose the short plain one and Quinn's the thorough
    technical one: the data, not the model, is where two people's preferences first differ."""
    asked = [p.text for p in prompts_for("train") if p.kind != "advice" and p.audience is None][:12]
    rng = random.Random(0)
    plain = [compose(parse_prompt(p), Style("polite", "concise", "retail"), rng) for p in asked]
    technical = [compose(parse_prompt(p), Style("curt", "verbose", "quant"), rng) for p in asked]
    answers = dpo.Answers(asked, [plain, technical], seed=0)
    riley, quinn = dpo.best_and_worst(answers, "riley"), dpo.best_and_worst(answers, "quinn")
    assert sum(pick == (0, 1) for pick in riley) >= 10
    assert sum(pick == (1, 0) for pick in quinn) >= 10
    pairs = dpo.rank_answers(answers, "riley", riley)
    assert [message_text(r["chosen"]) for r in pairs] == [answers.answers[b][i] for i, (b, _) in enumerate(riley)]
    assert dpo.best_and_worst(answers, "riley") == riley  # the same seed ranks the same way again


def test_sft_answers_are_sampled_once_and_resampled_when_the_sft_model_changes(tmp_path, monkeypatch):
    """Round 1 of every DPO run with one seed ranks the SFT model's answers: they are kept with the
    SFT stage (06's pairs, the stage 06 builds and 07's two-persona section share them), the same
    answers as sampling afresh, and sampled again once the SFT model is another one."""
    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    course = tutor.setup(FAST=True, quiet=True)
    sampled = []
    real = dpo.sample_answers
    monkeypatch.setattr(dpo_pairs, "sample_answers", lambda *a, **kw: sampled.append(1) or real(*a, **kw))
    first = dpo.sft_answers(course, 6, seed=3, k=3)
    again = dpo.sft_answers(course, 6, seed=3, k=3)
    assert sampled == [1] and again.kept and not first.kept
    assert (
        again.answers == first.answers
        and again.asked == first.asked
        and again.seconds == pytest.approx(first.seconds, abs=0.01)
    )
    sft = stages.ensure(course, "sft")
    fresh = real(load_causal_lm(sft), load_tokenizer(sft), 6, seed=3, k=3)
    assert fresh.answers == first.answers  # keeping them changes nothing about which answers they are
    settings = dpo.DPOSettings.for_mode(True, n_pairs=6, answers_per_prompt=3)
    data = dpo.training_data(course, settings, use_learner_labels=False, seed=3)
    assert sampled == [1] and list(data.pairs) == list(dpo.rank_answers(first, settings.persona))
    assert (
        not data.from_learner and data.answers.kept and data.labels_per_pair == 3
    )  # 3 answers ranked: 3 comparisons a pair
    other = load_causal_lm(sft)
    with torch.no_grad():
        other.model.norm.weight.mul_(1.5)  # another SFT model in the same folder
    save(other, load_tokenizer(sft), sft)
    assert not dpo.sft_answers(course, 6, seed=3, k=3).kept and sampled == [1, 1]


@pytest.mark.parametrize("data", ["on_policy", "gold"])
def test_the_learners_labels_say_they_are_the_learners(fast_course, monkeypatch, data):
    """Enough notebook-03 labels replace either source of pairs, and the round's data says so (not
    its description): one comparison a pair, nothing sampled."""
    labels = gold_dataset(24, seed=4)
    monkeypatch.setattr(dpo_pairs, "learner_dataset", lambda runs: labels)
    settings = dpo.DPOSettings.for_mode(True, data=data)
    mine = dpo.training_data(fast_course, settings)
    assert mine.from_learner and mine.pairs is labels and mine.answers is None and mine.labels_per_pair == 1
    assert mine.source == "your 24 labels from notebook 03"


def test_gold_pairs_are_the_annotators(fast_course):
    settings = dpo.DPOSettings.for_mode(True, data="gold")
    gold = dpo.training_data(fast_course, settings, use_learner_labels=False)
    assert not gold.from_learner and gold.answers is None and gold.labels_per_pair == 1
    assert len(gold.pairs) == settings.n_pairs and gold.source.endswith("labelled by the gold annotator (riley)")
