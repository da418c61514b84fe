"""Iterative DPO: rounds of sample → rank → train, each round's start the next reference."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tutor.core.models import load_causal_lm, load_tokenizer
from tutor.course import seed_everything
from tutor.dpo.config import DPOSettings
from tutor.dpo.pairs import TrainingData, training_data
from tutor.dpo.trl_trainer import make_trainer
from tutor.stages import ensure


@dataclass
class DPORun:
    """A trained DPO model with what is needed to measure it."""

    model: object
    ref_model: object  # the model training started from (SFT): KL is measured against it
    tokenizer: object
    history: list[dict]  # TRL's logs, each with the round it belongs to
    settings: DPOSettings
    source: str
    seconds: float
    n_pairs: int
    rounds: list[dict] = field(default_factory=list)  # per round: pairs, seconds, held-out win-rate, KL


def _fresh_copy(model, folder: Path, device: str):
    """A clean copy of `model` (TRL patches the forward of models it trains; deepcopy keeps that)."""
    fresh = load_causal_lm(folder, device)
    fresh.load_state_dict(model.state_dict())
    return fresh.eval()


def train(
    course,
    settings: DPOSettings | None = None,
    dataset=None,
    callbacks=None,
    output_dir=None,
    progress: bool = True,
    start: Path | None = None,
    on_round: Callable[[int], None] | None = None,
    measure_round: Callable[..., dict] | None = None,
) -> DPORun:
    """Fine-tune the SFT model (or the model saved in `start`) with DPO.

    One round trains on `dataset` (default: `training_data`). With `settings.rounds` > 1 (on-policy
    data only) each further round samples fresh answers from the model as it is *now*, has the
    annotator rank them, and trains on those pairs with the model at the round's start as reference
    — iterative ("online") DPO. `on_round(r)` is called as round r starts (e.g. to start a new
    curve in a plot); `measure_round(round, model, ref_model, tokenizer)` is called after each round
    but the last (which `evaluate` measures) and what it returns is recorded with the round.
    """
    s = settings or DPOSettings.for_mode(course.fast, course.model)
    start_dir = Path(start) if start is not None else ensure(course, "sft")
    tokenizer = load_tokenizer(start_dir)
    initial = load_causal_lm(start_dir, course.device)
    policy = load_causal_lm(start_dir, course.device)
    out = Path(output_dir or (course.model_runs / "dpo-scratch"))
    n_rounds = 1 if s.data == "gold" else s.rounds
    history: list[dict] = []
    records: list[dict] = []
    sources: list[str] = []
    seconds = 0.0
    n_pairs = 0
    for r in range(n_rounds):
        seed_everything(s.seed * 1000 + r)
        begin = time.perf_counter()
        # 1. The round's pairs: the given ones, the learner's labels, or the model's own answers ranked.
        if r == 0 and dataset is not None:
            data = TrainingData(dataset, f"{len(dataset)} given pairs")
        else:
            data = training_data(
                course,
                s,
                policy,
                tokenizer,
                use_learner_labels=s.use_learner_labels and r == 0,
                seed=s.seed * 1000 + r,
                from_sft=r == 0 and start is None,
            )
            if data.answers is not None and data.answers.kept:
                begin -= (
                    data.answers.seconds
                )  # sampled by an earlier run: a run's time counts its sampling all the same
        if data.from_learner:
            n_rounds = 1  # the learner's labels cannot be asked for again on fresh answers
        sources.append(data.source)
        if on_round is not None:
            on_round(r)
        # 2. Train on them, with the model at the round's start as reference.
        reference = initial if r == 0 else _fresh_copy(policy, start_dir, course.device)
        trainer = make_trainer(policy, reference, tokenizer, data.pairs, out, course.device, s, callbacks, progress)
        trainer.train()
        policy = _fresh_copy(trainer.model, start_dir, course.device)
        # 3. What the round cost and learned.
        spent = time.perf_counter() - begin
        seconds += spent
        n_pairs += len(trainer.train_dataset)
        history += [{**h, "round": r + 1} for h in trainer.state.log_history]
        record = {
            "round": r + 1,
            "pairs": len(trainer.train_dataset),
            "labels": len(data.pairs) * data.labels_per_pair,
            "seconds": round(spent, 2),
            "data": data.source,
            # prompt + chosen and prompt + rejected tokens, every epoch (TRL logs it at every step)
            "trained_tokens": int(max((h.get("num_tokens", 0) for h in trainer.state.log_history), default=0)),
        }
        if data.answers is not None and data.answers.weights:
            record["sft_weights"] = data.answers.weights  # ranked from these SFT weights' kept answers (sft_answers)
        if measure_round is not None and r + 1 < n_rounds:
            record.update(measure_round(r + 1, policy, initial, tokenizer))
        records.append(record)
        if r + 1 >= n_rounds:
            break
    source = sources[0] if len(sources) == 1 else f"{len(sources)} rounds: {sources[0]}, then fresh answers each round"
    return DPORun(policy, initial, tokenizer, history, s, source, seconds, n_pairs, records)
