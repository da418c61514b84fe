"""PPO vs DPO, measured: the seed's comparison table filled with numbers from this course's runs.

Each training run is a *record*: gold win-rate over SFT, KL to SFT, wall time, peak memory, the
answers it wrote. Runs for seeds other than the stage's own train in a child process
(`python -m tutor.compare`, one for all the missing runs), so that their peak memory is not the
notebook's, and are cached under runs/<model>/compare/, so notebook 07 reuses them and rebuilds
only what is missing.
"""

from __future__ import annotations

import ast
import io
import json
import os
import shutil
import subprocess
import sys
import time
import tokenize
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

from tutor.errors import TutorError

METHODS = ("ppo", "dpo")


def available(method: str) -> bool:
    """Whether this version of the package has the stage's code (PPO may land after DPO)."""
    import importlib.util

    return importlib.util.find_spec(f"tutor.{method}") is not None


def check_method(method: str) -> str:
    if method not in METHODS:
        raise TutorError(f"Unknown method {method!r}; compare one of: {', '.join(METHODS)}.")
    return method


# ---------------------------------------------------------------------------------------------------
# Runs


def run_folder(course, method: str, seed: int, persona: str = "riley") -> Path:
    return course.model_runs / "compare" / f"{method}-{persona}-seed{seed}"


def _read(path: Path, fast: bool) -> dict | None:
    try:
        record = json.loads((path / "record.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if record.get("fast") and not fast:
        return None  # a FAST run never stands in for a full one
    if not record.get("fast") and fast:
        return None  # nor a full run for a FAST comparison: the table compares like with like
    return record


def _write_record(where: Path, record: dict) -> dict:
    """Save a run's record in its folder; return it as a later `_read` will see it (JSON types)."""
    text = json.dumps(record, indent=2)
    (where / "record.json").write_text(text)
    return json.loads(text)


def _peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM on Linux (which `_reset_peak` can restart, so one
    process can measure several runs in turn), else getrusage's lifetime peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)  # macOS reports bytes, Linux KiB


def _release_memory() -> None:
    """Hand memory freed by the last run back to the system (glibc keeps freed heap pages for
    reuse), so the next run in the same process peaks about as high as it would alone (measured:
    two DPO seeds in one process, 1,195 MB at most; without this the second run starts near 1 GB)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        pass


def _reset_peak() -> None:
    """Restart the peak-memory count from the current RSS (Linux; a no-op where unsupported)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _build_in_this_process(course, method: str, seed: int, persona: str, where: Path) -> dict:
    """Train `method` from the SFT stage with this seed (and persona, DPO only) into `where`."""
    from tutor import stages

    stages.ensure(course, "sft", quiet=True)
    if method == "ppo":
        stages.ensure(course, "reward", quiet=True)
    _reset_peak()
    before = _peak_rss_mb()
    start = time.perf_counter()
    if method == "dpo":
        from tutor.dpo import DPOSettings, build_stage

        # another persona's model learns that persona's labels, never the learner's own
        settings = DPOSettings.for_mode(course.fast, seed=seed, persona=persona, use_learner_labels=persona == "riley")
        metrics = build_stage(course, where, settings=settings, progress=False, measure_rounds=False)
    else:
        from tutor.ppo import PPOSettings, build_stage

        if persona != "riley":
            raise TutorError("PPO is compared for Riley only: its reward model learned Riley's labels.")
        metrics = build_stage(course, where, config=PPOSettings.for_mode(course.fast, seed=seed))
    seconds = time.perf_counter() - start
    return {
        "method": method,
        "seed": seed,
        "persona": persona,
        "fast": course.fast,
        "model": course.model,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "rss_before_mb": round(before, 1),
        "metrics": {k: v for k, v in metrics.items() if k != "history"},
    }


def _stage_record(course, method: str) -> dict | None:
    """The stage itself stands in for seed 0 (Riley): same settings, already trained."""
    from tutor import stages

    record = stages.read_metrics(course, method)
    if record is None or record.get("fast") != course.fast:
        return None
    return {
        "method": method,
        "seed": 0,
        "persona": "riley",
        "fast": course.fast,
        "model": course.model,
        "seconds": record["seconds"],
        "peak_rss_mb": None,  # built inside a notebook or `rlhf-tutor run`: not measured on its own
        "metrics": {k: v for k, v in record["metrics"].items() if k != "history"},
        "folder": str(stages.folder(course, method)),
    }


def runs_for(course, method: str, seeds: Sequence[int] = (0, 1, 2), persona: str = "riley", quiet: bool = False) -> list[dict]:
    """One record per seed (see `all_runs`)."""
    return all_runs(course, [method], seeds, persona, quiet)[method]


def all_runs(course, methods: Sequence[str] = METHODS, seeds: Sequence[int] = (0, 1, 2), persona: str = "riley",
             quiet: bool = False) -> dict[str, list[dict]]:
    """Per method, one record per seed. Seed 0 for Riley is the stage itself; other runs come from
    the cache, and all those missing (a missing stage too) train one after another in a single child
    process (start-up paid once; each run's peak memory is the process's highest RSS during that
    run, after the previous run's memory was handed back; this process stays small)."""
    for method in methods:
        check_method(method)
        if not available(method):
            raise TutorError(f"This version of the course has no {method.upper()} stage yet (tutor/{method}.py).")
    records = {(m, seed): _cached(course, m, seed, persona) for m in methods for seed in seeds}
    missing = [key for key, record in records.items() if record is None]
    if missing:
        _train_in_child(course, missing, persona, quiet)
        for method, seed in missing:
            records[(method, seed)] = _cached(course, method, seed, persona)
            if records[(method, seed)] is None:
                raise TutorError(f"Training {method.upper()} (seed {seed}) finished without writing its record "
                                 f"in {run_folder(course, method, seed, persona)} (or the stage's metrics.json).")
    return {m: [records[(m, seed)] for seed in seeds] for m in methods}


def _is_stage(seed: int, persona: str) -> bool:
    """Seed 0 for Riley is the course's own stage (notebooks 05 and 06, or `rlhf-tutor run`)."""
    return seed == 0 and persona == "riley"


def _cached(course, method: str, seed: int, persona: str) -> dict | None:
    """The run's record, or None when it must be trained (a missing stage too: it is built with the
    other missing runs, in the child process, so that this process stays small)."""
    if _is_stage(seed, persona):
        return _stage_record(course, method)
    return _read(run_folder(course, method, seed, persona), course.fast)


def _describe(runs: Sequence[tuple[str, int]]) -> str:
    """("dpo", 1), ("dpo", 2), ("ppo", 1) → "DPO seeds 1, 2 and PPO seed 1"."""
    by_method: dict[str, list[int]] = {}
    for method, seed in runs:
        by_method.setdefault(method, []).append(seed)
    return " and ".join(f"{m.upper()} seed{'s' if len(s) > 1 else ''} {', '.join(map(str, s))}" for m, s in by_method.items())


def _train_in_child(course, runs: Sequence[tuple[str, int]], persona: str, quiet: bool) -> None:
    if not quiet:
        print(f"[compare] training {_describe(runs)} for {persona} (a separate process, to measure its memory) …")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")] if p)}
    cmd = [sys.executable, "-m", "tutor.compare", *[f"{m}:{seed}" for m, seed in runs], "--persona", persona,
           "--model", course.model, "--runs", str(course.runs)] + (["--fast"] if course.fast else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
        raise TutorError(f"Training {_describe(runs)} ({persona}) failed: {tail[0][:300]}")


def persona_folder(course, persona: str, seed: int = 0) -> Path:
    return course.model_runs / "compare" / f"dpo-{persona}-one-round-seed{seed}"


def persona_runs(course, personas: Sequence[str] = ("riley", "quinn"), seed: int = 0, quiet: bool = False) -> dict[str, dict]:
    """One round of DPO for each persona on the *same* answers: the SFT model answers the same
    prompts once, each persona ranks those answers, and each ranking trains its own copy of the SFT
    model with the same settings. Only the person differs, so any difference between the models is
    theirs. Records are cached like the seeds' runs; missing ones train in this process, sharing one
    round of sampling."""
    from tutor.world import get_persona

    names = [get_persona(p).name for p in personas]
    records = {p: _read(persona_folder(course, p, seed), course.fast) for p in names}
    missing = [p for p, record in records.items() if record is None]
    if not missing:
        return records
    from tutor.dpo import DPOSettings, best_and_worst, build_stage, rank_answers, sft_answers

    settings = DPOSettings.for_mode(course.fast, seed=seed, rounds=1, use_learner_labels=False)
    if not quiet:
        print(f"[compare] {settings.answers_per_prompt} answers to each of {settings.n_pairs} prompts from the SFT model, "
              f"ranked by {' and by '.join(p.capitalize() for p in missing)}; one round of DPO each …")
    # the answers the DPO stage's round 1 ranked for this seed (notebook 06 sampled them already)
    answers = sft_answers(course, settings.n_pairs, seed=seed * 1000, k=settings.answers_per_prompt,
                          max_new_tokens=settings.max_new_tokens)
    sampling = answers.seconds  # counted in each run's time, wherever it happened
    for persona in missing:
        where = persona_folder(course, persona, seed)
        where.mkdir(parents=True, exist_ok=True)
        mine = replace(settings, persona=persona)
        start = time.perf_counter()
        choices = best_and_worst(answers, persona)  # per prompt: (best, worst) answer index, or None
        ranking = time.perf_counter() - start
        record = {"method": "dpo", "seed": seed, "persona": persona, "fast": course.fast, "model": course.model,
                  "sampling_seconds": round(sampling, 2), "folder": str(where), "choices": choices}
        first = _stage_round_one(course, mine, answers)
        if first is not None:  # the DPO stage's round 1 is this very run: same answers, ranking, settings, seed
            round_one, samples = first
            shutil.copyfile(samples, where / "samples.jsonl")
            record.update(seconds=round(round_one["seconds"] + round_one.get("eval_seconds", 0.0), 2),
                          metrics={**round_one, "settings": asdict(mine)})
            record["from"] = "round 1 of the dpo stage (notebook 06)"
        else:
            _release_memory()  # the previous persona's trainer and models: handed back before the next run
            begin = time.perf_counter()
            metrics = build_stage(course, where, settings=mine, pairs=rank_answers(answers, persona, choices),
                                  progress=False, measure_rounds=False)
            # ranking, training and measuring this persona's model, plus the sampling both share
            record.update(seconds=round(time.perf_counter() - begin + ranking + sampling, 2),
                          metrics={k: v for k, v in metrics.items() if k != "history"})
        records[persona] = _write_record(where, record)
    return records


def _stage_round_one(course, settings, answers) -> tuple[dict, Path] | None:
    """Round 1 of the DPO stage (its record and held-out answers) when it is exactly one round of
    DPO with `settings` on `answers`: the stage's settings bar the number of rounds, its round 1
    ranked by the annotator (not the learner's labels) from the same SFT weights' kept answers."""
    from tutor import stages

    record = stages.read_metrics(course, "dpo")
    if record is None or bool(record.get("fast")) != course.fast:
        return None
    metrics = record["metrics"]
    ignore = ("rounds", "use_learner_labels")
    stage_settings = {k: v for k, v in (metrics.get("settings") or {}).items() if k not in ignore}
    if stage_settings != {k: v for k, v in asdict(settings).items() if k not in ignore}:
        return None
    first = (metrics.get("rounds") or [{}])[0]
    samples = stages.folder(course, "dpo") / "rounds" / "round-1" / "samples.jsonl"
    if first.get("sft_weights") != answers.weights or answers.weights is None or "gold_win_rate_vs_sft" not in first:
        return None
    return (first, samples) if samples.exists() else None


def same_choices(first: dict, second: dict) -> dict[str, float]:
    """How two persona runs ranked the same answers, prompt by prompt: the share of prompts where
    both chose the same answer ("same chosen"), and where one's chosen answer was the other's
    rejected ("reversed")."""
    both = [(a, b) for a, b in zip(first.get("choices") or [], second.get("choices") or [], strict=False)
            if a is not None and b is not None]
    if not both or len(first["choices"]) != len(second["choices"]):
        raise TutorError("same_choices() needs two runs ranked from the same answers (compare.persona_runs).")
    return {
        "same chosen": sum(a[0] == b[0] for a, b in both) / len(both),
        "reversed": sum(a[0] == b[1] or a[1] == b[0] for a, b in both) / len(both),
    }


def run_samples(record: dict):
    """The held-out answers a run wrote (the same prompts as the SFT stage's samples)."""
    from tutor.core.sampling import Samples

    folder = Path(record.get("folder") or "")
    path = folder / "samples.jsonl"
    if not path.exists():
        raise TutorError(f"No samples.jsonl in {str(folder)!r}; delete the folder so the run is rebuilt.")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return Samples([r["prompt"] for r in rows], [r["text"] for r in rows], [r["ended"] for r in rows])


# ---------------------------------------------------------------------------------------------------
# What the table reports


def code_lines(path: str | Path) -> int:
    """Lines of code in a Python file: not blank, not comments, not docstrings."""
    source = Path(path).read_text()
    doc_lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            doc_lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    code: set[int] = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in skip:
            continue
        for line in range(tok.start[0], tok.end[0] + 1):
            if line not in doc_lines:
                code.add(line)
    return len(code)


def implementation_lines() -> dict[str, dict[str, int]]:
    """Our code for each method, and the library code it stands on."""
    here = Path(__file__).resolve().parent
    out: dict[str, dict[str, int]] = {}
    ppo_files = [here / "ppo.py", here / "ppo_math.py"]
    out["ppo"] = {"ours": sum(code_lines(f) for f in ppo_files if f.exists()), "library": 0}
    try:
        import trl.trainer.dpo_trainer as trl_dpo

        library = code_lines(trl_dpo.__file__)
    except ImportError:  # pragma: no cover - trl is a dependency
        library = 0
    out["dpo"] = {"ours": code_lines(here / "dpo.py"), "library": library}
    return out


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    sd = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5 if n > 1 else 0.0
    return mean, sd


def summarise(records: Sequence[dict]) -> dict:
    """Mean and spread (sample standard deviation) across seeds of what the table reports."""
    if not records:
        raise TutorError("summarise() needs at least one run record.")
    win = [r["metrics"]["gold_win_rate_vs_sft"] for r in records]
    kl = [r["metrics"]["kl"] for r in records]
    seconds = [r["seconds"] for r in records]
    memory = [r["peak_rss_mb"] for r in records if r.get("peak_rss_mb")]
    out = {"seeds": len(records)}
    for name, values in (("win", win), ("kl", kl), ("seconds", seconds)):
        out[name], out[name + "_sd"] = _mean_sd(values)
    out["win_range"] = (min(win), max(win))
    out["peak_rss_mb"] = max(memory) if memory else None
    return out


def _stability(summary: dict) -> str:
    if summary["seeds"] < 2:
        return f"{summary['win']:.0%} on one seed (the spread needs ≥ 2 seeds: run in full mode)"
    low, high = summary["win_range"]
    return f"{summary['win']:.0%} ± {summary['win_sd']:.0%} over {summary['seeds']} seeds (range {low:.0%}–{high:.0%})"


def models_in_memory(method: str, record: dict | None = None) -> str:
    if method == "ppo":
        params = (record or {}).get("metrics", {}).get("parameters", {})
        names = ["policy", "reference", "reward", "value"]
        total = sum(params.get(n, 0) for n in names)
        return "4: policy, reference, reward, value" + (f" ({total / 1e6:.1f} M parameters)" if total else "")
    return "2: policy, reference (the reference only scores the pairs once, before training)"


def comparison_table(ppo: Sequence[dict] | None, dpo: Sequence[dict], reward_record: dict | None = None):
    """The seed's table (reward model, RL loop, stability, compute cost, implementation), each cell
    a measurement, plus the outcome rows it leaves out (win-rate, KL). A pandas DataFrame."""
    import pandas as pd

    lines = implementation_lines()
    d = summarise(dpo)
    cols = {}
    if ppo:
        p = summarise(ppo)
        rm = (reward_record or {}).get("metrics", {})
        rm_seconds = (reward_record or {}).get("seconds")
        episodes = ppo[0]["metrics"].get("episodes")
        cols["PPO (RLHF)"] = {
            "reward model": f"yes: trained first ({rm_seconds:.0f} s, held-out accuracy {rm.get('accuracy', float('nan')):.0%})" if rm_seconds else "yes",
            "RL loop": f"yes: {episodes} answers sampled, scored and learned from" if episodes else "yes",
            "annotator labels used": f"{rm['n_train_pairs']} (the reward model's pairs)" if "n_train_pairs" in rm else "not recorded",
            "stability (win-rate across seeds)": _stability(p),
            "compute cost (wall time)": f"{p['seconds']:.0f} s ± {p['seconds_sd']:.0f}" + (f" + reward model {rm_seconds:.0f} s" if rm_seconds else ""),
            "peak memory (training process)": f"{p['peak_rss_mb']:.0f} MB" if p["peak_rss_mb"] else "not measured",
            "models in memory": models_in_memory("ppo", ppo[0]),
            "implementation (lines of code)": f"{lines['ppo']['ours']} of ours (written from scratch)",
            "gold win-rate over SFT": f"{p['win']:.0%}",
            "KL to SFT (nats per answer)": f"{p['kl']:.2f} ± {p['kl_sd']:.2f}",
        }
    cols["DPO"] = {
        "reward model": "no: the policy's log-ratio to the reference is the reward",
        "RL loop": dpo_loop(dpo[0]["metrics"]),
        "annotator labels used": dpo_labels(dpo[0]["metrics"]),
        "stability (win-rate across seeds)": _stability(d),
        "compute cost (wall time)": f"{d['seconds']:.0f} s ± {d['seconds_sd']:.0f}",
        "peak memory (training process)": f"{d['peak_rss_mb']:.0f} MB" if d["peak_rss_mb"] else "not measured",
        "models in memory": models_in_memory("dpo"),
        "implementation (lines of code)": f"{lines['dpo']['ours']} of ours + TRL's DPOTrainer ({lines['dpo']['library']})",
        "gold win-rate over SFT": f"{d['win']:.0%}",
        "KL to SFT (nats per answer)": f"{d['kl']:.2f} ± {d['kl_sd']:.2f}",
    }
    return pd.DataFrame(cols)


def dpo_loop(metrics: dict) -> str:
    """The "RL loop" cell for a DPO run: none, but iterative DPO is not one fixed set of pairs either."""
    rounds = _rounds(metrics)
    if rounds == 1:
        return "no: one supervised loss over fixed pairs"
    return f"no RL loop, but {rounds} rounds: fresh answers, labelled by the annotator, then a supervised loss"


def dpo_labels(metrics: dict) -> str:
    """The "annotator labels used" cell for a DPO run (ranking k answers costs k(k−1)/2 labels a pair)."""
    labels = metrics.get("annotator_labels")
    if not labels:
        return "not recorded"
    return f"{labels} (each round ranks fresh answers)" if _rounds(metrics) > 1 else str(labels)


def _rounds(metrics: dict) -> int:
    return int(metrics.get("rounds_trained") or len(metrics.get("rounds") or []) or 1)


# ---------------------------------------------------------------------------------------------------
# What RL fine-tuning actually changes

CHANGE_AXES = {
    "politeness": "mean politeness (−1 rude … +1 polite)",
    "conciseness": "share of answers of at most 35 words",
    "audience fit": "on prompts that name an audience: +1 written for it, −1 for the other",
    "caution on advice": "advice prompts: −1 reckless … +1 caveated",
    "correctness": "true statements / checkable statements",
    "on topic": "share of answers about the concept asked",
}


def changes(prompts: Sequence[str], texts: Sequence[str]) -> dict[str, float]:
    """The seed's list of what RL fine-tuning changes, measured on a set of answers."""
    from tutor.world import analyse, parse_prompt

    if not texts:
        raise TutorError("changes() needs at least one answer.")
    parsed = [parse_prompt(p) for p in prompts]
    profiles = [analyse(t, p) for t, p in zip(texts, parsed, strict=True)]
    fit = [a.audience * (1 if p.audience == "quant" else -1) for p, a in zip(parsed, profiles, strict=True) if p.audience]
    advice = [a.safety for p, a in zip(parsed, profiles, strict=True) if p.kind == "advice"]
    n = len(profiles)
    return {
        "politeness": sum(a.politeness for a in profiles) / n,
        "conciseness": sum(a.words <= 35 for a in profiles) / n,
        "audience fit": sum(fit) / len(fit) if fit else 0.0,
        "caution on advice": sum(advice) / len(advice) if advice else 0.0,
        "correctness": sum(a.correctness for a in profiles) / n,
        "on topic": sum(a.on_topic for a in profiles) / n,
    }


def changes_figure(rows: dict[str, dict[str, float]], title: str = "What RL fine-tuning actually changes"):
    """One grouped bar chart: one group per attribute, one bar per model."""
    import plotly.graph_objects as go

    fig = go.Figure()
    axes = list(CHANGE_AXES)
    for name, values in rows.items():
        fig.add_bar(name=name, x=axes, y=[values[a] for a in axes],
                    hovertext=[CHANGE_AXES[a] for a in axes], text=[f"{values[a]:.2f}" for a in axes], textposition="outside")
    fig.update_layout(barmode="group", title=title, yaxis=dict(range=[-1.05, 1.15], zeroline=True), height=420,
                      margin=dict(t=60, b=40), legend=dict(orientation="h", y=-0.15))
    return fig


def where_each_loses(samples_by_model: dict, baseline: str = "SFT", persona: str = "riley"):
    """Per prompt group (`evaluate.prompt_group`), for each model against the `baseline` entry:
    win-rate, the group's share of the comparisons lost, and how often the model writes for quants
    (the baseline gets that last column only). A DataFrame with one column block per model."""
    import pandas as pd

    from tutor.core.evaluation import by_prompt_group, written_for_quants
    from tutor.world import GoldAnnotator

    if baseline not in samples_by_model:
        raise TutorError(f"where_each_loses() needs the baseline {baseline!r} among the models: {', '.join(samples_by_model)}.")
    base = samples_by_model[baseline]
    judge = GoldAnnotator(persona)
    blocks = {name: pd.DataFrame(by_prompt_group(judge, s, base)).T[["win-rate", "share of all losses", "written for quants"]]
              for name, s in samples_by_model.items() if name != baseline}
    blocks[baseline] = pd.DataFrame({"written for quants": written_for_quants(base.prompts, base.texts)})
    return pd.concat(blocks, axis=1)


def persona_table(samples_by_model: dict, personas: Sequence[str] = ("riley", "quinn")):
    """Mean gold score of each model's answers as judged by each persona (a DataFrame)."""
    import pandas as pd

    from tutor.world import GoldAnnotator

    judges = {p: GoldAnnotator(p) for p in personas}
    table = {}
    for name, s in samples_by_model.items():
        table[name] = {f"{p.capitalize()}'s score": sum(j.scores(s.prompts, s.texts)) / len(s) for p, j in judges.items()}
        prof = changes(s.prompts, s.texts)
        table[name]["mean words"] = sum(len(t.split()) for t in s.texts) / len(s)
        table[name]["politeness"] = prof["politeness"]
    return pd.DataFrame(table).T


# ---------------------------------------------------------------------------------------------------
# Child process entry point: python -m tutor.compare dpo:1 dpo:2 ppo:1 --runs DIR


def _run_spec(text: str) -> tuple[str, int]:
    method, _, seed = text.partition(":")
    if method not in METHODS or not seed.isdigit():
        raise ValueError(f"expected METHOD:SEED with METHOD one of {', '.join(METHODS)}, got {text!r}")
    return method, int(seed)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tutor.compare", description="Train comparison runs and record them.")
    parser.add_argument("runs_to_train", nargs="+", type=_run_spec, metavar="METHOD:SEED", help="e.g. dpo:1 dpo:2 ppo:1")
    parser.add_argument("--persona", default="riley")
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--runs", required=True)
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args(argv)
    os.environ["TUTOR_RUNS"] = args.runs
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tutor.course import setup

    for method, seed in args.runs_to_train:
        _release_memory()
        course = setup(FAST=args.fast, MODEL=args.model, seed=seed, quiet=True)  # seeded as if it ran alone
        if _is_stage(seed, args.persona):
            from tutor import stages

            stages.ensure(course, method, quiet=True)  # the stage itself, saved where every notebook finds it
            continue
        where = run_folder(course, method, seed, args.persona)
        where.mkdir(parents=True, exist_ok=True)
        try:
            record = _build_in_this_process(course, method, seed, args.persona, where)
        except TutorError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        _write_record(where, {**record, "folder": str(where)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
