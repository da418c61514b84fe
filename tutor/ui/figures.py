"""Figures and tables for notebook 05: Gao et al.'s √KL plot, one token's PPO quantities, the four
models. (Live training curves are `tutor.ui.live_plot.LivePlot`'s.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

PALETTE = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880")


def gao_figure(trajectories: Mapping[str, Mapping[str, Sequence[float]]], bon, title: str = ""):
    """Gold (solid) and proxy (dashed) against √KL: PPO runs as paths, best-of-n as markers."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (name, t) in enumerate(trajectories.items()):
        colour = PALETTE[(i + 1) % len(PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=t["sqrt_kl"],
                y=t["proxy"],
                mode="lines+markers",
                name=f"{name}: proxy (reward model)",
                line={"color": colour, "dash": "dash"},
                marker={"size": 4},
            )
        )
        fig.add_trace(
            go.Scatter(
                x=t["sqrt_kl"],
                y=t["gold"],
                mode="lines+markers",
                name=f"{name}: gold (annotator)",
                line={"color": colour},
                marker={"size": 4},
            )
        )
    text = [f"n={n}" for n in bon.n]
    fig.add_trace(
        go.Scatter(
            x=bon.sqrt_kl,
            y=bon.proxy,
            mode="lines+markers+text",
            text=text,
            textposition="top center",
            name="best-of-n: proxy",
            line={"color": "black", "dash": "dash"},
            marker={"symbol": "diamond"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=bon.sqrt_kl,
            y=bon.gold,
            mode="lines+markers",
            name="best-of-n: gold",
            line={"color": "black"},
            marker={"symbol": "diamond"},
        )
    )
    fig.update_layout(
        title=title,
        height=450,
        xaxis_title="√KL(π ‖ π_SFT)  (nats^½)",
        yaxis_title="score, in SFT standard deviations above the SFT mean",
        legend={"orientation": "h", "y": -0.2},
        margin={"t": 60},
    )
    return fig


def token_table(trainer, rollout, i: int = 0):
    """One answer of a rollout, token by token: every term of PPO's per-token bookkeeping."""
    import pandas as pd

    n = int(rollout.response_mask[i].sum())
    ids = rollout.response_ids[i, :n].tolist()
    last = n - 1
    beta = trainer.kl_ctl.value
    rows = []
    for t in range(n):
        rows.append(
            {
                "token": trainer.tokenizer.decode([ids[t]]),
                "log π": float(rollout.logps[i, t]),
                "log π_ref": float(rollout.ref_logps[i, t]),
                "kl_t": float(rollout.kl[i, t]),
                "−β·kl_t": -beta * float(rollout.kl[i, t]),
                "score": float(rollout.scores[i]) if t == last else 0.0,
                "reward r_t": float(rollout.rewards[i, t]),
                "value V_t": float(rollout.values[i, t]),
                "advantage A_t": float(rollout.advantages[i, t]),
            }
        )
    return pd.DataFrame(rows).round(3)


def models_table(trainer, models):
    """The networks PPO keeps in memory: role, parameters, whether they train, fp32 size."""
    import pandas as pd

    from tutor.core.models import count_parameters

    value = trainer.accelerator.unwrap_model(trainer.value_model)
    rows = [
        ("policy π (trained)", trainer.unwrapped_policy, True),
        ("reference π_ref (frozen SFT)", models.ref_policy, False),
        ("reward model R (frozen)", models.reward_model, False),
        ("value model V (trained)", value, True),
    ]
    table = pd.DataFrame(
        [
            {
                "model": name,
                "parameters": count_parameters(m),
                "trains": trains,
                "MB (fp32)": round(sum(p.numel() * p.element_size() for p in m.parameters()) / 2**20, 1),
            }
            for name, m, trains in rows
        ]
    )
    return table
