"""The Beyond exercises accept the published solutions and reject the typical mistakes, naming them."""

import pytest

from tutor.exercises import check, get

NAMES = ("optimal_policy", "kl_divergence", "distinct_n", "best_of_n_kl")


@pytest.mark.parametrize("name", NAMES)
def test_solution_passes(name, course_solutions):
    result = check(name, getattr(course_solutions("08_beyond"), name), quiet=True)
    assert result.passed, result.message


@pytest.mark.parametrize("name", NAMES)
def test_each_typical_mistake_fails_with_its_hint(name):
    exercise = get(name)
    assert len(exercise.mistakes) >= 3
    for hint, wrong in exercise.mistakes.items():
        result = check(name, wrong, quiet=True)
        assert not result.passed, f"{name}: the mistake {hint!r} passed the checker"
        assert hint in result.message, f"{name}: expected the hint {hint!r}, got {result.message!r}"


def test_a_hard_coded_answer_fails():
    result = check("distinct_n", lambda texts, n: 0.8, quiet=True)
    assert not result.passed


def test_the_optimal_policy_on_a_worked_example(course_solutions):
    import torch

    solution = course_solutions("08_beyond").optimal_policy
    ref = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
    rewards = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    # π*(first) = e / (e + 1) at β = 1
    assert solution(ref, rewards, 1.0)[0, 0].item() == pytest.approx(torch.e / (torch.e + 1))
