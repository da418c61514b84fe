"""TRL's DPOTrainer set up for a laptop, with the CPU speed-ups kept apart from the algorithm.

The loss is TRL's (its twin is `tutor.dpo.loss`). What this module adds changes how much is
computed, never what: the reference is scored in batches of pairs of similar length, a training
batch is computed in chunks of pairs of similar length, and the reference-free contrast zeroes the
reference's log-probs.
"""

from __future__ import annotations

import datasets
import torch
from trl import DPOConfig, DPOTrainer

from tutor.core.batching import grouped, pair_chunks, pair_lengths
from tutor.core.trl_setup import common_args, skip_full_collection
from tutor.dpo.checks import check_pairs, check_same_vocabulary, context_limit
from tutor.dpo.config import DPOSettings
from tutor.errors import TutorError
from tutor.ui.progress import quiet_progress


class SortedReferenceDPOTrainer(grouped(DPOTrainer, pair_lengths)):
    """TRL's DPOTrainer, training on batches of similar length (`tutor.core.batching`, in random
    order) and scoring the reference in batches of pairs of similar length."""

    def _precompute_ref_logps(self, dataset, name: str, batch_size: int):
        """TRL scores the pairs in data-set order, so each batch is padded to its longest answer;
        sorted by length, the same sums cost about half the compute (padding is most of a random
        batch). A data set that carries the reference's log-probs already keeps them."""
        if {"ref_chosen_logps", "ref_rejected_logps"} <= set(dataset.column_names):
            return dataset  # scored already by this same reference (SweepSetup.scored_pairs)
        columns = {k: dataset[k] for k in ("prompt_ids", "chosen_ids", "rejected_ids")}
        rows = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
        order = sorted(
            range(len(rows)),
            key=lambda i: len(rows[i]["prompt_ids"]) + max(len(rows[i]["chosen_ids"]), len(rows[i]["rejected_ids"])),
        )
        model = self.ref_model or self.model
        chosen, rejected = torch.zeros(len(rows)), torch.zeros(len(rows))
        for start in range(0, len(order), batch_size):
            picked = order[start : start + batch_size]
            batch = {k: v.to(self.accelerator.device) for k, v in self.data_collator([rows[i] for i in picked]).items()}
            chosen_logps, rejected_logps = self.compute_ref_log_probs(model, batch)
            chosen[picked], rejected[picked] = chosen_logps.float().cpu(), rejected_logps.float().cpu()
        return dataset.add_column("ref_chosen_logps", chosen.tolist()).add_column(
            "ref_rejected_logps", rejected.tolist()
        )

    def training_step(self, model, inputs, num_items_in_batch=None):
        """One optimizer step's gradient, computed over chunks of pairs of similar length (less
        padding to compute, and a fraction of the activations in memory at once). Each chunk's
        loss is weighed by its share of the batch, so the gradient is the whole batch's: pairs
        for the per-pair losses, chosen-answer tokens for the NLL term (a mean over tokens)."""
        size = getattr(self, "chunk_pairs", 0)
        if not size or inputs["input_ids"].shape[0] <= 2 * size:
            return super().training_step(model, inputs, num_items_in_batch)
        chunks = pair_chunks(inputs, size)
        pairs = sum(n for _, n, _ in chunks)
        tokens = max(1, sum(t for _, _, t in chunks))
        weights = self.loss_weights
        logged = self._metrics["train"]
        before = {key: len(values) for key, values in logged.items()}
        total = 0.0
        try:
            for chunk, n, t in chunks:
                self.loss_weights = [
                    w * (t / tokens if kind == "sft" else n / pairs)
                    for kind, w in zip(self.loss_types, weights, strict=True)
                ]
                total = total + super().training_step(model, chunk, num_items_in_batch)
        finally:
            self.loss_weights = weights
        for key, values in logged.items():  # one logged value per batch, as without chunks
            if len(values) - before.get(key, 0) == len(chunks):
                values[-len(chunks) :] = [
                    sum(v * n for v, (_, n, _) in zip(values[-len(chunks) :], chunks, strict=True)) / pairs
                ]
        return total


def make_trainer(
    model,
    ref_model,
    tokenizer,
    dataset,
    output_dir,
    device: str = "cpu",
    settings: DPOSettings | None = None,
    callbacks=None,
    progress: bool = True,
    **overrides,
):
    """A TRL DPOTrainer with CPU-safe settings and the SFT model passed explicitly as reference.

    Without `ref_model`, TRL reloads the reference from `model.config._name_or_path`, which for an
    in-memory model is the wrong checkpoint or nothing at all.
    """
    s = settings or DPOSettings()
    if ref_model is None:
        raise TutorError("DPO needs the SFT model as ref_model (a frozen copy of the starting model).")
    if ref_model is model:
        raise TutorError("ref_model must be a separate frozen copy of the SFT model, not the model being trained.")
    check_same_vocabulary(model, ref_model, tokenizer)
    max_length = context_limit(model, s.max_length)
    check_pairs(dataset, tokenizer, max_length)
    args = DPOConfig(
        **common_args(
            output_dir,
            device,
            learning_rate=s.learning_rate,
            num_train_epochs=s.epochs,
            per_device_train_batch_size=s.batch_size,
            lr_scheduler_type="cosine",
            warmup_steps=5,
            beta=s.beta,
            loss_type=[s.loss_type] + (["sft"] if s.sft_weight > 0 else []),
            loss_weights=[1.0, s.sft_weight] if s.sft_weight > 0 else None,
            label_smoothing=s.label_smoothing,
            max_length=max_length,
            precompute_ref_log_probs=True,  # the reference is frozen: score it once, not every step
            precompute_ref_batch_size=64,
            # Pairs of similar length batched together: less padding to compute. Not with the NLL term: it
            # is a mean over the batch's tokens, so batches of short answers would weigh short answers up.
            train_sampling_strategy="group_by_length" if s.sft_weight == 0 else "random",
            seed=s.seed,
            data_seed=s.seed,
            **overrides,
        )
    )
    datasets.disable_progress_bars()  # tokenising and scoring a few thousand rows: bars are noise
    trainer = SortedReferenceDPOTrainer(
        model=model,
        ref_model=ref_model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    trainer.chunk_pairs = s.chunk_pairs
    if s.reference_free:
        without_reference(trainer)
    return quiet_progress(skip_full_collection(trainer), "DPO", show=progress)


def without_reference(trainer) -> None:
    """Zero the precomputed reference log-probs: the loss becomes −log σ(β(log π(y_w) − log π(y_l))),
    the seed's formula, with nothing that ties the model to where it started."""
    dataset = trainer.train_dataset
    for column in ("ref_chosen_logps", "ref_rejected_logps"):
        dataset = dataset.remove_columns(column).add_column(column, [0.0] * len(dataset))
    trainer.train_dataset = dataset
