"""The exercise checker: accepts right answers (ours and the published solutions), rejects the
typical wrong ones with the hint that names the mistake, and never reveals the solution."""

import importlib.util
from pathlib import Path

import pytest
import torch

import tutor.exercises as ex
from tutor.errors import TutorError

ROOT = Path(__file__).resolve().parents[1]
OWN = (
    "completion_labels",
    "sft_loss",
    "token_accuracy",
    "preference_probability",
    "bradley_terry_loss",
    "bradley_terry_margin_loss",
    "pairwise_accuracy",
)


def load_solutions(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "course" / "solutions" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def all_exercises():
    ex._load_all()
    return sorted(ex.REGISTRY)


def test_own_exercises_are_registered():
    assert set(OWN) <= set(all_exercises())


# --------------------------------------------------------------------------- every exercise


@pytest.mark.parametrize("name", all_exercises())
def test_reference_passes(name):
    result = ex.check(name, ex.get(name).reference, quiet=True)
    assert result.passed, result.message


@pytest.mark.parametrize("name", all_exercises())
def test_each_typical_mistake_is_rejected_with_its_own_hint(name):
    exercise = ex.get(name)
    assert exercise.mistakes, f"{name} has no typical mistakes to recognise"
    for hint, wrong in exercise.mistakes.items():
        result = ex.check(name, wrong, quiet=True)
        assert not result.passed, f"{name}: the mistake {hint!r} passed the check"
        assert hint in result.message, f"{name}: expected hint {hint!r}, got {result.message!r}"


@pytest.mark.parametrize("name", all_exercises())
def test_a_hard_coded_answer_fails(name):
    exercise = ex.get(name)
    first = exercise.make_inputs(torch.Generator().manual_seed(0))
    constant = exercise.reference(**first)
    result = ex.check(name, lambda **_: constant, quiet=True)
    assert not result.passed


@pytest.mark.parametrize("name", all_exercises())
def test_inputs_are_fresh_and_reproducible(name):
    exercise = ex.get(name)
    a = exercise.make_inputs(torch.Generator().manual_seed(0))
    b = exercise.make_inputs(torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(0)
    first, second = exercise.make_inputs(gen), exercise.make_inputs(gen)
    assert all(_same(a[k], b[k]) for k in a)
    assert not all(_same(first[k], second[k]) for k in first)


def _same(x, y) -> bool:
    """Inputs are tensors or plain numbers (a clip range, a β)."""
    if isinstance(x, torch.Tensor):
        return isinstance(y, torch.Tensor) and x.shape == y.shape and torch.equal(x, y)
    return x == y


# --------------------------------------------------------------------------- published solutions


@pytest.mark.parametrize(
    "module, names",
    [
        ("02_sft", ("completion_labels", "sft_loss", "token_accuracy")),
        (
            "04_reward_model",
            ("preference_probability", "bradley_terry_loss", "bradley_terry_margin_loss", "pairwise_accuracy"),
        ),
    ],
)
def test_published_solutions_pass(module, names):
    solutions = load_solutions(module)
    for name in names:
        result = ex.check(name, getattr(solutions, name), quiet=True)
        assert result.passed, f"{module}.{name}: {result.message}"


def test_solutions_pass_on_other_seeds_too():
    solutions = load_solutions("04_reward_model")
    for seed in range(1, 4):
        assert ex.check("bradley_terry_loss", solutions.bradley_terry_loss, seed=seed, quiet=True)


# --------------------------------------------------------------------------- the framework


def test_unknown_exercise_names_the_known_ones():
    with pytest.raises(TutorError, match="Unknown exercise 'nope'.*sft_loss"):
        ex.check("nope", lambda: None, quiet=True)


def test_not_written_yet():
    def stub(chosen_rewards, rejected_rewards):
        raise NotImplementedError

    result = ex.check("bradley_terry_loss", stub, quiet=True)
    assert not result.passed and "not written yet" in result.message


def test_missing_return():
    def forgot(chosen_rewards, rejected_rewards):
        chosen_rewards - rejected_rewards  # noqa: B018 - the mistake under test

    result = ex.check("bradley_terry_loss", forgot, quiet=True)
    assert not result.passed and "return" in result.message


def test_an_error_in_the_learners_code_is_reported_in_one_line():
    result = ex.check("bradley_terry_loss", lambda chosen_rewards, rejected_rewards: chosen_rewards @ "x", quiet=True)
    assert not result.passed and "raised TypeError" in result.message


def test_wrong_argument_names_are_reported():
    result = ex.check("bradley_terry_loss", lambda good, bad: good - bad, quiet=True)
    assert not result.passed and "unexpected keyword argument" in result.message


def test_wrong_shape_gets_a_shape_hint():
    result = ex.check(
        "preference_probability", lambda reward_a, reward_b: torch.sigmoid(reward_a - reward_b).sum(), quiet=True
    )
    assert not result.passed and "shape ()" in result.message


def test_an_unknown_mistake_gets_a_generic_hint_and_never_the_reference():
    result = ex.check(
        "bradley_terry_loss", lambda chosen_rewards, rejected_rewards: (chosen_rewards * 0).sum() + 0.123, quiet=True
    )
    assert not result.passed
    assert "Re-read the formula" in result.message
    assert "logsigmoid" not in result.message


def test_mutating_the_inputs_cannot_fool_the_check():
    def sneaky(chosen_rewards, rejected_rewards):
        chosen_rewards.fill_(100.0)  # would make every pair "right" if the reference saw the same tensor
        return torch.tensor(0.0)

    assert not ex.check("bradley_terry_loss", sneaky, quiet=True).passed


def test_result_is_truthy_and_renders(capsys):
    good = ex.check("pairwise_accuracy", ex.get("pairwise_accuracy").reference)
    out = capsys.readouterr().out
    assert good and "PASS pairwise_accuracy" in out
    assert good._repr_markdown_().startswith("✅")
    bad = ex.check("pairwise_accuracy", lambda chosen_rewards, rejected_rewards: 0.5, quiet=True)
    assert not bad and bad._repr_markdown_().startswith("❌")


def test_describe_gives_the_signature():
    assert ex.describe("sft_loss").startswith("sft_loss(logits, labels)")


def test_a_name_cannot_be_taken_twice_by_different_modules():
    taken = ex.get("sft_loss")
    clash = ex.Exercise("sft_loss", "x", reference=lambda: 0, make_inputs=lambda gen: {})
    with pytest.raises(TutorError, match="already registered"):
        ex.register(clash)
    assert ex.get("sft_loss") is taken


def test_tuples_compare_elementwise():
    assert ex._same((1.0, torch.tensor([1.0, 2.0])), [1.0, torch.tensor([1.0, 2.0])], 1e-6, 1e-6)
    assert not ex._same((1.0, 2.0), (1.0,), 1e-6, 1e-6)
    assert not ex._same("text", 1.0, 1e-6, 1e-6)


def test_a_result_is_shown_once_even_as_a_cells_last_value(capsys):
    shown = ex.check("pairwise_accuracy", ex.get("pairwise_accuracy").reference)
    shown._ipython_display_()  # what IPython calls for a cell's last value
    assert capsys.readouterr().out.count("PASS pairwise_accuracy") == 1
    silent = ex.check("pairwise_accuracy", ex.get("pairwise_accuracy").reference, quiet=True)
    assert capsys.readouterr().out == ""
    silent._ipython_display_()
    assert capsys.readouterr().out.count("PASS pairwise_accuracy") == 1
