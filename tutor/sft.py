"""Supervised fine-tuning: teach the base model *how to answer* with TRL's SFTTrainer.

The data are prompt → ideal-answer pairs in TRL's conversational prompt-completion format, so the
loss is on the completion only: the model is graded on its answer, not on re-typing the question.
`completion_loss` is our from-scratch twin of that loss, tested to equal what SFTTrainer computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import datasets
import pandas as pd
import torch.nn.functional as F
from trl import SFTConfig, SFTTrainer

from tutor import real_models
from tutor.config import check_number, check_whole
from tutor.core.chat import as_conversational, message_text
from tutor.core.evaluation import eval_prompts, evaluate_model
from tutor.core.models import load_causal_lm, load_tokenizer, save
from tutor.core.trl_setup import TrainedModel, common_args, schedule_args, skip_full_collection
from tutor.course import TINY
from tutor.errors import TutorError
from tutor.stages import model_folder, save_samples
from tutor.ui.progress import quiet_progress
from tutor.world import GoldAnnotator, analyse, sft_examples


@dataclass(frozen=True)
class SFTSettings:
    """How the SFT stage trains (`tutor.config`'s convention). Defaults suit the tiny model on a
    2-core CPU (how many examples: benchmarks/results/sft.md); `for_mode` gives FAST mode's and a
    real model's."""

    n_examples: int = 2000  # prompt → ideal answer pairs
    epochs: float = 1.0
    learning_rate: float = 2e-3  # tiny models need far more than TRL's 2e-5
    batch_size: int = 16
    warmup_steps: int = 10
    max_length: int = 256
    seed: int = 0

    def __post_init__(self):
        for name in ("n_examples", "batch_size", "max_length"):
            check_whole(self, name)
        check_whole(self, "warmup_steps", minimum=0)
        check_whole(self, "seed", minimum=0)
        check_number(self, "epochs", above=0)
        check_number(self, "learning_rate", above=0)

    @classmethod
    def for_mode(cls, fast: bool, model: str = TINY, **changes) -> SFTSettings:
        """FAST mode: 400 examples. A real pretrained model: `tutor.real_models`' changes."""
        base = {"n_examples": 400} if fast else {}
        if model != TINY:
            base.update(real_models.changes("sft", fast))
        return cls(**{**base, **changes})


def check_sft_rows(rows) -> list[dict]:
    """Every row needs a non-empty `prompt` and `completion` (strings or chat messages)."""
    rows = list(rows)
    if not rows:
        raise TutorError("The SFT dataset is empty; it needs rows with 'prompt' and 'completion'.")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TutorError(f"SFT row {i} is a {type(row).__name__}, not a dict with 'prompt' and 'completion'.")
        for field in ("prompt", "completion"):
            if field not in row:
                raise TutorError(f"SFT row {i} has no {field!r} field; each row needs 'prompt' and 'completion'.")
            if not isinstance(row[field], str | list):
                raise TutorError(
                    f"SFT row {i} has a {type(row[field]).__name__} as {field!r}; use a string or a list of chat "
                    "messages."
                )
            if not message_text(row[field]).strip():
                raise TutorError(f"SFT row {i} has an empty {field!r}; remove the row or fill it in.")
    return rows


def to_dataset(rows):
    """Checked rows as a `datasets.Dataset` (bad rows raise a TutorError naming row and field)."""
    return datasets.Dataset.from_list(
        [{"prompt": r["prompt"], "completion": r["completion"]} for r in check_sft_rows(rows)]
    )


def sft_dataset(n: int = 2000, seed: int = 0, split: str = "train"):
    """The world's prompt → ideal answer pairs as a conversational `datasets.Dataset`."""
    return to_dataset(
        [as_conversational(ex["prompt"], completion=ex["completion"]) for ex in sft_examples(n, seed=seed, split=split)]
    )


def completion_loss(logits, labels):
    """Mean next-token cross-entropy over completion tokens only (labels = -100 elsewhere).

    Position t predicts token t+1, so logits drop their last step and labels their first.
    """
    logits = logits[:, :-1, :]
    labels = labels[:, 1:]
    mask = labels != -100
    logps = F.log_softmax(logits.float(), dim=-1)
    token_logps = logps.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(token_logps * mask).sum() / mask.sum().clamp(min=1)


def make_trainer(
    model,
    tokenizer,
    dataset,
    output_dir,
    device: str = "cpu",
    settings: SFTSettings | None = None,
    callbacks=None,
    progress: bool = True,
    **overrides,
):
    """An SFTTrainer with CPU-safe settings (see tutor.core.trl_setup), completion-only loss and one
    quiet progress bar. `overrides` go to SFTConfig."""
    s = settings or SFTSettings()
    options = dict(schedule_args(s), completion_only_loss=True)
    options.update(overrides)
    args = SFTConfig(**common_args(output_dir, device, **options))
    datasets.disable_progress_bars()  # tokenising a few thousand rows: a bar would only add noise
    # Random batches, not length-grouped ones (tutor.core.batching): SFT averages the loss over the
    # tokens of a batch, so batches of short answers would weigh short answers up and the model's
    # answers would come out shorter (benchmarks/results/sft.md). Faithful imitation is worth the padding.
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer, callbacks=callbacks)
    return quiet_progress(skip_full_collection(trainer), "SFT", show=progress)


def train(
    course, settings: SFTSettings | None = None, dataset=None, callbacks=None, progress: bool = True
) -> TrainedModel:
    """Fine-tune the course's base model on prompt → answer pairs (the world's, by default)."""
    s = settings or SFTSettings.for_mode(course.fast, course.model)
    base = model_folder(course, "base")
    tokenizer = load_tokenizer(base)
    model = load_causal_lm(base, course.device)
    if dataset is None:
        dataset = sft_dataset(s.n_examples, s.seed)
    trainer = make_trainer(
        model,
        tokenizer,
        dataset,
        course.model_runs / "sft" / "trainer",
        course.device,
        s,
        callbacks=callbacks,
        progress=progress,
    )
    trainer.train()
    return TrainedModel(trainer.model.eval(), tokenizer, trainer)


def build_stage(
    course, where: Path, settings: SFTSettings | None = None, callbacks=None, progress: bool = True
) -> dict:
    """The `sft` stage: fine-tune the base model, save it, measure it on held-out prompts.

    callbacks: transformers TrainerCallbacks (e.g. a live loss plot) for notebook 02.
    """
    s = settings or SFTSettings.for_mode(course.fast, course.model)
    trained = train(course, s, callbacks=callbacks, progress=progress)
    save(trained.model, trained.tokenizer, where / "model")
    result = evaluate_model(
        trained.model, trained.tokenizer, eval_prompts(course.fast, model=course.model), GoldAnnotator("riley")
    )
    save_samples(where, result.samples)
    return {
        **result.metrics(),
        "n_examples": s.n_examples,
        "steps": trained.trainer.state.global_step,
        "final_loss": trained.final_loss,
        "losses": trained.losses,
    }


# --------------------------------------------------------------------------- for notebook 02


def loss_mask_view(tokenizer, input_ids, labels, attention_mask=None) -> str:
    """One training row as text, answer tokens (the ones the loss counts) in [brackets]."""
    ids = input_ids.tolist() if hasattr(input_ids, "tolist") else list(input_ids)
    labels = labels.tolist() if hasattr(labels, "tolist") else list(labels)
    keep = attention_mask.tolist() if attention_mask is not None else [1] * len(ids)
    parts = []
    for token_id, label, real in zip(ids, labels, keep, strict=True):
        if not real:
            continue
        text = tokenizer.decode([token_id])
        parts.append(f"[{text}]" if label != -100 else text)
    return "".join(parts)


def persona_ranking(prompt: str, texts: list[str]):
    """Several answers to one prompt, as the analyser reads them and as each persona ranks them
    (rank 1 = that persona's favourite), as a pandas DataFrame."""
    riley, quinn = GoldAnnotator("riley"), GoldAnnotator("quinn")
    rows = []
    for i, text in enumerate(texts):
        profile = analyse(text, prompt)
        rows.append(
            {
                "answer": i,
                "words": profile.words,
                "politeness": round(profile.politeness, 2),
                "audience": round(profile.audience, 2),
                "correct facts": profile.facts,
                "riley score": round(riley.score(prompt, text), 2),
                "quinn score": round(quinn.score(prompt, text), 2),
            }
        )
    table = pd.DataFrame(rows).set_index("answer")
    table["riley rank"] = table["riley score"].rank(ascending=False, method="min").astype(int)
    table["quinn rank"] = table["quinn score"].rank(ascending=False, method="min").astype(int)
    return table.sort_values("riley rank")
