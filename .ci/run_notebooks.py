"""Execute every course notebook in FAST mode with the interpreter that runs this script, keep the
executed copies, and measure wall time and peak memory.

One execution serves several checks: the Colab- and Binder-versions environments run it with their
own python (so the `tutor` they import is the one installed there, not this checkout), and the
site is built from the executed copies it writes. Needs only nbclient, nbformat, ipykernel and
psutil (ipykernel depends on psutil), which every Jupyter environment has.

    python .ci/run_notebooks.py OUT_DIR [--full] [--only 00,03]

Writes OUT_DIR/NN_name.ipynb (executed, outputs kept) and OUT_DIR/run.json: per notebook its
seconds, peak RSS (MB) of this process plus every process under it (the kernel and what it
starts, polled every 0.1 s: what a container's memory limit counts), and any error (a cell that
raised, or an output showing a traceback); exits 1 if a notebook failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]


class PeakMemory:
    """Polls the total RSS of this process and its descendants in a thread; `peak_mb` and `reset`."""

    def __init__(self, interval: float = 0.1):
        self.interval, self.peak = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(self.interval)

    def reset(self) -> None:
        self.peak = 0

    @property
    def peak_mb(self) -> int:
        return round(self.peak / 2**20)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def execute(path: Path, out: Path, memory: PeakMemory, timeout: int) -> dict:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    memory.reset()
    start = time.perf_counter()
    record: dict = {}
    try:
        client.execute()
    except CellExecutionError as error:
        record["error"] = str(error)[-3000:]
    # A failing display (a _repr_*_ that raises) shows a traceback but does not fail its cell.
    shown = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if shown and "error" not in record:
        record["error"] = f"an output shows {shown[0].get('ename')}: {shown[0].get('evalue')}"
    record["seconds"] = round(time.perf_counter() - start, 1)
    record["peak_rss_mb"] = memory.peak_mb
    nbformat.write(nb, out / path.name)
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--full", action="store_true", help="full mode (the published site) instead of FAST")
    parser.add_argument("--only", default="", help="comma-separated notebook numbers, e.g. 00,03")
    parser.add_argument("--runs", type=Path, default=None, help="the runs folder (default: a fresh temporary one)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a cell may take")
    args = parser.parse_args()
    wanted = {s.strip() for s in args.only.split(",") if s.strip()}
    notebooks = [
        p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) if not wanted or p.name[:2] in wanted
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    runs = args.runs or Path(tempfile.mkdtemp(prefix="tutor-runs-"))
    os.environ.update({"TUTOR_FAST": "0" if args.full else "1", "TUTOR_RUNS": str(runs), "HF_HUB_OFFLINE": "1"})
    import tutor  # where the kernels' tutor comes from (they inherit this environment)

    memory = PeakMemory()
    results, start = {}, time.perf_counter()
    for path in notebooks:
        print(f"{path.name} ...", end=" ", flush=True)
        record = results[path.stem] = execute(path, args.out, memory, args.timeout)
        print("FAILED" if "error" in record else f"{record['seconds']} s, peak {record['peak_rss_mb']} MB", flush=True)
    memory.stop()
    summary = {
        "mode": "full" if args.full else "fast",
        "python": platform.python_version(),
        "tutor_from": str(Path(tutor.__file__).parent),
        "seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mb": max((r["peak_rss_mb"] for r in results.values()), default=0),
        "notebooks": results,
    }
    (args.out / "run.json").write_text(json.dumps(summary, indent=2) + "\n")
    failed = [name for name, r in results.items() if "error" in r]
    for name in failed:
        print(f"\n{name} failed:\n{results[name]['error']}", file=sys.stderr)
    print(
        f"{len(results) - len(failed)} of {len(results)} notebooks ran in {summary['seconds']} s; peak "
        f"{summary['peak_rss_mb']} MB"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
