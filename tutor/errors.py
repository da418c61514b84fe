"""One exception type for everything a learner can get wrong.

The course promises that bad input produces one clear sentence naming the problem and what is
accepted, never a traceback from deep inside a library. Every check in `tutor` raises `TutorError`,
and notebooks/CLI show only its message.
"""

from __future__ import annotations


class TutorError(ValueError):
    """A problem with the learner's input, named in one sentence with what is accepted."""


def _short_traceback_hook() -> None:
    """In IPython, show a TutorError as its message alone (no traceback)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is always present in notebooks
        return
    ip = get_ipython()
    if ip is None:
        return

    def _handler(shell, etype, evalue, tb, tb_offset=None):
        print(f"TutorError: {evalue}")
        return None

    ip.set_custom_exc((TutorError,), _handler)
