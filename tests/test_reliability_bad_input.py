"""Bad input gets one sentence (a TutorError naming the setting and what it accepts), never a library
traceback: settings, setup(), preference rows, and the command lines (run, pretrain, the merge)."""

from __future__ import annotations

import dataclasses
import math
import os

import pytest

import tutor
from tutor.cli import main as cli
from tutor.core.chat import as_conversational
from tutor.dpo.config import DPOSettings
from tutor.errors import TutorError
from tutor.labeling import LabelStore, PreferenceLabeler
from tutor.labeling.classroom import main as merge_cli
from tutor.preferences import check_preference_rows, to_dataset
from tutor.reward.config import RewardSettings
from tutor.sft import SFTSettings
from tutor.world import candidate_pairs

BAD_NUMBERS = [-1.0, 0.0, math.nan, math.inf, -math.inf, "1e-3", None, True]


@pytest.mark.parametrize("settings", [SFTSettings, RewardSettings], ids=lambda s: s.__name__)
@pytest.mark.parametrize("name", ["learning_rate", "epochs"])
@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
def test_training_settings_refuse_bad_rates_and_epochs(settings, name, value):
    with pytest.raises(TutorError, match=rf"^{settings.__name__}\.{name} must be a finite number > 0, got"):
        settings(**{name: value})


@pytest.mark.parametrize("settings", [SFTSettings, RewardSettings, DPOSettings], ids=lambda s: s.__name__)
def test_a_batch_of_zero_is_refused_also_through_replace(settings):
    with pytest.raises(TutorError, match=rf"{settings.__name__}\.batch_size must be a whole number ≥ 1, got 0"):
        dataclasses.replace(settings(), batch_size=0)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"beta": math.inf}, "DPOSettings.beta must be a finite number > 0, got inf"),
        ({"beta": "0.1"}, "DPOSettings.beta must be a finite number > 0, got '0.1'"),
        ({"rounds": math.nan}, "DPOSettings.rounds must be a whole number ≥ 1, got nan"),
        ({"rounds": "3"}, "DPOSettings.rounds must be a whole number ≥ 1, got '3'"),
    ],
)
def test_dpo_settings_refuse_infinite_string_and_nan_values(changes, message):
    with pytest.raises(TutorError, match=message):
        DPOSettings(**changes)


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv("TUTOR_FAST", raising=False)
    return tmp_path / "runs"


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0", True])
def test_setup_refuses_a_seed_numpy_and_torch_cannot_take(runs, seed):
    with pytest.raises(TutorError, match="seed must be a whole number from 0 to 4294967295"):
        tutor.setup(seed=seed, quiet=True)


@pytest.mark.parametrize("fast", ["no", "False", 0, 1, "yes"])
def test_setup_refuses_a_fast_that_is_not_true_or_false(runs, fast):
    with pytest.raises(TutorError, match="FAST must be True or False"):
        tutor.setup(FAST=fast, quiet=True)


def test_setup_reads_tutor_fast_strictly(runs, monkeypatch):
    for value, fast in (("1", True), ("on", True), ("0", False), ("off", False), ("", False)):
        monkeypatch.setenv("TUTOR_FAST", value)
        assert tutor.setup(FAST=False, quiet=True).fast is fast
    monkeypatch.setenv("TUTOR_FAST", "maybe")
    with pytest.raises(TutorError, match="TUTOR_FAST is 'maybe'; set it to 1"):
        tutor.setup(quiet=True)


TEXT_ROW = {"prompt": "Explain duration.", "chosen": "Rate sensitivity.", "rejected": "Whatever."}
CHAT_ROW = as_conversational("What is a coupon?", chosen="The interest a bond pays.", rejected="No idea.")


@pytest.mark.parametrize(
    "rows, message",
    [
        (None, "Preference data must be a list of rows"),
        (42, "Preference data must be a list of rows"),
        ("prompt,chosen,rejected", "Preference data must be a list of rows"),
        ([TEXT_ROW, CHAT_ROW], "Preference row 1 is chat messages but row 0 is plain text"),
        ([CHAT_ROW, TEXT_ROW], "Preference row 1 is plain text but row 0 is chat messages"),
        ([{**CHAT_ROW, "prompt": "Explain duration."}], "Preference row 0 mixes plain text and chat messages"),
        ([TEXT_ROW, "a row"], "Preference row 1 is 'a row', not a dict"),
        ([{**TEXT_ROW, "chosen": 3}], "Preference row 0's 'chosen' is 3; give a string or a list of chat messages"),
        ([{**TEXT_ROW, "chosen": [{"text": "x"}]}], "Preference row 0's 'chosen' is"),
    ],
)
def test_bad_preference_data_is_one_sentence(rows, message):
    with pytest.raises(TutorError, match=message):
        check_preference_rows(rows)
    with pytest.raises(TutorError, match=message):
        to_dataset(rows)  # never pyarrow's error


def test_cli_run_refuses_empty_stages_naming_the_accepted_ones(capsys):
    for stages in ("", " ", ",", "sft,,dpo"):
        assert cli(["run", "--stages", stages]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "names no stage" in err and "base, sft, reward, ppo, dpo" in err


def test_cli_pretrain_refuses_zero_steps_and_an_existing_or_unwritable_out(tmp_path, capsys):
    assert cli(["pretrain", "--out", str(tmp_path / "model"), "--steps", "0"]) == 2
    assert "PretrainSettings.steps must be a whole number ≥ 1, got 0" in capsys.readouterr().err
    (tmp_path / "taken").mkdir()
    assert cli(["pretrain", "--out", str(tmp_path / "taken"), "--steps", "1"]) == 2
    assert "is an existing folder; give the name of a new folder" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert cli(["pretrain", "--out", str(tmp_path / "file" / "model"), "--steps", "1"]) == 2
    assert "Cannot write --out" in capsys.readouterr().err


def labelled_file(path, n=3, by="human"):
    labeler = PreferenceLabeler(candidate_pairs(n, seed=4), path, "ada", double_click_s=0)
    if by == "simulated":
        labeler.simulate("riley")
    else:
        for _ in range(n):
            labeler.click("left")
    return path


def test_the_merge_command_on_an_empty_file_says_so(tmp_path, capsys):
    LabelStore(tmp_path / "class" / "ada.jsonl", "ada")  # created, never labelled
    assert merge_cli([str(tmp_path / "class")]) == 2
    out = capsys.readouterr().out
    assert "TutorError: There are no labels to merge in ada.jsonl" in out and "Traceback" not in out


def test_the_merge_command_on_an_all_simulated_file_with_humans_only_says_so(tmp_path, capsys):
    labelled_file(tmp_path / "class" / "ada.jsonl", by="simulated")
    assert merge_cli([str(tmp_path / "class"), "--humans-only"]) == 2
    out = capsys.readouterr().out
    assert "all 3 label(s) were made by the simulated annotator, which --humans-only leaves out" in out


def test_the_merge_command_refuses_an_existing_or_unwritable_out_before_merging(tmp_path, capsys):
    folder = labelled_file(tmp_path / "class" / "ada.jsonl").parent
    (tmp_path / "done").mkdir()
    assert merge_cli([str(folder), "--out", str(tmp_path / "done")]) == 2
    assert "--out" in capsys.readouterr().out and not list((tmp_path / "done").iterdir())
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        if os.access(locked, os.W_OK):  # root can write anywhere: use a path under a file instead
            target = tmp_path / "class" / "ada.jsonl" / "out"
        else:
            target = locked / "out"
        assert merge_cli([str(folder), "--out", str(target)]) == 2
        assert "TutorError: Cannot write --out" in capsys.readouterr().out
    finally:
        os.chmod(locked, 0o700)
    assert merge_cli([str(folder), "--top", "-1"]) == 2
    assert "--top must be a whole number ≥ 0" in capsys.readouterr().out
