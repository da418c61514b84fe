"""The plumbing that lets the same PPO code run under `accelerate launch --num_processes N`: each
process samples its share of every rollout with its own prompts and seeds, and every reported
number is averaged over the processes. With one process every function here is the identity."""

from __future__ import annotations

from dataclasses import replace

import torch

from tutor.core.processes import num_processes, per_process_batch
from tutor.errors import TutorError


def per_process_settings(settings, processes: int | None = None):
    """`settings` with the rollout, minibatch and calibration sizes of one process: PPOSettings
    name the whole run's, so N processes take the same steps on as many episodes as one."""
    n = num_processes() if processes is None else processes
    if n == 1:
        return settings
    sizes = {
        name: per_process_batch(getattr(settings, name), f"PPOSettings.{name}", n)
        for name in ("batch_size", "mini_batch_size", "calibration_samples")
    }
    return replace(settings, **sizes)


def check_engine(accelerator) -> None:
    """Our PPO runs on plain data parallelism (DDP) only: one sentence for a DeepSpeed or FSDP launch."""
    kind = str(getattr(accelerator, "distributed_type", "")).rsplit(".", 1)[-1]
    if kind in {"DEEPSPEED", "FSDP"}:
        raise TutorError(
            f"Our PPO cannot run under {kind}: it trains the policy and the value model with one optimizer "
            "and samples answers from the policy's whole weights, which ZeRO/FSDP shard; launch the ppo "
            "stage with configs/accelerate/ddp.yaml (the TRL stages can use zero2.yaml or zero3.yaml)."
        )


def step_seed(seed: int, step: int, accelerator) -> int:
    """The torch seed of one PPO step on this process: different per step and per process."""
    return seed * 100_003 + step * accelerator.num_processes + accelerator.process_index


def rank_seed(seed: int, accelerator) -> int:
    """`seed` moved to this process, so that each one draws its own prompts."""
    return seed + accelerator.process_index


def gather(accelerator, x: torch.Tensor) -> torch.Tensor:
    """`x` from every process, concatenated (the calibration scores of all processes' samples)."""
    return accelerator.gather(x) if accelerator.num_processes > 1 else x


def mean_across_processes(accelerator, x: float) -> float:
    """The mean of one number over the processes (what a logged metric reports)."""
    if accelerator.num_processes == 1:
        return float(x)
    t = torch.tensor([float(x)], device=accelerator.device)
    return float(accelerator.reduce(t, "mean"))
