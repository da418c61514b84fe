"""The DPO exercises accept the published solutions and reject the typical mistakes, naming them."""

import pytest

from tutor.exercises import check, get

NAMES = ("sequence_logps", "implicit_reward", "dpo_loss")


@pytest.mark.parametrize("name", NAMES)
def test_solution_passes(name, course_solutions):
    result = check(name, getattr(course_solutions("06_dpo"), name), quiet=True)
    assert result.passed, result.message


@pytest.mark.parametrize("name", NAMES)
def test_each_typical_mistake_fails_with_its_hint(name):
    exercise = get(name)
    assert exercise.mistakes
    for hint, wrong in exercise.mistakes.items():
        result = check(name, wrong, quiet=True)
        assert not result.passed, f"{name}: the mistake {hint!r} passed the checker"
        assert hint in result.message, f"{name}: expected the hint {hint!r}, got {result.message!r}"


def test_the_hint_never_shows_the_solution():
    result = check("dpo_loss", lambda **kw: kw["beta"] * 0.0, quiet=True)
    assert not result.passed
    assert "logsigmoid" not in result.message and "def " not in result.message


def test_a_function_that_raises_is_reported_in_one_line():
    def broken(**kwargs):
        raise RuntimeError("oops")

    result = check("implicit_reward", broken, quiet=True)
    assert not result.passed and "RuntimeError: oops" in result.message


def test_a_wrong_shape_is_named():
    import torch

    result = check("sequence_logps", lambda logits, labels: torch.zeros(logits.shape[0], 2), quiet=True)
    assert not result.passed and "shape" in result.message


def test_the_dpo_loss_reference_matches_the_formula_on_a_worked_example():
    import math

    import torch

    from tutor.dpo import dpo_loss

    loss, chosen, rejected = dpo_loss(
        torch.tensor([-10.0]), torch.tensor([-20.0]), torch.tensor([-12.0]), torch.tensor([-15.0]), 0.5
    )
    # chosen reward 0.5·(−10+12)=1, rejected 0.5·(−20+15)=−2.5, margin 3.5
    assert chosen.item() == pytest.approx(1.0) and rejected.item() == pytest.approx(-2.5)
    assert loss.item() == pytest.approx(math.log1p(math.exp(-3.5)))
