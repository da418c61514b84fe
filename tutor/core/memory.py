"""How much memory this process holds at its peak, and handing freed memory back.

Used where one process trains several runs in turn and each run's peak is reported on its own
(the PPO-vs-DPO comparison's child process): `reset_peak_rss` restarts the count, `peak_rss_mb`
reads it, and `release_memory` returns the previous run's freed heap to the system first, so the
next run starts about as small as it would alone (see benchmarks/results/comparison.md).
"""

from __future__ import annotations

import ctypes
import gc
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB: VmHWM on Linux (which `reset_peak_rss` can
    restart), else getrusage's peak over the process's lifetime."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource  # not on Windows: imported only where /proc is missing

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)  # macOS reports bytes, Linux KiB


def reset_peak_rss() -> None:
    """Restart the peak-memory count from the current RSS (Linux; a no-op where unsupported)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the system (glibc keeps them for reuse
    otherwise, and the next run would start with the last one's memory counted)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        pass
