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


def execute(
    path: Path,
    runs: Path,
    timeout: int = 600,
    parameters: dict | None = None,
    env: dict | None = None,
    save_to: Path | None = None,
    allow_errors: bool = False,
) -> None:
    """Execute a notebook in a fresh kernel with FAST mode on and the hub offline.

    `parameters` are appended to the parameters cell (as papermill would inject them), `env` adds
    environment variables, `allow_errors` runs on past a failing cell, and `save_to` keeps the executed notebook so
    a test can read its outputs.
    """
    # A subprocess keeps each kernel's memory and environment apart from the test process.
    code = (
        "import json, nbformat, sys\n"
        "from nbclient import NotebookClient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "for cell in nb.cells:\n"
        "    if 'parameters' in cell.metadata.get('tags', []):\n"
        "        cell.source += ''.join(f'\\n{k} = {v!r}' for k, v in json.loads(sys.argv[3]).items())\n"
        f"NotebookClient(nb, timeout={timeout}, kernel_name='python3', allow_errors={allow_errors}, "
        "resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
        "if sys.argv[4]:\n"
        "    nbformat.write(nb, sys.argv[4])\n"
    )
    env = {
        **os.environ,
        "TUTOR_FAST": "1",
        "TUTOR_RUNS": str(runs),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        **(env or {}),
    }
    args = [str(path), str(path.parent), json.dumps(parameters or {}), str(save_to or "")]
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-6000:]
        pytest.fail(f"{path.name} failed in FAST mode:\n{tail}")


def cell_outputs(path: Path) -> list[str]:
    """What each code cell of a saved, executed notebook printed or displayed (tracebacks included)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    texts = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        parts = []
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            parts.append("".join(output.get("data", {}).get("text/plain", "")))
            parts += [output.get("ename", ""), *output.get("traceback", [])]
        texts.append("\n".join(parts))
    return texts


def outputs_text(path: Path) -> str:
    return "\n".join(cell_outputs(path))


@pytest.fixture(scope="module")
def shared_runs(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_in_fast_mode(path, shared_runs):
    execute(path, shared_runs)


@pytest.mark.notebooks
def test_notebook_03_resumes_or_starts_the_right_label_file_in_one_runs_folder(tmp_path):
    """03 run again with other pairs (another N_PAIRS: a new pair set, as a new mode or SFT model gives)
    in the same runs folder starts its own file instead of stopping; run with the same settings it
    resumes its file; Run All before labelling prints a sentence, not NaN or a TypeError."""
    runs = tmp_path / "runs"
    nb03 = ROOT / "notebooks" / "03_preferences.ipynb"
    execute(nb03, runs)
    first = sorted((runs / "labels").glob("*.jsonl"))
    assert len(first) == 1
    execute(nb03, runs, parameters={"N_PAIRS": 5}, save_to=tmp_path / "second.ipynb")
    files = sorted((runs / "labels").glob("*.jsonl"))
    assert len(files) == 2 and first[0] in files
    assert "a new file for 5 pairs" in outputs_text(tmp_path / "second.ipynb")
    execute(nb03, runs, parameters={"N_PAIRS": 5}, save_to=tmp_path / "third.ipynb")
    assert sorted((runs / "labels").glob("*.jsonl")) == files
    assert "resumed: 5 of 5 pairs already done" in outputs_text(tmp_path / "third.ipynb")
    execute(
        nb03,
        runs,
        parameters={"ANNOTATOR": "newcomer", "N_PAIRS": 3},
        env={"TUTOR_INTERACTIVE": "1"},  # a person is there: nothing is labelled before Run All
        save_to=tmp_path / "run_all.ipynb",
        allow_errors=True,  # Run All stops at the export, with one sentence: nothing is labelled yet
    )
    cells = cell_outputs(tmp_path / "run_all.ipynb")
    export = next(i for i, text in enumerate(cells) if "Nothing to export" in text)
    before = "\n".join(cells[: export + 1])
    assert "No A/B labels yet, so there is no agreement to measure" in before
    assert "No A/B labels yet: label some pairs above" in before
    assert "NaN" not in before and "TypeError:" not in before and "Traceback" not in before
