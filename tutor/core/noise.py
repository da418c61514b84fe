"""Noise floors: how far apart two measured numbers must be before the course calls them different.

A share (a win-rate, an agreement rate, an instruction-following rate) measured on n independent
answers has a standard error of at most ½/√n; two independent such measurements differ by more
than 1.96·√2 of that only 5 % of the time when nothing really differs. Below that, the notebooks
say "no measurable difference" rather than rank the numbers.
"""

from __future__ import annotations

import math

from tutor.errors import TutorError


def share_noise(n: int, share: float = 0.5) -> float:
    """Standard error of a share measured on `n` independent items (worst case: share ½)."""
    if n < 1:
        raise TutorError(f"share_noise needs at least one item, got n = {n}.")
    return math.sqrt(share * (1 - share) / n)


def difference_floor(n_a: int, n_b: int | None = None) -> float:
    """95 % noise floor of the difference of two shares measured on n_a and n_b items (worst case)."""
    n_b = n_a if n_b is None else n_b
    return 1.96 * math.sqrt(share_noise(n_a) ** 2 + share_noise(n_b) ** 2)


def compare_shares(what: str, first: tuple[str, float], second: tuple[str, float], floor: float) -> str:
    """One sentence comparing two shares against their noise floor, its direction generated from
    the numbers: "no measurable difference" when they differ by less than `floor`."""
    (name_a, a), (name_b, b) = first, second
    numbers = f"{what}: {name_a} {a:.0%}, {name_b} {b:.0%} (noise floor ± {floor * 100:.0f} points)"
    if abs(b - a) < floor:
        return f"{numbers}: no measurable difference."
    higher, lower = (name_b, name_a) if b > a else (name_a, name_b)
    return f"{numbers}: {higher} is higher by {abs(b - a) * 100:.0f} points, more than the noise."


def within_floor(values: dict[str, float], floor: float) -> list[str]:
    """The names whose value is within `floor` of the best one: those a ranking cannot tell apart."""
    top = max(values.values())
    return [name for name, value in values.items() if top - value < floor]
