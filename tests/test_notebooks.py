"""Every notebook in notebooks/ runs top to bottom in FAST mode, offline, and is committed clean.

Notebooks run in course order and share one temporary runs folder, as a learner's would; each one
still builds whatever earlier stage it needs when that is missing (tested by running it alone).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found in notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: cells {dirty} hold outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_has_the_conventional_parameters_cell(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    source = "".join(tagged[0]["source"])
    assert "FAST" in source and "MODEL" in source


def execute(path: Path, runs: Path, timeout: int = 600) -> None:
    """Execute a notebook in a fresh kernel with FAST mode on and the hub offline."""
    # A subprocess keeps each kernel's memory and environment apart from the test process.
    code = (
        "import nbformat, sys\n"
        "from nbclient import NotebookClient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        f"NotebookClient(nb, timeout={timeout}, kernel_name='python3', resources={{'metadata': {{'path': sys.argv[2]}}}}).execute()\n"
    )
    env = {
        **os.environ,
        "TUTOR_FAST": "1",
        "TUTOR_RUNS": str(runs),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path), str(path.parent)], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-6000:]
        pytest.fail(f"{path.name} failed in FAST mode:\n{tail}")


@pytest.fixture(scope="module")
def shared_runs(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_in_fast_mode(path, shared_runs):
    execute(path, shared_runs)
