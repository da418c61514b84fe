"""Notebook conventions, implemented once: FAST mode, the MODEL choice, the runs folder, the device.

Every notebook starts with ``course = tutor.setup(FAST=FAST, MODEL=MODEL)`` right after its
``parameters`` cell. The tests switch FAST on with ``TUTOR_FAST=1``; ``TUTOR_RUNS`` moves the runs
folder (the tests point it at a temporary directory).
"""

from __future__ import annotations

import os
import random
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from tutor.errors import TutorError, _short_traceback_hook

TINY = "tiny"


OFFLINE_DEFAULTS = {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


def offline_defaults() -> None:
    """Keep the course offline: no Hub downloads and no telemetry (TRL's trainers send some on creation).

    Each variable is only set when absent, so a learner who exports HF_HUB_OFFLINE=0 on purpose keeps
    it. huggingface_hub reads both when it is imported, so if it was imported before tutor its flags
    are switched too.
    """
    constants = sys.modules.get("huggingface_hub.constants")
    for name, value in OFFLINE_DEFAULTS.items():
        if os.environ.setdefault(name, value) == value and constants is not None:
            setattr(constants, name, True)


_ON, _OFF = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


def fast_from_env() -> bool:
    """True when the environment variable TUTOR_FAST asks for FAST mode (1/true/yes/on; 0/false/no/off
    or unset: off). Any other value is refused rather than guessed."""
    value = os.environ.get("TUTOR_FAST", "").strip().lower()
    if value not in _ON | _OFF:
        raise TutorError(
            f"The environment variable TUTOR_FAST is {os.environ['TUTOR_FAST']!r}; set it to 1 (FAST mode) or 0 (full "
            "mode)."
        )
    return value in _ON


def check_fast(fast: object) -> bool | None:
    """FAST must be True, False or None (None: TUTOR_FAST decides); a string such as "no" is refused."""
    if fast is None or isinstance(fast, bool):
        return fast
    raise TutorError(f"FAST must be True or False (or None to follow TUTOR_FAST), not {fast!r}.")


def check_seed(seed: object) -> int:
    """The seed must be a whole number from 0 to 2**32 - 1 (what NumPy and torch accept)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise TutorError(f"seed must be a whole number from 0 to 4294967295, not {seed!r}.")
    return seed


def in_colab() -> bool:
    return "google.colab" in sys.modules


def interactive(shell=None) -> bool:
    """True when a person is at the notebook (JupyterLab, Notebook, VS Code, Colab) and can click.

    Headless executors (nbclient, papermill, the test suite) send their requests with
    allow_stdin=False; front ends a person uses allow input. TUTOR_INTERACTIVE=0/1 overrides.
    """
    env = os.environ.get("TUTOR_INTERACTIVE", "").strip()
    if env:
        return env.lower() in {"1", "true", "yes", "on"}
    if shell is None:
        if "IPython" not in sys.modules:
            return False
        from IPython import get_ipython

        shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return False
    return in_colab() or getattr(kernel, "_allow_stdin", True) is not False


def default_device() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def runs_root() -> Path:
    """The folder holding every stage's artifacts: $TUTOR_RUNS, or ./runs next to the notebooks."""
    env = os.environ.get("TUTOR_RUNS")
    return Path(env).expanduser() if env else Path.cwd() / "runs"


def check_writable(folder: Path) -> Path:
    """Create `folder` and prove we can write into it, or say clearly that we cannot."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".tutor-write-check-{os.getpid()}"  # one per process: launched copies share the folder
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise TutorError(
            f"The runs folder {str(folder)!r} is not writable ({exc.strerror or exc}); "
            "set the environment variable TUTOR_RUNS to a folder you can write to."
        ) from None
    return folder


def check_new_folder(path: str | os.PathLike, setting: str = "--out") -> Path:
    """A folder to save into that does not exist yet and whose parent we can write to (checked before
    any work starts, so a long run never ends in a library's error, and nothing is overwritten)."""
    path = Path(path).expanduser()
    if path.exists():
        kind = "folder" if path.is_dir() else "file"
        raise TutorError(
            f"{setting} {str(path)!r} is an existing {kind}; give the name of a new folder (nothing was overwritten)."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.parent / f".tutor-write-check-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise TutorError(
            f"Cannot write {setting} {str(path)!r} ({exc.strerror or exc}); choose a folder you can write to."
        ) from None
    return path


def model_key(model: str) -> str:
    """A folder-safe name for a MODEL value: 'tiny' stays 'tiny', a path becomes its last part."""
    if model == TINY:
        return TINY
    name = Path(model).expanduser().resolve().name or "model"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def model_runs(runs: Path, model: str, fast: bool) -> Path:
    """Where one MODEL's stages live in one mode (see `Course.model_runs`)."""
    return Path(runs) / (model_key(model) + ("-fast" if fast else ""))


def check_model(model: str) -> str:
    """Accept "tiny" or a local folder that holds a transformers model; anything else is an error."""
    if not isinstance(model, str) or not model.strip():
        raise TutorError(f'MODEL must be "tiny" or the path of a local model folder, not {model!r}.')
    if model == TINY:
        return model
    path = Path(model).expanduser()
    if not path.is_dir() or not ((path / "config.json").exists() or any(path.glob("*.gguf"))):
        raise TutorError(
            f'MODEL {model!r} is neither "tiny" nor a local folder holding a transformers model '
            "(config.json and weights, or a .gguf file); downloads are off, so give a folder on disk."
        )
    return str(path.resolve())


@dataclass(frozen=True)
class Course:
    """What a notebook needs to know about where and how it runs."""

    fast: bool
    model: str
    runs: Path
    device: str
    seed: int = 0

    @property
    def model_runs(self) -> Path:
        """Artifacts of this MODEL's stages: runs/<model key>/<stage>/ (runs/<model key>-fast/ in FAST
        mode, so a quick sketch is never reused as the real thing, nor compared with it)."""
        return model_runs(self.runs, self.model, self.fast)

    def describe(self) -> str:
        mode = "FAST" if self.fast else "full"
        return f"rlhf-tutor · model={self.model} · mode={mode} · device={self.device} · runs={self.runs}"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so that what the text describes appears on every run."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def quiet_libraries() -> None:
    """Silence library chatter that teaches nothing (data-set map bars, weight-loading bars)."""
    try:
        import datasets

        datasets.disable_progress_bars()
    except ImportError:  # pragma: no cover - datasets is a dependency
        pass
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # TRL 1.16 still reads transformers 5's deprecated alias inside DPOTrainer: nothing a learner can act on.
    warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)


def setup(FAST: bool | None = None, MODEL: str = TINY, seed: int = 0, quiet: bool = False) -> Course:  # noqa: N803
    """Start a notebook or script: resolve FAST / MODEL / runs folder / device and seed everything.

    FAST is on when the argument is True or TUTOR_FAST=1 is set (the tests use the variable); a value
    that is neither True, False nor None is refused, so FAST="no" cannot switch FAST mode on.
    """
    offline_defaults()
    fast = bool(check_fast(FAST)) or fast_from_env()
    check_seed(seed)
    model = check_model(MODEL)
    runs = check_writable(runs_root())
    course = Course(fast=fast, model=model, runs=runs, device=default_device(), seed=seed)
    seed_everything(seed)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    quiet_libraries()
    _short_traceback_hook()
    if not quiet:
        print(course.describe())
    return course
