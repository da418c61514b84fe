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
