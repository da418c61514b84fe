"""Notebook 03's labeler in a real JupyterLab: clicks and a shortcut key reach the JSONL on disk.

Uses the harness of this folder (conftest.py: `jupyter_server`, `page`; jlab.py helpers). The test
opens notebooks/03_preferences.ipynb, runs it up to the labeling widget (FAST mode, so the SFT
model it samples from is built in seconds), and labels as a learner would.
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

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "03_preferences.ipynb"


def cells_up_to_the_widget() -> tuple[list[int], int]:
    """Indices of the code cells to run, and of the cell that displays the labeler (its source
    ends with the bare name `labeler`)."""
    cells = json.loads((ROOT / "notebooks" / NOTEBOOK).read_text())["cells"]
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    widget = next(i for i in code if "".join(cells[i]["source"]).strip().endswith("\nlabeler"))
    return [i for i in code if i <= widget], widget


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


def test_clicks_keys_and_a_double_click_are_saved_to_disk(jupyter_server, page, tmp_path):
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, jupyter_server.root / NOTEBOOK)
    jlab.open_notebook(page, jupyter_server, NOTEBOOK)
    wait_for_kernel_attached(page)
    to_run, widget_cell = cells_up_to_the_widget()
    for index in to_run:  # the first builds the FAST SFT model the labeler samples from
        jlab.run_cell(page, index)
        jlab.wait_until_done(page, index, timeout=600.0)
    widget = jlab.outputs(page, widget_cell)
    widget.locator("button", has_text="A is better").first.wait_for(timeout=300_000)
    progress = widget.locator("b", has_text="labelled").first
    assert progress.inner_text() == "0 / 12 labelled"
    labeler = widget.filter(has=page.locator("button", has_text="A is better")).first  # not the file note above it
    shot = jlab.screenshot(labeler, "labeling-widget.png", tmp_path)  # the README's picture
    assert shot.stat().st_size > 10_000  # a picture of the pair and its buttons, not a blank strip

    widget.locator("button", has_text="A is better").first.click()
    expect(progress).to_have_text("1 / 12 labelled", timeout=30_000)  # the kernel saved the click
    # the labeler keys its file by the pairs it labels (runs/labels/you-live-<fingerprint>.jsonl)
    (label_file,) = (jupyter_server.runs / "labels").glob("you-*.jsonl")
    widget.locator("button", has_text="Tie").first.click()
    expect(progress).to_have_text("2 / 12 labelled", timeout=30_000)

    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    cells_before = cells.count()
    strip = widget.locator(".tutor-keys").first
    assert strip.get_attribute("data-lm-suppress-shortcuts") == "true"
    assert strip.get_attribute("tabindex") == "0"
    strip.click()
    page.keyboard.press("b")  # "B is better"; in command mode JupyterLab would insert a cell below
    expect(progress).to_have_text("3 / 12 labelled", timeout=30_000)
    assert cells.count() == cells_before  # the key did not leak to JupyterLab's shortcuts
    page.keyboard.press("u")  # undo the key press's label
    expect(progress).to_have_text("2 / 12 labelled", timeout=30_000)
    assert cells.count() == cells_before

    saved = wait_for_records(label_file, 4)
    assert [r["kind"] for r in saved] == ["label", "label", "label", "undo"]

    # A double click sends two clicks before the browser hears that the buttons went off:
    # the kernel must save the first and ignore the second.
    widget.locator("button", has_text="B is better").first.dblclick()
    expect(widget.locator("span", has_text="Ignored a repeated click").first).to_be_visible(timeout=30_000)
    expect(progress).to_have_text("3 / 12 labelled")
    saved = records(label_file)
    assert [r["kind"] for r in saved] == ["label", "label", "label", "undo", "label"]
    assert saved[4]["click"] == "right"
    assert [r["click"] for r in saved[:3]] == ["left", "tie", "right"]
    assert all(r["annotator"] == "you" and r["by"] == "human" for r in saved[:3])
    assert saved[3]["undoes"] == saved[2]["seq"]
    assert saved[0]["label"] == saved[0]["left"]  # "A is better" = the answer shown on the left
    assert saved[1]["label"] == "tie"
    assert saved[2]["label"] == {"a": "b", "b": "a"}[saved[2]["left"]]  # key b = the right answer
