"""What RL fine-tuning actually changes: the seed's seven attributes (politeness, helpfulness,
safety boundaries, conciseness, tone, refusal behaviour, reasoning style) measured on a model's
held-out answers, the grouped bar chart of them, and where in the prompts each model still loses to SFT.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tutor.core.evaluation import by_prompt_group, written_for_quants
from tutor.errors import TutorError
from tutor.exercises.comparison import T_975
from tutor.world import GoldAnnotator, analyse, parse_prompt

CHANGE_AXES = {
    "politeness": "mean politeness (−1 rude … +1 polite)",
    "conciseness": "share of answers of at most 35 words",
    "audience fit": "on prompts that name an audience: +1 written for it, −1 for the other",
    "caution on advice": "advice prompts: −1 reckless … +1 caveated",
    "correctness": "true statements / checkable statements",
    "on topic": "share of answers about the concept asked",
    "refusal on advice": "advice prompts: share of answers that hand the decision to an adviser",
    "reasoning": "share of sentences that give a reason, a consequence, a condition or an example",
}
# The seed's list, "What RL fine-tuning actually changes", and the axes that measure each item.
SEED_ATTRIBUTES = {
    "politeness": ("politeness",),
    "helpfulness": ("correctness", "on topic"),
    "safety boundaries": ("caution on advice",),
    "conciseness vs verbosity": ("conciseness",),
    "tone": ("audience fit",),  # plain English for a saver, technical for a quant; warmth is politeness
    "refusal behaviour": ("refusal on advice",),
    "reasoning style": ("reasoning",),
}


def _per_answer(prompts: Sequence[str], texts: Sequence[str]) -> dict[str, list[tuple[str, float]]]:
    """Each axis's value for each answer it applies to, as (prompt, value)."""
    if not texts:
        raise TutorError("changes() needs at least one answer.")
    values: dict[str, list[tuple[str, float]]] = {axis: [] for axis in CHANGE_AXES}
    for prompt, text in zip(prompts, texts, strict=True):
        asked, a = parse_prompt(prompt), analyse(text, prompt)
        row = {
            "politeness": a.politeness,
            "conciseness": float(a.words <= 35),
            "correctness": a.correctness,
            "on topic": float(a.on_topic),
            "reasoning": a.reasoning,
        }
        if asked.audience:
            row["audience fit"] = a.audience * (1 if asked.audience == "quant" else -1)
        if asked.kind == "advice":
            row["caution on advice"], row["refusal on advice"] = a.safety, float(a.defers)
        for axis, value in row.items():
            values[axis].append((prompt, value))
    return values


def changes(prompts: Sequence[str], texts: Sequence[str]) -> dict[str, float]:
    """Each of `CHANGE_AXES`, measured on a set of answers to `prompts` (0 where no prompt applies)."""
    return {
        axis: sum(v for _, v in rows) / len(rows) if rows else 0.0 for axis, rows in _per_answer(prompts, texts).items()
    }


def t_975(df: int) -> float:
    """Student's t quantile for a two-sided 95 % interval: the table `T_975` up to 10 degrees of
    freedom, beyond it the first two terms of its expansion in 1/df around z = 1.96 (within 0.003)."""
    if df in T_975:
        return T_975[df]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def shifts(samples_by_model: dict, baseline: str = "SFT") -> dict[str, dict[str, tuple[float, float, int]]]:
    """Per model and axis, the change from `baseline` as (difference, 95 % half-width, prompts): the
    mean over prompts of the per-prompt difference of the two models' means, with a t-interval over
    prompts (answers to one prompt are alike, so the prompt, not the answer, is the unit)."""
    if baseline not in samples_by_model:
        raise TutorError(f"shifts() needs the baseline {baseline!r} among the models: {', '.join(samples_by_model)}.")

    def by_prompt(samples) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for axis, rows in _per_answer(samples.prompts, samples.texts).items():
            groups: dict[str, list[float]] = {}
            for prompt, value in rows:
                groups.setdefault(prompt, []).append(value)
            out[axis] = {p: sum(v) / len(v) for p, v in groups.items()}
        return out

    base = by_prompt(samples_by_model[baseline])
    result = {}
    for name, samples in samples_by_model.items():
        if name == baseline:
            continue
        own, row = by_prompt(samples), {}
        for axis in CHANGE_AXES:
            diffs = [own[axis][p] - base[axis][p] for p in own[axis] if p in base[axis]]
            k = len(diffs)
            mean = sum(diffs) / k if k else 0.0
            sd = (sum((d - mean) ** 2 for d in diffs) / (k - 1)) ** 0.5 if k > 1 else float("nan")
            row[axis] = (mean, t_975(k - 1) * sd / k**0.5 if k > 1 else float("nan"), k)
        result[name] = row
    return result


def shift_lines(shifted: dict) -> list[str]:
    """One line per seed attribute: each model's change (from `shifts`) on its axes, with the
    interval and whether the change is beyond it."""
    lines = []
    for attribute, axes in SEED_ATTRIBUTES.items():
        parts = []
        for axis in axes:
            cells = []
            for name, row in shifted.items():
                diff, half, k = row[axis]
                word = "beyond the noise" if not math.isnan(half) and abs(diff) > half else "within the noise"
                cells.append(f"{name} {diff:+.2f} ± {half:.2f} ({word})")
            parts.append(f"{axis} [{k} prompts]: " + ", ".join(cells))
        lines.append(f"{attribute}: " + "; ".join(parts))
    return lines


def changes_by_model(samples_by_model: dict) -> dict[str, dict[str, float]]:
    """`changes` of each model's held-out answers, by the model's name."""
    return {name: changes(samples.prompts, samples.texts) for name, samples in samples_by_model.items()}


def changes_figure(rows: dict[str, dict[str, float]], title: str = "What RL fine-tuning actually changes"):
    """One grouped bar chart: one group per attribute, one bar per model."""
    import plotly.graph_objects as go

    fig = go.Figure()
    axes = list(CHANGE_AXES)
    for name, values in rows.items():
        fig.add_bar(
            name=name,
            x=axes,
            y=[values[a] for a in axes],
            hovertext=[CHANGE_AXES[a] for a in axes],
            text=[f"{values[a]:.2f}" for a in axes],
            textposition="outside",
        )
    fig.update_layout(
        barmode="group",
        title=title,
        yaxis=dict(range=[-1.05, 1.15], zeroline=True),
        height=420,
        margin=dict(t=60, b=40),
        legend=dict(orientation="h", y=-0.15),
    )
    return fig


def where_each_loses(samples_by_model: dict, baseline: str = "SFT", persona: str = "riley"):
    """Per prompt group (`tutor.core.evaluation.prompt_group`), for each model against the `baseline`
    entry: win-rate, the group's share of the comparisons lost, and how often the model writes for
    quants (the baseline gets that last column only). A DataFrame with one column block per model."""
    import pandas as pd

    if baseline not in samples_by_model:
        raise TutorError(
            f"where_each_loses() needs the baseline {baseline!r} among the models: {', '.join(samples_by_model)}."
        )
    base = samples_by_model[baseline]
    judge = GoldAnnotator(persona)
    blocks = {
        name: pd.DataFrame(by_prompt_group(judge, samples, base)).T[
            ["win-rate", "share of all losses", "written for quants"]
        ]
        for name, samples in samples_by_model.items()
        if name != baseline
    }
    blocks[baseline] = pd.DataFrame({"written for quants": written_for_quants(base.prompts, base.texts)})
    return pd.concat(blocks, axis=1)
