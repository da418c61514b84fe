"""Fixtures shared by the test files: the shipped tiny model, a copy of it nudged away from it, and
a FAST-mode course whose stages live in a temporary runs folder, and the published exercise solutions."""

import importlib.util
from pathlib import Path

import pytest
import torch

from tutor.core.models import load_causal_lm, load_tokenizer
from tutor.course import Course


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return load_tokenizer("tiny")


@pytest.fixture()
def tiny_model():
    """The shipped model, fresh for each test: TRL patches the forward of models it trains, and a
    deepcopy of a patched model would still call the original's forward."""
    return load_causal_lm("tiny")


@pytest.fixture()
def nudged_model():
    """The shipped model with every weight nudged (seeded), so that it differs from `tiny_model`:
    log-ratios, rewards, margins and KLs are not all zero."""
    model = load_causal_lm("tiny")
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.02)
    return model


@pytest.fixture(scope="module")
def fast_course(tmp_path_factory):
    """A FAST-mode course on the tiny model with its own runs folder (shared within a test file)."""
    return Course(fast=True, model="tiny", runs=tmp_path_factory.mktemp("runs"), device="cpu")


@pytest.fixture(scope="session")
def course_solutions():
    """Load course/solutions/<notebook>.py as a module, e.g. ``course_solutions("05_ppo").gae``."""
    folder = Path(__file__).resolve().parents[1] / "course" / "solutions"

    def load(notebook: str):
        spec = importlib.util.spec_from_file_location(f"solutions_{notebook}", folder / f"{notebook}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
