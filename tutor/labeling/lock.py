"""One writer at a time on a label file: an exclusive lock held while a store re-reads, checks and appends.

On POSIX this is `fcntl.flock` on the label file itself (released by the OS when a process dies, so
a crashed kernel never leaves a stale lock). Where `fcntl` is missing (Windows) it is a lock file
next to the label file, created exclusively and removed after; one older than `STALE_S` is left over
from a crash and is taken over. A writer that cannot get the lock within `WAIT_S` is told so in one
sentence and nothing is written. Limits: flock on a network filesystem (NFS, SMB, some synced
folders) may not exclude a writer on another machine; keep each label file on one machine.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from tutor.errors import TutorError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

WAIT_S = 10.0  # an append takes milliseconds: a writer waiting this long meets a stuck one
STALE_S = 60.0  # a fallback lock file this old was left by a crashed writer
_POLL_S = 0.005


def _busy(path: Path, wait_s: float) -> TutorError:
    return TutorError(
        f"Another labeler is writing to {path.name} and did not finish within {wait_s:g} s, so this action "
        "was not saved; close the other notebook or labeler on this file (or give each its own file), then try again."
    )


@contextlib.contextmanager
def file_lock(path: Path, wait_s: float | None = None) -> Iterator[None]:
    """Hold the exclusive write lock of label file `path` (which must exist) inside the block."""
    wait_s = WAIT_S if wait_s is None else wait_s
    if fcntl is None:  # pragma: no cover - exercised on Windows only
        with _lock_file(path, wait_s):
            yield
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise TutorError(f"Cannot open the label file {str(path)!r} ({exc.strerror or exc}).") from None
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise _busy(path, wait_s) from None
                time.sleep(_POLL_S)
            except OSError:  # a filesystem without locks: fall back to the lock file
                with _lock_file(path, wait_s):
                    yield
                return
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _lock_file(path: Path, wait_s: float) -> Iterator[None]:
    """The fallback: `<file>.lock`, created with O_EXCL (atomic), removed when the block ends."""
    lock = path.with_name(path.name + ".lock")
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            try:
                if time.time() - lock.stat().st_mtime > STALE_S:
                    lock.unlink()
                    continue
            except OSError:
                continue  # it was just removed: try again
            if time.monotonic() > deadline:
                raise _busy(path, wait_s) from None
            time.sleep(_POLL_S)
        except OSError as exc:
            raise TutorError(
                f"Cannot lock the label file {str(path)!r} ({exc.strerror or exc}); choose a folder you can write to."
            ) from None
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()
