"""What RL fine-tuning actually changes: the seed's list (politeness, conciseness, fit to the
audience, caution, correctness, staying on topic) measured on a model's held-out answers, the
grouped bar chart of it, and where in the prompts each model still loses to SFT.
"""

from __future__ import annotations

from collections.abc import Sequence

from tutor.core.evaluation import by_prompt_group, written_for_quants
from tutor.errors import TutorError
from tutor.world import GoldAnnotator, analyse, parse_prompt

CHANGE_AXES = {
    "politeness": "mean politeness (−1 rude … +1 polite)",
    "conciseness": "share of answers of at most 35 words",
    "audience fit": "on prompts that name an audience: +1 written for it, −1 for the other",
    "caution on advice": "advice prompts: −1 reckless … +1 caveated",
    "correctness": "true statements / checkable statements",
    "on topic": "share of answers about the concept asked",
}


def changes(prompts: Sequence[str], texts: Sequence[str]) -> dict[str, float]:
    """Each of `CHANGE_AXES`, measured on a set of answers to `prompts`."""
    if not texts:
        raise TutorError("changes() needs at least one answer.")
    parsed = [parse_prompt(p) for p in prompts]
    profiles = [analyse(t, p) for t, p in zip(texts, parsed, strict=True)]
    fit = [
        a.audience * (1 if p.audience == "quant" else -1) for p, a in zip(parsed, profiles, strict=True) if p.audience
    ]
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
