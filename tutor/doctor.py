"""`rlhf-tutor doctor`: one OK/FAIL line per thing the course needs, so setup problems are obvious.

Instructors run it on thirty laptops before a workshop; each line says what is wrong and what to do.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
from collections.abc import Callable

from tutor.errors import TutorError

REQUIRED = {
    "torch": "2.4",
    "transformers": "5.0",
    "trl": "1.16",
    "datasets": "3.0",
    "accelerate": "1.0",
    "plotly": "5.20",
    "ipywidgets": "7.7",
    "anywidget": "0.9",
    "tqdm": "4.66",
    "safetensors": "0.4",
    "tokenizers": "0.20",
}


def _version_tuple(v: str) -> tuple[int, ...]:
    parts = []
    for piece in v.split("+")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _check_package(name: str, minimum: str) -> str:
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any import failure is a FAIL line
        raise TutorError(f"cannot import {name} ({type(exc).__name__}); run: pip install rlhf-tutor") from None
    version = getattr(module, "__version__", "?")
    if version != "?" and _version_tuple(version) < _version_tuple(minimum):
        raise TutorError(f"{name} {version} is older than {minimum}; upgrade it")
    return f"{name} {version}"


def _check_python() -> str:
    return f"Python {platform.python_version()} ({sys.executable})"


def _check_device() -> str:
    import torch

    threads = torch.get_num_threads()
    if torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name(0)} (real models will use it)"
    return f"CPU only, {os.cpu_count()} cores, torch uses {threads} threads (the tiny model needs no GPU)"


def _check_widgets() -> str:
    import ipywidgets

    try:
        import jupyterlab_widgets  # noqa: F401 - the JupyterLab front end for ipywidgets

        front = "jupyterlab_widgets present"
    except ImportError:
        front = "jupyterlab_widgets missing (fine in Colab/VS Code; in JupyterLab: pip install jupyterlab_widgets)"
    return f"ipywidgets {ipywidgets.__version__}, {front}"


def _check_runs() -> str:
    from tutor.course import check_writable, runs_root

    return f"runs folder writable: {check_writable(runs_root())}"


def _check_model() -> str:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from tutor.core.models import TINY_DIR, count_parameters, load_causal_lm, load_tokenizer

    tok = load_tokenizer(TINY_DIR)
    model = load_causal_lm(TINY_DIR)
    ids = tok("Question: Explain convexity.\nAnswer:", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    if not torch.isfinite(logits).all():
        raise TutorError("the shipped tiny model produced non-finite numbers; reinstall rlhf-tutor")
    return f"shipped tiny model loads offline ({count_parameters(model) / 1e6:.2f} M parameters)"


def checks() -> list[tuple[str, Callable[[], str]]]:
    items = [("python", _check_python)]
    items += [(name, lambda n=name, m=minimum: _check_package(n, m)) for name, minimum in REQUIRED.items()]
    items += [("device", _check_device), ("widgets", _check_widgets), ("runs", _check_runs), ("model", _check_model)]
    return items


def doctor(print_fn: Callable[[str], None] = print) -> bool:
    """Run every check, print one OK/FAIL line each, and return True when all pass."""
    ok = True
    for name, check in checks():
        try:
            detail = check()
            print_fn(f"OK   {name:<13} {detail}")
        except Exception as exc:  # noqa: BLE001 - doctor must report, never crash
            ok = False
            print_fn(f"FAIL {name:<13} {exc}")
    print_fn("All checks passed." if ok else "Some checks failed: fix the FAIL lines above.")
    return ok
