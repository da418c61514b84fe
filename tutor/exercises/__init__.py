"""Auto-checked exercises: the learner writes a function, `check` tests it against our reference.

Each `check` call draws fresh random inputs (from a new seed, printed on failure so that
`check(name, fn, seed=...)` repeats them), so a hard-coded answer cannot pass, and compares the
learner's output with the reference. Inputs are made to catch the quiet mistakes too: junk on
padding positions, a real token with id 0, and extreme values where a naive formula overflows. When
they differ it also runs a few *typical wrong* implementations: if the learner's output matches one of
them, the hint names that mistake. The reference itself is never printed. Solutions live in `course/solutions/`.

    from tutor.exercises import check
    check("bradley_terry_loss", my_bt_loss)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from tutor.errors import TutorError

# Modules that register exercises when imported (one per stage, owned with that stage).
_MODULES = ("welcome", "pretraining", "sft", "preferences", "reward", "ppo", "dpo", "comparison", "beyond")


@dataclass
class Exercise:
    """One exercise: a reference, a generator of fresh inputs, and known mistakes with hints."""

    name: str
    summary: str  # one line: what to implement, with the signature
    reference: Callable
    make_inputs: Callable  # (torch.Generator) -> dict of keyword arguments
    mistakes: dict[str, Callable] = field(default_factory=dict)  # hint -> wrong implementation
    atol: float = 1e-5
    rtol: float = 1e-4
    trials: int = 5


@dataclass
class Result:
    name: str
    passed: bool
    message: str
    seed: int | None = None  # the seed the inputs were drawn from: check(..., seed=seed) repeats them

    def __bool__(self) -> bool:
        return self.passed

    shown: bool = field(default=False, repr=False, compare=False)

    def _repr_markdown_(self) -> str:
        return ("✅ " if self.passed else "❌ ") + f"**{self.name}**: {self.message}"

    def _ipython_display_(self) -> None:
        """`check(...)` as a cell's last line: it has shown the result already, so show it once."""
        if not self.shown:
            _show(self)

    def __repr__(self) -> str:
        return ("PASS " if self.passed else "FAIL ") + f"{self.name}: {self.message}"


REGISTRY: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    """Add an exercise; a name already taken by another module's exercise is an error, not a swap."""
    known = REGISTRY.get(exercise.name)
    if known is not None and known.reference.__module__ != exercise.reference.__module__:
        raise TutorError(
            f"Exercise name {exercise.name!r} is already registered by {known.reference.__module__}; pick another name."
        )
    REGISTRY[exercise.name] = exercise
    return exercise


def _load_all() -> None:
    for module in _MODULES:
        try:
            importlib.import_module(f"tutor.exercises.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tutor.exercises.{module}":
                raise


def get(name: str) -> Exercise:
    _load_all()
    if name not in REGISTRY:
        raise TutorError(f"Unknown exercise {name!r}; exercises are: {', '.join(sorted(REGISTRY))}.")
    return REGISTRY[name]


def describe(name: str) -> str:
    """What to implement (signature and one line), never the solution."""
    return get(name).summary


def _same(a, b, atol: float, rtol: float) -> bool:
    import torch

    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_same(x, y, atol, rtol) for x, y in zip(a, b, strict=True))
    if isinstance(a, str) or isinstance(b, str) or a is None or b is None:
        return type(a) is type(b) and a == b  # labels such as "a", "b", "tie", or no label at all
    try:
        ta = torch.as_tensor(a, dtype=torch.float64)
        tb = torch.as_tensor(b, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return False
    if ta.shape != tb.shape:
        return False
    return bool(torch.allclose(ta, tb, atol=atol, rtol=rtol, equal_nan=True))


def _shape(x) -> str:
    shape = getattr(x, "shape", None)
    return f"shape {tuple(shape)}" if shape is not None else type(x).__name__


def fresh_seed() -> int:
    """A new seed for each check: the inputs differ on every call, and the seed repeats them."""
    import secrets

    return secrets.randbelow(1_000_000)


def check(name: str, fn: Callable, seed: int | None = None, quiet: bool = False) -> Result:
    """Test the learner's `fn` against the reference on fresh random inputs; print ✅ or ❌ + hint.

    Without `seed` every call draws new inputs; a failure names the seed that repeats them."""
    import torch

    ex = get(name)
    seed = fresh_seed() if seed is None else int(seed)
    gen = torch.Generator().manual_seed(seed)
    again = f" (inputs from seed {seed}: check({name!r}, your_function, seed={seed}) repeats them.)"
    result = Result(name, True, f"matches the reference on {ex.trials} random inputs.", seed)
    trials = []  # (inputs, learner's output) of every trial, so that a hint can be checked on all of them
    for _ in range(ex.trials):
        inputs = ex.make_inputs(gen)
        try:
            got = fn(**_clone(inputs))
        except NotImplementedError:
            return _finish(
                Result(name, False, "not written yet: replace `raise NotImplementedError` with your code."), quiet
            )
        except Exception as exc:  # noqa: BLE001 - report the learner's error in one line
            return _finish(Result(name, False, f"your function raised {type(exc).__name__}: {exc}{again}", seed), quiet)
        trials.append((inputs, got))
    for trial, (inputs, got) in enumerate(trials):
        expected = ex.reference(**_clone(inputs))
        if got is None and expected is not None:
            result = Result(name, False, "your function returned None: did you forget the `return`?", seed)
            break
        if _same(got, expected, ex.atol, ex.rtol):
            continue
        hint = _hint(ex, trials, trial)
        if hint is None and _shape(got) != _shape(expected):
            hint = f"your output has {_shape(got)}, expected {_shape(expected)}."
        if hint is None and not _finite(got) and _finite(expected):
            hint = "your output holds inf or nan where the reference is finite: an exp or a log overflowed."
        message = f"differs from the reference on random input #{trial + 1}."
        message += f" Hint: {hint}" if hint else " Re-read the formula in the text above."
        result = Result(name, False, message + again, seed)
        break
    return _finish(result, quiet)


def _hint(ex: Exercise, trials: list, failed: int) -> str | None:
    """The mistake that matches the learner on the failing input and on the most other inputs: one
    input can make two mistakes give the same number by chance, all of them rarely do."""

    def matches(wrong, inputs, got) -> bool:
        try:
            return _same(got, wrong(**_clone(inputs)), ex.atol, ex.rtol)
        except Exception:  # noqa: BLE001 - a mistake that cannot run on these inputs is not this one
            return False

    best, best_matches = None, 0
    for hint, wrong in ex.mistakes.items():
        if not matches(wrong, *trials[failed]):
            continue
        n_matches = sum(matches(wrong, i, g) for i, g in trials)
        if n_matches > best_matches:
            best, best_matches = hint, n_matches
    return best


def _finish(result: Result, quiet: bool) -> Result:
    if not quiet:
        _show(result)
    return result


def _finite(x) -> bool:
    import torch

    try:
        return bool(torch.isfinite(torch.as_tensor(x, dtype=torch.float64)).all())
    except (TypeError, ValueError, RuntimeError):
        return True


def _show(result: Result) -> None:
    """Markdown in a notebook, one plain line in a terminal or script."""
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython is a dependency, but scripts may lack it
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(Markdown(result._repr_markdown_()))
    else:
        print(repr(result))
    result.shown = True


def _clone(inputs: dict) -> dict:
    """Fresh copies so a function that modifies its inputs in place cannot fool the comparison."""
    import copy

    return {k: (v.clone() if hasattr(v, "clone") else copy.deepcopy(v)) for k, v in inputs.items()}
