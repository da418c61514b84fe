"""Settings every TRL trainer in the course shares, because TRL's defaults are for big GPU models.

TRL 1.16 configs default to bf16=True (which fails or crawls on a CPU), gradient checkpointing on
(pointless for a 1 M-parameter model) and learning rates for billion-parameter models. On a GPU we
keep bf16 where the card supports it.
"""

from __future__ import annotations

from pathlib import Path


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
    )
    # Checkpointing trades compute for memory: pointless for a 1 M-parameter model. Newer
    # transformers renamed the switch; use whichever this version has (the old name warns).
    if "activation_checkpointing" in TrainingArguments.__dataclass_fields__:
        args["activation_checkpointing"] = False
    else:  # pragma: no cover - transformers < 5.2x
        args["gradient_checkpointing"] = False
    args.update(overrides)
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
