"""The exercise checker: accepts right answers (ours and the published solutions), rejects the
typical wrong ones with the hint that names the mistake, and never reveals the solution."""

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


def all_exercises():
    ex._load_all()
    return sorted(ex.REGISTRY)


def test_own_exercises_are_registered():
    assert set(OWN) <= set(all_exercises())


NOTEBOOK_EXERCISES = {
    "00_welcome": 1,
    "01_pretraining": 3,
    "02_sft": 3,
    "03_preferences": 3,
    "04_reward_model": 3,
    "05_ppo": 3,
    "06_dpo": 3,
    "07_ppo_vs_dpo": 3,
}


@pytest.mark.parametrize("notebook, at_least", NOTEBOOK_EXERCISES.items())
def test_every_notebook_has_its_checked_exercises(notebook, at_least):
    """At least one in 00 and three in every later notebook, each calling a registered checker."""
    import json
    import re

    cells = json.loads((ROOT / "notebooks" / f"{notebook}.ipynb").read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    names = set(re.findall(r"check\(\s*\"(\w+)\"", code))
    assert len(names) >= at_least, f"{notebook}: {sorted(names)}"
    assert names <= set(all_exercises()), names - set(all_exercises())


# --------------------------------------------------------------------------- every exercise


@pytest.mark.parametrize("name", all_exercises())
def test_reference_passes(name):
    result = ex.check(name, ex.get(name).reference, quiet=True)
    assert result.passed, result.message


SEEDS = range(8)  # check() draws a fresh seed per call; the tests pin several, so they cannot flake


@pytest.mark.parametrize("name", all_exercises())
def test_each_typical_mistake_is_rejected_with_its_own_hint(name):
    exercise = ex.get(name)
    assert exercise.mistakes, f"{name} has no typical mistakes to recognise"
    for seed in SEEDS:
        for hint, wrong in exercise.mistakes.items():
            result = ex.check(name, wrong, seed=seed, quiet=True)
            assert not result.passed, f"{name}: the mistake {hint!r} passed the check (seed {seed})"
            assert hint in result.message, f"{name}, seed {seed}: expected hint {hint!r}, got {result.message!r}"


@pytest.mark.parametrize("name", all_exercises())
def test_reference_passes_on_every_seed(name):
    for seed in SEEDS:
        assert ex.check(name, ex.get(name).reference, seed=seed, quiet=True), (name, seed)


@pytest.mark.parametrize("name", all_exercises())
def test_mistakes_differ_from_the_reference_and_from_each_other(name):
    """Otherwise a hint could be shown for a correct answer, or the wrong hint for a mistake: on one
    check's inputs every mistake differs from the reference and from every other mistake somewhere."""
    exercise = ex.get(name)
    gen = torch.Generator().manual_seed(123)
    draws = [exercise.make_inputs(gen) for _ in range(exercise.trials)]
    functions = [exercise.reference, *exercise.mistakes.values()]
    outputs = [[f(**ex._clone(inputs)) for inputs in draws] for f in functions]
    for i in range(len(functions)):
        for j in range(i + 1, len(functions)):
            assert not all(
                ex._same(a, b, exercise.atol, exercise.rtol) for a, b in zip(outputs[i], outputs[j], strict=True)
            ), (name, i, j)


@pytest.mark.parametrize("name", all_exercises())
def test_summaries_name_the_arguments_the_checker_passes(name):
    exercise = ex.get(name)
    for arg in exercise.make_inputs(torch.Generator().manual_seed(0)):
        assert arg in exercise.summary, (name, arg)


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
        ("00_welcome", ("label_probability",)),
        ("01_pretraining", ("next_token_loss", "perplexity", "bigram_probabilities")),
        ("02_sft", ("completion_labels", "sft_loss", "token_accuracy")),
        ("03_preferences", ("cohens_kappa", "majority_vote", "pairwise_agreement")),
        ("07_ppo_vs_dpo", ("seed_interval", "token_kl", "win_rate")),
        (
            "04_reward_model",
            ("preference_probability", "bradley_terry_loss", "bradley_terry_margin_loss", "pairwise_accuracy"),
        ),
    ],
)
def test_published_solutions_pass(module, names, course_solutions):
    solutions = course_solutions(module)
    for name in names:
        for seed in SEEDS:
            result = ex.check(name, getattr(solutions, name), seed=seed, quiet=True)
            assert result.passed, f"{module}.{name}: {result.message}"


def test_solutions_pass_on_other_seeds_too(course_solutions):
    solutions = course_solutions("04_reward_model")
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


# --------------------------------------------------------------------------- fresh inputs, seed shown


def test_each_check_draws_fresh_inputs():
    reference = ex.get("sft_loss").reference
    seeds = {ex.check("sft_loss", reference, quiet=True).seed for _ in range(5)}
    assert len(seeds) > 1, "check() drew the same inputs on every call"


def test_a_failure_names_the_seed_that_repeats_it():
    def wrong(chosen_rewards, rejected_rewards):
        return chosen_rewards.sum() * 0 + 0.123

    first = ex.check("bradley_terry_loss", wrong, quiet=True)
    assert not first and f"seed={first.seed}" in first.message
    again = ex.check("bradley_terry_loss", wrong, seed=first.seed, quiet=True)
    assert again.message == first.message


def test_the_hint_is_the_mistake_that_matches_on_most_inputs():
    """One input can make two mistakes coincide; the hint is the one that matches on all inputs."""
    exercise = ex.Exercise(
        "toy_sign",
        "toy_sign(x) -> x",
        reference=lambda x: x,
        make_inputs=lambda gen: {"x": torch.randn(3, generator=gen)},
        mistakes={
            "coincides once": lambda x: -x if float(x[0]) > 10 else x * 0,  # agrees with "negated" only by chance
            "negated": lambda x: -x,
        },
    )
    ex.REGISTRY["toy_sign"] = exercise
    try:
        result = ex.check("toy_sign", lambda x: -x, seed=0, quiet=True)
        assert "negated" in result.message
    finally:
        del ex.REGISTRY["toy_sign"]


def test_token_accuracy_rejects_its_mistakes_on_every_seed():
    """On purely random logits over the checkers' 11-token vocabulary an accuracy read at the wrong
    position could tie the right one (it passed on seed 2069): the inputs now predict most tokens."""
    exercise = ex.get("token_accuracy")
    for seed in (2069, *range(300)):
        assert ex.check("token_accuracy", exercise.reference, seed=seed, quiet=True), seed
        for hint, wrong in exercise.mistakes.items():
            assert not ex.check("token_accuracy", wrong, seed=seed, quiet=True).passed, (seed, hint)
