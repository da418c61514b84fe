"""File mode (a plain script or terminal IPython): a standalone HTML page in the runs folder, with
plotly.min.js copied beside it once; each write is atomic, so a browser reloading the page never
reads half a file."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from tutor.course import check_writable, runs_root

_TAKEN: set[str] = set()  # pages this process writes: two plots with one title get two pages


def claim_page(folder: Path | None, title: str) -> Path:
    """A page of its own for a plot: <title>.html in `folder` (default the runs folder), or -2, -3..."""
    folder = check_writable(folder or runs_root())
    name = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "liveplot"
    path, n = folder / f"{name}.html", 1
    while str(path) in _TAKEN:
        n += 1
        path = folder / f"{name}-{n}.html"
    _TAKEN.add(str(path))
    return path


def write_page(path: Path, title: str, body: str, refresh: bool) -> None:
    """The page at `path` showing `body`; `refresh` makes it reload itself every 30 s."""
    lib = path.parent / "plotly.min.js"
    if not lib.exists():
        from plotly.offline import get_plotlyjs

        atomic_write(lib, get_plotlyjs())
    meta = '<meta http-equiv="refresh" content="30">' if refresh else ""
    page = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8">{meta}'
        f"<title>{html.escape(title or 'LivePlot')}</title>"
        '<script src="plotly.min.js"></script></head><body>'
        f"{body}</body></html>"
    )
    atomic_write(path, page)


def atomic_write(path: Path, text: str) -> None:
    """Write beside, then rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
