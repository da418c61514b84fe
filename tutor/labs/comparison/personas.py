"""One SFT model, two people: one round of DPO for each persona on the *same* answers.

The SFT model answers the same prompts once, each persona ranks those answers, and each ranking
trains its own copy of the SFT model with the same settings and seed. Only the person differs, so
any difference between the models is theirs. Riley's run is the DPO stage's round 1 when the
stage was trained with the same settings, and is then read from it instead of trained again.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

from tutor import stages
from tutor.core.memory import release_memory
from tutor.errors import TutorError
from tutor.labs.comparison.changes import changes
from tutor.labs.comparison.runs import read_record, write_record
from tutor.world import GoldAnnotator, get_persona


def persona_folder(course, persona: str, seed: int = 0) -> Path:
    return course.model_runs / "compare" / f"dpo-{persona}-one-round-seed{seed}"


def taste(persona: str) -> dict:
    """The persona's weights as a record stores them: a run ranked by an older taste is not reused."""
    return json.loads(json.dumps(asdict(get_persona(persona))))


def persona_runs(
    course, personas: Sequence[str] = ("riley", "quinn"), seed: int = 0, quiet: bool = False
) -> dict[str, dict]:
    """Per persona, the record of one round of DPO on its ranking of one shared set of SFT answers.
    Records are cached like the seeds' runs; missing ones train in this process, sharing one round
    of sampling."""
    names = [get_persona(p).name for p in personas]
    records = {p: read_record(persona_folder(course, p, seed), course.fast) for p in names}
    missing = [p for p, record in records.items() if record is None or record.get("taste") != taste(p)]
    if not missing:
        return records
    from tutor.dpo import DPOSettings, best_and_worst, build_stage, rank_answers, sft_answers

    settings = DPOSettings.for_mode(course.fast, seed=seed, rounds=1, use_learner_labels=False)
    if not quiet:
        print(
            f"[compare] {settings.answers_per_prompt} answers to each of {settings.n_pairs} prompts from the "
            f"SFT model, ranked by {' and by '.join(p.capitalize() for p in missing)}; one round of DPO each …"
        )
    # the answers the DPO stage's round 1 ranked for this seed (notebook 06 sampled them already)
    answers = sft_answers(
        course,
        settings.n_pairs,
        seed=seed * 1000,
        k=settings.answers_per_prompt,
        max_new_tokens=settings.max_new_tokens,
    )
    sampling_seconds = answers.seconds  # counted in each run's time, wherever it happened
    for persona in missing:
        folder = persona_folder(course, persona, seed)
        folder.mkdir(parents=True, exist_ok=True)
        persona_settings = replace(settings, persona=persona)
        start = time.perf_counter()
        choices = best_and_worst(answers, persona)  # per prompt: (best, worst) answer index, or None
        ranking_seconds = time.perf_counter() - start
        record = {
            "method": "dpo",
            "seed": seed,
            "persona": persona,
            "taste": taste(persona),
            "fast": course.fast,
            "model": course.model,
            "sampling_seconds": round(sampling_seconds, 2),
            "folder": str(folder),
            "choices": choices,
        }
        round_one = stage_round_one(course, persona_settings, answers)
        if round_one is not None:  # the DPO stage's round 1 is this very run: same answers, ranking, settings, seed
            round_metrics, samples_path = round_one
            shutil.copyfile(samples_path, folder / "samples.jsonl")
            record.update(
                seconds=round(round_metrics["seconds"] + round_metrics.get("eval_seconds", 0.0), 2),
                metrics={**round_metrics, "settings": asdict(persona_settings)},
            )
            record["from"] = "round 1 of the dpo stage (notebook 06)"
        else:
            release_memory()  # the previous persona's trainer and models: handed back before the next run
            begin = time.perf_counter()
            metrics = build_stage(
                course,
                folder,
                settings=persona_settings,
                pairs=rank_answers(answers, persona, choices),
                progress=False,
                measure_rounds=False,
            )
            # ranking, training and measuring this persona's model, plus the sampling both share
            record.update(
                seconds=round(time.perf_counter() - begin + ranking_seconds + sampling_seconds, 2),
                metrics={k: v for k, v in metrics.items() if k != "history"},
            )
        records[persona] = write_record(folder, record)
    return records


def stage_round_one(course, settings, answers) -> tuple[dict, Path] | None:
    """Round 1 of the DPO stage (its metrics and held-out answers' file) when it is exactly one round
    of DPO with `settings` on `answers`: the stage's settings bar the number of rounds, its round 1
    ranked by the annotator (not the learner's labels) from the same SFT weights' kept answers."""
    record = stages.read_metrics(course, "dpo")
    if record is None or bool(record.get("fast")) != course.fast:
        return None
    metrics = record["metrics"]
    ignore = ("rounds", "use_learner_labels")
    stage_settings = {k: v for k, v in (metrics.get("settings") or {}).items() if k not in ignore}
    if stage_settings != {k: v for k, v in asdict(settings).items() if k not in ignore}:
        return None
    first = (metrics.get("rounds") or [{}])[0]
    samples_path = stages.folder(course, "dpo") / "rounds" / "round-1" / "samples.jsonl"
    if first.get("sft_weights") != answers.weights or answers.weights is None or "gold_win_rate_vs_sft" not in first:
        return None
    return (first, samples_path) if samples_path.exists() else None


def stage_round_win_rates(course) -> list[float]:
    """The DPO stage's gold win-rate over SFT after each of its rounds (those it measured)."""
    record = stages.read_metrics(course, "dpo")
    if record is None:
        raise TutorError("The DPO stage has not been trained yet: run notebook 06 (or `rlhf-tutor run`) first.")
    return [r["gold_win_rate_vs_sft"] for r in record["metrics"]["rounds"] if "gold_win_rate_vs_sft" in r]


def same_choices(first: dict, second: dict) -> dict[str, float]:
    """How two persona runs ranked the same answers, prompt by prompt: the share of prompts where
    both chose the same answer ("same chosen"), and where one's chosen answer was the other's
    rejected ("reversed")."""
    both = [
        (a, b)
        for a, b in zip(first.get("choices") or [], second.get("choices") or [], strict=False)
        if a is not None and b is not None
    ]
    if not both or len(first["choices"]) != len(second["choices"]):
        raise TutorError("same_choices() needs two runs ranked from the same answers (comparison.persona_runs).")
    return {
        "same chosen": sum(a[0] == b[0] for a, b in both) / len(both),
        "reversed": sum(a[0] == b[1] or a[1] == b[0] for a, b in both) / len(both),
    }


def persona_table(samples_by_model: dict, personas: Sequence[str] = ("riley", "quinn")):
    """Mean gold score of each model's answers as judged by each persona, with their length and
    politeness (a DataFrame, one row per model)."""
    import pandas as pd

    judges = {p: GoldAnnotator(p) for p in personas}
    table = {}
    for name, samples in samples_by_model.items():
        table[name] = {
            f"{p.capitalize()}'s score": sum(judge.scores(samples.prompts, samples.texts)) / len(samples)
            for p, judge in judges.items()
        }
        table[name]["mean words"] = sum(len(t.split()) for t in samples.texts) / len(samples)
        table[name]["politeness"] = changes(samples.prompts, samples.texts)["politeness"]
    return pd.DataFrame(table).T
