"""Gao et al.'s forms are fitted exactly to points that follow them, and refused without data."""

import math

import pytest

from tutor.beyond.overoptimisation import fit_gao, gao_curve
from tutor.errors import TutorError


@pytest.mark.parametrize("form", ["best_of_n", "rl"])
def test_the_fit_recovers_the_parameters_of_its_own_curve(form):
    d = [0.0, 0.3, 0.6, 1.0, 1.5, 2.0, 3.0]
    gold = [gao_curve(x, 1.2, 0.4, form) for x in d]
    fit = fit_gao(d, gold, form)
    assert fit.alpha == pytest.approx(1.2) and fit.beta == pytest.approx(0.4) and fit.r2 == pytest.approx(1.0)
    assert fit.points == 6  # d = 0 carries no information about the slope


def test_the_best_of_n_peak_is_where_the_gold_turns_down():
    fit = fit_gao([0.5, 1, 2, 3], [gao_curve(x, 2.0, 0.5, "best_of_n") for x in (0.5, 1, 2, 3)], "best_of_n")
    assert fit.peak == pytest.approx(2.0)
    rl = fit_gao([0.5, 1, 2, 3], [gao_curve(x, 1.0, 0.5, "rl") for x in (0.5, 1, 2, 3)], "rl")
    assert rl.peak == pytest.approx(math.exp(1.0))


def test_bad_input_is_one_sentence():
    with pytest.raises(TutorError, match="two points"):
        fit_gao([0.0, 1.0], [0.0, 1.0], "rl")
    with pytest.raises(TutorError, match="Unknown form"):
        fit_gao([1.0, 2.0], [0.0, 1.0], "linear")
