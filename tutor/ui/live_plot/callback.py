"""The transformers TrainerCallback that feeds a LivePlot from a Trainer's logs.

Imported by `LivePlot.callback()` only, so that importing tutor.ui.live_plot does not import
transformers (benchmarks/results/plots.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from transformers import TrainerCallback

if TYPE_CHECKING:
    from tutor.ui.live_plot.plot import LivePlot


class LivePlotCallback(TrainerCallback):
    """on_log → plot: step = state.global_step, TRL's metric names unchanged; draws at train end."""

    def __init__(self, plot: LivePlot) -> None:
        self.plot = plot

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs:
            self.plot._log_from_trainer(state.global_step, logs)

    def on_train_end(self, args, state, control, **kwargs):
        self.plot.draw()
