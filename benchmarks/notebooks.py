"""Execute each notebook in full and in FAST mode; record wall time and the kernel's peak RSS.

Notebooks run in course order sharing one fresh runs folder per mode, as a learner's would (so 04
reuses the SFT model 02 trained). Results go to benchmarks/results/notebooks.json.

    python benchmarks/notebooks.py                 # every notebook, both modes
    python benchmarks/notebooks.py --only 00,01    # some notebooks (results for others are kept)
    python benchmarks/notebooks.py --modes fast
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "notebooks.json"

from measure import run_notebook  # noqa: E402  (this folder: see benchmarks/measure.py)

# The issues' targets on 2 CPU cores: seconds in (full, FAST) mode; every notebook ≤ 1.5 GB peak RSS.
TARGETS = {
    "00_welcome": (60, 20),
    "01_pretraining": (60, 20),
    "02_sft": (60, 20),
    "04_reward_model": (75, 20),  # issue 17
    "05_ppo": (150, 30),  # issue 17
    "06_dpo": (90, 30),
    "07_ppo_vs_dpo": (300, 30),  # issue 18
    "08_beyond": (180, 30),  # issue 19
}
PEAK_RSS_MB = 1.5 * 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="", help="comma-separated notebook numbers, e.g. 00,01")
    parser.add_argument("--modes", default="full,fast")
    args = parser.parse_args()
    wanted = {s.strip() for s in args.only.split(",") if s.strip()}
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.setdefault("notebooks", {})
    for mode in args.modes.split(","):
        with tempfile.TemporaryDirectory() as runs:
            for path in notebooks:
                if wanted and path.name[:2] not in wanted:
                    continue
                print(f"{mode:>4} {path.name} ...", end=" ", flush=True)
                record = run_notebook(path, mode == "fast", Path(runs))
                print(record.get("error", "")[-300:] or f"{record['seconds']} s, {record['peak_rss_mb']} MB")
                if "seconds" in record:
                    limit = TARGETS.get(path.stem, (None, None))[mode == "fast"]
                    record["target_seconds"] = limit
                    record["meets_targets"] = (limit is None or record["seconds"] <= limit) and record[
                        "peak_rss_mb"
                    ] <= PEAK_RSS_MB
                results["notebooks"].setdefault(path.stem, {})[mode] = record
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    results["protocol"] = (
        "notebooks run in course order, one fresh runs folder per mode; "
        "seconds = wall time of the whole notebook incl. kernel start; "
        "peak_rss_mb = largest total RSS of the kernel process tree (polled every 0.1 s)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
