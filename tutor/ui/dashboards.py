"""What each stage's live dashboard shows: panels of the metrics its trainer logs (TRL's names),
under titles a learner can read."""

from __future__ import annotations

from collections.abc import Callable

from tutor.ui.live_plot import LivePlot

PPO_PANELS = {
    "reward model (normalised)": ["objective/scores", "objective/rlhf_reward"],
    "KL to SFT (nats/answer)": ["objective/kl"],
    "gold annotator": ["gold/score"],
}

DPO_PANELS = {
    "implicit reward β·log(π/π_ref)": ["rewards/chosen", "rewards/rejected"],
    "margin (chosen − rejected)": ["rewards/margins"],
    "accuracy (chosen reward > rejected)": ["rewards/accuracies"],
    "log π of the answers": ["logps/chosen", "logps/rejected"],
}


def ppo_dashboard(title: str = "PPO", panels: dict | None = None, **options) -> LivePlot:
    """A LivePlot of PPO's reward, KL and gold score, drawn while training runs."""
    return LivePlot(panels or PPO_PANELS, title=title, **options)


def dpo_dashboard(title: str = "DPO", panels: dict | None = None, **options) -> LivePlot:
    """A LivePlot of DPO's training metrics (TRL's names), drawn while training runs."""
    return LivePlot(panels or DPO_PANELS, title=title, **options)


def shown_on(plot: LivePlot) -> Callable[[int, dict], None]:
    """A PPO callback that logs to `plot` only the metrics its panels show (a PPO step logs about
    thirty; the others would each get a panel of their own)."""
    shown = [metric for metrics in plot.panels.values() for metric in metrics]
    return lambda step, metrics: plot.log(step, {key: metrics[key] for key in shown if key in metrics})
