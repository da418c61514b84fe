"""The checks of LivePlot's arguments: each turns what a learner passed (a number, a step, panels,
reference lines, a run name, a finished run's history) into a clean value, or raises one
TutorError sentence that names the argument and what is accepted."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

from tutor.errors import TutorError

# Trainer log keys that are bookkeeping, not curves worth a panel.
SKIP_KEYS = frozenset({"epoch", "step", "total_flos", "train_runtime", "train_loss"})


def short_repr(value: Any) -> str:
    """A value as an error message quotes it: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_number(value: Any) -> float | None:
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


def as_step(step: Any) -> int | float:
    """The training step as an int (or a float such as an epoch); anything else is a TutorError."""
    if not isinstance(step, bool) and isinstance(step, numbers.Integral):
        return int(step)
    try:
        f = as_number(step)
    except TypeError:
        f = None
    if f is None:
        raise TutorError(
            f"The step {short_repr(step)} is not a finite number; pass the training step as an int "
            "(or a float such as an epoch), e.g. plot.log(step, loss=0.3)."
        )
    return int(f) if f.is_integer() else f


def check_title(title: Any) -> str:
    if not isinstance(title, str):
        raise TutorError(f"title must be a string, not {short_repr(title)}.")
    return title


def _float_or_negative(value: Any) -> float:
    """float(value), or -1.0 (outside every range below) when it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return -1.0


def check_smoothing(smoothing: Any) -> float:
    smoothing = _float_or_negative(smoothing)
    if not 0.0 <= smoothing < 1.0:
        raise TutorError(f"smoothing={short_repr(smoothing)} is outside [0, 1); use 0 for raw curves or e.g. 0.8.")
    return smoothing


def check_every(every: Any) -> float:
    every = _float_or_negative(every)
    if not every >= 0.0 or math.isinf(every):
        raise TutorError(f"every={short_repr(every)} must be a number of seconds ≥ 0, e.g. 1.0.")
    return every


def check_max_points(max_points: Any) -> int:
    if not isinstance(max_points, int) or isinstance(max_points, bool) or max_points < 2:
        raise TutorError(f"max_points={short_repr(max_points)} must be an int ≥ 2, e.g. 500.")
    return max_points


def check_cols(cols: Any) -> int | None:
    if cols is not None and (not isinstance(cols, int) or isinstance(cols, bool) or cols < 1):
        raise TutorError(f"cols={short_repr(cols)} must be a positive int or None.")
    return cols


def check_panels(panels: Any) -> dict[str, list[str]]:
    """panels= as {title: [metric, ...]}: a dict, a list of metric names (one panel each) or None."""
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
            f"panels={short_repr(panels)} is not understood; give a dict such as "
            '{"reward": ["objective/scores"], "KL": ["objective/kl"]}, a list of metric names, or None.'
        )
    out: dict[str, list[str]] = {}
    for name, metrics in items:
        if not isinstance(name, str) or not name.strip():
            raise TutorError(f"The panel name {short_repr(name)} is not a non-empty string.")
        if isinstance(metrics, str):
            metrics = [metrics]
        metrics = list(metrics) if isinstance(metrics, Iterable) else [metrics]
        if not metrics:
            raise TutorError(f"The panel {name!r} has no metrics; give it a list such as ['loss'].")
        for metric in metrics:
            if not isinstance(metric, str) or not metric.strip():
                raise TutorError(
                    f"The panel {name!r} lists {short_repr(metric)}; metric names must be non-empty strings."
                )
        out[name] = list(dict.fromkeys(metrics))
    if not out:
        raise TutorError("panels is empty; name at least one metric, or pass panels=None.")
    return out


def reference_items(spec: Any) -> list[tuple[str, Any]]:
    """refs= values: a number, a (label, value) pair in either order, a list of those, or a dict."""
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


def check_run_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise TutorError(f"A run name must be a non-empty string such as 'beta=0.1', not {short_repr(name)}.")
    return name


def history_rows(history: Any) -> list[tuple[str, int | float, float]]:
    """(metric, step, value) rows of {metric: [(step, value), ...]} or a Trainer's log_history."""
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
                    number = as_number(value)
                except (TypeError, ValueError):
                    raise bad from None
                if number is not None:
                    rows.append((metric, as_step(step), number))
    elif isinstance(history, Iterable) and not isinstance(history, (str, bytes)):
        for entry in history:
            if not isinstance(entry, Mapping) or "step" not in entry:
                raise bad
            step = as_step(entry["step"])
            for metric, value in entry.items():
                if metric in SKIP_KEYS or not isinstance(metric, str):
                    continue
                try:
                    number = as_number(value)
                except TypeError:
                    continue
                if number is not None:
                    rows.append((metric, step, number))
    else:
        raise bad
    return rows
