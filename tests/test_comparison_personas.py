"""One SFT model, two people: one round of DPO for Riley and for Quinn on the same answers."""

import random
import shutil

import pytest

import tutor
from tutor import TutorError, dpo, stages
from tutor.core.sampling import Samples
from tutor.labs import comparison
from tutor.world import PERSONAS, QUINN, Style, compose, parse_prompt

PROMPTS = ["Explain convexity for a quant.", "I am new to investing. What is duration?", "Explain convexity."]


def _answers(style):
    rng = random.Random(0)
    return [compose(parse_prompt(p), style, rng) for p in PROMPTS]


def test_persona_table_shows_each_persona_prefers_its_own_style():
    riley_style = Samples(PROMPTS, _answers(Style("polite", "concise", "retail")), [True] * 3)
    quinn_style = Samples(PROMPTS, _answers(Style("curt", "verbose", "quant")), [True] * 3)
    table = comparison.persona_table({"riley-like": riley_style, "quinn-like": quinn_style})
    assert table.loc["riley-like", "Riley's score"] > table.loc["quinn-like", "Riley's score"]
    assert table.loc["quinn-like", "Quinn's score"] > table.loc["riley-like", "Quinn's score"]


def test_persona_runs_rank_one_set_of_answers_twice_and_train_a_model_on_each(tmp_path, monkeypatch):
    """Notebook 07's "one SFT model, two people", FAST: the answers are sampled once, Riley and Quinn
    rank them differently, each ranking trains its own model, and a second call reads the cache."""
    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    course = tutor.setup(FAST=True, quiet=True)
    sampled = []
    real = dpo.pairs.sample_answers
    monkeypatch.setattr(dpo.pairs, "sample_answers", lambda *a, **kw: sampled.append(1) or real(*a, **kw))
    runs = comparison.persona_runs(course, ("riley", "quinn"), quiet=True)
    assert sampled == [1]  # one set of answers for both people
    assert len(runs["riley"]["choices"]) == len(runs["quinn"]["choices"]) == dpo.DPOSettings.for_mode(True).n_pairs
    agree = comparison.same_choices(runs["riley"], runs["quinn"])
    assert 0 <= agree["same chosen"] < 0.9 and agree["reversed"] > 0
    assert [runs[p]["metrics"]["settings"]["persona"] for p in ("riley", "quinn")] == ["riley", "quinn"]
    assert comparison.run_samples(runs["riley"]).texts != comparison.run_samples(runs["quinn"]).texts
    assert comparison.persona_runs(course, ("riley", "quinn"), quiet=True) == runs and sampled == [1]  # cached


def test_same_choices_needs_two_rankings_of_the_same_answers():
    with pytest.raises(TutorError, match="ranked from the same answers"):
        comparison.same_choices({"choices": [[0, 1]]}, {"choices": [[0, 1], [1, 0]]})


def test_the_riley_persona_run_is_the_dpo_stages_first_round(tmp_path, monkeypatch):
    """Riley's one-round model is the DPO stage's round 1 (same answers, ranking, settings, seed),
    so 07 reads it from the stage instead of training it again: only Quinn trains, and what it reads
    equals what training Riley afresh writes."""
    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    course = tutor.setup(FAST=True, quiet=True)
    with pytest.raises(TutorError, match="DPO stage has not been trained"):
        comparison.stage_round_win_rates(course)
    stages.ensure(course, "dpo", quiet=True)
    trained = []
    real = dpo.build_stage
    monkeypatch.setattr(
        dpo,
        "build_stage",
        lambda course, where, **kw: trained.append(kw["settings"].persona) or real(course, where, **kw),
    )
    runs = comparison.persona_runs(course, ("riley", "quinn"), quiet=True)
    assert trained == ["quinn"]
    first_round = stages.read_metrics(course, "dpo")["metrics"]["rounds"][0]
    assert runs["riley"]["metrics"]["gold_win_rate_vs_sft"] == first_round["gold_win_rate_vs_sft"]
    assert comparison.stage_round_win_rates(course)[0] == first_round["gold_win_rate_vs_sft"]
    reused = comparison.run_samples(runs["riley"]).texts
    shutil.rmtree(comparison.persona_folder(course, "riley"))
    shutil.rmtree(stages.folder(course, "dpo") / "rounds")  # no round 1 to read: Riley trains
    again = comparison.persona_runs(course, ("riley", "quinn"), quiet=True)
    assert trained == ["quinn", "riley"]
    assert comparison.run_samples(again["riley"]).texts == reused
    assert again["riley"]["metrics"]["gold_win_rate_vs_sft"] == pytest.approx(first_round["gold_win_rate_vs_sft"])
    # A person whose taste changed (here, Quinn caring more for reasons) is not answered by the old run.
    monkeypatch.setitem(PERSONAS, "quinn", QUINN.with_(reasoning=QUINN.reasoning + 1))
    comparison.persona_runs(course, ("riley", "quinn"), quiet=True)
    assert trained == ["quinn", "riley", "quinn"]
    assert again["riley"]["choices"] == runs["riley"]["choices"]
