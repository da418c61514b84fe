"""Domain LLMs: a compliance reviewer's stake in the fixed-income help desk, aligned and measured.

The course's customers want style (Riley short and friendly, Quinn thorough). A bank's help desk
answers to a third person who is not a customer: Casey, a compliance reviewer (`tutor.world.CASEY`),
who rejects guarantees, reckless or uncaveated personal advice and false claims, and barely cares
about style. We align the SFT model to Casey with DPO on Casey's labels of the world's candidate
pairs (notebook 06's offline recipe with fewer pairs: seconds on a laptop), and measure what a
reviewer signs off on, on the held-out personal-advice prompts: the share of answers that carry a
caveat, that defer the decision to an adviser, that give reckless advice or a guarantee, or that
state a myth.
The same checks read the real small model's answers (`real_model_answers`), where the world's
analyser knows only the world's own phrasings: a floor on what it finds, not a full audit.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tutor.config import check_whole
from tutor.course import TINY
from tutor.errors import TutorError

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "beyond.json"
REVIEWER = "casey"
GUARANTEE = "guarantee"  # "guaranteed", "guarantees": a promise no compliance reviewer signs


@dataclass(frozen=True)
class DomainSettings:
    """Aligning to the reviewer (`tutor.config`'s convention: checked when made)."""

    n_pairs: int = 200  # Casey's labels of candidate-answer pairs (label seed 0)
    per_prompt: int = 24  # answers sampled per held-out advice prompt, per model
    seed: int = 0

    def __post_init__(self):
        check_whole(self, "n_pairs", minimum=16)
        check_whole(self, "per_prompt")
        check_whole(self, "seed", minimum=0)

    @classmethod
    def for_mode(cls, fast: bool, model: str = TINY, **changes) -> DomainSettings:
        """FAST mode: 16 pairs and 4 answers a prompt (a sketch: too few to move the numbers)."""
        return cls(**{**({"n_pairs": 16, "per_prompt": 4} if fast else {}), **changes})


def advice_prompts() -> list[str]:
    """The held-out personal-advice prompts: where a reviewer's stake differs from a customer's."""
    from tutor.world import prompts_for

    return [p.text for p in prompts_for("test") if p.kind == "advice"]


def advice_answers(model, tokenizer, per_prompt: int, seed: int = 0, max_new_tokens: int = 96) -> tuple[list, list]:
    """`per_prompt` sampled answers to each held-out advice prompt: (prompts, texts)."""
    from tutor.core.sampling import sample

    asked = [p for p in advice_prompts() for _ in range(per_prompt)]
    samples = sample(model, tokenizer, asked, seed=seed, max_new_tokens=max_new_tokens)
    return samples.prompts, samples.texts


def share(k: int, n: int) -> tuple[float, float, float]:
    """A share and its 95 % Wilson interval (lo, hi): unlike p ± 1.96·se it does not shrink to
    nothing at 0 of 20, where the truth may still be a few in a hundred."""
    if n == 0:
        return 0.0, 0.0, 1.0
    p, z = k / n, 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return p, max(0.0, centre - half), min(1.0, centre + half)


def _share_text(k: int, n: int) -> str:
    p, lo, hi = share(k, n)
    return f"{p:.0%} ({lo:.0%}–{hi:.0%})"


def compliance(prompts: Sequence[str], texts: Sequence[str]) -> dict:
    """What a compliance reviewer checks, as counts: advice answers with a caveat, that defer the
    decision to an adviser (the world's way of declining personal advice), with reckless advice, with
    a guarantee; answers stating a myth; and each person's mean score."""
    from tutor.world import GoldAnnotator, analyse, parse_prompt

    if not texts or len(prompts) != len(texts):
        raise TutorError(
            f"compliance() needs one answer per prompt, got {len(prompts)} prompts and {len(texts)} answers."
        )
    advice = caveated = defers = reckless = guarantees = myths = 0
    for prompt, text in zip(prompts, texts, strict=True):
        p, asked = analyse(text, prompt), parse_prompt(prompt)
        myths += p.myths > 0
        if asked.kind == "advice":
            advice += 1
            caveated += p.safety > 0
            defers += p.defers
            reckless += p.safety < 0
            guarantees += GUARANTEE in text.lower()
    out = {
        "answers": len(texts),
        "advice answers": advice,
        "caveated": caveated,
        "defers": defers,
        "reckless": reckless,
        "guarantees": guarantees,
        "myths": myths,
    }
    for person in (REVIEWER, "riley"):
        scores = GoldAnnotator(person).scores(prompts, texts)
        out[f"{person} score"] = statistics.fmean(scores)
        sd = statistics.stdev(scores) if len(scores) > 1 else 0.0
        out[f"{person} half-width"] = 1.96 * sd / math.sqrt(len(scores))
    return out


def table(rows: dict[str, dict]):
    """One row per model: each share of the advice answers with its 95 % interval, and each person's
    mean score ± its 95 % half-width."""
    import pandas as pd

    out = {}
    for name, c in rows.items():
        row = {}
        for key in ("caveated", "defers", "reckless", "guarantees"):
            row[key] = _share_text(c[key], c["advice answers"])
        row["myths"] = _share_text(c["myths"], c["answers"])
        row["Casey's score"] = f"{c['casey score']:.2f} ± {c['casey half-width']:.2f}"
        row["Riley's score"] = f"{c['riley score']:.2f} ± {c['riley half-width']:.2f}"
        row["answers"] = c["answers"]
        out[name] = row
    return pd.DataFrame(out).T


def align(course, settings: DomainSettings | None = None) -> dict:
    """DPO on Casey's labels from the SFT model; cached in runs/<model>/beyond/casey (rebuilt when
    the settings or Casey's taste changed). Returns its record: the model's folder, its KL to SFT and
    its win-rate over SFT as Casey judges."""
    from tutor.dpo import DPOSettings, build_stage
    from tutor.world import get_persona

    s = settings or DomainSettings.for_mode(course.fast, course.model)
    reviewer = json.loads(json.dumps(asdict(get_persona(REVIEWER))))  # as the record stores it
    where = course.model_runs / "beyond" / "casey"
    try:
        record = json.loads((where / "record.json").read_text())
        if record.get("settings") == asdict(s) and record.get("reviewer") == reviewer:
            return record
    except (OSError, json.JSONDecodeError):
        pass
    where.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    dpo = DPOSettings.for_mode(
        course.fast,
        course.model,
        data="gold",
        n_pairs=s.n_pairs,
        persona=REVIEWER,
        use_learner_labels=False,
        seed=s.seed,
    )
    metrics = build_stage(course, where, settings=dpo, progress=False, measure_rounds=False)
    record = {
        "settings": asdict(s),
        "reviewer": reviewer,
        "seconds": round(time.perf_counter() - start, 1),
        "kl": metrics["kl"],
        "win_rate_vs_sft": metrics["gold_win_rate_vs_sft"],  # judged by Casey
        "model": str(where / "model"),
    }
    (where / "record.json").write_text(json.dumps(record))
    return record


def verdict(rows: dict[str, dict], before: str, after: str) -> list[str]:
    """`after` against `before` on each check, with the interval of the difference of two shares."""
    a, b = rows[before], rows[after]
    lines = []
    for person, name in ((REVIEWER, "Casey"), ("riley", "Riley")):
        diff = b[f"{person} score"] - a[f"{person} score"]
        half = math.hypot(a[f"{person} half-width"], b[f"{person} half-width"])
        word = "a change beyond the noise" if abs(diff) > half else "no measurable change"
        was, now = a[f"{person} score"], b[f"{person} score"]
        lines.append(f"{name}'s score: {before} {was:.2f}, {after} {now:.2f} ({diff:+.2f} ± {half:.2f}: {word}).")
    checks = (("caveated", "advice answers"), ("defers", "advice answers"), ("reckless", "advice answers"))
    for key, of in (*checks, ("myths", "answers")):
        p0, p1 = a[key] / max(a[of], 1), b[key] / max(b[of], 1)
        half = 1.96 * math.sqrt(p0 * (1 - p0) / max(a[of], 1) + p1 * (1 - p1) / max(b[of], 1))
        diff = p1 - p0
        word = "a change beyond the noise" if abs(diff) > half and half > 0 else "no measurable change"
        lines.append(f"{key}: {before} {p0:.0%}, {after} {p1:.0%} ({diff:+.0%} ± {half:.0%}: {word}).")
    return lines


def real_model_answers(prompts: Sequence[str], max_new_tokens: int = 96, seed: int = 0) -> dict | None:
    """The real small model (SmolLM2-135M-Instruct, `make real-model-setup`) answering `prompts`,
    with `compliance` of its answers; None when it is not installed."""
    from tutor import real_models
    from tutor.core.models import load_causal_lm, load_tokenizer, model_path
    from tutor.core.sampling import sample

    gguf = real_models.smollm2_gguf()
    if gguf is None:
        return None
    folder = model_path(str(gguf.parent))
    model, tokenizer = load_causal_lm(folder), load_tokenizer(folder)
    samples = sample(model, tokenizer, list(prompts), max_new_tokens=max_new_tokens, seed=seed)
    return {
        "prompts": samples.prompts,
        "texts": samples.texts,
        "ended": samples.ended,
        "max_new_tokens": max_new_tokens,
        "compliance": compliance(samples.prompts, samples.texts),
    }


def real_model_lines(real: dict) -> list[str]:
    """The keyword checks of the real model's answers, each share with its 95 % interval. No persona
    score: the toy world's analyser reads every word outside the world's vocabulary as a broken word,
    so its scores of real text measure the vocabulary, not the answer."""
    c = compliance(real["prompts"], real["texts"])  # re-read: the checks may be newer than the answers
    n = c["advice answers"]
    out = []
    for key, what in (
        ("caveated", "name a caveat the world knows (risk tolerance, an emergency fund, diversifying, …)"),
        ("defers", "defer the decision to a financial adviser"),
        ("reckless", "give reckless advice in the world's words"),
        ("guarantees", "promise a guarantee"),
    ):
        out.append(f"{_share_text(c[key], n)} of its {n} answers {what}.")
    ended = _share_text(sum(real["ended"]), len(real["ended"]))
    out.append(f"{ended} of them end by themselves within {real['max_new_tokens']} new tokens.")
    return out


def measured_real(path: str | Path | None = None) -> dict | None:
    """The real model's answers and checks that `benchmarks/beyond.py --sections domain` committed
    (None where this copy of the course has none)."""
    path = Path(path) if path is not None else RESULTS
    try:
        return json.loads(path.read_text()).get("domain")
    except (OSError, json.JSONDecodeError):
        return None
