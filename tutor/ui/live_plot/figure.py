"""The plotly figure of a LivePlot as plain dicts: a grid of panels, one trace per run and metric
(a faint raw one plus a bold smoothed one when smoothing), dashed reference lines, and curves
thinned to at most `max_points` evenly spaced points (the history keeps every point)."""

from __future__ import annotations

import html
import math
from typing import NamedTuple

from tutor.ui.live_plot.data import Curves, Series
from tutor.ui.live_plot.labels import SMOOTHING_NOTE, readable

PALETTE = (
    "#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a",
    "#19d3f3", "#ff6692", "#b6e880", "#ff97ff", "#fecb52",
)  # fmt: skip
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
ROW_HEIGHT = 260

Axes = tuple[str, str]  # a panel's plotly axis names, e.g. ("x2", "y2")


def evenly_spaced(n: int, limit: int) -> range:
    """Evenly strided indices ending at the last point, at most `limit` of them."""
    stride = max(1, math.ceil(n / limit))
    return range((n - 1) % stride, n, stride)


def five_digits(x: float) -> float:
    return float(f"{x:.5g}")  # five significant digits: finer than any panel shows


def grid_layout(names: list[str], cols: int | None, title: str, uid: str) -> tuple[dict, list[Axes]]:
    """The layout of a grid of one panel per name (plotly's make_subplots), and each panel's axes."""
    import plotly.io as pio
    from plotly.subplots import make_subplots

    n = max(1, len(names))
    cols = min(cols or {1: 1, 2: 2, 3: 3, 4: 2}.get(n, 3), n)
    rows = math.ceil(n / cols)
    specs = [[{} if r * cols + c < n else None for c in range(cols)] for r in range(rows)]
    fig = make_subplots(
        rows=rows,
        cols=cols,
        specs=specs,
        subplot_titles=names or ["waiting for metrics"],
        horizontal_spacing=0.08 if cols > 1 else 0.02,
        vertical_spacing=min(0.3 / rows, 0.12) if rows > 1 else 0.0,
    )
    for i in range(n):
        fig.add_scatter(x=[], y=[], row=i // cols + 1, col=i % cols + 1)
    axes = [(t.xaxis or "x", t.yaxis or "y") for t in fig.data]
    layout = fig.to_dict()["layout"]
    template = pio.templates[pio.templates.default].to_plotly_json()
    layout["template"] = {  # only what line plots use (benchmarks/results/plots.md)
        "layout": template.get("layout", {}),
        "data": {"scatter": template.get("data", {}).get("scatter", [])},
    }
    for i in range(n - cols, n):  # the bottom plot of each column shows the step axis
        if i >= 0:
            axis = "xaxis" + axes[i][0][1:]
            layout.setdefault(axis, {})["title"] = {"text": "step", "standoff": 4}
    layout.update(
        height=ROW_HEIGHT * rows + (90 if title else 60),
        margin={"l": 55, "r": 20, "t": 80 if title else 50, "b": 45},
        uirevision=uid,  # keep the reader's zoom across redraws
        hovermode="closest",
    )
    if title:
        layout["title"] = {"text": html.escape(title), "x": 0.01, "xanchor": "left"}
    return layout, axes


class TraceStyle(NamedTuple):
    """How one series is drawn and named in the legend."""

    colour: str
    dash: str
    group: str  # legend group: the run when runs are overlaid, else the metric
    label: str  # legend entry
    who: str  # hover text: "run · metric" or "metric"
    show: bool  # the first trace of its legend entry
    group_title: str | None  # the run's title above its group of metrics in the legend


def curve_traces(curves: Curves, axes: list[Axes], smoothing: float, limit: int, compact: bool) -> list[dict]:
    """Every series with data: one colour per metric, or per run (and one dash per metric) once
    runs are overlaid."""
    runs = curves.runs_with_data()
    multi = curves.named or len(runs) > 1
    one_series = all(len(names) == 1 for names in curves.panels.values())
    colour_of: dict[str, str] = {}
    for names in curves.panels.values():
        for name in names:
            colour_of.setdefault(name, PALETTE[len(colour_of) % len(PALETTE)])
    traces: list[dict] = []
    legend_seen: set[str] = set()
    for panel_index, names in enumerate(curves.panels.values()):
        for run_index, (run, store) in enumerate(runs):
            for metric_index, name in enumerate(names):
                series = store.get(name)
                if series is None or not series.values:
                    continue
                if multi:  # one colour per run, one dash per metric
                    colour = PALETTE[run_index % len(PALETTE)]
                    dash = DASHES[metric_index % len(DASHES)]
                    group, who = run, f"{html.escape(run)} · {html.escape(readable(name))}"
                    label = html.escape(run if one_series else readable(name))
                    key = run if one_series else f"{run}\x00{name}"
                else:  # one colour per metric
                    colour, dash, group, key = colour_of[name], "solid", name, name
                    label = who = html.escape(readable(name))
                show = key not in legend_seen
                legend_seen.add(key)
                titled = multi and show and not one_series and metric_index == 0
                group_title = html.escape(run) if titled else None
                style = TraceStyle(colour, dash, group, label, who, show, group_title)
                traces += series_traces(series, axes[panel_index], style, smoothing, limit, compact)
    return traces


def series_traces(
    series: Series, axes: Axes, style: TraceStyle, smoothing: float, limit: int, compact: bool
) -> list[dict]:
    """One series' trace, or with smoothing a faint raw trace and a bold smoothed one; `compact`
    writes evenly spaced steps as x0/dx (saved notebooks put every array number on its own line:
    benchmarks/results/plots.md)."""
    idx = evenly_spaced(len(series.values), limit)
    xs: dict = {"x": [series.steps[i] for i in idx]}
    if compact and len(idx) > 2:
        x0, dx = xs["x"][0], xs["x"][1] - xs["x"][0]
        if all(b - a == dx for a, b in zip(xs["x"], xs["x"][1:], strict=False)):
            xs = {"x0": x0, "dx": dx}
    base = {
        "type": "scatter",
        "mode": "lines" if len(idx) > 1 else "markers",
        "xaxis": axes[0],
        "yaxis": axes[1],
        "legendgroup": style.group,
        "hovertemplate": f"{style.who}<br>step %{{x}}<br>%{{y:.4g}}<extra></extra>",
    }

    def trace(values: list[float], width: float) -> dict:
        out = {
            **base,
            **xs,
            "y": [five_digits(values[i]) for i in idx],
            "name": style.label,
            "line": {"color": style.colour, "width": width, "dash": style.dash},
            "marker": {"color": style.colour},
            "showlegend": style.show,
        }
        if style.group_title is not None:
            out["legendgrouptitle"] = {"text": style.group_title}
        return out

    raw = trace(series.values, 2)
    if smoothing <= 0:
        return [raw]
    raw.update(showlegend=False, opacity=0.3, hoverinfo="skip")
    raw["line"] = {**raw["line"], "width": 1}
    raw.pop("legendgrouptitle", None)
    raw.pop("hovertemplate")
    return [raw, trace(series.smoothed(smoothing), 2.5)]


def reference_shapes(curves: Curves, axes: list[Axes]) -> list[dict]:
    """A dashed, labelled horizontal line across its panel for each reference line."""
    shapes = []
    for panel, lines in curves.refs.items():
        if panel not in curves.panels:
            continue
        xa, ya = axes[list(curves.panels).index(panel)]
        for label, value in lines:
            text = f"{label} ({value:g})" if label else f"{value:g}"
            shapes.append(
                {
                    "type": "line",
                    "xref": f"{xa} domain",
                    "x0": 0,
                    "x1": 1,
                    "yref": ya,
                    "y0": value,
                    "y1": value,
                    "line": {"color": "#666", "width": 1.5, "dash": "dash"},
                    "label": {
                        "text": html.escape(text),
                        "textposition": "end",
                        "yanchor": "bottom",
                        "font": {"size": 11, "color": "#444"},
                    },
                }
            )
    return shapes


class FigureBuilder:
    """Builds one LivePlot's figures; the grid layout is cached and remade only when the panels,
    `cols` or the title change (make_subplots builds a whole plotly Figure)."""

    def __init__(self, uid: str) -> None:
        self._uid = uid
        self._key: tuple | None = None
        self._layout: dict = {}
        self._axes: list[Axes] = []

    def build(
        self,
        curves: Curves,
        *,
        title: str,
        cols: int | None,
        smoothing: float,
        max_points: int | None,
        compact: bool = False,
    ) -> dict:
        """{"data": traces, "layout": layout}; max_points=None keeps every point."""
        key = (tuple((p, len(s)) for p, s in curves.panels.items()), cols, title)
        if key != self._key:
            self._layout, self._axes = grid_layout(list(curves.panels), cols, title, self._uid)
            self._key = key
        layout = dict(self._layout)
        traces = curve_traces(curves, self._axes, smoothing, max_points or 10**12, compact)
        shapes = reference_shapes(curves, self._axes)
        if shapes:
            layout["shapes"] = shapes
        if smoothing > 0 and traces:  # say what the two lines of each curve are
            layout["legend"] = {**layout.get("legend", {}), "title": {"text": SMOOTHING_NOTE}}
        return {"data": traces, "layout": layout}
