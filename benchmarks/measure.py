"""What the benchmark scripts share: run one notebook in a fresh kernel and measure it, and this
process's peak memory. (The scripts import it by name: run them as `python benchmarks/<script>.py`.)"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Executed in a child process: runs one notebook and polls the kernel's memory while it runs.
RUNNER = r"""
import json, sys, threading, time
import nbformat, psutil
from nbclient import NotebookClient
path, workdir = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)
peak, cpu = 0, {}
done = threading.Event()
def poll():
    global peak
    me = psutil.Process()
    while not done.is_set():
        rss = 0
        for child in me.children(recursive=True):
            try:
                rss += child.memory_info().rss
                times = child.cpu_times()
                cpu[child.pid] = times.user + times.system
            except psutil.Error:
                pass
        peak = max(peak, rss)
        time.sleep(0.1)
threading.Thread(target=poll, daemon=True).start()
start = time.perf_counter()
NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": workdir}}).execute()
seconds = time.perf_counter() - start
done.set()
from datetime import datetime
def took(cell):
    t = cell.metadata.get("execution", {})
    a, b = t.get("iopub.execute_input"), t.get("shell.execute_reply")
    if not (a and b):
        return 0.0
    a, b = (datetime.fromisoformat(x.replace("Z", "+00:00")) for x in (a, b))
    return (b - a).total_seconds()
cells = sorted(((took(c), c.get("id", "?")) for c in nb.cells if c.cell_type == "code"), reverse=True)
print(json.dumps({"seconds": round(seconds, 1), "peak_rss_mb": round(peak / 2**20),
                  "kernel_cpu_seconds": round(sum(cpu.values()), 1),
                  "slowest_cells": {cell: round(s, 1) for s, cell in cells[:5]}}))
"""


def run_notebook(path: Path, fast: bool, runs: Path) -> dict:
    """Execute `path` top to bottom with its stages in `runs`: {"seconds", "peak_rss_mb",
    "kernel_cpu_seconds", "slowest_cells"} (peak = largest total RSS of the kernel's process tree; the five
    slowest code cells by id, seconds each), or {"error"}."""
    env = {
        **os.environ,
        "TUTOR_RUNS": str(runs),
        "HF_HUB_OFFLINE": "1",
        "TUTOR_FAST": "1" if fast else "0",
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(path), str(path.parent)], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        return {"error": (proc.stdout + proc.stderr)[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peak_rss_gb() -> float:
    """This process's peak resident memory so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def generate_answers(model, tokenizer, prompts, max_new_tokens: int, batch_size: int = 128) -> list[list[int]]:
    """transformers' own `generate` (pure sampling at T = 1): the reference `tutor.core.sampling.sample`
    is timed and checked against. Each answer's tokens, up to and including its first EOS."""
    import torch

    from tutor.core.chat import encode_prompts

    eos, rows = tokenizer.eos_token_id, []
    for start in range(0, len(prompts), batch_size):
        enc = encode_prompts(tokenizer, prompts[start : start + batch_size])
        with torch.no_grad():
            out = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=True,
                temperature=1.0,
                top_k=0,
                top_p=1.0,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=eos,
            )
        for row in out[:, enc["input_ids"].shape[1] :].tolist():
            rows.append(row[: row.index(eos) + 1] if eos in row else [t for t in row if t != tokenizer.pad_token_id])
    return rows
