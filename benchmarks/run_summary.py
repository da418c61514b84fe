"""Record what `rlhf-tutor run` measures, for README's table: runs the whole pipeline in full mode
into a fresh runs folder (or reads a finished run's summary.json) and writes
benchmarks/results/run.json with the machine it ran on.

    python benchmarks/run_summary.py                     # run the pipeline (minutes), then record
    python benchmarks/run_summary.py --from runs/summary.json   # record a run made by `make run`

Then `python benchmarks/readme_tables.py` writes README's tables from it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="summary", default=None, help="a finished run's summary.json")
    args = parser.parse_args()
    start = machine()
    if args.summary:
        summary = json.loads(Path(args.summary).read_text())
    else:
        os.environ["TUTOR_RUNS"] = tempfile.mkdtemp(prefix="run-summary-")
        from tutor.cli import run_pipeline

        summary = run_pipeline(False, "tiny")
    for record in summary.values():
        record.pop("folder", None)  # a path on the machine that ran it
    out = {
        "benchmark": "run",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "rlhf-tutor run (full mode, seed 0, model tiny)",
        "machine": start,
        "summary": summary,
    }
    (RESULTS / "run.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS / 'run.json'}")


if __name__ == "__main__":
    main()
