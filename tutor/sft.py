"""Supervised fine-tuning: teach the base model *how to answer* with TRL's SFTTrainer.

The data are prompt → ideal-answer pairs in TRL's conversational prompt-completion format, so the
loss is on the completion only: the model is graded on its answer, not on re-typing the question.
`completion_loss` is our from-scratch twin of that loss, tested to equal what SFTTrainer computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tutor.errors import TutorError


@dataclass
class SFTSettings:
    """Defaults for the tiny model on a 2-core CPU (FAST mode shrinks them)."""

    n_examples: int = 2000
    epochs: float = 2.0
    learning_rate: float = 1e-3  # tiny models need far more than TRL's 2e-5
    batch_size: int = 32
    max_length: int = 256
    seed: int = 0

    @classmethod
    def for_mode(cls, fast: bool) -> SFTSettings:
        return cls(n_examples=400, epochs=1.0) if fast else cls()


def check_sft_rows(rows: list[dict]) -> None:
    """Every row needs a non-empty `prompt` and `completion` (strings or chat messages)."""
    if not rows:
        raise TutorError("The SFT dataset is empty; it needs rows with 'prompt' and 'completion'.")
    for i, row in enumerate(rows):
        for field in ("prompt", "completion"):
            if field not in row:
                raise TutorError(f"SFT row {i} has no {field!r} field; each row needs 'prompt' and 'completion'.")
            value = row[field]
            text = value if isinstance(value, str) else " ".join(m.get("content", "") for m in value)
            if not text.strip():
                raise TutorError(f"SFT row {i} has an empty {field!r}; remove the row or fill it in.")


def sft_dataset(n: int = 2000, seed: int = 0, split: str = "train"):
    """The world's prompt → ideal answer pairs as a conversational `datasets.Dataset`."""
    from datasets import Dataset

    from tutor.world import sft_examples

    rows = [
        {
            "prompt": [{"role": "user", "content": ex["prompt"]}],
            "completion": [{"role": "assistant", "content": ex["completion"]}],
        }
        for ex in sft_examples(n, seed=seed, split=split)
    ]
    check_sft_rows(rows)
    return Dataset.from_list(rows)


def completion_loss(logits, labels):
    """Mean next-token cross-entropy over completion tokens only (labels = -100 elsewhere).

    Position t predicts token t+1, so logits drop their last step and labels their first.
    """
    import torch.nn.functional as F

    logits = logits[:, :-1, :]
    labels = labels[:, 1:]
    mask = labels != -100
    logps = F.log_softmax(logits.float(), dim=-1)
    token_logps = logps.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(token_logps * mask).sum() / mask.sum().clamp(min=1)


def make_trainer(model, tokenizer, dataset, output_dir, device: str = "cpu", settings: SFTSettings | None = None, callbacks=None, **overrides):
    """An SFTTrainer with CPU-safe settings (see tutor.trl_config) and completion-only loss."""
    from trl import SFTConfig, SFTTrainer

    from tutor.trl_config import common_args

    s = settings or SFTSettings()
    args = SFTConfig(
        **common_args(
            output_dir,
            device,
            learning_rate=s.learning_rate,
            num_train_epochs=s.epochs,
            per_device_train_batch_size=s.batch_size,
            lr_scheduler_type="cosine",
            warmup_steps=10,
            max_length=s.max_length,
            completion_only_loss=True,
            seed=s.seed,
            **overrides,
        )
    )
    return SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer, callbacks=callbacks)


def build_stage(course, where: Path) -> dict:
    """The `sft` stage: fine-tune the base model, save it, measure it on held-out prompts."""
    from tutor.evaluate import eval_prompts, sample_eval, summarize
    from tutor.models import load_causal_lm, load_tokenizer, save
    from tutor.stages import model_folder, save_samples
    from tutor.world import GoldAnnotator

    base = model_folder(course, "base")
    tokenizer = load_tokenizer(base)
    model = load_causal_lm(base, course.device)
    settings = SFTSettings.for_mode(course.fast)
    trainer = make_trainer(model, tokenizer, sft_dataset(settings.n_examples, settings.seed), where / "trainer", course.device, settings)
    trainer.train()
    model = trainer.model.eval()
    save(model, tokenizer, where / "model")
    samples = sample_eval(model, tokenizer, eval_prompts(course.fast))
    save_samples(where, samples)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return {**summarize(samples, GoldAnnotator("riley")), "final_loss": losses[-1] if losses else None}
