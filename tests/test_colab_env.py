"""The course on Colab's versions: ipywidgets 7.7.1, plotly 5.24.1, transformers 5.15, accelerate 1.14.

Builds a second virtual environment with those versions (.ci/colab_env.sh), installs the course
into it as a notebook's first cell does on Colab, and runs the notebooks in FAST mode plus the
widget and live-plot tests there. Minutes of work: it runs only when TUTOR_ENV_TESTS=1 (.ci/run
sets it; TUTOR_REUSE_ENVS=1 keeps an environment built before); what it cannot test without Colab's front end is
in course/colab.md.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("TUTOR_BUILD", ROOT / "build"))
VENV = BUILD / "colab-venv"
COLAB = {
    "ipywidgets": "7.7.1",
    "jupyterlab-widgets": "3.0.16",
    "anywidget": "0.9.21",
    "plotly": "5.24.1",
    "transformers": "5.15.0",
    "accelerate": "1.14.0",
}

pytestmark = pytest.mark.skipif(
    os.environ.get("TUTOR_ENV_TESTS") != "1", reason="builds a Colab-versions venv (minutes): TUTOR_ENV_TESTS=1"
)


def clean_env() -> dict:
    """No PYTHONPATH: the venv must import the course it installed, not this checkout."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HF_HUB_OFFLINE"] = "1"
    return env


def freeze(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.lower().replace("_", "-")] = version
        elif " @ " in line:
            pins[line.split(" @ ")[0].lower().replace("_", "-")] = line.split(" @ ", 1)[1]
    return pins


@pytest.fixture(scope="module")
def venv() -> Path:
    if os.environ.get("TUTOR_REUSE_ENVS") == "1" and (VENV / "colab-after.txt").exists():
        return VENV  # a local rerun: keep the environment an earlier run built
    subprocess.run(["bash", str(ROOT / ".ci" / "colab_env.sh"), str(VENV)], check=True, env=clean_env())
    return VENV


def test_installing_the_course_keeps_colabs_versions(venv):
    """Upgrading a preinstalled package (ipywidgets above all) would force a runtime restart."""
    before, after = freeze(venv / "colab-before.txt"), freeze(venv / "colab-after.txt")
    for name, version in {**COLAB, "torch": before["torch"]}.items():
        assert before[name] == version or name == "torch", (name, before[name])
        assert after[name] == before[name], f"installing the course changed {name}: {before[name]} → {after[name]}"
    assert "rlhf-tutor" in after and after["rlhf-tutor"].startswith("git+file://")
    assert "trl" in after  # not preinstalled on Colab: the course's install brings it


def test_the_kernel_imports_the_installed_course(venv, tmp_path):
    code = "import tutor, ipywidgets, plotly; print(tutor.__file__); print(ipywidgets.__version__, plotly.__version__)"
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, env=clean_env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    where, versions = out.stdout.split("\n")[:2]
    assert Path(where).resolve().is_relative_to(venv.resolve()), where
    assert versions == "7.7.1 5.24.1"


def test_notebooks_run_in_fast_mode(venv):
    out = BUILD / "fast-colab"
    proc = subprocess.run(
        [str(venv / "bin" / "python"), str(ROOT / ".ci" / "run_notebooks.py"), str(out)],
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    run = json.loads((out / "run.json").read_text())
    assert Path(run["tutor_from"]).resolve().is_relative_to(venv.resolve())
    assert len(run["notebooks"]) == len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))


def test_widget_and_live_plot_tests_pass_on_colabs_versions(venv):
    """The labeling widget and LivePlot tests of this suite, run by the venv's own pytest (its
    script does not put the checkout on sys.path, so `tutor` is the installed one)."""
    tests = ["tests/test_labeling_widget.py", "tests/test_plots.py", "tests/test_viewer.py"]
    proc = subprocess.run(
        [str(venv / "bin" / "pytest"), "-q", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
