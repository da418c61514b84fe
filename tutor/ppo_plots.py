"""Figures for notebook 05: the training dashboard, overlaid runs, and Gao et al.'s √KL plot.

The live dashboard uses `tutor.plots.LivePlot` when the package has it (curves redraw while the
cell runs). Without it, `Dashboard` collects the metrics and draws one static plotly figure when
training ends — the same panels, only not live.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

PALETTE = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880")

# Panel title → the metrics it shows (TRL's names, plus the gold annotator's score).
DASHBOARD = {
    "reward-model score (normalised)": ["objective/scores", "objective/rlhf_reward"],
    "KL(π ‖ π_SFT) per answer": ["objective/kl"],
    "gold annotator's score": ["gold/score"],
}
LABELS = {
    "objective/scores": "score",
    "objective/rlhf_reward": "score − β·KL",
    "objective/kl": "KL",
    "gold/score": "gold",
}


def _live_plot_class():
    try:
        from tutor.plots import LivePlot
    except ImportError:
        return None
    return LivePlot


class Dashboard:
    """`log(step, metrics)` during training (pass `dashboard.log` as PPOTrainer.train's callback),
    `close()` at the end. Live when `tutor.plots.LivePlot` exists, one figure at the end otherwise."""

    def __init__(self, panels: Mapping[str, Sequence[str]] = DASHBOARD, title: str = "PPO", refs: Mapping | None = None):
        self.panels = {k: list(v) for k, v in panels.items()}
        self.title = title
        self.refs = dict(refs or {})
        self.history: list[dict] = []
        cls = _live_plot_class()
        self._live = cls(self.panels, title=title, refs=self.refs or None, every=1.0) if cls else None
        self._wanted = {m for ms in self.panels.values() for m in ms}

    @property
    def live(self) -> bool:
        return self._live is not None

    def log(self, step: int, metrics: Mapping[str, float]) -> None:
        row = {k: v for k, v in metrics.items() if k in self._wanted}
        self.history.append({"step": step, **row})
        if self._live is not None:
            self._live.log(step, row)

    def close(self):
        """End the live plot (it becomes one static figure); without LivePlot, return the figure."""
        if self._live is not None:
            self._live.close()
            return None
        return curves({self.title: self.history}, self.panels, refs=self.refs, title=self.title)


def curves(runs: Mapping[str, Sequence[Mapping]], panels: Mapping[str, Sequence[str]],
           title: str = "", refs: Mapping[str, float] | None = None, x: str = "step"):
    """One panel per entry of `panels`, one colour per run (a β sweep, seeds, learning rates)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = list(panels)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.07)
    dashes = ("solid", "dot", "dash", "dashdot")
    for r, (run, history) in enumerate(runs.items()):
        colour = PALETTE[r % len(PALETTE)]
        for c, panel in enumerate(names, start=1):
            for d, metric in enumerate(panels[panel]):
                rows = [h for h in history if metric in h]
                label = run if len(runs) > 1 else LABELS.get(metric, metric)
                if len(runs) > 1 and len(panels[panel]) > 1:
                    label = f"{run}: {LABELS.get(metric, metric)}"
                fig.add_trace(go.Scatter(
                    x=[h[x] for h in rows], y=[h[metric] for h in rows], mode="lines", name=label,
                    line={"color": colour if len(runs) > 1 else PALETTE[d], "dash": dashes[d % 4] if len(runs) > 1 else "solid"},
                    legendgroup=label, showlegend=(c == 1 or len(runs) == 1) and not (len(runs) > 1 and c > 1),
                ), row=1, col=c)
            if refs and panel in refs:
                fig.add_hline(y=refs[panel], line={"dash": "dash", "color": "grey"}, row=1, col=c)
    fig.update_layout(title=title, height=330, margin={"t": 60, "b": 40, "l": 40, "r": 20},
                      legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(title_text=x)
    return fig


def gao_figure(trajectories: Mapping[str, Mapping[str, Sequence[float]]], bon, title: str = ""):
    """Gold (solid) and proxy (dashed) against √KL: PPO runs as paths, best-of-n as markers."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (name, t) in enumerate(trajectories.items()):
        colour = PALETTE[(i + 1) % len(PALETTE)]
        fig.add_trace(go.Scatter(x=t["sqrt_kl"], y=t["proxy"], mode="lines+markers", name=f"{name}: proxy (reward model)",
                                 line={"color": colour, "dash": "dash"}, marker={"size": 4}))
        fig.add_trace(go.Scatter(x=t["sqrt_kl"], y=t["gold"], mode="lines+markers", name=f"{name}: gold (annotator)",
                                 line={"color": colour}, marker={"size": 4}))
    text = [f"n={n}" for n in bon.n]
    fig.add_trace(go.Scatter(x=bon.sqrt_kl, y=bon.proxy, mode="lines+markers+text", text=text, textposition="top center",
                             name="best-of-n: proxy", line={"color": "black", "dash": "dash"}, marker={"symbol": "diamond"}))
    fig.add_trace(go.Scatter(x=bon.sqrt_kl, y=bon.gold, mode="lines+markers", name="best-of-n: gold",
                             line={"color": "black"}, marker={"symbol": "diamond"}))
    fig.update_layout(title=title, height=450, xaxis_title="√KL(π ‖ π_SFT)  (nats^½)",
                      yaxis_title="score, in SFT standard deviations above the SFT mean",
                      legend={"orientation": "h", "y": -0.2}, margin={"t": 60})
    return fig


def token_table(trainer, rollout, i: int = 0):
    """One answer of a rollout, token by token: every term of PPO's per-token bookkeeping."""
    import pandas as pd

    n = int(rollout.mask[i].sum())
    ids = rollout.response_ids[i, :n].tolist()
    last = n - 1
    beta = trainer.kl_ctl.value
    rows = []
    for t in range(n):
        rows.append({
            "token": trainer.tokenizer.decode([ids[t]]),
            "log π": float(rollout.logps[i, t]),
            "log π_ref": float(rollout.ref_logps[i, t]),
            "kl_t": float(rollout.kl[i, t]),
            "−β·kl_t": -beta * float(rollout.kl[i, t]),
            "score": float(rollout.scores[i]) if t == last else 0.0,
            "reward r_t": float(rollout.rewards[i, t]),
            "value V_t": float(rollout.values[i, t]),
            "advantage A_t": float(rollout.advantages[i, t]),
        })
    return pd.DataFrame(rows).round(3)


def models_table(trainer, models):
    """The networks PPO keeps in memory: role, parameters, whether they train, fp32 size."""
    import pandas as pd

    from tutor.models import count_parameters

    value = trainer.accelerator.unwrap_model(trainer.value_model)
    rows = [
        ("policy π (trained)", trainer.unwrapped_policy, True),
        ("reference π_ref (frozen SFT)", models.ref_policy, False),
        ("reward model R (frozen)", models.reward_model, False),
        ("value model V (trained)", value, True),
    ]
    table = pd.DataFrame([
        {"model": name, "parameters": count_parameters(m), "trains": trains,
         "MB (fp32)": round(sum(p.numel() * p.element_size() for p in m.parameters()) / 2**20, 1)}
        for name, m, trains in rows
    ])
    return table
