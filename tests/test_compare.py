"""PPO vs DPO comparison helpers: code counting, the change axes, seed statistics, the table."""

import json
import random
import shutil
from pathlib import Path

import pytest

from tutor import TutorError, compare
from tutor.core.sampling import Samples
from tutor.world import Style, compose, parse_prompt


def test_code_lines_skips_blanks_comments_and_docstrings(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(
        '"""Module docstring\nover two lines."""\n\n'
        "import os  # a comment\n"
        "# a whole-line comment\n"
        "def f(x):\n"
        '    """Doc."""\n'
        "    y = (x +\n"
        "         1)\n"
        "    return y\n"
    )
    assert compare.code_lines(path) == 5  # import, def, two lines of y = ..., return


def test_implementation_lines_counts_our_dpo_module_and_trl():
    lines = compare.implementation_lines()
    assert lines["dpo"]["ours"] > 50
    assert lines["dpo"]["library"] > lines["dpo"]["ours"]


def _answers(prompts, style):
    rng = random.Random(0)
    return [compose(parse_prompt(p), style, rng) for p in prompts]


PROMPTS = ["Explain convexity for a quant.", "I am new to investing. What is duration?", "Explain convexity."]


def test_changes_reads_the_styles_back():
    polite_fit = [
        compose(parse_prompt(PROMPTS[0]), Style("polite", "concise", "quant"), random.Random(1)),
        compose(parse_prompt(PROMPTS[1]), Style("polite", "concise", "retail"), random.Random(1)),
        compose(parse_prompt(PROMPTS[2]), Style("polite", "concise", "retail"), random.Random(1)),
    ]
    rude_misfit = [
        compose(parse_prompt(PROMPTS[0]), Style("rude", "verbose", "retail"), random.Random(1)),
        compose(parse_prompt(PROMPTS[1]), Style("rude", "verbose", "quant"), random.Random(1)),
        compose(parse_prompt(PROMPTS[2]), Style("rude", "verbose", "quant"), random.Random(1)),
    ]
    good, bad = compare.changes(PROMPTS, polite_fit), compare.changes(PROMPTS, rude_misfit)
    assert good["audience fit"] > 0.5 > -0.5 > bad["audience fit"]
    assert good["politeness"] > 0 > bad["politeness"]
    assert good["conciseness"] > bad["conciseness"]
    assert good["on topic"] == 1.0 and good["correctness"] == 1.0
    assert set(good) == set(compare.CHANGE_AXES)


def test_persona_table_shows_each_persona_prefers_its_own_style():
    riley_style = Samples(PROMPTS, _answers(PROMPTS, Style("polite", "concise", "retail")), [True] * 3)
    quinn_style = Samples(PROMPTS, _answers(PROMPTS, Style("curt", "verbose", "quant")), [True] * 3)
    table = compare.persona_table({"riley-like": riley_style, "quinn-like": quinn_style})
    assert table.loc["riley-like", "Riley's score"] > table.loc["quinn-like", "Riley's score"]
    assert table.loc["quinn-like", "Quinn's score"] > table.loc["riley-like", "Quinn's score"]


def _record(method, seed, win, kl, seconds, rss=None):
    return {"method": method, "seed": seed, "seconds": seconds, "peak_rss_mb": rss,
            "metrics": {"gold_win_rate_vs_sft": win, "kl": kl, "episodes": 960,
                        "parameters": {"policy": 10, "reference": 10, "reward": 10, "value": 10}}}


def test_summarise_gives_mean_and_sample_spread():
    s = compare.summarise([_record("dpo", i, w, 1.0, 10.0 + i, 500) for i, w in enumerate([0.6, 0.7, 0.8])])
    assert s["win"] == pytest.approx(0.7) and s["win_sd"] == pytest.approx(0.1)
    assert s["win_range"] == (0.6, 0.8) and s["seconds"] == pytest.approx(11.0) and s["peak_rss_mb"] == 500
    with pytest.raises(TutorError):
        compare.summarise([])


def test_comparison_table_fills_every_row_for_both_methods():
    dpo = [_record("dpo", i, 0.7 + 0.01 * i, 2.0, 30.0, 600) for i in range(3)]
    ppo = [_record("ppo", i, 0.6 + 0.05 * i, 4.0, 90.0, 900) for i in range(3)]
    reward = {"seconds": 20.0, "metrics": {"accuracy": 0.8}}
    table = compare.comparison_table(ppo, dpo, reward)
    assert list(table.columns) == ["PPO (RLHF)", "DPO"]
    for row in ("reward model", "RL loop", "stability (win-rate across seeds)", "compute cost (wall time)",
                "implementation (lines of code)", "models in memory", "gold win-rate over SFT", "KL to SFT (nats per answer)"):
        assert row in table.index and all(isinstance(v, str) and v for v in table.loc[row])
    assert "65% ± 5% over 3 seeds" in table.loc["stability (win-rate across seeds)", "PPO (RLHF)"]
    assert "900 MB" in table.loc["peak memory (training process)", "PPO (RLHF)"]
    assert "4:" in table.loc["models in memory", "PPO (RLHF)"] and "2:" in table.loc["models in memory", "DPO"]
    only_dpo = compare.comparison_table(None, dpo)
    assert list(only_dpo.columns) == ["DPO"]


def test_the_table_counts_the_annotator_labels_each_method_used():
    dpo = [_record("dpo", 0, 0.8, 5.0, 100.0)]
    dpo[0]["metrics"].update(rounds=[{"labels": 2400}] * 3, annotator_labels=7200)
    table = compare.comparison_table([_record("ppo", 0, 0.7, 3.0, 40.0)], dpo, {"seconds": 20.0, "metrics": {"n_train_pairs": 1000}})
    assert table.loc["annotator labels used", "PPO (RLHF)"].startswith("1000 ")
    assert table.loc["annotator labels used", "DPO"].startswith("7200 ")
    assert "3 rounds" in table.loc["RL loop", "DPO"]


def test_ranked_on_policy_rounds_record_every_comparison_asked(tmp_path, monkeypatch):
    """k answers ranked by all their pairwise labels cost k·(k−1)/2 labels per training pair."""
    import tutor
    from tutor import dpo

    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    course = tutor.setup(FAST=True, quiet=True)
    settings = dpo.DPOSettings.for_mode(True, n_pairs=8, rounds=2, epochs=0.25, answers_per_prompt=3, use_learner_labels=False)
    from tutor.core.models import TINY_DIR

    run = dpo.train(course, settings, start=TINY_DIR, progress=False)
    assert [r["labels"] for r in run.rounds] == [r["pairs"] * 3 for r in run.rounds]


def test_unknown_method_is_a_clear_error(tmp_path, monkeypatch):
    import tutor

    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    course = tutor.setup(FAST=True, quiet=True)
    with pytest.raises(TutorError, match="Unknown method 'grpo'"):
        compare.runs_for(course, "grpo", [1])


def test_changes_figure_has_one_bar_group_per_model():
    rows = {"A": dict.fromkeys(compare.CHANGE_AXES, 0.5), "B": dict.fromkeys(compare.CHANGE_AXES, -0.5)}
    fig = compare.changes_figure(rows)
    assert [t.name for t in fig.data] == ["A", "B"]
    assert list(fig.data[0].x) == list(compare.CHANGE_AXES)


def test_missing_runs_of_both_methods_train_in_one_child_process_and_come_back_in_order(tmp_path, monkeypatch):
    """Start-up (importing torch, transformers, TRL) is paid once for all missing runs, not once per
    method or per seed; runs already cached are not trained again; a missing stage (seed 0) is built
    in the child too, so the notebook's kernel stays small while the child trains."""
    import subprocess

    import tutor
    from tutor import stages

    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    course = tutor.setup(FAST=True, quiet=True)
    monkeypatch.setattr(compare, "available", lambda method: True)
    calls = []

    def fake_run(cmd, **kwargs):
        specs = cmd[cmd.index("tutor.compare") + 1 : cmd.index("--persona")]
        calls.append(specs)
        for method, seed in (spec.split(":") for spec in specs):
            record = {**_record(method, int(seed), 0.5 + int(seed) / 10, 1.0, 5.0), "fast": True}
            if seed == "0":  # the stage itself, where stages.build saves it
                stages.folder(course, method).mkdir(parents=True, exist_ok=True)
                (stages.folder(course, method) / "metrics.json").write_text(json.dumps(record))
                continue
            where = compare.run_folder(course, method, int(seed))
            where.mkdir(parents=True, exist_ok=True)
            (where / "record.json").write_text(json.dumps(record))
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(compare.subprocess, "run", fake_run)
    monkeypatch.setattr(stages, "ensure", lambda *a, **kw: pytest.fail("a missing stage is built in the child, not here"))
    assert [r["seed"] for r in compare.runs_for(course, "ppo", [1], quiet=True)] == [1]
    runs = compare.all_runs(course, ("dpo", "ppo"), [2, 1, 0], quiet=True)
    assert calls == [["ppo:1"], ["dpo:2", "dpo:1", "dpo:0", "ppo:2", "ppo:0"]]  # one child; PPO seed 1 was cached
    assert [[r["seed"] for r in runs[m]] for m in ("dpo", "ppo")] == [[2, 1, 0], [2, 1, 0]]
    assert runs["ppo"][2]["folder"] == str(stages.folder(course, "ppo"))
    assert compare.runs_for(course, "dpo", [1, 2], quiet=True)[0]["metrics"]["gold_win_rate_vs_sft"] == pytest.approx(0.6)
    assert len(calls) == 2  # all cached now: no further child


def test_a_failing_child_is_one_clear_error(tmp_path, monkeypatch):
    import subprocess

    import tutor

    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    course = tutor.setup(FAST=True, quiet=True)
    monkeypatch.setattr(compare, "available", lambda method: True)
    monkeypatch.setattr(compare.subprocess, "run",
                        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 2, "", "error: the SFT stage is missing"))
    with pytest.raises(TutorError, match=r"Training DPO seeds 1, 2 and PPO seeds 1, 2 \(riley\) failed: error: the SFT stage is missing"):
        compare.all_runs(course, ("dpo", "ppo"), [1, 2], quiet=True)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="peak reset needs Linux /proc")
def test_peak_memory_restarts_for_each_run_in_one_process():
    """A child that trains two seeds reports each run's own peak, not the larger of the two."""
    big = bytearray(300 * 2**20)
    big[:: 4096] = b"x" * len(big[:: 4096])  # touch every page so it is resident
    del big
    before = compare._peak_rss_mb()
    compare._reset_peak()
    assert compare._peak_rss_mb() < before - 200


def test_the_child_entry_point_trains_and_records_each_seed(tmp_path, monkeypatch):
    """`python -m tutor.compare dpo:1 dpo:2` as notebook 07 runs it (here in this process, FAST):
    one record per seed, each with its own run's numbers and a peak memory figure."""
    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    assert compare.main(["dpo:1", "dpo:2", "--runs", str(tmp_path), "--fast"]) == 0
    import tutor

    course = tutor.setup(FAST=True, quiet=True)
    records = [json.loads((compare.run_folder(course, "dpo", s) / "record.json").read_text()) for s in (1, 2)]
    assert [r["seed"] for r in records] == [1, 2] and all(r["fast"] for r in records)
    assert all(r["peak_rss_mb"] >= r["rss_before_mb"] > 0 for r in records)
    assert all(r["metrics"]["settings"]["seed"] == s for r, s in zip(records, (1, 2), strict=True))
    assert all((Path(r["folder"]) / "samples.jsonl").exists() for r in records)
    assert compare.runs_for(course, "dpo", [1, 2], quiet=True) == records  # cached: read back, not retrained


def test_where_each_loses_finds_the_group_a_plain_writer_loses():
    """A model that writes plainly everywhere loses exactly where the question asks for a quant."""
    fitting = Samples(PROMPTS, _answers(PROMPTS[:1], Style("polite", "concise", "quant")) + _answers(PROMPTS[1:], Style("polite", "concise", "retail")), [True] * 3)
    plain = Samples(PROMPTS, _answers(PROMPTS, Style("polite", "concise", "retail")), [True] * 3)
    table = compare.where_each_loses({"SFT": fitting, "plain": plain})
    assert table[("plain", "win-rate")]["explain, asks for a quant"] == 0.0
    assert table[("plain", "written for quants")]["explain, asks for a quant"] == 0.0
    assert table[("SFT", "written for quants")]["explain, asks for a quant"] == 1.0
    assert list(table.columns.get_level_values(0).unique()) == ["plain", "SFT"]
    with pytest.raises(TutorError, match="baseline 'SFT'"):
        compare.where_each_loses({"plain": plain})


def test_persona_runs_rank_one_set_of_answers_twice_and_train_a_model_on_each(tmp_path, monkeypatch):
    """Notebook 07's "one SFT model, two people", FAST: the answers are sampled once, Riley and Quinn
    rank them differently, each ranking trains its own model, and a second call reads the cache."""
    import tutor
    from tutor import dpo

    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    course = tutor.setup(FAST=True, quiet=True)
    sampled = []
    real = dpo.sample_answers
    monkeypatch.setattr(dpo.pairs, "sample_answers", lambda *a, **kw: sampled.append(1) or real(*a, **kw))
    runs = compare.persona_runs(course, ("riley", "quinn"), quiet=True)
    assert sampled == [1]  # one set of answers for both people
    assert len(runs["riley"]["choices"]) == len(runs["quinn"]["choices"]) == dpo.DPOSettings.for_mode(True).n_pairs
    agree = compare.same_choices(runs["riley"], runs["quinn"])
    assert 0 <= agree["same chosen"] < 0.9 and agree["reversed"] > 0
    assert [runs[p]["metrics"]["settings"]["persona"] for p in ("riley", "quinn")] == ["riley", "quinn"]
    assert compare.run_samples(runs["riley"]).texts != compare.run_samples(runs["quinn"]).texts
    assert compare.persona_runs(course, ("riley", "quinn"), quiet=True) == runs and sampled == [1]  # cached


def test_same_choices_needs_two_rankings_of_the_same_answers():
    with pytest.raises(TutorError, match="ranked from the same answers"):
        compare.same_choices({"choices": [[0, 1]]}, {"choices": [[0, 1], [1, 0]]})


def test_the_riley_persona_run_is_the_dpo_stages_first_round(tmp_path, monkeypatch):
    """Riley's one-round model is the DPO stage's round 1 (same answers, ranking, settings, seed),
    so 07 reads it from the stage instead of training it again: only Quinn trains, and what it reads
    equals what training Riley afresh writes."""
    import tutor
    from tutor import dpo, stages

    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    course = tutor.setup(FAST=True, quiet=True)
    stages.ensure(course, "dpo", quiet=True)
    trained = []
    real = dpo.build_stage
    monkeypatch.setattr(dpo, "build_stage", lambda course, where, **kw: trained.append(kw["settings"].persona) or real(course, where, **kw))
    runs = compare.persona_runs(course, ("riley", "quinn"), quiet=True)
    assert trained == ["quinn"]
    first_round = stages.read_metrics(course, "dpo")["metrics"]["rounds"][0]
    assert runs["riley"]["metrics"]["gold_win_rate_vs_sft"] == first_round["gold_win_rate_vs_sft"]
    reused = compare.run_samples(runs["riley"]).texts
    shutil.rmtree(compare.persona_folder(course, "riley"))
    shutil.rmtree(stages.folder(course, "dpo") / "rounds")  # no round 1 to read: Riley trains
    again = compare.persona_runs(course, ("riley", "quinn"), quiet=True)
    assert trained == ["quinn", "riley"]
    assert compare.run_samples(again["riley"]).texts == reused
    assert again["riley"]["metrics"]["gold_win_rate_vs_sft"] == pytest.approx(first_round["gold_win_rate_vs_sft"])
    assert again["riley"]["choices"] == runs["riley"]["choices"]
