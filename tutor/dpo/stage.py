"""The `dpo` stage: DPO's rounds on the SFT model, saved, and measured against SFT on held-out prompts."""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path

from tutor.core.evaluation import eval_prompts, evaluate_model, measure, sample_eval
from tutor.core.models import save
from tutor.dpo.config import DPOSettings
from tutor.dpo.rounds import DPORun, train
from tutor.errors import TutorError
from tutor.stages import load_samples, save_samples
from tutor.world import GoldAnnotator


def held_out(course, settings: DPOSettings, model, reference, tokenizer, where: Path | None = None) -> dict:
    """A round's model on the held-out prompts (win-rate over SFT, gold score, KL); its answers saved in `where`."""
    result = evaluate_model(
        model,
        tokenizer,
        eval_prompts(course.fast, model=course.model),
        GoldAnnotator(settings.persona),
        baseline=load_samples(course, "sft"),
        ref_model=reference,
    )
    if where is not None:
        where.mkdir(parents=True, exist_ok=True)
        save_samples(where, result.samples)
    return {key: result.metrics()[key] for key in ("gold_win_rate_vs_sft", "gold", "kl", "eval_seconds")}


def evaluate(course, run: DPORun, samples=None) -> dict:
    """Held-out measurements (`tutor.core.evaluation.measure`: gold score, win-rate over the SFT
    model's answers, KL to SFT) and what the run cost and learned from."""
    judge = GoldAnnotator(run.settings.persona)
    if samples is None:
        samples = sample_eval(run.model, run.tokenizer, eval_prompts(course.fast, model=course.model))
    sft = load_samples(course, "sft")
    if list(sft.prompts) != list(samples.prompts):
        raise TutorError("The SFT stage's saved samples are for other prompts; rebuild the sft stage.")
    result = measure(samples, judge, baseline=sft, model=run.model, ref_model=run.ref_model, tokenizer=run.tokenizer)
    last = next((h for h in reversed(run.history) if "rewards/margins" in h), {})
    if run.rounds and "kl" not in run.rounds[-1]:
        run.rounds[-1].update(gold_win_rate_vs_sft=result.gold_win_rate_vs_sft, gold=result.gold, kl=result.kl)
    return {
        **result.metrics(),
        "sft_gold": sum(judge.scores(sft.prompts, sft.texts)) / len(sft),
        "train_seconds": round(run.seconds, 2),
        "n_pairs": run.n_pairs,
        "annotator_labels": sum(r.get("labels", 0) for r in run.rounds),  # comparisons asked of the annotator
        "rounds_trained": len(run.rounds),
        "trained_tokens": sum(r.get("trained_tokens", 0) for r in run.rounds),
        "data": run.source,
        "final_margin": last.get("rewards/margins"),
        "final_accuracy": last.get("rewards/accuracies"),
        "settings": asdict(run.settings),
        "rounds": run.rounds,
        "history": [{k: v for k, v in h.items() if isinstance(v, int | float)} for h in run.history],
    }


def build_stage(
    course,
    where: Path,
    settings: DPOSettings | None = None,
    callbacks=None,
    progress: bool = True,
    pairs=None,
    on_round=None,
    measure_rounds: bool = True,
) -> dict:
    """The `dpo` stage: DPO on the SFT model, saved, measured against SFT on held-out prompts.
    `callbacks` (e.g. a LivePlot's) let a notebook watch the training that makes the saved stage;
    `measure_rounds=False` skips the held-out measurement after each round but the last (the
    comparison's extra seeds need only the final model: a few seconds each). Each measured round's
    answers are kept in `where`/rounds (notebook 07's two-persona section reuses round 1's)."""
    settings = settings or DPOSettings.for_mode(course.fast, course.model)
    rounds_dir = where / "rounds"
    shutil.rmtree(rounds_dir, ignore_errors=True)  # an earlier build's rounds

    def measure_round(r: int, model, reference, tokenizer) -> dict:
        return held_out(course, settings, model, reference, tokenizer, rounds_dir / f"round-{r}")

    run = train(
        course,
        settings,
        dataset=pairs,
        callbacks=callbacks,
        output_dir=where / "trainer",
        progress=progress,
        on_round=on_round,
        measure_round=measure_round if measure_rounds else None,
    )
    save(run.model, run.tokenizer, where / "model")
    samples = sample_eval(run.model, run.tokenizer, eval_prompts(course.fast, model=course.model))
    save_samples(where, samples)
    return evaluate(course, run, samples)
