"""Noise floors decide when the notebooks may call two numbers different."""

import pytest

from tutor.core.noise import (
    compare_means,
    compare_shares,
    difference_floor,
    mean_difference_floor,
    share_noise,
    within_floor,
)
from tutor.errors import TutorError


def test_share_noise_is_the_binomial_standard_error():
    assert share_noise(100) == pytest.approx(0.05)
    assert share_noise(100, 0.1) == pytest.approx(0.03)
    with pytest.raises(TutorError, match="at least one item"):
        share_noise(0)


def test_difference_floor_of_two_35_answer_win_rates_is_about_23_points():
    assert difference_floor(35) == pytest.approx(1.96 * (2 * 0.25 / 35) ** 0.5)
    assert 0.22 < difference_floor(35) < 0.24
    assert difference_floor(280, 280) < difference_floor(35)


def test_compare_shares_says_no_measurable_difference_inside_the_floor():
    text = compare_shares("win-rate", ("with π_ref", 0.70), ("without", 0.77), floor=0.23)
    assert "no measurable difference" in text and "70%" in text and "77%" in text
    text = compare_shares("win-rate", ("with π_ref", 0.40), ("without", 0.77), floor=0.23)
    assert "without is higher by 37 points" in text
    text = compare_shares("win-rate", ("with π_ref", 0.80), ("without", 0.30), floor=0.23)
    assert "with π_ref is higher by 50 points" in text


def test_within_floor_lists_what_a_ranking_cannot_separate():
    assert within_floor({"a": 0.8, "b": 0.75, "c": 0.5}, 0.1) == ["a", "b"]


def test_mean_difference_floor_is_1_96_standard_errors_of_the_difference():
    assert mean_difference_floor(1.5, 24) == pytest.approx(1.96 * (2 * 1.5**2 / 24) ** 0.5)
    assert mean_difference_floor(1.5, 24, 0.5, 96) == pytest.approx(1.96 * (1.5**2 / 24 + 0.5**2 / 96) ** 0.5)
    with pytest.raises(TutorError, match="at least one answer"):
        mean_difference_floor(1.0, 0)


def test_compare_means_ranks_only_beyond_the_floor():
    assert compare_means("gold", ("β = 0", 1.9), ("β = 1", 2.1), floor=0.5).endswith("no measurable difference.")
    text = compare_means("gold", ("β = 0", 0.4), ("β = 1", 2.1), floor=0.5)
    assert "β = 1 is higher by 1.70" in text and "± 0.50" in text
