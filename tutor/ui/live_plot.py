"""Live training plots: reward, KL and loss curves that redraw in place while a cell runs.

Why a component of our own: plotly's obvious live routes break in JupyterLab 4 and Colab
(FigureWidget needs a widget manager and bloats saved notebooks, a display handle updated with a
figure appends plots, plotly's mime renderer never redraws). A display handle fed an HTML bundle
updates in place everywhere, so that is what `LivePlot` sends, at most once every `every` seconds.

Where it runs decides what it draws (the *mode*, fixed when the plot is made):

- ``live``: a person is watching (JupyterLab, Notebook 7, VS Code, Colab). One output is redrawn
  in place. The first frame a cell draws carries plotly.js inline, because JupyterLab may have no
  internet (Colab loads it from the CDN instead); later frames are a few kB and reuse it. When the
  cell ends (or at `close()`) the output becomes ONE static figure, so saved notebooks stay small.
- ``final``: nobody is watching (nbclient, papermill, ``jupyter nbconvert --execute``). Nothing is
  drawn while logging; the cell ends with exactly one static figure per LivePlot.
- ``file``: a plain script or terminal IPython. An HTML page in the run folder (plotly.min.js is
  copied beside it once), rewritten at most every 30 s while logging and at `close()`.

The mode comes from ``mode=``, else the environment variable ``TUTOR_PLOTS`` (live, final or file),
else a heuristic: no IPython kernel → file; Colab → live; a kernel whose current request does not
allow stdin → final (nbclient sends allow_stdin=False, interactive front ends allow input());
otherwise live.

A static figure is plotly's mime bundle (drawn offline by JupyterLab's and VS Code's own plotly
renderers) plus an HTML fallback that uses plotly.js when the page has it and the CDN otherwise
(nbviewer, exported HTML, Colab).
"""

from __future__ import annotations

import atexit
import html
import json
import math
import numbers
import os
import re
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tutor.course import check_writable, in_colab, interactive, runs_root
from tutor.errors import TutorError

__all__ = ["LivePlot", "detect_mode", "overlay", "smooth"]

MODES = ("live", "final", "file")
ENV_MODE = "TUTOR_PLOTS"
FILE_EVERY = 30.0  # seconds between rewrites of the HTML page in file mode
COST_FACTOR = 20  # a frame that took c seconds waits at least 20·c: drawing stays under ~5 %
MIME_PLOTLY = "application/vnd.plotly.v1+json"
PALETTE = (
    "#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a",
    "#19d3f3", "#ff6692", "#b6e880", "#ff97ff", "#fecb52",
)  # fmt: skip
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
ROW_HEIGHT = 260
# Trainer log keys that are bookkeeping, not curves worth a panel.
SKIP_KEYS = frozenset({"epoch", "step", "total_flos", "train_runtime", "train_loss"})


# --------------------------------------------------------------------------- small helpers


def smooth(values: Iterable[float], weight: float) -> list[float]:
    """Debiased exponential moving average (TensorBoard's): m ← w·m + (1−w)·x, shown m / (1 − wⁿ).

    The debiasing keeps the first points at the data instead of dragging them towards zero.
    """
    out: list[float] = []
    m = 0.0
    for i, x in enumerate(values):
        m = weight * m + (1.0 - weight) * x
        out.append(m / (1.0 - weight ** (i + 1)) if weight > 0 else x)
    return out


def detect_mode() -> str:
    """live, final or file for the current process (see the module docstring for the rules)."""
    env = os.environ.get(ENV_MODE, "").strip().lower()
    if env:
        if env not in MODES:
            raise TutorError(
                f"{ENV_MODE}={env!r} is not a plot mode; use one of live, final or file."
            )
        return env
    shell = _shell()
    if shell is None or getattr(shell, "kernel", None) is None:
        return "file"
    return "live" if interactive(shell) else "final"


def _shell():
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


def _publish(bundle: dict, metadata: dict, display_id: str, update: bool) -> None:
    """Send one bundle to the front end; the tests replace this function to record frames."""
    from IPython.display import display, update_display

    if update:
        update_display(bundle, raw=True, metadata=metadata, display_id=display_id)
    else:
        display(bundle, raw=True, metadata=metadata, display_id=display_id)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> float | None:
    """A finite float, None for NaN/±inf (skipped), or TypeError for anything that is not a number."""
    if isinstance(value, bool) or isinstance(value, (str, bytes)):
        raise TypeError
    if isinstance(value, numbers.Real):
        f = float(value)
    elif callable(getattr(value, "item", None)):  # numpy or torch scalars and 1-element tensors
        try:
            item = value.item()
        except (ValueError, RuntimeError):
            raise TypeError from None
        if isinstance(item, bool) or not isinstance(item, numbers.Real):
            raise TypeError
        f = float(item)
    else:
        raise TypeError
    return f if math.isfinite(f) else None


def _step(step: Any) -> int | float:
    if not isinstance(step, bool) and isinstance(step, numbers.Integral):
        return int(step)
    try:
        f = _number(step)
    except TypeError:
        f = None
    if f is None:
        raise TutorError(
            f"The step {_short(step)} is not a finite number; pass the training step as an int "
            "(or a float such as an epoch), e.g. plot.log(step, loss=0.3)."
        )
    return int(f) if f.is_integer() else f


def _json(obj: Any) -> str:
    """Compact JSON that is safe inside a <script> element."""
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


def _round(x: float) -> float:
    return float(f"{x:.5g}")  # five significant digits: finer than any panel shows


def _pick(n: int, limit: int) -> range:
    """Evenly strided indices ending at the last point, at most `limit` of them."""
    stride = max(1, math.ceil(n / limit))
    return range((n - 1) % stride, n, stride)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "liveplot"


def _cdn_url() -> str:
    from plotly.offline import get_plotlyjs_version

    return f"https://cdn.plot.ly/plotly-{get_plotlyjs_version()}.min.js"


_PLOTLYJS: str | None = None


def _inline_plotlyjs() -> str:
    """plotly.js as a script that defines window.Plotly once, whatever module loader the page has."""
    global _PLOTLYJS
    if _PLOTLYJS is None:
        from plotly.offline import get_plotlyjs

        source = get_plotlyjs().replace("</", "<\\/")
        _PLOTLYJS = (
            "<script>if (!window.Plotly) { (function (module, exports, define) {\n"
            f"{source}\n}}).call(window); }}</script>"
        )
    return _PLOTLYJS


# One script template for every frame: find the host, get plotly.js (page, else CDN), draw.
_FRAME_JS = """<script>(function () {
  var id = "@HOST@", host = document.getElementById(id), me = document.currentScript;
  if (!host && me && me.parentNode) { host = me.parentNode.querySelector("#" + id); }
  if (!host) { return; }
  var fig = @FIG@, cdn = "@CDN@", w = window;
  function draw(P) { @DRAW@ }
  if (w.Plotly) { draw(w.Plotly); return; }
  if (!w.__tutorPlotlyCdn) {
    w.__tutorPlotlyCdn = new Promise(function (ok, fail) {
      var s = document.createElement("script");
      s.src = cdn;
      s.onload = function () { if (w.Plotly) { ok(w.Plotly); } else { fail(); } };
      s.onerror = fail;
      document.head.appendChild(s);
    });
  }
  w.__tutorPlotlyCdn.then(draw, function () {
    host.textContent = "This plot needs plotly.js, which this page could not load from " + cdn + ".";
  });
})();</script>"""

# Live frames keep ONE plot element per LivePlot and move it into each new output, so a redraw is
# a Plotly.react (no flicker, zoom kept) rather than a fresh plot.
_LIVE_DRAW = (
    'var reg = w.__tutorLive || (w.__tutorLive = {}), gd = reg["@UID@"];'
    ' if (!gd) { gd = reg["@UID@"] = document.createElement("div"); }'
    " if (gd.parentNode !== host) { host.appendChild(gd); }"
    " P.react(gd, fig.data, fig.layout, fig.config);"
)
_STATIC_DRAW = "P.newPlot(host, fig.data, fig.layout, fig.config);"


# --------------------------------------------------------------------------- cell-end bookkeeping

_PENDING: dict[int, LivePlot] = {}  # plots with something not yet shown (strong refs on purpose)
_HOOKED: set[int] = set()


def _after_cell(*_args: Any) -> None:
    """IPython post_run_cell: turn each touched plot into its static figure (errors included)."""
    for plot in list(_PENDING.values()):
        try:
            plot._cell_ended()
        except Exception as exc:  # noqa: BLE001 - a plot must never break the notebook
            _PENDING.pop(id(plot), None)
            warnings.warn(f"LivePlot could not draw its final figure: {exc}", stacklevel=2)


def _at_exit() -> None:
    for plot in list(_PENDING.values()):
        if plot.mode == "file" and not plot.closed:
            plot._write_file(final=True)


atexit.register(_at_exit)


def _hook_cell_end() -> None:
    shell = _shell()
    if shell is None or id(shell) in _HOOKED or not hasattr(shell, "events"):
        return
    shell.events.register("post_run_cell", _after_cell)
    _HOOKED.add(id(shell))


# --------------------------------------------------------------------------- data


class _Series:
    """One metric of one run: steps, values and a cached smoothed copy."""

    __slots__ = ("steps", "values", "_smooth", "_weight", "_m")

    def __init__(self) -> None:
        self.steps: list[int | float] = []
        self.values: list[float] = []
        self._smooth: list[float] = []
        self._weight = -1.0
        self._m = 0.0

    def smoothed(self, weight: float) -> list[float]:
        """`smooth(values, weight)`, extended incrementally so each redraw costs only new points."""
        if weight != self._weight:
            self._smooth, self._weight, self._m = [], weight, 0.0
        for i in range(len(self._smooth), len(self.values)):
            self._m = weight * self._m + (1.0 - weight) * self.values[i]
            self._smooth.append(self._m / (1.0 - weight ** (i + 1)))
        return self._smooth


def _check_panels(panels: Any) -> dict[str, list[str]]:
    if panels is None:
        return {}
    if isinstance(panels, str):
        panels = [panels]
    if isinstance(panels, Mapping):
        items = list(panels.items())
    elif isinstance(panels, Iterable):
        items = [(p, p) for p in panels]
    else:
        raise TutorError(
            f"panels={_short(panels)} is not understood; give a dict such as "
            '{"reward": ["objective/scores"], "KL": ["objective/kl"]}, a list of metric names, or None.'
        )
    out: dict[str, list[str]] = {}
    for name, series in items:
        if not isinstance(name, str) or not name.strip():
            raise TutorError(f"The panel name {_short(name)} is not a non-empty string.")
        if isinstance(series, str):
            series = [series]
        series = list(series) if isinstance(series, Iterable) else [series]
        if not series:
            raise TutorError(f"The panel {name!r} has no metrics; give it a list such as ['loss'].")
        for s in series:
            if not isinstance(s, str) or not s.strip():
                raise TutorError(
                    f"The panel {name!r} lists {_short(s)}; metric names must be non-empty strings."
                )
        out[name] = list(dict.fromkeys(series))
    if not out:
        raise TutorError("panels is empty; name at least one metric, or pass panels=None.")
    return out


def _auto_panel(metric: str) -> str:
    """Auto panels group metrics by their prefix: rewards/chosen and eval_rewards/chosen → rewards."""
    base = metric[5:] if metric.startswith(("eval_", "eval/")) else metric
    return base.split("/", 1)[0] if "/" in base else base


# --------------------------------------------------------------------------- the plot


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
        drawing stays under ~5 % of the loop).
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
        self._panels = _check_panels(panels)
        self._auto = panels is None
        if not isinstance(title, str):
            raise TutorError(f"title must be a string, not {_short(title)}.")
        self.title = title
        try:
            smoothing = float(smoothing)
        except (TypeError, ValueError):
            smoothing = -1.0
        if not 0.0 <= smoothing < 1.0:
            raise TutorError(
                f"smoothing={_short(smoothing)} is outside [0, 1); use 0 for raw curves or e.g. 0.8."
            )
        self.smoothing = smoothing
        try:
            every = float(every)
        except (TypeError, ValueError):
            every = -1.0
        if not every >= 0.0 or math.isinf(every):
            raise TutorError(f"every={_short(every)} must be a number of seconds ≥ 0, e.g. 1.0.")
        self.every = every
        if mode is None:
            mode = detect_mode()
        if mode not in MODES:
            raise TutorError(f"mode={_short(mode)} is not a plot mode; use live, final or file.")
        self.mode = mode
        if not isinstance(max_points, int) or isinstance(max_points, bool) or max_points < 2:
            raise TutorError(f"max_points={_short(max_points)} must be an int ≥ 2, e.g. 500.")
        self.max_points = max_points
        if cols is not None and (not isinstance(cols, int) or isinstance(cols, bool) or cols < 1):
            raise TutorError(f"cols={_short(cols)} must be a positive int or None.")
        self._cols = cols
        self._folder = Path(folder).expanduser() if folder is not None else None
        self._clock = clock
        self._uid = uuid.uuid4().hex[:12]
        self._refs: dict[str, list[tuple[str, float]]] = {}
        self._runs: dict[str, dict[str, _Series]] = {}
        self._run = self._check_run_name(run)
        self._runs[self._run] = {}
        self._named = False  # a run named by new_run/add_run puts run names in the legend
        # drawing state
        self._shown = False  # has our display id been sent?
        self._kind = ""  # what the output holds now: "", "live" or "final"
        self._dirty = False
        self._closed = False
        self._next_draw = -math.inf
        self._next_file = -math.inf
        self._frames = 0
        self._layout_key: tuple | None = None
        self._layout: dict = {}
        self._axes: list[tuple[str, str]] = []
        self._file: Path | None = None
        self._warned_closed = False
        for panel, spec in (refs or {}).items():
            for label, value in self._ref_items(panel, spec):
                self.reference(panel, value, label)
        self._dirty = False
        if self.mode != "file":
            _hook_cell_end()

    # ------------------------------------------------------------------ public API

    @property
    def panels(self) -> dict[str, list[str]]:
        """Panel title → metric names (a copy)."""
        return {k: list(v) for k, v in self._panels.items()}

    @property
    def run(self) -> str:
        """The run that `log` writes to."""
        return self._run

    @property
    def history(self) -> dict[str, list[tuple[int | float, float]]]:
        """The current run's curves: metric → [(step, value), ...] (NaN values were skipped)."""
        return {
            k: list(zip(s.steps, s.values, strict=True)) for k, s in self._runs[self._run].items()
        }

    @property
    def runs(self) -> dict[str, dict[str, list[tuple[int | float, float]]]]:
        """Every run's curves: run name → metric → [(step, value), ...]."""
        return {
            run: {k: list(zip(s.steps, s.values, strict=True)) for k, s in store.items()}
            for run, store in self._runs.items()
        }

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
        step = _step(step)
        if metrics is not None and not isinstance(metrics, Mapping):
            raise TutorError(
                f"plot.log(step, metrics) takes a dict of metric names to numbers, not {_short(metrics)}."
            )
        items = {**(metrics or {}), **more}
        if not items:
            raise TutorError(
                "plot.log(step) got no metrics; pass some, e.g. plot.log(step, loss=0.3)."
            )
        known = self._known()
        clean: dict[str, float] = {}
        store = self._runs[self._run]
        for name, value in items.items():
            if not isinstance(name, str) or not name:
                raise TutorError(f"The metric name {_short(name)} is not a non-empty string.")
            if not self._auto and name not in known:
                raise TutorError(
                    f"LivePlot has no metric {name!r}; its panels plot {', '.join(sorted(known))} "
                    "(add it to panels=..., or pass panels=None to plot every metric)."
                )
            try:
                number = _number(value)
            except TypeError:
                raise TutorError(
                    f"The value of {name!r} at step {step} is {_short(value)} "
                    f"({type(value).__name__}); log single numbers such as 0.25 (NaN is skipped)."
                ) from None
            if number is None:
                continue
            series = store.get(name)
            if series is not None and series.steps and step < series.steps[-1]:
                raise TutorError(
                    f"Step {step} of {name!r} comes before its last step {series.steps[-1]} in run "
                    f"{self._run!r}; steps must not go back (start another curve with plot.new_run(...))."
                )
            clean[name] = number
        for name, number in clean.items():
            if self._auto:
                self._add_auto(name)
            series = store.setdefault(name, _Series())
            series.steps.append(step)
            series.values.append(number)
        if clean:
            self._changed()

    def reference(self, panel: str, value: Any, label: str = "") -> None:
        """A dashed horizontal line across `panel` at `value`, e.g. the reward model's ceiling."""
        if not isinstance(panel, str) or (panel not in self._panels and not self._auto):
            raise TutorError(
                f"There is no panel {_short(panel)} for a reference line; the panels are "
                f"{', '.join(map(repr, self._panels))}."
            )
        try:
            number = _number(value)
        except TypeError:
            number = None
        if number is None:
            raise TutorError(
                f"The reference line {label or panel!r} needs a finite number, not {_short(value)}."
            )
        if not isinstance(label, str):
            raise TutorError(f"A reference line's label must be a string, not {_short(label)}.")
        self._refs.setdefault(panel, []).append((label, number))
        self._touch()

    def new_run(self, name: str) -> None:
        """Start another curve per metric (one colour per run, names in the legend): a β sweep.

        The first call renames the initial run if nothing was logged to it yet.
        """
        name = self._check_run_name(name)
        if name in self._runs:
            raise TutorError(f"There is already a run named {name!r}; give each run its own name.")
        current = self._runs[self._run]
        if not any(s.values for s in current.values()):
            del self._runs[self._run]
        self._runs[name] = {}
        self._run = name
        self._named = True
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
        name = self._check_run_name(name)
        if name in self._runs:
            raise TutorError(f"There is already a run named {name!r}; give each run its own name.")
        rows = self._history_rows(history)
        store: dict[str, _Series] = {}
        known = self._known()
        for metric, step, value in sorted(rows, key=lambda r: r[1]):
            if not self._auto and metric not in known:
                continue
            if self._auto:
                self._add_auto(metric)
            series = store.setdefault(metric, _Series())
            series.steps.append(step)
            series.values.append(value)
        self._runs[name] = store
        self._named = True
        self._touch()

    def callback(self):
        """A transformers TrainerCallback that feeds this plot from on_log (TRL names kept)."""
        return _callback_class()(self)

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
        _PENDING.pop(id(self), None)

    def __enter__(self) -> LivePlot:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def figure(self, max_points: int | None = None):
        """The plotly Figure of everything logged (all points unless `max_points` is given)."""
        import plotly.graph_objects as go

        return go.Figure(self._figure_dict(max_points))

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
        return self._summary()

    # ------------------------------------------------------------------ bookkeeping

    def _check_run_name(self, name: Any) -> str:
        if not isinstance(name, str) or not name.strip():
            raise TutorError(
                f"A run name must be a non-empty string such as 'beta=0.1', not {_short(name)}."
            )
        return name

    def _ref_items(self, panel: str, spec: Any) -> list[tuple[str, Any]]:
        """refs values: a number, a (label, value) pair in either order, a list of those, or a dict."""
        if isinstance(spec, Mapping):
            return [(str(k), v) for k, v in spec.items()]
        if isinstance(spec, tuple) and len(spec) == 2 and any(isinstance(x, str) for x in spec):
            spec = [spec]
        if isinstance(spec, (list, tuple)):
            out = []
            for item in spec:
                if isinstance(item, tuple) and len(item) == 2:
                    a, b = item
                    out.append((a, b) if isinstance(a, str) else (b, a))
                else:
                    out.append(("", item))
            return out
        return [("", spec)]

    def _known(self) -> set[str]:
        return {s for names in self._panels.values() for s in names}

    def _add_auto(self, metric: str) -> None:
        if metric in self._known():
            return
        self._panels.setdefault(_auto_panel(metric), []).append(metric)

    def _history_rows(self, history: Any) -> list[tuple[str, int | float, float]]:
        rows: list[tuple[str, int | float, float]] = []
        bad = TutorError(
            "add_run takes {metric: [(step, value), ...]} or a list of log dicts with a 'step' key "
            "(a Trainer's state.log_history)."
        )
        if isinstance(history, Mapping):
            for metric, points in history.items():
                if not isinstance(metric, str) or not isinstance(points, Iterable):
                    raise bad
                for point in points:
                    try:
                        step, value = point
                        number = _number(value)
                    except (TypeError, ValueError):
                        raise bad from None
                    if number is not None:
                        rows.append((metric, _step(step), number))
        elif isinstance(history, Iterable) and not isinstance(history, (str, bytes)):
            for entry in history:
                if not isinstance(entry, Mapping) or "step" not in entry:
                    raise bad
                step = _step(entry["step"])
                for metric, value in entry.items():
                    if metric in SKIP_KEYS or not isinstance(metric, str):
                        continue
                    try:
                        number = _number(value)
                    except TypeError:
                        continue
                    if number is not None:
                        rows.append((metric, step, number))
        else:
            raise bad
        return rows

    def _log_from_trainer(self, step: int, logs: Mapping[str, Any]) -> None:
        """on_log: keep numeric metrics this plot knows (all of them with panels=None)."""
        if self._closed:
            if not self._warned_closed:
                warnings.warn(
                    "LivePlot is closed; its callback ignores further logs.", stacklevel=3
                )
                self._warned_closed = True
            return
        known = self._known()
        clean = {}
        for key, value in logs.items():
            if (
                not isinstance(key, str)
                or key in SKIP_KEYS
                or key.endswith(("_per_second", "_runtime"))
            ):
                continue
            if not self._auto and key not in known:
                continue
            try:
                clean[key] = _number(value)
            except TypeError:
                continue
        clean = {k: v for k, v in clean.items() if v is not None}
        if not clean:
            return
        store = self._runs[self._run]
        if any(k in store and store[k].steps and step < store[k].steps[-1] for k in clean):
            # the trainer started again from step 0: overlay the new curve as another run
            n = len(self._runs) + 1
            while f"run {n}" in self._runs:
                n += 1
            self.new_run(f"run {n}")
        self.log(step, clean)

    # ------------------------------------------------------------------ drawing decisions

    def _changed(self) -> None:
        self._dirty = True
        _PENDING[id(self)] = self
        now = self._clock()
        if self.mode == "live" and now >= self._next_draw:
            self._draw_live(now)
        elif self.mode == "file" and now >= self._next_file:
            self._write_file(final=False)

    def _touch(self) -> None:
        """A change that does not draw by itself (reference line, new run)."""
        self._dirty = True
        if self._shown or self._file is not None:
            _PENDING[id(self)] = self

    def _cell_ended(self) -> None:
        _PENDING.pop(id(self), None)
        if self._closed:
            return
        if self.mode == "file":
            if self._dirty:
                self._write_file(final=False)
        elif self._dirty or self._kind == "live":
            self._draw_final()

    def _metadata(self, final: bool) -> dict:
        return {"tutor_liveplot": {"id": self._uid, "final": final}}

    def _send(self, bundle: dict, final: bool) -> None:
        _publish(bundle, self._metadata(final), f"tutor-liveplot-{self._uid}", self._shown)
        self._shown = True
        self._frames += 1

    def _draw_live(self, now: float) -> None:
        start = self._clock()
        carry = self._kind != "live"  # the first live frame since display or a static figure
        self._send(self._live_bundle(carry_plotlyjs=carry and not in_colab()), final=False)
        self._kind, self._dirty = "live", False
        # Slow frames stretch the interval (drawing stays under ~1/COST_FACTOR of the loop); the
        # one-off frame that ships plotly.js does not count.
        cost = 0.0 if carry else self._clock() - start
        self._next_draw = now + (max(self.every, COST_FACTOR * cost) if self.every > 0 else 0.0)

    def _draw_final(self) -> None:
        if self.mode == "live" and self._kind == "final":
            # JupyterLab's plotly renderer ignores updates: a different mime type forces a new one.
            self._send(
                {"text/html": "<div>redrawing…</div>", "text/plain": "redrawing…"}, final=False
            )
        self._send(self._static_bundle(), final=True)
        self._kind, self._dirty = "final", False
        self._next_draw = -math.inf  # the next log after a static figure redraws at once

    # ------------------------------------------------------------------ figure building

    def _ensure_layout(self) -> None:
        key = (tuple((p, len(s)) for p, s in self._panels.items()), self._cols, self.title)
        if key == self._layout_key:
            return
        import plotly.io as pio
        from plotly.subplots import make_subplots

        names = list(self._panels)
        n = max(1, len(names))
        cols = min(self._cols or {1: 1, 2: 2, 3: 3, 4: 2}.get(n, 3), n)
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
        self._axes = [(t.xaxis or "x", t.yaxis or "y") for t in fig.data]
        layout = fig.to_dict()["layout"]
        template = pio.templates[pio.templates.default].to_plotly_json()
        layout["template"] = {  # only what line plots use: the full template is ~8 kB per frame
            "layout": template.get("layout", {}),
            "data": {"scatter": template.get("data", {}).get("scatter", [])},
        }
        for i in range(n - cols, n):  # the bottom plot of each column shows the step axis
            if i >= 0:
                axis = "xaxis" + self._axes[i][0][1:]
                layout.setdefault(axis, {})["title"] = {"text": "step", "standoff": 4}
        layout.update(
            height=ROW_HEIGHT * rows + (90 if self.title else 60),
            margin={"l": 55, "r": 20, "t": 80 if self.title else 50, "b": 45},
            uirevision=self._uid,  # keep the reader's zoom across redraws
            hovermode="closest",
        )
        if self.title:
            layout["title"] = {"text": html.escape(self.title), "x": 0.01, "xanchor": "left"}
        self._layout, self._layout_key = layout, key

    def _figure_dict(self, max_points: int | None, compact: bool = False) -> dict:
        """The figure as plain dicts; `compact` writes evenly spaced steps as x0/dx (saved
        notebooks put every array number on its own line, so this halves their size)."""
        self._ensure_layout()
        limit = max_points or 10**12
        layout = dict(self._layout)
        runs = [
            (name, store)
            for name, store in self._runs.items()
            if any(s.values for s in store.values())
        ]
        multi = self._named or len(runs) > 1
        one_series = all(len(names) == 1 for names in self._panels.values())
        colour_of: dict[str, str] = {}
        for names in self._panels.values():
            for name in names:
                colour_of.setdefault(name, PALETTE[len(colour_of) % len(PALETTE)])
        traces: list[dict] = []
        legend_seen: set[str] = set()
        for p, names in enumerate(self._panels.values()):
            xa, ya = self._axes[p]
            for r, (run, store) in enumerate(runs):
                for s, name in enumerate(names):
                    series = store.get(name)
                    if series is None or not series.values:
                        continue
                    if multi:
                        colour, dash = PALETTE[r % len(PALETTE)], DASHES[s % len(DASHES)]
                        group = run
                        label = html.escape(run if one_series else name)
                        key = run if one_series else f"{run}\x00{name}"
                        who = f"{html.escape(run)} · {html.escape(name)}"
                    else:
                        colour, dash, group, key = colour_of[name], "solid", name, name
                        label = html.escape(name)
                        who = html.escape(name)
                    show = key not in legend_seen
                    legend_seen.add(key)
                    idx = _pick(len(series.values), limit)
                    xs = {"x": [series.steps[i] for i in idx]}
                    if compact and len(idx) > 2:
                        x0, dx = xs["x"][0], xs["x"][1] - xs["x"][0]
                        if all(b - a == dx for a, b in zip(xs["x"], xs["x"][1:], strict=False)):
                            xs = {"x0": x0, "dx": dx}
                    base = {
                        "type": "scatter",
                        "mode": "lines" if len(idx) > 1 else "markers",
                        "xaxis": xa,
                        "yaxis": ya,
                        "legendgroup": group,
                        "hovertemplate": f"{who}<br>step %{{x}}<br>%{{y:.4g}}<extra></extra>",
                    }
                    raw = {
                        **base,
                        **xs,
                        "y": [_round(series.values[i]) for i in idx],
                        "name": label,
                        "line": {"color": colour, "width": 2, "dash": dash},
                        "marker": {"color": colour},
                        "showlegend": show,
                    }
                    if multi and show and not one_series and s == 0:
                        raw["legendgrouptitle"] = {"text": html.escape(run)}
                    if self.smoothing > 0:
                        sm = series.smoothed(self.smoothing)
                        raw.update(showlegend=False, opacity=0.3, hoverinfo="skip")
                        raw["line"] = {**raw["line"], "width": 1}
                        raw.pop("legendgrouptitle", None)
                        raw.pop("hovertemplate")
                        bold = {
                            **base,
                            **xs,
                            "y": [_round(sm[i]) for i in idx],
                            "name": label,
                            "line": {"color": colour, "width": 2.5, "dash": dash},
                            "marker": {"color": colour},
                            "showlegend": show,
                        }
                        if multi and show and not one_series and s == 0:
                            bold["legendgrouptitle"] = {"text": html.escape(run)}
                        traces += [raw, bold]
                    else:
                        traces.append(raw)
        shapes = []
        for panel, lines in self._refs.items():
            if panel not in self._panels:
                continue
            xa, ya = self._axes[list(self._panels).index(panel)]
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
        if shapes:
            layout["shapes"] = shapes
        return {"data": traces, "layout": layout}

    def _config(self) -> dict:
        return {"responsive": True, "displaylogo": False}

    def _html(self, fig: dict, live: bool) -> str:
        host = f"tutor-{self._uid}-{self._frames}"
        height = fig["layout"].get("height", 400)
        draw = _LIVE_DRAW.replace("@UID@", self._uid) if live else _STATIC_DRAW
        script = (
            _FRAME_JS.replace("@HOST@", host)
            .replace("@CDN@", _cdn_url())
            .replace("@DRAW@", draw)
            .replace("@FIG@", _json({**fig, "config": self._config()}))
        )
        return f'<div id="{host}" class="tutor-liveplot" style="width:100%;min-height:{height}px"></div>{script}'

    def _live_bundle(self, carry_plotlyjs: bool) -> dict:
        fig = self._figure_dict(self.max_points, compact=True)
        body = self._html(fig, live=True)
        if carry_plotlyjs:
            body = _inline_plotlyjs() + body
        return {"text/html": body, "text/plain": self._summary()}

    def _static_bundle(self) -> dict:
        fig = self._figure_dict(self.max_points, compact=True)
        return {
            MIME_PLOTLY: {**fig, "config": self._config()},
            "text/html": self._html(fig, live=False),
            "text/plain": self._summary(),
        }

    def _summary(self) -> str:
        """One line for terminals, logs and front ends without HTML."""
        parts = [f"LivePlot {self.title!r}" if self.title else "LivePlot"]
        store = self._runs[self._run]
        if self._named or len(self._runs) > 1:
            parts.append(f"run {self._run!r}")
        last = [(s.steps[-1], k, s.values[-1]) for k, s in store.items() if s.values]
        if last:
            parts.append(f"step {max(step for step, _, _ in last)}")
            parts += [f"{k}={v:.4g}" for _, k, v in last[:12]]
        else:
            parts.append("nothing logged yet")
        return " · ".join(parts)

    # ------------------------------------------------------------------ file mode

    def _write_file(self, final: bool) -> None:
        if self._file is None:
            folder = check_writable(self._folder or runs_root())
            name = _slug(self.title)
            path, n = folder / f"{name}.html", 1
            while str(path) in _FILES_TAKEN:
                n += 1
                path = folder / f"{name}-{n}.html"
            _FILES_TAKEN.add(str(path))
            self._file = path
            print(
                f"LivePlot: drawing to {path} (open it in a browser; it reloads every 30 s while training)"
            )
        self._write_page(self._file, refresh=not final)
        self._frames += 1
        self._dirty = False
        self._next_file = self._clock() + max(self.every, FILE_EVERY)

    def _write_page(self, path: Path, refresh: bool) -> None:
        lib = path.parent / "plotly.min.js"
        if not lib.exists():
            from plotly.offline import get_plotlyjs

            _atomic_write(lib, get_plotlyjs())
        fig = self._figure_dict(self.max_points, compact=True)
        meta = '<meta http-equiv="refresh" content="30">' if refresh else ""
        page = (
            f'<!DOCTYPE html><html><head><meta charset="utf-8">{meta}'
            f"<title>{html.escape(self.title or 'LivePlot')}</title>"
            '<script src="plotly.min.js"></script></head><body>'
            f"{self._html(fig, live=False)}</body></html>"
        )
        _atomic_write(path, page)


_FILES_TAKEN: set[str] = set()


def _atomic_write(path: Path, text: str) -> None:
    """Write beside, then rename, so a browser reloading the page never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- trainer callback

_CALLBACK: type | None = None


def _callback_class() -> type:
    """Built on first use so that importing tutor.ui.live_plot does not import transformers (~3 s)."""
    global _CALLBACK
    if _CALLBACK is None:
        from transformers import TrainerCallback

        class LivePlotCallback(TrainerCallback):
            """Feeds a LivePlot from Trainer logs: step = state.global_step, TRL names unchanged."""

            def __init__(self, plot: LivePlot) -> None:
                self.plot = plot

            def on_log(self, args, state, control, logs=None, **kwargs):
                if logs:
                    self.plot._log_from_trainer(state.global_step, logs)

            def on_train_end(self, args, state, control, **kwargs):
                self.plot.draw()

        _CALLBACK = LivePlotCallback
    return _CALLBACK


# --------------------------------------------------------------------------- finished runs


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
    plot._runs.clear()  # no empty initial run
    for name, history in runs.items():
        plot.add_run(name, history)
    plot._run = next(iter(runs))
    plot._closed = True
    return plot
