"""The data a LivePlot draws: each run's series of (step, value) per metric, the panels that group
the metrics, and the panels' reference lines (`Curves`); plus the smoothing of a series."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tutor.errors import TutorError
from tutor.ui.live_plot.checks import (
    SKIP_KEYS,
    as_number,
    as_step,
    check_run_name,
    history_rows,
    short_repr,
)

Points = list[tuple[int | float, float]]


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


class Series:
    """One metric of one run: steps, values and a cached smoothed copy."""

    __slots__ = ("steps", "values", "_smooth", "_weight", "_m")

    def __init__(self) -> None:
        self.steps: list[int | float] = []
        self.values: list[float] = []
        self._smooth: list[float] = []
        self._weight = -1.0
        self._m = 0.0

    def append(self, step: int | float, value: float) -> None:
        self.steps.append(step)
        self.values.append(value)

    def points(self) -> Points:
        return list(zip(self.steps, self.values, strict=True))

    def smoothed(self, weight: float) -> list[float]:
        """`smooth(values, weight)`, extended incrementally so each redraw costs only new points."""
        if weight != self._weight:
            self._smooth, self._weight, self._m = [], weight, 0.0
        for i in range(len(self._smooth), len(self.values)):
            self._m = weight * self._m + (1.0 - weight) * self.values[i]
            self._smooth.append(self._m / (1.0 - weight ** (i + 1)))
        return self._smooth


def auto_panel(metric: str) -> str:
    """Auto panels group metrics by their prefix: rewards/chosen and eval_rewards/chosen → rewards."""
    base = metric[5:] if metric.startswith(("eval_", "eval/")) else metric
    return base.split("/", 1)[0] if "/" in base else base


class Curves:
    """Every run's series of every metric, the panels that group them, and reference lines.

    `run` is the run that `log` appends to. `named` turns true once a run is named by `new_run` or
    `add_run`: from then on the legend shows run names.
    """

    def __init__(self, panels: dict[str, list[str]], auto: bool, run: str) -> None:
        self.panels = panels
        self.auto = auto  # panels=None: each metric that arrives gets the panel of its prefix
        self.refs: dict[str, list[tuple[str, float]]] = {}
        self.runs: dict[str, dict[str, Series]] = {}
        self.run = check_run_name(run)
        self.runs[self.run] = {}
        self.named = False

    @property
    def current(self) -> dict[str, Series]:
        """The series of the run that `log` appends to."""
        return self.runs[self.run]

    def known(self) -> set[str]:
        """Every metric some panel plots."""
        return {metric for metrics in self.panels.values() for metric in metrics}

    def points(self, run: str) -> dict[str, Points]:
        return {metric: series.points() for metric, series in self.runs[run].items()}

    def runs_with_data(self) -> list[tuple[str, dict[str, Series]]]:
        return [(name, store) for name, store in self.runs.items() if any(s.values for s in store.values())]

    def log(self, step: Any, metrics: Mapping[str, Any] | None, more: Mapping[str, Any]) -> bool:
        """Append the metrics at `step` to the current run, all or none of them (a bad one raises).

        NaN and infinite values are skipped; returns whether anything was appended.
        """
        step = as_step(step)
        if metrics is not None and not isinstance(metrics, Mapping):
            raise TutorError(
                f"plot.log(step, metrics) takes a dict of metric names to numbers, not {short_repr(metrics)}."
            )
        items = {**(metrics or {}), **more}
        if not items:
            raise TutorError("plot.log(step) got no metrics; pass some, e.g. plot.log(step, loss=0.3).")
        known = self.known()
        clean: dict[str, float] = {}
        store = self.current
        for name, value in items.items():
            if not isinstance(name, str) or not name:
                raise TutorError(f"The metric name {short_repr(name)} is not a non-empty string.")
            if not self.auto and name not in known:
                raise TutorError(
                    f"LivePlot has no metric {name!r}; its panels plot {', '.join(sorted(known))} "
                    "(add it to panels=..., or pass panels=None to plot every metric)."
                )
            try:
                number = as_number(value)
            except TypeError:
                raise TutorError(
                    f"The value of {name!r} at step {step} is {short_repr(value)} "
                    f"({type(value).__name__}); log single numbers such as 0.25 (NaN is skipped)."
                ) from None
            if number is None:
                continue
            series = store.get(name)
            if series is not None and series.steps and step < series.steps[-1]:
                raise TutorError(
                    f"Step {step} of {name!r} comes before its last step {series.steps[-1]} in run "
                    f"{self.run!r}; steps must not go back (start another curve with plot.new_run(...))."
                )
            clean[name] = number
        for name, number in clean.items():
            if self.auto:
                self._place(name)
            store.setdefault(name, Series()).append(step, number)
        return bool(clean)

    def add_reference(self, panel: Any, value: Any, label: Any) -> None:
        """A horizontal line across `panel` at `value`."""
        if not isinstance(panel, str) or (panel not in self.panels and not self.auto):
            raise TutorError(
                f"There is no panel {short_repr(panel)} for a reference line; the panels are "
                f"{', '.join(map(repr, self.panels))}."
            )
        try:
            number = as_number(value)
        except TypeError:
            number = None
        if number is None:
            raise TutorError(f"The reference line {label or panel!r} needs a finite number, not {short_repr(value)}.")
        if not isinstance(label, str):
            raise TutorError(f"A reference line's label must be a string, not {short_repr(label)}.")
        self.refs.setdefault(panel, []).append((label, number))

    def new_run(self, name: Any) -> None:
        """Make `name` the current run; an initial run with nothing logged is dropped."""
        name = self._new_name(name)
        if not any(s.values for s in self.current.values()):
            del self.runs[self.run]
        self.runs[name] = {}
        self.run = name
        self.named = True

    def add_run(self, name: Any, history: Any) -> None:
        """A finished run beside the others (its metrics that no panel plots are left out)."""
        name = self._new_name(name)
        rows = history_rows(history)
        store: dict[str, Series] = {}
        known = self.known()
        for metric, step, value in sorted(rows, key=lambda r: r[1]):
            if not self.auto and metric not in known:
                continue
            if self.auto:
                self._place(metric)
            store.setdefault(metric, Series()).append(step, value)
        self.runs[name] = store
        self.named = True

    def trainer_metrics(self, logs: Mapping[str, Any]) -> dict[str, float]:
        """The finite numbers of a Trainer log that this plot draws (all of them with panels=None)."""
        known = self.known()
        clean = {}
        for key, value in logs.items():
            if not isinstance(key, str) or key in SKIP_KEYS or key.endswith(("_per_second", "_runtime")):
                continue
            if not self.auto and key not in known:
                continue
            try:
                clean[key] = as_number(value)
            except TypeError:
                continue
        return {k: v for k, v in clean.items() if v is not None}

    def goes_back(self, step: int | float, metrics: Iterable[str]) -> bool:
        """Whether `step` comes before the last step of one of `metrics` in the current run."""
        store = self.current
        return any(k in store and store[k].steps and step < store[k].steps[-1] for k in metrics)

    def unused_run_name(self) -> str:
        """The first free name "run n", counting from the number of runs plus one."""
        n = len(self.runs) + 1
        while f"run {n}" in self.runs:
            n += 1
        return f"run {n}"

    def _new_name(self, name: Any) -> str:
        name = check_run_name(name)
        if name in self.runs:
            raise TutorError(f"There is already a run named {name!r}; give each run its own name.")
        return name

    def _place(self, metric: str) -> None:
        """panels=None: put a metric no panel plots yet in the panel of its prefix."""
        if metric in self.known():
            return
        self.panels.setdefault(auto_panel(metric), []).append(metric)
