"""LivePlot: when to draw what. It keeps the data (`Curves`), decides from its mode and the
clock when a frame is due, and has the other modules build and send it."""

from __future__ import annotations

import math
import os
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tutor.course import check_writable, in_colab
from tutor.errors import TutorError
from tutor.ui.live_plot import display, page
from tutor.ui.live_plot.bundles import frame_html, live_bundle, static_bundle, summary
from tutor.ui.live_plot.checks import (
    check_cols,
    check_every,
    check_max_points,
    check_panels,
    check_smoothing,
    check_title,
    reference_items,
)
from tutor.ui.live_plot.data import Curves, Points
from tutor.ui.live_plot.figure import FigureBuilder


class LivePlot:
    """One figure of panels of metric curves, redrawn in place while training runs.

    panels: {"panel title": ["metric", ...]}, a list of metric names (one panel each), or None to
        give every metric that arrives a panel named after its prefix (``rewards/chosen`` →
        ``rewards``).
    title: the figure's title (also the HTML file's name in file mode).
    refs: reference lines per panel: {"KL": 2.0}, {"KL": [("KL budget", 2.0)]} or
        {"KL": {"KL budget": 2.0}}.
    smoothing: 0 draws the raw curves; w in (0, 1) draws them faint plus a bold debiased
        exponential moving average with weight w (0.6–0.9 suits noisy RL metrics).
    every: seconds between redraws (0 redraws on every log; slow frames stretch it so that
        drawing stays a small share of the loop: `display.COST_FACTOR`).
    run: the name of the first run (see `new_run`).
    folder: where file mode writes its HTML page (default: the runs folder, $TUTOR_RUNS).
    mode: "live", "final" or "file"; default from $TUTOR_PLOTS or `detect_mode()`.
    max_points: points drawn per curve (history keeps all; a panel is narrower than 500 pixels).
    cols: panels per row (default: 1, 2, 3, 2 for 1–4 panels, else 3).
    clock: seconds as a float; the tests pass a fake one.
    """

    def __init__(
        self,
        panels: Mapping[str, Iterable[str] | str] | Iterable[str] | None = None,
        *,
        title: str = "",
        refs: Mapping[str, Any] | None = None,
        smoothing: float = 0.0,
        every: float = 1.0,
        run: str = "run 1",
        folder: str | os.PathLike | None = None,
        mode: str | None = None,
        max_points: int = 500,
        cols: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        checked_panels = check_panels(panels)
        self.title = check_title(title)
        self.smoothing = check_smoothing(smoothing)
        self.every = check_every(every)
        self.mode = display.check_mode(mode)
        self.max_points = check_max_points(max_points)
        self._cols = check_cols(cols)
        self._folder = Path(folder).expanduser() if folder is not None else None
        self._clock = clock
        self._uid = uuid.uuid4().hex[:12]
        self._curves = Curves(checked_panels, auto=panels is None, run=run)
        self._figures = FigureBuilder(self._uid)
        # drawing state
        self._shown = False  # has our display id been sent?
        self._kind = ""  # what the output holds now: "", "live" or "final"
        self._dirty = False  # logged or changed since the last frame
        self._closed = False
        self._next_draw = -math.inf
        self._next_file = -math.inf
        self._frames = 0
        self._file: Path | None = None
        self._warned_closed = False
        for panel, spec in (refs or {}).items():
            for label, value in reference_items(spec):
                self._curves.add_reference(panel, value, label)
        if self.mode != "file":
            display.hook_cell_end()

    # ------------------------------------------------------------------ public API

    @property
    def panels(self) -> dict[str, list[str]]:
        """Panel title → metric names (a copy)."""
        return {k: list(v) for k, v in self._curves.panels.items()}

    @property
    def run(self) -> str:
        """The run that `log` writes to."""
        return self._curves.run

    @property
    def history(self) -> dict[str, Points]:
        """The current run's curves: metric → [(step, value), ...] (NaN values were skipped)."""
        return self._curves.points(self._curves.run)

    @property
    def runs(self) -> dict[str, dict[str, Points]]:
        """Every run's curves: run name → metric → [(step, value), ...]."""
        return {run: self._curves.points(run) for run in self._curves.runs}

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def frames(self) -> int:
        """How many bundles or files this plot has sent or written (the benchmark reads it)."""
        return self._frames

    @property
    def path(self) -> Path | None:
        """The HTML page written in file mode (None before the first write)."""
        return self._file

    def log(self, step: Any, metrics: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        """Record metrics at `step`; redraw if `every` seconds have passed since the last frame.

        Names with "/" (TRL's) go in the mapping: ``plot.log(step, {"objective/kl": kl}, loss=l)``.
        NaN and infinite values are skipped, anything that is not a number is an error.
        """
        if self._closed:
            raise TutorError(
                "This LivePlot is closed; make a new LivePlot, or call plot.new_run(...) "
                "before close() to overlay another run."
            )
        if self._curves.log(step, metrics, more):
            self._changed()

    def reference(self, panel: str, value: Any, label: str = "") -> None:
        """A dashed horizontal line across `panel` at `value`, e.g. the reward model's ceiling."""
        self._curves.add_reference(panel, value, label)
        self._touch()

    def new_run(self, name: str) -> None:
        """Start another curve per metric (one colour per run, names in the legend): a β sweep.

        The first call renames the initial run if nothing was logged to it yet.
        """
        self._curves.new_run(name)
        self._touch()

    def sweep(self, name: str, values: Iterable[Any]) -> Iterator[Any]:
        """Yield each value after starting a run named "name=value": ``for beta in plot.sweep("beta", [0.1, 0.5]):``."""
        for value in values:
            self.new_run(f"{name}={value}")
            yield value

    def add_run(self, name: str, history: Any) -> None:
        """Overlay a finished run: {metric: [(step, value), ...]} or a Trainer's state.log_history.

        The current run stays the one `log` writes to.
        """
        self._curves.add_run(name, history)
        self._touch()

    def callback(self):
        """A transformers TrainerCallback that feeds this plot from on_log (TRL names kept)."""
        from tutor.ui.live_plot.callback import LivePlotCallback

        return LivePlotCallback(self)

    def draw(self) -> None:
        """Show the latest data now, ignoring `every` (live frame; HTML page in file mode)."""
        if self._closed:
            return
        if self.mode == "live":
            self._draw_live(self._clock())
        elif self.mode == "file":
            self._write_file(final=False)

    def close(self) -> None:
        """Replace the live output by one static figure (or write the final HTML page)."""
        if self._closed:
            return
        if self.mode == "file":
            self._write_file(final=True)
        elif not self._shown or self._dirty or self._kind != "final":
            self._draw_final()
        self._closed = True
        display.PENDING.pop(id(self), None)

    def __enter__(self) -> LivePlot:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def figure(self, max_points: int | None = None):
        """The plotly Figure of everything logged (all points unless `max_points` is given)."""
        import plotly.graph_objects as go

        return go.Figure(self._figure(max_points))

    def save(self, path: str | os.PathLike) -> Path:
        """Write a standalone HTML page (plotly.min.js copied beside it once) and return its path."""
        path = Path(path).expanduser()
        if path.suffix.lower() not in {".html", ".htm"}:
            raise TutorError(f"save() writes HTML; give a path ending in .html, not {str(path)!r}.")
        check_writable(path.parent)
        self._write_page(path, refresh=False)
        return path

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Displaying the plot object itself shows its static figure (e.g. after `overlay`)."""
        return self._static_bundle(), self._metadata(final=True)

    def __repr__(self) -> str:
        return summary(self.title, self._curves)

    # ------------------------------------------------------------------ when to draw

    def _log_from_trainer(self, step: int, logs: Mapping[str, Any]) -> None:
        """The callback's on_log: a trainer that starts again from step 0 becomes another run."""
        if self._closed:
            if not self._warned_closed:
                warnings.warn("LivePlot is closed; its callback ignores further logs.", stacklevel=3)
                self._warned_closed = True
            return
        metrics = self._curves.trainer_metrics(logs)
        if not metrics:
            return
        if self._curves.goes_back(step, metrics):
            self.new_run(self._curves.unused_run_name())
        self.log(step, metrics)

    def _changed(self) -> None:
        """Something was logged: draw now if a frame (or a page) is due."""
        self._dirty = True
        display.PENDING[id(self)] = self
        now = self._clock()
        if self.mode == "live" and now >= self._next_draw:
            self._draw_live(now)
        elif self.mode == "file" and now >= self._next_file:
            self._write_file(final=False)

    def _touch(self) -> None:
        """A change that does not draw by itself (reference line, new run)."""
        self._dirty = True
        if self._shown or self._file is not None:
            display.PENDING[id(self)] = self

    def _cell_ended(self) -> None:
        display.PENDING.pop(id(self), None)
        if self._closed:
            return
        if self.mode == "file":
            if self._dirty:
                self._write_file(final=False)
        elif self._dirty or self._kind == "live":
            self._draw_final()

    def _draw_live(self, now: float) -> None:
        start = self._clock()
        carry = self._kind != "live"  # the first live frame since display or a static figure
        fig = self._figure(self.max_points, compact=True)
        summary_line = summary(self.title, self._curves)
        bundle = live_bundle(fig, self._host(), self._uid, summary_line, carry and not in_colab())
        self._send(bundle, final=False)
        self._kind, self._dirty = "live", False
        # Slow frames stretch the interval (drawing stays under ~1/COST_FACTOR of the loop); the
        # one-off frame that ships plotly.js does not count.
        cost = 0.0 if carry else self._clock() - start
        self._next_draw = now + (max(self.every, display.COST_FACTOR * cost) if self.every > 0 else 0.0)

    def _draw_final(self) -> None:
        if self.mode == "live" and self._kind == "final":
            # JupyterLab's plotly renderer ignores updates: a different mime type forces a new one.
            self._send({"text/html": "<div>redrawing…</div>", "text/plain": "redrawing…"}, final=False)
        self._send(self._static_bundle(), final=True)
        self._kind, self._dirty = "final", False
        self._next_draw = -math.inf  # the next log after a static figure redraws at once

    def _write_file(self, final: bool) -> None:
        if self._file is None:
            self._file = page.claim_page(self._folder, self.title)
            print(f"LivePlot: drawing to {self._file} (open it in a browser; it reloads every 30 s while training)")
        self._write_page(self._file, refresh=not final)
        self._frames += 1
        self._dirty = False
        self._next_file = self._clock() + max(self.every, display.FILE_EVERY)

    # ------------------------------------------------------------------ what a frame holds

    def _figure(self, max_points: int | None, compact: bool = False) -> dict:
        return self._figures.build(
            self._curves,
            title=self.title,
            cols=self._cols,
            smoothing=self.smoothing,
            max_points=max_points,
            compact=compact,
        )

    def _host(self) -> str:
        """The id of this frame's HTML element (one per frame: outputs may hold older ones)."""
        return f"tutor-{self._uid}-{self._frames}"

    def _static_bundle(self) -> dict:
        fig = self._figure(self.max_points, compact=True)
        return static_bundle(fig, self._host(), summary(self.title, self._curves))

    def _write_page(self, path: Path, refresh: bool) -> None:
        fig = self._figure(self.max_points, compact=True)
        page.write_page(path, self.title, frame_html(fig, self._host()), refresh)

    def _metadata(self, final: bool) -> dict:
        return {"tutor_liveplot": {"id": self._uid, "final": final}}

    def _send(self, bundle: dict, final: bool) -> None:
        display.publish(bundle, self._metadata(final), f"tutor-liveplot-{self._uid}", self._shown)
        self._shown = True
        self._frames += 1


def overlay(
    runs: Mapping[str, Any],
    panels: Mapping[str, Iterable[str] | str] | Iterable[str] | None = None,
    **options: Any,
) -> LivePlot:
    """One static figure of finished runs, e.g. {"beta=0.1": trainer.state.log_history, ...}.

    Returns a closed LivePlot: make it the last line of a cell (or `display` it) to show it.
    """
    if not isinstance(runs, Mapping) or not runs:
        raise TutorError("overlay takes a non-empty dict of run name → history.")
    options.setdefault("mode", "final")
    plot = LivePlot(panels, **options)
    plot._curves.runs.clear()  # no empty initial run
    for name, history in runs.items():
        plot.add_run(name, history)
    plot._curves.run = next(iter(runs))
    plot._closed = True
    return plot
