"""What RL fine-tuning changes: the change axes, their chart, and where each model loses."""

import random

import pytest

from tutor import TutorError
from tutor.core.sampling import Samples
from tutor.labs import comparison
from tutor.world import Style, compose, parse_prompt

PROMPTS = ["Explain convexity for a quant.", "I am new to investing. What is duration?", "Explain convexity."]


def _answers(prompts, style):
    rng = random.Random(0)
    return [compose(parse_prompt(p), style, rng) for p in prompts]


def test_changes_reads_the_styles_back():
    polite_fit = [
        compose(parse_prompt(PROMPTS[0]), Style("polite", "concise", "quant"), random.Random(1)),
        compose(parse_prompt(PROMPTS[1]), Style("polite", "concise", "retail"), random.Random(1)),
        compose(parse_prompt(PROMPTS[2]), Style("polite", "concise", "retail"), random.Random(1)),
    ]
    rude_misfit = [
        compose(parse_prompt(PROMPTS[0]), Style("rude", "verbose", "retail"), random.Random(1)),
        compose(parse_prompt(PROMPTS[1]), Style("rude", "verbose", "quant"), random.Random(1)),
        compose(parse_prompt(PROMPTS[2]), Style("rude", "verbose", "quant"), random.Random(1)),
    ]
    good, bad = comparison.changes(PROMPTS, polite_fit), comparison.changes(PROMPTS, rude_misfit)
    assert good["audience fit"] > 0.5 > -0.5 > bad["audience fit"]
    assert good["politeness"] > 0 > bad["politeness"]
    assert good["conciseness"] > bad["conciseness"]
    assert good["on topic"] == 1.0 and good["correctness"] == 1.0
    assert set(good) == set(comparison.CHANGE_AXES)
    by_model = comparison.changes_by_model(
        {"good": Samples(PROMPTS, polite_fit, [True] * 3), "bad": Samples(PROMPTS, rude_misfit, [True] * 3)}
    )
    assert by_model == {"good": good, "bad": bad}


def test_changes_needs_answers():
    with pytest.raises(TutorError, match="at least one answer"):
        comparison.changes([], [])


def test_changes_figure_has_one_bar_group_per_model():
    rows = {"A": dict.fromkeys(comparison.CHANGE_AXES, 0.5), "B": dict.fromkeys(comparison.CHANGE_AXES, -0.5)}
    fig = comparison.changes_figure(rows)
    assert [t.name for t in fig.data] == ["A", "B"]
    assert list(fig.data[0].x) == list(comparison.CHANGE_AXES)


def test_where_each_loses_finds_the_group_a_plain_writer_loses():
    """A model that writes plainly everywhere loses exactly where the question asks for a quant."""
    fitting = Samples(
        PROMPTS,
        _answers(PROMPTS[:1], Style("polite", "concise", "quant"))
        + _answers(PROMPTS[1:], Style("polite", "concise", "retail")),
        [True] * 3,
    )
    plain = Samples(PROMPTS, _answers(PROMPTS, Style("polite", "concise", "retail")), [True] * 3)
    table = comparison.where_each_loses({"SFT": fitting, "plain": plain})
    assert table[("plain", "win-rate")]["explain, asks for a quant"] == 0.0
    assert table[("plain", "written for quants")]["explain, asks for a quant"] == 0.0
    assert table[("SFT", "written for quants")]["explain, asks for a quant"] == 1.0
    assert list(table.columns.get_level_values(0).unique()) == ["plain", "SFT"]
    with pytest.raises(TutorError, match="baseline 'SFT'"):
        comparison.where_each_loses({"plain": plain})


def test_seed_attributes_are_all_seven_and_measured():
    assert len(comparison.SEED_ATTRIBUTES) == 7
    axes = [axis for group in comparison.SEED_ATTRIBUTES.values() for axis in group]
    assert sorted(axes) == sorted(comparison.CHANGE_AXES)  # every axis answers one of the seed's items


def test_shifts_pair_models_by_prompt_and_see_a_change_in_refusal():
    """A model that hands every advice decision to an adviser, against one that never does: the
    refusal axis moves by 1 on every advice prompt (beyond the noise); an axis neither model moves
    stays at 0 (within it)."""
    from tutor.world import prompts_for
    from tutor.world.facts import CONCEPTS

    advice = [p for p in prompts_for("test") if p.kind == "advice"][:3]
    by_key = {c.key: c for c in CONCEPTS}

    def answer(prompt, defer: bool) -> str:
        concept = by_key[prompt.concept]
        adviser = next(s for s in concept.cautions if "adviser" in s)
        other = next(s for s in concept.cautions[1:] if "adviser" not in s)
        return " ".join([concept.cautions[0], concept.retail_defs[0], adviser if defer else other])

    prompts = [p.text for p in advice for _ in range(2)]
    never = Samples(prompts, [answer(parse_prompt(p), False) for p in prompts], [True] * 6)
    always = Samples(prompts, [answer(parse_prompt(p), True) for p in prompts], [True] * 6)
    shifted = comparison.shifts({"SFT": never, "deferring": always})
    diff, half, k = shifted["deferring"]["refusal on advice"]
    assert (diff, half, k) == (1.0, 0.0, 3)
    assert shifted["deferring"]["correctness"][:2] == (0.0, 0.0)
    lines = comparison.shift_lines(shifted)
    assert len(lines) == 7
    refusal = next(line for line in lines if line.startswith("refusal behaviour"))
    assert "deferring +1.00 ± 0.00 (beyond the noise)" in refusal
    assert "(within the noise)" in next(line for line in lines if line.startswith("helpfulness"))
    with pytest.raises(TutorError, match="baseline 'SFT'"):
        comparison.shifts({"deferring": always})


def test_t_quantile_is_exact_where_tabulated_and_close_beyond():
    from tutor.labs.comparison.changes import t_975

    assert t_975(4) == pytest.approx(2.776)
    assert t_975(34) == pytest.approx(2.032, abs=0.003)  # 35 held-out prompts
    assert t_975(14) == pytest.approx(2.145, abs=0.003)
    assert t_975(11) == pytest.approx(2.201, abs=0.003)
