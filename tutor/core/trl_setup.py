"""Settings every TRL trainer in the course shares, because TRL's defaults are for big GPU models.

TRL 1.16 configs default to bf16=True (which fails or crawls on a CPU), gradient checkpointing on
(pointless for a 1 M-parameter model) and learning rates for billion-parameter models. On a GPU we
keep bf16 where the card supports it. `TrainedModel` is what a finished run hands back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tutor.core.processes import per_process_batch


def common_args(output_dir: str | Path, device: str, **overrides) -> dict:
    """Keyword arguments for any TRL *Config: CPU-safe on a laptop, GPU-aware on a GPU."""
    import torch
    from transformers import TrainingArguments

    on_gpu = device == "cuda" and torch.cuda.is_available()
    args = dict(
        output_dir=str(output_dir),
        bf16=bool(on_gpu and torch.cuda.is_bf16_supported()),
        fp16=False,
        use_cpu=not on_gpu,
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        disable_tqdm=False,
        dataloader_num_workers=0,
        seed=0,
        data_seed=0,
        ddp_find_unused_parameters=False,  # under a launcher: every weight of our models takes part
    )
    # Checkpointing trades compute for memory: pointless for a 1 M-parameter model. Newer
    # transformers renamed the switch; use whichever this version has (the old name warns).
    if "activation_checkpointing" in TrainingArguments.__dataclass_fields__:
        args["activation_checkpointing"] = False
    else:  # pragma: no cover - transformers < 5.2x
        args["gradient_checkpointing"] = False
    args.update(overrides)
    if "per_device_train_batch_size" in args:  # our settings name the whole run's batch (tutor.core.processes)
        args["per_device_train_batch_size"] = per_process_batch(args["per_device_train_batch_size"], "batch_size")
    return args


def schedule_args(settings) -> dict:
    """The training schedule our stage settings (`SFTSettings`, `RewardSettings`) spell the same way,
    in TRL's names: rate, epochs, batch, a cosine decay after a short warm-up, length cut, seed."""
    return dict(
        learning_rate=settings.learning_rate,
        num_train_epochs=settings.epochs,
        per_device_train_batch_size=settings.batch_size,
        lr_scheduler_type="cosine",
        warmup_steps=settings.warmup_steps,
        max_length=settings.max_length,
        seed=settings.seed,
    )


def skip_full_collection(trainer):
    """Training starts with accelerate's `free_memory`: it drops the accelerator's references to
    objects prepared earlier, then runs a full `gc.collect()` and empties the device cache. A CPU
    has no device cache, and a full collection of a notebook's heap (about 400 k objects once
    torch, transformers and plotly are loaded) takes 0.2–0.3 s a run: 2.8 s of notebook 06's twelve
    runs. On a CPU we keep the first part only; Python's own collector still runs as usual."""
    import gc

    accelerator = trainer.accelerator
    if accelerator.device.type != "cpu":
        return trainer
    free_memory = type(accelerator).free_memory

    def without_collecting(*objects):
        collect = gc.collect
        gc.collect = lambda *args, **kwargs: 0
        try:
            return free_memory(accelerator, *objects)
        finally:
            gc.collect = collect

    accelerator.free_memory = without_collecting
    return trainer


@dataclass
class TrainedModel:
    """What a finished TRL training run hands back: the model, its tokenizer and the trainer."""

    model: object
    tokenizer: object
    trainer: object

    @property
    def losses(self) -> list[float]:
        """The training loss at every logged step (the trainer's `state.log_history`)."""
        return [h["loss"] for h in self.trainer.state.log_history if "loss" in h]

    @property
    def final_loss(self) -> float | None:
        """The mean of the last five logged losses: one step's loss is noisy."""
        losses = self.losses
        return sum(losses[-5:]) / len(losses[-5:]) if losses else None
