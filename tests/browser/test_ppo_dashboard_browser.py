"""Notebook 05's live PPO dashboard in a real JupyterLab, on a real (FAST, tiny-model) PPO run.

The curves must grow while the training cell runs and end as one figure with the three panels;
the finished dashboard is the README's picture (`make screenshots` writes it to docs/img/).
"""

from __future__ import annotations

import time

import pytest

jlab = pytest.importorskip("jlab", reason="needs the browser harness of tests/browser (conftest.py, jlab.py)")

STEPS = 10  # FAST PPO steps of 12 answers each: enough curve to read

CELLS = [
    "import tutor\ncourse = tutor.setup(FAST=True, MODEL='tiny')",
    "import dataclasses\nfrom tutor.ppo import PPOSettings, load_models, make_trainer\n"
    "models = load_models(course)  # the FAST sft and reward stages (built now if missing)\n"
    f"settings = dataclasses.replace(PPOSettings.for_mode(course.fast), steps={STEPS})\n"
    "trainer = make_trainer(models, settings)",
    "from tutor.ui.dashboards import ppo_dashboard, shown_on\n"
    "plot = ppo_dashboard(title=f'PPO, β = {settings.beta}', smoothing=0.5,\n"
    "                     refs={'KL to SFT (nats/answer)': [('KL budget', 5.0)]})\n"
    "history = trainer.train(callbacks=[shown_on(plot)], progress=False)\n"
    "plot.close()",
]
COUNT_POINTS = "gd => (gd.data || []).reduce((n, t) => n + (t.y ? t.y.length : 0), 0)"
PANEL_TITLES = "gd => (gd.layout.annotations || []).map(a => a.text)"


def test_ppo_dashboard_draws_while_training_and_is_pictured(jupyter_server, page, tmp_path):
    name = "ppo_dashboard_browser.ipynb"
    jlab.write_notebook(jupyter_server.root / name, CELLS)
    jlab.open_notebook(page, jupyter_server, name)
    for index in (0, 1):
        jlab.run_cell(page, index)
        jlab.wait_until_done(page, index, timeout=1200.0)  # builds FAST sft + reward if missing
    jlab.run_cell(page, 2)
    graph = jlab.cell(page, 2).locator(".js-plotly-plot")
    graph.first.wait_for(timeout=1_200_000)

    readings: list[int] = []
    deadline = time.monotonic() + 1800  # a loaded CI machine can be ten times slower than a quiet one
    while jlab.is_running(page, 2) and time.monotonic() < deadline:
        points = graph.first.evaluate(COUNT_POINTS)
        if jlab.is_running(page, 2) and (not readings or points != readings[-1]):
            readings.append(points)
        page.wait_for_timeout(500)
    jlab.wait_until_done(page, 2, timeout=1800.0)
    assert len(readings) >= 2, f"the dashboard never redrew while PPO trained: {readings}"
    assert readings == sorted(readings), readings  # the curves only grow

    page.wait_for_timeout(1500)
    assert graph.count() == 1  # one figure, redrawn in place
    titles = " ".join(graph.first.evaluate(PANEL_TITLES))
    for panel in ("reward model", "KL to SFT", "gold annotator"):
        assert panel in titles, titles
    final = graph.first.evaluate(COUNT_POINTS)
    assert final > readings[0]
    shot = jlab.screenshot(jlab.cell(page, 2).locator(".jp-OutputArea").first, "ppo-dashboard.png", tmp_path)
    assert shot.stat().st_size > 10_000
