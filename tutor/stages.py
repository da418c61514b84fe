"""The course pipeline as stages with artifacts: base → sft → reward → ppo / dpo.

Each stage writes its model and a `metrics.json` under runs/<model>/<stage>/. `ensure` returns a
stage's folder, building it (and whatever it needs) when it is missing — which is what lets every
notebook run on its own on a fresh machine. A FAST artifact never stands in for a full one.
"""

from __future__ import annotations

import importlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from tutor.core.memory import release_memory
from tutor.core.processes import is_main_process, wait_for_everyone
from tutor.course import TINY, Course
from tutor.errors import TutorError


@dataclass(frozen=True)
class Stage:
    name: str
    needs: tuple[str, ...]
    builder: str  # "module:function" taking (course, folder) and returning a metrics dict
    key_metrics: tuple[str, ...]
    about: str


STAGES: dict[str, Stage] = {
    s.name: s
    for s in (
        Stage(
            "base",
            (),
            "tutor.stages:build_base",
            ("fluent_rate", "follows_instruction_rate", "gold"),
            "the pretrained model: knows the world's language, does not yet answer",
        ),
        Stage(
            "sft",
            ("base",),
            "tutor.sft:build_stage",
            ("follows_instruction_rate", "eos_rate", "gold"),
            "supervised fine-tuning: learns how to answer",
        ),
        Stage(
            "reward",
            ("sft",),
            "tutor.reward:build_stage",
            ("accuracy", "bayes_accuracy"),
            "a reward model learns the annotator's preferences",
        ),
        Stage(
            "ppo",
            ("sft", "reward"),
            "tutor.ppo:build_stage",
            ("gold_win_rate_vs_sft", "kl", "recipe"),
            "PPO maximises reward − β·KL",
        ),
        Stage(
            "dpo",
            ("sft",),
            "tutor.dpo:build_stage",
            ("gold_win_rate_vs_sft", "kl"),
            "DPO optimises preference pairs directly",
        ),
    )
}


def available_stages() -> list[str]:
    """Stages whose code exists in this version of the package, in pipeline order."""
    out = []
    for name, stage in STAGES.items():
        module = stage.builder.split(":")[0]
        try:
            importlib.util.find_spec(module)
        except ModuleNotFoundError:
            continue
        if importlib.util.find_spec(module) is not None:
            out.append(name)
    return out


def check_stage(name: str) -> Stage:
    if name not in STAGES:
        raise TutorError(f"Unknown stage {name!r}; stages are: {', '.join(STAGES)}.")
    return STAGES[name]


def folder(course: Course, name: str) -> Path:
    check_stage(name)
    return course.model_runs / name


def read_metrics(course: Course, name: str) -> dict | None:
    """The stage's saved record, or None when it is missing or unreadable (each mode has its own
    folder, so a FAST sketch never stands in for a full run: see `Course.model_runs`)."""
    path = folder(course, name) / "metrics.json"
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return record


def model_folder(course: Course, name: str) -> Path:
    """Where the stage's model lives: the base stage of "tiny" is the shipped model."""
    if name == "base":
        from tutor.core.models import model_path

        return model_path(course.model)
    return folder(course, name) / "model"


def ensure(course: Course, name: str, quiet: bool = False) -> Path:
    """The folder of stage `name`, built first (with its prerequisites) if it is missing."""
    stage = check_stage(name)
    if name == "base" or read_metrics(course, name) is not None:
        return model_folder(course, name)  # the base model needs no building: it ships (or is MODEL)
    for need in stage.needs:
        ensure(course, need, quiet=quiet)
    where = folder(course, name)
    if not quiet:
        mode = "FAST" if course.fast else "full"
        print(f"[{name}] no saved {mode}-mode artifact in {where}: building it now ({stage.about}).")
    build(course, name)
    return model_folder(course, name)


def build(course: Course, name: str, **options) -> dict:
    """Run stage `name` now (its prerequisites must exist) and save its metrics record.

    `options` go to the stage's builder, e.g. ``build(course, "sft", callbacks=[plot.callback()])``
    lets a notebook watch the training that produces the saved stage.
    """
    stage = check_stage(name)
    module, func = stage.builder.split(":")
    builder = getattr(importlib.import_module(module), func)
    where = folder(course, name)
    where.mkdir(parents=True, exist_ok=True)
    start, cpu = time.perf_counter(), time.process_time()
    metrics = builder(course, where, **options)
    release_memory()  # the stage's trainer and models, freed now: a real model's next stage starts lean
    # CPU seconds (all threads): what a busy shared machine does not inflate, unlike the wall time.
    metrics = {**metrics, "cpu_seconds": round(time.process_time() - cpu, 2)}
    return save_record(course, name, metrics, time.perf_counter() - start)


def save_record(course: Course, name: str, metrics: dict, seconds: float) -> dict:
    """Write stage `name`'s metrics.json, which makes the stage exist for every later notebook (also
    for a run a notebook trained itself, as notebook 05 does)."""
    record = {
        "stage": name,
        "fast": course.fast,
        "model": course.model,
        "seconds": round(seconds, 2),
        "metrics": metrics,
    }
    where = folder(course, name)
    if is_main_process():  # under a launcher, rank 0 writes; the others wait until the stage exists
        where.mkdir(parents=True, exist_ok=True)
        (where / "metrics.json").write_text(json.dumps(record, indent=2))
    wait_for_everyone()
    return record


def build_base(course: Course, where: Path) -> dict:
    """Measure the pretrained model on held-out prompts (nothing to train: the weights ship)."""
    from tutor.core.evaluation import eval_prompts, evaluate_model
    from tutor.core.models import load_causal_lm, load_tokenizer, model_path
    from tutor.world import GoldAnnotator

    path = model_path(course.model)
    tokenizer = load_tokenizer(path)
    model = load_causal_lm(path, course.device)
    prompts = eval_prompts(course.fast, model=course.model)
    chat = course.model != TINY  # the tiny base model never saw chat markers; real models may have
    result = evaluate_model(model, tokenizer, prompts, GoldAnnotator("riley"), chat=chat)
    save_samples(where, result.samples)
    return result.metrics()


def save_samples(where: Path, samples) -> None:
    """Evaluation samples next to the stage's metrics, so later notebooks compare without resampling."""
    rows = [
        {"prompt": p, "text": t, "ended": e}
        for p, t, e in zip(samples.prompts, samples.texts, samples.ended, strict=True)
    ]
    if is_main_process():
        (where / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    wait_for_everyone()


def load_samples(course: Course, name: str):
    """The evaluation samples a stage saved (a `Samples`), building the stage if needed."""
    from tutor.core.sampling import Samples

    ensure(course, name, quiet=True)
    path = folder(course, name) / "samples.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return Samples([r["prompt"] for r in rows], [r["text"] for r in rows], [r["ended"] for r in rows])
