"""The PPO exercise checkers accept correct answers and name the typical mistakes."""

import pytest

from tutor.exercises import check, get

NAMES = ("kl_penalty_rewards", "gae", "clipped_surrogate")


@pytest.mark.parametrize("name", NAMES)
def test_reference_and_course_solution_pass(name, course_solutions):
    assert check(name, get(name).reference, quiet=True)
    assert check(name, getattr(course_solutions("05_ppo"), name), quiet=True)


@pytest.mark.parametrize(
    "name, hint",
    [(name, hint) for name in NAMES for hint in get(name).mistakes],
)
def test_each_typical_mistake_fails_with_its_own_hint(name, hint):
    wrong = get(name).mistakes[hint]
    result = check(name, wrong, quiet=True)
    assert not result
    assert hint in result.message


@pytest.mark.parametrize("name", NAMES)
def test_mistakes_really_differ_from_the_reference_and_from_each_other(name):
    """Otherwise a hint could be shown for a correct answer, or the wrong hint for a mistake."""
    import torch

    from tutor.exercises import _same

    ex = get(name)
    inputs = ex.make_inputs(torch.Generator().manual_seed(123))
    outputs = [ex.reference(**inputs)] + [wrong(**inputs) for wrong in ex.mistakes.values()]
    for i in range(len(outputs)):
        for j in range(i + 1, len(outputs)):
            assert not _same(outputs[i], outputs[j], ex.atol, ex.rtol), (i, j)


def test_a_function_that_raises_is_reported_not_crashed():
    def broken(**kwargs):
        raise RuntimeError("shape mismatch")

    result = check("gae", broken, quiet=True)
    assert not result and "RuntimeError" in result.message


def test_summaries_name_the_arguments_the_checker_passes():
    import torch

    for name in NAMES:
        ex = get(name)
        for arg in ex.make_inputs(torch.Generator().manual_seed(0)):
            assert arg in ex.summary, (name, arg)
