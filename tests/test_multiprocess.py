"""Every stage under a launcher with two processes, on the tiny model (`pytest -m multiprocess`).

tests/multiprocess_run.py trains each stage once with two processes (`accelerate launch
--multi_gpu --num_processes 2`, which runs on CPUs too: see course/scale.md) and once in a single
process with the same batch of the whole run. The ranks must end with the same weights, compute
different examples, and together compute what the single process computed. The unmarked tests
check the batch split and the refused launches without starting any process.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tutor.core.processes import per_process_batch
from tutor.errors import TutorError
from tutor.ppo import PPOSettings
from tutor.ppo.distributed import per_process_settings

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "multiprocess_run.py"
TRL_STAGES = ("sft", "reward", "dpo")
# Relative distance of the two-process weights from the single-process ones (measured: SFT 1.0e-7,
# reward 6.0e-8: float rounding; DPO 3.0e-4: TRL's NLL term is a mean over each process's own
# chosen-answer tokens, not over the whole batch's): benchmarks/results/multiprocess.json.
TOLERANCE = {"sft": 1e-5, "reward": 1e-5, "dpo": 3e-3}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    env.pop("WORLD_SIZE", None)
    env.pop("RANK", None)
    return {**env, **extra}


def launch(*args, how=("--multi_gpu", "--num_processes", "2"), timeout: int = 600, **env):
    """`accelerate launch` (started `how`) of `args`: a script, or -m and a module."""
    accelerate = Path(sys.executable).with_name("accelerate")
    command = [str(accelerate), "launch", *how, "--num_machines", "1", "--mixed_precision", "no"]
    command += ["--dynamo_backend", "no", "--main_process_port", str(free_port())]
    return subprocess.run(
        command + [str(a) for a in args],
        cwd=ROOT,
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def single(*args, timeout: int = 600):
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=timeout
    )


def ok(result) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


# --------------------------------------------------------------------------- without a launcher


def test_a_batch_splits_evenly_over_the_processes():
    assert per_process_batch(16, "SFTSettings.batch_size", processes=2) == 8
    assert per_process_batch(16, "SFTSettings.batch_size", processes=1) == 16
    settings = per_process_settings(PPOSettings(batch_size=16, mini_batch_size=8, calibration_samples=32), 2)
    assert (settings.batch_size, settings.mini_batch_size, settings.calibration_samples) == (8, 4, 16)
    with pytest.raises(TutorError, match="multiple of answers_per_prompt"):  # 6 episodes: not whole groups of 4
        per_process_settings(PPOSettings(batch_size=12, mini_batch_size=6, answers_per_prompt=4), 2)


def test_more_processes_than_the_batch_is_one_sentence():
    with pytest.raises(TutorError, match=r"4 processes are more than SFTSettings.batch_size \(2\)"):
        per_process_batch(2, "SFTSettings.batch_size", processes=4)
    with pytest.raises(TutorError, match="does not split evenly over 3 processes"):
        per_process_batch(16, "SFTSettings.batch_size", processes=3)
    with pytest.raises(TutorError, match="PPOSettings.mini_batch_size"):
        per_process_settings(PPOSettings(batch_size=8, mini_batch_size=1), 2)


def test_the_shipped_accelerate_configs_load():
    from accelerate.commands.config.config_args import load_config_from_file

    kinds = {
        name: load_config_from_file(str(ROOT / "configs" / "accelerate" / f"{name}.yaml"))
        for name in ("ddp", "zero2", "zero3")
    }
    assert str(kinds["ddp"].distributed_type).endswith("MULTI_GPU")
    for name, stage in (("zero2", 2), ("zero3", 3)):
        assert str(kinds[name].distributed_type).endswith("DEEPSPEED")
        assert kinds[name].deepspeed_config["zero_stage"] == stage


def test_our_ppo_refuses_deepspeed_in_one_sentence():
    from types import SimpleNamespace

    from tutor.ppo.distributed import check_engine

    check_engine(SimpleNamespace(distributed_type="DistributedType.MULTI_CPU"))
    with pytest.raises(TutorError, match="Our PPO cannot run under DEEPSPEED.*ddp.yaml"):
        check_engine(SimpleNamespace(distributed_type="DistributedType.DEEPSPEED"))


# --------------------------------------------------------------------------- launched


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each stage trained with two processes, in one process, and PPO in one process on another seed."""
    root = tmp_path_factory.mktemp("multiprocess")
    ok(launch(SCRIPT, "--out", root / "two"))
    ok(single(SCRIPT, "--out", root / "one"))
    ok(single(SCRIPT, "--stages", "ppo", "--seed", "1", "--out", root / "one-seed1"))
    return root


def weights(folder: Path, stage: str, rank: int = 0) -> dict:
    return load_file(str(folder / f"{stage}-rank{rank}.safetensors"))


def record(folder: Path, stage: str, rank: int = 0) -> dict:
    return json.loads((folder / f"{stage}-rank{rank}.json").read_text())


def relative_distance(a: dict, b: dict) -> float:
    diff = torch.cat([(a[k] - b[k]).flatten() for k in sorted(a)])
    return float(diff.norm() / torch.cat([b[k].flatten() for k in sorted(b)]).norm())


def update(folder: Path, start: dict) -> torch.Tensor:
    """How far PPO moved the policy's weights from the shipped model."""
    w = weights(folder, "ppo")
    return torch.cat([(w[k] - start[k]).flatten() for k in sorted(start)])


@pytest.mark.multiprocess
@pytest.mark.parametrize("stage", [*TRL_STAGES, "ppo"])
def test_the_ranks_end_with_identical_weights(runs, stage):
    assert record(runs / "two", stage)["processes"] == 2
    a, b = weights(runs / "two", stage, 0), weights(runs / "two", stage, 1)
    assert max(float((a[k] - b[k]).abs().max()) for k in a) <= 1e-6


@pytest.mark.multiprocess
@pytest.mark.parametrize("stage", [*TRL_STAGES, "ppo"])
def test_each_rank_computes_its_own_examples(runs, stage):
    first, second = record(runs / "two", stage, 0)["batches"], record(runs / "two", stage, 1)["batches"]
    assert len(first) == len(second) > 0
    for a, b in zip(first, second, strict=True):
        assert len(a) == len(b) > 0
        assert sorted(a) != sorted(b)  # not the same episodes twice


@pytest.mark.multiprocess
@pytest.mark.parametrize("stage", TRL_STAGES)
def test_two_processes_train_like_one_with_the_same_batch(runs, stage):
    two, one = record(runs / "two", stage), record(runs / "one", stage)
    other = record(runs / "two", stage, 1)
    # Together the ranks computed exactly the single process's batches, step by step...
    assert len(two["batches"]) == len(one["batches"])
    for a, b, whole in zip(two["batches"], other["batches"], one["batches"], strict=True):
        assert sorted(a + b) == sorted(whole)
    # ...so they end where it ends, up to float rounding (and DPO's per-process NLL mean).
    assert relative_distance(weights(runs / "two", stage), weights(runs / "one", stage)) <= TOLERANCE[stage]


@pytest.mark.multiprocess
def test_two_process_ppo_lands_within_one_seed_of_the_single_process_run(runs):
    """PPO samples its episodes, so two processes (each sampling half a rollout on its own seeds)
    cannot take the single process's steps exactly. The tolerance is the sampling noise: the two-process
    update is as large as one process's, and no farther from it than a single process on another seed."""
    from tutor.core.models import TINY_DIR

    start = load_file(str(TINY_DIR / "model.safetensors"))
    two, one, other_seed = (update(runs / name, start) for name in ("two", "one", "one-seed1"))
    assert 0.8 <= float(two.norm() / one.norm()) <= 1.25
    assert float((two - one).norm()) <= 1.25 * float((other_seed - one).norm())


@pytest.mark.multiprocess
def test_rlhf_tutor_run_under_accelerate_launch(tmp_path):
    """Both processes train the stage together; rank 0 alone prints and writes."""
    how = ("--config_file", ROOT / "configs" / "accelerate" / "ddp.yaml")  # the shipped DDP config, on the CPU
    result = launch("-m", "tutor", "run", "--fast", "--stages", "sft", how=how, TUTOR_RUNS=str(tmp_path))
    ok(result)
    assert result.stdout.count("[sft] done") == 1
    assert json.loads((tmp_path / "summary.json").read_text())["sft"]["follows_instruction_rate"] >= 0
    record = json.loads((tmp_path / "tiny-fast" / "sft" / "metrics.json").read_text())
    assert record["metrics"]["steps"] == 25  # 400 examples in batches of 16 over both processes, as in one


@pytest.mark.multiprocess
def test_a_cpu_launch_that_starts_one_process_is_refused(tmp_path):
    result = launch("-m", "tutor", "run", "--fast", how=("--cpu", "--num_processes", "2"), TUTOR_RUNS=str(tmp_path))
    assert result.returncode != 0  # the launcher reports the program's exit status 2 as its own failure
    assert "started one process" in result.stderr and "--multi_gpu" in result.stderr
