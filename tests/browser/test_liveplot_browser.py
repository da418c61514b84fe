"""LivePlot in a real JupyterLab: the curves grow while the training cell is still running.

Also: the cell ends with one static figure, the saved notebook is small (the plotly.js shipped
for the live view is gone), and nbconvert's HTML export draws one figure per LivePlot.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from jlab import (
    cell,
    is_running,
    open_notebook,
    outputs,
    run_all,
    save_notebook,
    wait_for_output,
    wait_until_done,
    write_notebook,
)

REPO = Path(__file__).resolve().parents[2]
STEPS = 250  # × 0.1 s: a ~25 s "training" cell
COUNT_POINTS = "gd => (gd.data || []).reduce((n, t) => n + (t.y ? t.y.length : 0), 0)"

TRAIN = f"""
import math, time
from tutor.ui import LivePlot

plot = LivePlot({{"reward": ["objective/scores", "gold"], "KL": ["objective/kl"]}},
                title="fake PPO", refs={{"KL": [("KL budget", 2.0)]}})
print("mode", plot.mode)
for step in range({STEPS}):
    time.sleep(0.1)
    plot.log(step, {{"objective/scores": math.tanh(step / 80), "gold": math.sin(step / 60),
                    "objective/kl": step / 100}})
"""


def plot_elements(page, index: int):
    """Plotly graphs in the cell's outputs: our live div, or the output node itself when
    JupyterLab's plotly renderer draws the static figure."""
    return cell(page, index).locator(".jp-OutputArea-output.js-plotly-plot, .jp-OutputArea-output .js-plotly-plot")


def plotted_points(page, index: int) -> int:
    return plot_elements(page, index).first.evaluate(COUNT_POINTS)


def test_points_grow_while_the_training_cell_runs(page, jupyter_server):
    name = "liveplot_browser.ipynb"
    write_notebook(jupyter_server.root / name, ["print('ready')", TRAIN])
    open_notebook(page, jupyter_server, name)
    run_all(page)
    wait_for_output(page, 1, ".js-plotly-plot", timeout=90_000)

    samples: list[int] = []
    deadline = time.monotonic() + 60
    while len(samples) < 4 and time.monotonic() < deadline:
        before = is_running(page, 1)
        points = plotted_points(page, 1)
        if before and is_running(page, 1):  # the cell showed [*] on both sides of the reading
            samples.append(points)
        page.wait_for_timeout(2500)
    assert len(samples) >= 2, f"the cell stopped running before two readings: {samples}"
    assert all(b > a for a, b in zip(samples, samples[1:], strict=False)), samples
    assert samples[0] < 3 * STEPS  # the first readings were partial curves

    text = outputs(page, 1).first.inner_text()
    assert "mode live" in text  # a JupyterLab kernel is detected as interactive

    wait_until_done(page, 1, timeout=120)
    page.wait_for_timeout(1500)
    assert plot_elements(page, 1).count() == 1  # one figure, redrawn in place, never appended
    assert plotted_points(page, 1) == 3 * STEPS  # the static figure has every point

    save_notebook(page)
    saved = (jupyter_server.root / name).read_text()
    assert "plotly.js v" not in saved  # the inlined plotly.js was replaced by the static figure
    assert len(saved.encode()) < 1_000_000


def test_exported_html_draws_one_figure_per_liveplot(page, tmp_path):
    """nbviewer and exported HTML load plotly.js from the CDN: serve it locally (no internet)."""
    import nbclient
    import nbconvert
    import nbformat
    from plotly.offline import get_plotlyjs

    from tutor.ui.live_plot import bundles

    cells = [
        "from tutor.ui import LivePlot",
        "a = LivePlot(['loss'], title='A')\nfor i in range(30):\n    a.log(i, loss=1 / (1 + i))",
        "with LivePlot(['reward'], title='B', smoothing=0.5) as b:\n"
        "    for i in range(20):\n        b.log(i, reward=i % 3)",
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    env = dict(os.environ)
    try:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
        os.environ.pop("TUTOR_PLOTS", None)
        nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    finally:
        os.environ.clear()
        os.environ.update(env)
    body, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    exported = tmp_path / "exported.html"
    exported.write_text(body)

    plotlyjs = get_plotlyjs()
    page.route(
        bundles.cdn_url(),
        lambda route: route.fulfill(body=plotlyjs, content_type="application/javascript"),
    )
    page.goto(exported.as_uri())
    figures = page.locator(".js-plotly-plot")
    figures.nth(1).wait_for(timeout=30_000)
    assert figures.count() == 2
    assert [figures.nth(i).evaluate(COUNT_POINTS) for i in range(2)] == [30, 40]
