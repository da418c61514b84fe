"""The one way a stage's settings are written: a frozen dataclass, validated when it is made.

Every stage (`SFTSettings`, `RewardSettings`, `PPOSettings`, `DPOSettings`) follows it:

- ``@dataclass(frozen=True)``, one commented field per setting;
- ``__post_init__`` checks every field with the helpers below, so a bad value is refused where it is
  written, in one sentence that names the setting and what it accepts (never a failure deep inside
  training);
- ``X.for_mode(fast, model)`` gives the course's defaults for FAST or full mode and the model;
- ``dataclasses.replace(settings, beta=0.1)`` makes a changed copy, checked again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from tutor.errors import TutorError


def _owner(settings) -> str:
    return type(settings).__name__


def _is_real(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_whole(settings, name: str, minimum: int = 1) -> None:
    """`name` must be a whole number (not a bool, not a float) of at least `minimum`."""
    value = getattr(settings, name)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise TutorError(f"{_owner(settings)}.{name} must be a whole number ≥ {minimum}, got {value!r}.")


def check_number(
    settings,
    name: str,
    *,
    above: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
    below: float | None = None,
    optional: bool = False,
) -> None:
    """`name` must be a finite real number within the given bounds (None too, when `optional`)."""
    value = getattr(settings, name)
    if optional and value is None:
        return
    ok = _is_real(value)
    bounds = []
    if above is not None:
        ok = ok and value > above
        bounds.append(f"> {above:g}")
    if at_least is not None:
        ok = ok and value >= at_least
        bounds.append(f"≥ {at_least:g}")
    if at_most is not None:
        ok = ok and value <= at_most
        bounds.append(f"≤ {at_most:g}")
    if below is not None:
        ok = ok and value < below
        bounds.append(f"< {below:g}")
    if not ok:
        what = "a finite number" + (" " + " and ".join(bounds) if bounds else "")
        if optional:
            what += ", or None"
        raise TutorError(f"{_owner(settings)}.{name} must be {what}, got {value!r}.")


def check_choice(settings, name: str, choices: Iterable) -> None:
    """`name` must be one of `choices`."""
    value, choices = getattr(settings, name), tuple(choices)
    if value not in choices:
        raise TutorError(f"{_owner(settings)}.{name} must be one of {', '.join(map(repr, choices))}, got {value!r}.")


def check_flag(settings, name: str) -> None:
    """`name` must be True or False (a string such as "no" is refused, not read as True)."""
    value = getattr(settings, name)
    if not isinstance(value, bool):
        raise TutorError(f"{_owner(settings)}.{name} must be True or False, got {value!r}.")
