"""What the learner sees: live training plots, static figures, the sample viewer and progress bars."""

from tutor.ui.live_plot import LivePlot
from tutor.ui.viewer import SampleViewer

__all__ = ["LivePlot", "SampleViewer"]
