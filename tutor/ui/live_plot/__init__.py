"""Live training plots: reward, KL and loss curves that redraw in place while a cell runs.

Why a component of our own: plotly's obvious live routes break in JupyterLab 4 and Colab
(FigureWidget needs a widget manager and bloats saved notebooks, a display handle updated with a
figure appends plots, plotly's mime renderer never redraws). A display handle fed an HTML bundle
updates in place everywhere, so that is what `LivePlot` sends, at most once every `every` seconds.

Where it runs decides what it draws (the *mode*, fixed when the plot is made; `detect_mode`):

- ``live``: a person is watching (JupyterLab, Notebook 7, VS Code, Colab). One output is redrawn
  in place. The first frame a cell draws carries plotly.js inline, because JupyterLab may have no
  internet (Colab loads it from the CDN instead); later frames are a few kB and reuse it. When the
  cell ends (or at `close()`) the output becomes ONE static figure, so saved notebooks stay small.
- ``final``: nobody is watching (nbclient, papermill, ``jupyter nbconvert --execute``). Nothing is
  drawn while logging; the cell ends with exactly one static figure per LivePlot.
- ``file``: a plain script or terminal IPython. An HTML page in the run folder (plotly.min.js is
  copied beside it once), rewritten at most every 30 s while logging and at `close()`.

A static figure is plotly's mime bundle (drawn offline by JupyterLab's and VS Code's own plotly
renderers) plus an HTML fallback that uses plotly.js when the page has it and the CDN otherwise
(nbviewer, exported HTML, Colab).

The parts: `plot` (LivePlot: when to draw what), `data` (the runs' series, panels, reference
lines, smoothing), `checks` (arguments → clean values or one TutorError), `display` (modes,
publishing, the cell-end and exit hooks), `figure` (the plotly figure as dicts), `bundles` (the
HTML, JavaScript and mime bundles of a frame), `page` (file mode's HTML page), `callback` (the
transformers TrainerCallback).
"""

from tutor.ui.live_plot.data import smooth
from tutor.ui.live_plot.display import detect_mode
from tutor.ui.live_plot.plot import LivePlot, overlay

__all__ = ["LivePlot", "detect_mode", "overlay", "smooth"]
