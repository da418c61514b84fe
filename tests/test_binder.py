"""Binder stays within its limits: binder/ builds in a fresh venv and the notebooks run there.

.ci/binder_env.sh builds the environment as repo2docker does (runtime.txt, requirements.txt,
postBuild); the notebooks then run in FAST mode in course order, and the peak memory of the
kernels' process tree is checked against mybinder's 2 GB (a kernel is restarted above it) and
written to benchmarks/results/binder.json. The executed notebooks (build/fast/) are the FAST
execution the site build reuses. Minutes of work: runs only when TUTOR_ENV_TESTS=1 (.ci/run sets it).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("TUTOR_BUILD", ROOT / "build"))
RESULT = ROOT / "benchmarks" / "results" / "binder.json"
BINDER_LIMIT_MB = 2048

pytestmark = pytest.mark.skipif(
    os.environ.get("TUTOR_ENV_TESTS") != "1", reason="builds a Binder venv (minutes): TUTOR_ENV_TESTS=1"
)


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HF_HUB_OFFLINE"] = "1"
    return env


def test_binder_build_runs_the_notebooks_within_2_gb():
    venv, out = BUILD / "binder-venv", BUILD / "fast"
    start = time.perf_counter()
    subprocess.run(["bash", str(ROOT / ".ci" / "binder_env.sh"), str(venv)], check=True, env=clean_env())
    build_seconds = time.perf_counter() - start
    proc = subprocess.run(
        [str(venv / "bin" / "python"), str(ROOT / ".ci" / "run_notebooks.py"), str(out)],
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    run = json.loads((out / "run.json").read_text())
    full = json.loads((ROOT / "benchmarks" / "results" / "notebooks.json").read_text())["notebooks"]
    full_peak = max(n["full"]["peak_rss_mb"] for n in full.values() if "full" in n)
    record = {
        "limit_mb": BINDER_LIMIT_MB,
        "fast_peak_rss_mb": run["peak_rss_mb"],
        "within_limit": run["peak_rss_mb"] < BINDER_LIMIT_MB,
        "full_mode_peak_rss_mb": full_peak,
        "full_mode_source": "benchmarks/results/notebooks.json (kernel tree only, main venv)",
        "build_seconds": round(build_seconds),
        "fast_run_seconds": run["seconds"],
        "python": run["python"],
        "notebooks": {name: {k: r[k] for k in ("seconds", "peak_rss_mb")} for name, r in run["notebooks"].items()},
        "protocol": (
            "binder/ built by .ci/binder_env.sh in a fresh venv; notebooks run in FAST mode in course order "
            "in one fresh runs folder by .ci/run_notebooks.py; peak = largest total RSS of the executing "
            "process (standing in for the Jupyter server) and every process under it, polled every 0.1 s"
        ),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpus": os.cpu_count(),
        "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
    }
    RESULT.write_text(json.dumps(record, indent=2) + "\n")
    print(f"binder: FAST peak {run['peak_rss_mb']} MB of {BINDER_LIMIT_MB} MB; full mode {full_peak} MB")
    assert run["peak_rss_mb"] < BINDER_LIMIT_MB, f"peak {run['peak_rss_mb']} MB: mybinder restarts the kernel"
    assert full_peak < BINDER_LIMIT_MB
