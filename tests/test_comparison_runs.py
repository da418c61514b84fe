"""The comparison's runs: the cache, the stage standing in for seed 0, and the one child process
that trains every missing run (`python -m tutor.labs.comparison`)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

import tutor
from tutor import TutorError, stages
from tutor.labs import comparison
from tutor.labs.comparison import runs
from tutor.labs.comparison.__main__ import main


def _fake_record(method, seed):
    return {
        "method": method,
        "seed": seed,
        "seconds": 5.0,
        "peak_rss_mb": None,
        "fast": True,
        "metrics": {"gold_win_rate_vs_sft": 0.5 + seed / 10, "kl": 1.0},
    }


def test_unknown_method_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    course = tutor.setup(FAST=True, quiet=True)
    with pytest.raises(TutorError, match="Unknown method 'grpo'"):
        comparison.runs_for(course, "grpo", [1])


def test_missing_runs_of_both_methods_train_in_one_child_process_and_come_back_in_order(tmp_path, monkeypatch):
    """Start-up (importing torch, transformers, TRL) is paid once for all missing runs, not once per
    method or per seed; runs already cached are not trained again; a missing stage (seed 0) is built
    in the child too, so the notebook's kernel stays small while the child trains."""
    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    course = tutor.setup(FAST=True, quiet=True)
    calls = []

    def fake_run(cmd, **kwargs):
        specs = cmd[cmd.index("tutor.labs.comparison") + 1 : cmd.index("--persona")]
        calls.append(specs)
        for method, seed in (spec.split(":") for spec in specs):
            record = _fake_record(method, int(seed))
            if seed == "0":  # the stage itself, where stages.build saves it
                stages.folder(course, method).mkdir(parents=True, exist_ok=True)
                (stages.folder(course, method) / "metrics.json").write_text(json.dumps(record))
                continue
            where = comparison.run_folder(course, method, int(seed))
            where.mkdir(parents=True, exist_ok=True)
            (where / "record.json").write_text(json.dumps(record))
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(runs.subprocess, "run", fake_run)
    monkeypatch.setattr(
        stages, "ensure", lambda *a, **kw: pytest.fail("a missing stage is built in the child, not here")
    )
    assert [r["seed"] for r in comparison.runs_for(course, "ppo", [1], quiet=True)] == [1]
    all_runs = comparison.all_runs(course, ("dpo", "ppo"), [2, 1, 0], quiet=True)
    assert calls == [["ppo:1"], ["dpo:2", "dpo:1", "dpo:0", "ppo:2", "ppo:0"]]  # one child; PPO seed 1 was cached
    assert [[r["seed"] for r in all_runs[m]] for m in ("dpo", "ppo")] == [[2, 1, 0], [2, 1, 0]]
    assert all_runs["ppo"][2]["folder"] == str(stages.folder(course, "ppo"))
    assert comparison.runs_for(course, "dpo", [1, 2], quiet=True)[0]["metrics"][
        "gold_win_rate_vs_sft"
    ] == pytest.approx(0.6)
    assert len(calls) == 2  # all cached now: no further child


def test_the_child_finds_the_package_it_was_started_from(tmp_path, monkeypatch):
    """The child runs `-m tutor.labs.comparison` with this package's parent folder first on its path."""
    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    course = tutor.setup(FAST=True, quiet=True)
    seen = {}
    monkeypatch.setattr(
        runs.subprocess,
        "run",
        lambda cmd, env, **kw: seen.update(cmd=cmd, env=env) or subprocess.CompletedProcess(cmd, 0, "", ""),
    )
    runs.train_in_child_process(course, [("dpo", 1)], "riley", quiet=True)
    assert seen["cmd"][1:4] == ["-m", "tutor.labs.comparison", "dpo:1"]
    first = seen["env"]["PYTHONPATH"].split(os.pathsep)[0]
    assert (Path(first) / "tutor" / "labs" / "comparison" / "__main__.py").exists()
    assert Path(first) == Path(tutor.__file__).resolve().parents[1]


def test_a_failing_child_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    course = tutor.setup(FAST=True, quiet=True)
    monkeypatch.setattr(
        runs.subprocess,
        "run",
        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 2, "", "error: the SFT stage is missing"),
    )
    with pytest.raises(
        TutorError,
        match=r"Training DPO seeds 1, 2 and PPO seeds 1, 2 \(riley\) failed: error: the SFT stage is missing",
    ):
        comparison.all_runs(course, ("dpo", "ppo"), [1, 2], quiet=True)


def test_a_record_of_the_other_mode_is_not_reused(tmp_path):
    (tmp_path / "record.json").write_text(json.dumps({"fast": False, "seed": 1}))
    assert runs.read_record(tmp_path, fast=True) is None
    assert runs.read_record(tmp_path, fast=False) == {"fast": False, "seed": 1}
    (tmp_path / "record.json").write_text(json.dumps({"fast": True, "seed": 1}))
    assert runs.read_record(tmp_path, fast=False) is None


def test_the_child_entry_point_trains_and_records_each_seed(tmp_path, monkeypatch):
    """`python -m tutor.labs.comparison dpo:1 dpo:2` as notebook 07 runs it (here in this process,
    FAST): one record per seed, each with its own run's numbers and a peak memory figure."""
    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    assert main(["dpo:1", "dpo:2", "--runs", str(tmp_path), "--fast"]) == 0
    course = tutor.setup(FAST=True, quiet=True)
    records = [json.loads((comparison.run_folder(course, "dpo", s) / "record.json").read_text()) for s in (1, 2)]
    assert [r["seed"] for r in records] == [1, 2] and all(r["fast"] for r in records)
    assert all(r["peak_rss_mb"] >= r["rss_before_mb"] > 0 for r in records)
    assert all(r["metrics"]["settings"]["seed"] == s for r, s in zip(records, (1, 2), strict=True))
    assert all((Path(r["folder"]) / "samples.jsonl").exists() for r in records)
    assert comparison.runs_for(course, "dpo", [1, 2], quiet=True) == records  # cached: read back, not retrained
