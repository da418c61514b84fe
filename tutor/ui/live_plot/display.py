"""Where a LivePlot draws (its mode) and the IPython plumbing: sending display bundles to the front
end, and, when a cell ends, turning each plot it touched into one static figure (when a script
exits, writing each file-mode page's last version).

The mode comes from ``mode=``, else the environment variable ``TUTOR_PLOTS`` (live, final or
file), else `detect_mode()`: no IPython kernel → file; Colab → live; a kernel whose current
request does not allow stdin → final (nbclient sends allow_stdin=False, interactive front ends
allow input()); otherwise live.
"""

from __future__ import annotations

import atexit
import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

from tutor.course import interactive
from tutor.errors import TutorError
from tutor.ui.live_plot.checks import short_repr

if TYPE_CHECKING:
    from tutor.ui.live_plot.plot import LivePlot

MODES = ("live", "final", "file")
ENV_MODE = "TUTOR_PLOTS"
FILE_EVERY = 30.0  # seconds between rewrites of the HTML page in file mode
# A live frame that took c seconds waits at least COST_FACTOR·c before the next one, so drawing
# stays under 1/COST_FACTOR (5 %) of a training loop: benchmarks/results/plot_overhead.json.
COST_FACTOR = 20

PENDING: dict[int, LivePlot] = {}  # plots with something not yet shown (strong refs on purpose)
_HOOKED: set[int] = set()  # the shells whose post_run_cell calls after_cell


def ipython_shell():
    """The running IPython shell, or None (without importing IPython when nothing did)."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


def detect_mode() -> str:
    """live, final or file for the current process (see the module docstring for the rules)."""
    env = os.environ.get(ENV_MODE, "").strip().lower()
    if env:
        if env not in MODES:
            raise TutorError(f"{ENV_MODE}={env!r} is not a plot mode; use one of live, final or file.")
        return env
    shell = ipython_shell()
    if shell is None or getattr(shell, "kernel", None) is None:
        return "file"
    return "live" if interactive(shell) else "final"


def check_mode(mode: str | None) -> str:
    """mode= checked, or the detected mode when it is None."""
    if mode is None:
        mode = detect_mode()
    if mode not in MODES:
        raise TutorError(f"mode={short_repr(mode)} is not a plot mode; use live, final or file.")
    return mode


def publish(bundle: dict, metadata: dict, display_id: str, update: bool) -> None:
    """Send one bundle to the front end; the tests replace this function to record frames."""
    from IPython.display import display, update_display

    if update:
        update_display(bundle, raw=True, metadata=metadata, display_id=display_id)
    else:
        display(bundle, raw=True, metadata=metadata, display_id=display_id)


def after_cell(*_args: Any) -> None:
    """IPython post_run_cell: turn each touched plot into its static figure (errors included)."""
    for plot in list(PENDING.values()):
        try:
            plot._cell_ended()
        except Exception as exc:  # noqa: BLE001 - a plot must never break the notebook
            PENDING.pop(id(plot), None)
            warnings.warn(f"LivePlot could not draw its final figure: {exc}", stacklevel=2)


def _at_exit() -> None:
    """A script that never called close(): write each file-mode page's final version."""
    for plot in list(PENDING.values()):
        if plot.mode == "file" and not plot.closed:
            plot._write_file(final=True)


atexit.register(_at_exit)


def hook_cell_end() -> None:
    """Register `after_cell` once with the running IPython shell (if there is one)."""
    shell = ipython_shell()
    if shell is None or id(shell) in _HOOKED or not hasattr(shell, "events"):
        return
    shell.events.register("post_run_cell", after_cell)
    _HOOKED.add(id(shell))
