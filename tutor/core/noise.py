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


def mean_difference_floor(sd_a: float, n_a: int, sd_b: float | None = None, n_b: int | None = None) -> float:
    """95 % noise floor of the difference of two means (e.g. gold scores) of n_a and n_b answers whose
    scores spread by sd_a and sd_b: two draws of the same model differ by more only 5 % of the time."""
    sd_b = sd_a if sd_b is None else sd_b
    n_b = n_a if n_b is None else n_b
    if n_a < 1 or n_b < 1:
        raise TutorError(f"mean_difference_floor needs at least one answer on each side, got {n_a} and {n_b}.")
    return 1.96 * math.sqrt(sd_a**2 / n_a + sd_b**2 / n_b)


def _compare(numbers: str, a: float, b: float, names: tuple[str, str], floor: float, gap: str) -> str:
    if abs(b - a) < floor:
        return f"{numbers}: no measurable difference."
    higher = names[1] if b > a else names[0]
    return f"{numbers}: {higher} is higher by {gap}, more than the noise."


def compare_shares(what: str, first: tuple[str, float], second: tuple[str, float], floor: float) -> str:
    """One sentence comparing two shares against their noise floor, its direction generated from
    the numbers: "no measurable difference" when they differ by less than `floor`."""
    (name_a, a), (name_b, b) = first, second
    numbers = f"{what}: {name_a} {a:.0%}, {name_b} {b:.0%} (noise floor ± {floor * 100:.0f} points)"
    return _compare(numbers, a, b, (name_a, name_b), floor, f"{abs(b - a) * 100:.0f} points")


def compare_means(what: str, first: tuple[str, float], second: tuple[str, float], floor: float) -> str:
    """`compare_shares` for means on any scale (a gold score, a KL), printed with two decimals."""
    (name_a, a), (name_b, b) = first, second
    numbers = f"{what}: {name_a} {a:.2f}, {name_b} {b:.2f} (noise floor ± {floor:.2f})"
    return _compare(numbers, a, b, (name_a, name_b), floor, f"{abs(b - a):.2f}")


def within_floor(values: dict[str, float], floor: float) -> list[str]:
    """The names whose value is within `floor` of the best one: those a ranking cannot tell apart."""
    top = max(values.values())
    return [name for name, value in values.items() if top - value < floor]
