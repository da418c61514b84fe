"""Several processes, one run: what every stage needs to know under `accelerate launch`.

A launcher (`accelerate launch`, `torchrun`) starts N copies of the same program and tells each
its rank through the environment (RANK, WORLD_SIZE). The TRL trainers and our PPO then train one
model together: each process computes the gradient of its share of every batch and the gradients
are averaged, so every process ends with the same weights. What is left to the course: split each
batch between the processes, let one process write the files and print, and make the others wait
for those files. With one process every function here is trivial.
"""

from __future__ import annotations

import os

from tutor.errors import TutorError


def num_processes() -> int:
    """How many processes run this program together (1 without a launcher)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def process_index() -> int:
    """This process's rank, 0 … num_processes() − 1 (0 without a launcher)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0") or 0)


def is_main_process() -> bool:
    """True on the one process that writes files and prints (rank 0)."""
    return process_index() == 0


def wait_for_everyone() -> None:
    """A barrier: every process waits here until all have arrived (so files rank 0 wrote exist).

    The process group is the one the trainers use; it is started here if no trainer has yet
    (accelerate's PartialState, on the CPU's gloo backend unless a GPU is there)."""
    if num_processes() == 1:
        return
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        from accelerate import PartialState

        PartialState(cpu=not torch.cuda.is_available())
    dist.barrier()


def check_launch() -> None:
    """Refuse the launch that silently runs one process: `accelerate launch --cpu --num_processes N`
    without MPI starts a single copy (accelerate 1.x), which would then train alone and look fine."""
    asked_cpu = os.environ.get("ACCELERATE_USE_CPU", "").lower() in {"1", "true", "yes"}
    if asked_cpu and "MASTER_ADDR" in os.environ and "WORLD_SIZE" not in os.environ:
        raise TutorError(
            "`accelerate launch --cpu --num_processes N` started one process (without MPI accelerate "
            "runs --cpu as a single copy); on CPUs launch with `accelerate launch --multi_gpu "
            "--num_processes N` (or torchrun --nproc_per_node N): the course trains on the CPU all the same."
        )


def per_process_batch(batch_size: int, setting: str, processes: int | None = None) -> int:
    """The share of a batch of `batch_size` examples that one process computes.

    The course's settings name the batch of the whole run (what one optimizer step averages), so
    a run on N processes takes the same steps on the same batches as a run on one."""
    n = num_processes() if processes is None else processes
    if n == 1:
        return batch_size
    if n > batch_size:
        raise TutorError(
            f"{n} processes are more than {setting} ({batch_size}): each process needs at least one "
            f"example of every batch; launch at most {batch_size} processes or raise {setting}."
        )
    if batch_size % n:
        raise TutorError(
            f"{setting} ({batch_size}) does not split evenly over {n} processes; use a number of "
            f"processes that divides it, or a {setting} that is a multiple of {n}."
        )
    return batch_size // n
