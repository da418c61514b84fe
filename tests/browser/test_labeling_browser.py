"""The labeler in a real JupyterLab: clicks and a shortcut key reach the JSONL file on disk.

Uses the harness of this folder (conftest.py: `jupyter_server`, `page`; jlab.py helpers). The
notebook is a small fixture for now; notebook 03 replaces it once it exists.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

# The harness (conftest.py, jlab.py) lives beside this file; without it there is nothing to drive.
jlab = pytest.importorskip("jlab", reason="needs the browser harness of tests/browser (conftest.py, jlab.py)")
expect = pytest.importorskip("playwright.sync_api").expect

HERE = Path(__file__).resolve().parent
NOTEBOOK = "labeling_fixture.ipynb"
LABEL_FILE = "labels-browser.jsonl"  # the fixture writes it next to the notebook
WIDGET_CELL = 1


def records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for_records(path: Path, count: int, timeout: float = 30.0) -> list[dict]:
    """The kernel saves asynchronously from the browser's point of view: poll the file."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = records(path)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"expected {count} records in {path.name}, found {records(path)}")


def wait_for_kernel_attached(page, timeout: float = 120_000) -> None:
    """Wait until the status bar names a kernel that is idle.

    Right after opening, the notebook can still read "No Kernel | Initializing"; running a cell
    then pops up a "Select Kernel" dialog instead of executing.
    """
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-StatusBar-Item')].some(
            e => { const t = e.textContent.trim(); return t.endsWith('| Idle') && !t.startsWith('No Kernel'); })""",
        timeout=timeout,
    )


def test_clicks_keys_and_a_double_click_are_saved_to_disk(jupyter_server, page):
    shutil.copy(HERE / NOTEBOOK, jupyter_server.root / NOTEBOOK)
    label_file = jupyter_server.root / LABEL_FILE
    jlab.open_notebook(page, jupyter_server, NOTEBOOK)
    wait_for_kernel_attached(page)
    jlab.run_cell(page, WIDGET_CELL)
    widget = jlab.outputs(page, WIDGET_CELL)
    widget.locator("button", has_text="A is better").first.wait_for(timeout=120_000)
    progress = widget.locator("b", has_text="labelled").first
    assert progress.inner_text() == "0 / 6 labelled"

    widget.locator("button", has_text="A is better").first.click()
    expect(progress).to_have_text("1 / 6 labelled", timeout=30_000)  # the kernel saved the click
    widget.locator("button", has_text="Tie").first.click()
    expect(progress).to_have_text("2 / 6 labelled", timeout=30_000)

    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    cells_before = cells.count()
    strip = widget.locator(".tutor-keys").first
    assert strip.get_attribute("data-lm-suppress-shortcuts") == "true"
    assert strip.get_attribute("tabindex") == "0"
    strip.click()
    page.keyboard.press("b")  # "B is better"; in command mode JupyterLab would insert a cell below
    expect(progress).to_have_text("3 / 6 labelled", timeout=30_000)
    assert cells.count() == cells_before  # the key did not leak to JupyterLab's shortcuts
    page.keyboard.press("u")  # undo the key press's label
    expect(progress).to_have_text("2 / 6 labelled", timeout=30_000)
    assert cells.count() == cells_before

    saved = wait_for_records(label_file, 4)
    assert [r["kind"] for r in saved] == ["label", "label", "label", "undo"]

    # A double click sends two clicks before the browser hears that the buttons went off:
    # the kernel must save the first and ignore the second.
    widget.locator("button", has_text="B is better").first.dblclick()
    expect(widget.locator("span", has_text="Ignored a repeated click").first).to_be_visible(timeout=30_000)
    expect(progress).to_have_text("3 / 6 labelled")
    saved = records(label_file)
    assert [r["kind"] for r in saved] == ["label", "label", "label", "undo", "label"]
    assert saved[4]["click"] == "right"
    assert [r["click"] for r in saved[:3]] == ["left", "tie", "right"]
    assert all(r["annotator"] == "browser" and r["by"] == "human" for r in saved[:3])
    assert saved[3]["undoes"] == saved[2]["seq"]
    assert saved[0]["label"] == saved[0]["left"]  # "A is better" = the answer shown on the left
    assert saved[1]["label"] == "tie"
    assert saved[2]["label"] == {"a": "b", "b": "a"}[saved[2]["left"]]  # key b = the right answer
