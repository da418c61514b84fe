"""The package's footing: conventions, the shipped model loading offline, sampling, the CLI."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tutor
from tutor import TutorError
from tutor.core.models import (
    TINY_DIR,
    count_parameters,
    load_causal_lm,
    load_reward_model,
)
from tutor.core.sampling import sample
from tutor.course import check_model, setup
from tutor.world import analyse, prompts_for

ROOT = Path(__file__).resolve().parents[1]


def test_setup_reads_fast_and_runs_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path / "r"))
    monkeypatch.setenv("TUTOR_FAST", "1")
    course = setup(FAST=False, MODEL="tiny", quiet=True)
    assert course.fast and course.runs == tmp_path / "r" and course.runs.is_dir()
    assert course.model_runs == tmp_path / "r" / "tiny-fast"  # FAST sketches never mix with full runs
    monkeypatch.setenv("TUTOR_FAST", "0")
    assert not setup(FAST=False, quiet=True).fast
    assert setup(FAST=False, quiet=True).model_runs == tmp_path / "r" / "tiny"
    assert setup(FAST=True, quiet=True).fast


def test_bad_model_and_runs_folder_are_one_clear_sentence(tmp_path, monkeypatch):
    with pytest.raises(TutorError, match='neither "tiny" nor a local folder'):
        check_model("HuggingFaceTB/SmolLM2-135M")  # a hub id: downloads are off
    with pytest.raises(TutorError, match='MODEL must be "tiny"'):
        check_model("")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("TUTOR_RUNS", str(blocker / "runs"))
    with pytest.raises(TutorError, match="not writable.*TUTOR_RUNS"):
        setup(quiet=True)


def test_a_local_model_folder_is_accepted(tmp_path):
    shutil.copytree(TINY_DIR, tmp_path / "my-model")
    assert check_model(str(tmp_path / "my-model")) == str((tmp_path / "my-model").resolve())


def test_shipped_model_loads_offline_as_plain_transformers(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(TINY_DIR)
    model = AutoModelForCausalLM.from_pretrained(TINY_DIR)
    assert 0.5e6 < count_parameters(model) < 5e6
    assert tok.pad_token_id != tok.eos_token_id
    assert (TINY_DIR / "model.safetensors").exists() and not list(TINY_DIR.glob("*.bin"))
    assert sum(p.stat().st_size for p in TINY_DIR.iterdir()) < 8e6


def test_chat_template_marks_the_answer_and_ends_it_with_eos(tiny_tokenizer):
    tok = tiny_tokenizer
    messages = [{"role": "user", "content": "Explain convexity."}, {"role": "assistant", "content": "It bends."}]
    text = tok.apply_chat_template(messages, tokenize=False)
    assert text == "<|user|>Explain convexity.<|assistant|>It bends.<|end|>"
    prompt = tok.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True)
    assert text.startswith(prompt)
    out = tok.apply_chat_template(messages, return_assistant_tokens_mask=True, return_dict=True)
    masked = [i for i, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tok.decode(masked).strip().startswith("It bends.") and masked[-1] == tok.eos_token_id


def test_base_model_writes_fluent_world_text(tiny_tokenizer, tiny_model):
    tok, model = tiny_tokenizer, tiny_model
    prompts = [p.text for p in prompts_for("test")][:20]
    samples = sample(model, tok, prompts, chat=False, max_new_tokens=96, seed=0)
    assert len(samples) == 20 and len(samples.ended) == 20
    fluent = sum(analyse(t, p).fluent for t, p in zip(samples.texts, prompts, strict=True))
    assert fluent >= 16  # the benchmark measures 50 samples against the 90 % target


def test_sampling_is_reproducible_with_a_seed(tiny_tokenizer, tiny_model):
    tok, model = tiny_tokenizer, tiny_model
    a = sample(model, tok, ["Explain duration."] * 3, chat=False, max_new_tokens=20, seed=5).texts
    b = sample(model, tok, ["Explain duration."] * 3, chat=False, max_new_tokens=20, seed=5).texts
    assert a == b


def test_corrupted_checkpoint_is_one_clear_sentence(tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(TINY_DIR, broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(TutorError, match="could not be loaded.*corrupted"):
        load_causal_lm(broken)
    with pytest.raises(TutorError, match="does not exist"):
        load_causal_lm(tmp_path / "nowhere")
    with pytest.raises(TutorError, match="one scalar"):
        from transformers import AutoModelForSequenceClassification

        AutoModelForSequenceClassification.from_pretrained(TINY_DIR, num_labels=3).save_pretrained(tmp_path / "rm3")
        load_reward_model(tmp_path / "rm3")


def _cli(*args, env_extra=None, runs=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    if runs is not None:
        env["TUTOR_RUNS"] = str(runs)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "tutor", *args], capture_output=True, text=True, env=env)


def test_cli_doctor_passes(tmp_path):
    proc = _cli("doctor", runs=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert all(line.startswith(("OK ", "All checks")) for line in lines)
    assert any("shipped tiny model loads offline" in line for line in lines)


def test_cli_doctor_reports_an_unwritable_runs_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = _cli("doctor", runs=blocker / "runs")
    assert proc.returncode == 1
    assert any(line.startswith("FAIL runs") for line in proc.stdout.splitlines())


def test_cli_run_base_stage_writes_summary(tmp_path):
    proc = _cli("run", "--fast", "--stages", "base", runs=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary) == {"base"}
    assert summary["base"]["seconds"] > 0 and 0 <= summary["base"]["fluent_rate"] <= 1
    assert (tmp_path / "report.md").read_text().startswith("# rlhf-tutor run")
    assert "fluent_rate=" in proc.stdout


def test_cli_bad_input_is_one_line(tmp_path):
    proc = _cli("run", "--model", "/no/such/model", runs=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "error:" in proc.stderr
    proc = _cli("run", "--stages", "rlhf", runs=tmp_path)
    assert proc.returncode == 2 and "Unknown stage 'rlhf'" in proc.stderr


def test_public_api_is_small():
    assert set(tutor.__all__) == {"Course", "TutorError", "__version__", "setup"}


def test_summary_tables_show_each_stage_and_ppo_beside_dpo():
    from tutor.cli import ppo_vs_dpo_table, summary_table

    summary = {
        "sft": {"seconds": 20.0, "follows_instruction_rate": 0.93, "eos_rate": 1.0},
        "ppo": {"seconds": 80.0, "gold_win_rate_vs_sft": 0.85, "kl": 3.2},
        "dpo": {"seconds": 40.0, "gold_win_rate_vs_sft": 0.9, "kl": 5.1},
    }
    table = summary_table(summary)
    assert "follows_instruction_rate=0.930" in table and "kl=5.100" in table
    comparison = ppo_vs_dpo_table(summary)
    assert "gold win-rate vs SFT     85%" in comparison and "90%" in comparison
    assert "no: one supervised loss" in comparison  # no rounds recorded: plain DPO
    summary["reward"] = {"n_train_pairs": 1000}
    summary["dpo"].update(rounds_trained=3, annotator_labels=1800)  # the summary keeps numbers only
    comparison = ppo_vs_dpo_table(summary)
    assert "1000 (reward model)" in comparison and "1800 (each round" in comparison and "3 rounds" in comparison
    assert ppo_vs_dpo_table({"sft": summary["sft"]}) is None
    same = {"seconds": 30.0, "gold_win_rate_vs_sft": 0.61, "kl": 1.5, "annotator_labels": 1000}
    lines = ppo_vs_dpo_table(summary, same).splitlines()
    assert lines[0].split() == ["PPO", "(RLHF)", "DPO", "(its", "recipe)", "DPO,", "PPO's", "labels"]
    win = next(line for line in lines if line.startswith("gold win-rate"))
    labels = next(line for line in lines if line.startswith("annotator labels"))
    assert win.split()[-3:] == ["85%", "90%", "61%"] and labels.rstrip().endswith("1000")


def test_run_trains_dpo_on_ppos_labels_only_when_the_reward_model_learned_the_gold_pairs(fast_course, monkeypatch):
    from tutor.cli import equal_label_dpo
    from tutor.labs.comparison import budget

    trained = []
    monkeypatch.setattr(
        budget, "arm_record", lambda course, arm: trained.append(arm) or {"seconds": 1.0, "metrics": {"kl": 0.1}}
    )
    summary = {"ppo": {}, "dpo": {}, "reward": {"source": "your 40 labels from notebook 03", "n_train_pairs": 40}}
    assert equal_label_dpo(fast_course, summary) is None and not trained
    summary["reward"]["source"] = "160 pairs labelled by the gold annotator (riley)"
    summary["reward"]["n_train_pairs"] = 160
    assert equal_label_dpo(fast_course, summary) == {"seconds": 1.0, "kl": 0.1}
    assert trained == [budget.Arm("offline", "dpo", 160, seed=fast_course.seed)]
    assert equal_label_dpo(fast_course, {"dpo": {}, "reward": summary["reward"]}) is None  # no PPO stage
