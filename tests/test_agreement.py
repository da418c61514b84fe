"""Agreement: κ against hand-computed and textbook values, the majority rule, persona agreement."""

from __future__ import annotations

import math

import pytest

from tutor.errors import TutorError
from tutor.labeling import cohen_kappa, fleiss_kappa, majority
from tutor.labeling.agreement import Agreement, agreement_table, persona_agreement
from tutor.world import GoldAnnotator, candidate_pairs


def test_cohen_kappa_textbook_example():
    # 50 items: both yes 20, first yes / second no 5, first no / second yes 10, both no 15.
    # p_o = 35/50 = 0.7; p_e = 0.5·0.6 + 0.5·0.4 = 0.5; κ = (0.7 − 0.5)/(1 − 0.5) = 0.4
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(first, second) == pytest.approx(0.4)


def test_cohen_kappa_three_labels_by_hand():
    x = ["a", "a", "a", "a", "b", "b", "b", "tie", "tie", "a"]
    y = ["a", "a", "b", "a", "b", "b", "a", "tie", "b", "a"]
    # p_o = 7/10; counts x: a5 b3 tie2, y: a5 b4 tie1; p_e = (25 + 12 + 2)/100 = 0.39
    assert cohen_kappa(x, y) == pytest.approx((0.7 - 0.39) / (1 - 0.39))
    assert cohen_kappa(x, x) == pytest.approx(1.0)
    assert math.isnan(cohen_kappa(["a", "a"], ["a", "a"]))  # chance agreement is already perfect
    with pytest.raises(TutorError, match="same length"):
        cohen_kappa(["a"], ["a", "b"])


def test_fleiss_kappa_textbook_example():
    # Fleiss' worked example (as on Wikipedia): 10 items, 14 raters, 5 categories.
    # p_j = 20/140, 28/140, 39/140, 21/140, 32/140; P̄ = 0.378; P̄_e = 0.2128; κ ≈ 0.210
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    p_bar = 0.378
    p_e = sum((c / 140) ** 2 for c in (20, 28, 39, 21, 32))
    assert fleiss_kappa(table) == pytest.approx((p_bar - p_e) / (1 - p_e), abs=1e-3)
    assert fleiss_kappa(table) == pytest.approx(0.210, abs=1e-3)


def test_fleiss_kappa_with_different_numbers_of_raters_by_hand():
    table = [[2, 0, 0], [1, 1, 0], [3, 0, 0], [1, 1, 1], [0, 2, 1], [1, 0, 0]]
    # last item has one rating: left out. P_i = 1, 0, 1, 0, 1/3 → P̄ = 7/15;
    # shares 7/13, 4/13, 2/13 → P_e = 69/169; κ = (7/15 − 69/169)/(1 − 69/169) = 148·169/253500
    assert fleiss_kappa(table) == pytest.approx(148 * 169 / 253500)
    assert fleiss_kappa([[3, 0], [0, 3]]) == pytest.approx(1.0)
    with pytest.raises(TutorError, match="two or more"):
        fleiss_kappa([[1, 0], [0, 1]])


def test_majority_rule():
    assert majority(["a", "a", "b"]) == "a"
    assert majority(["a", "b"]) == "tie"
    assert majority(["a", "a", "tie", "tie", "b"]) == "tie"  # shared first place
    assert majority(["tie", "tie", "a", "skip", "skip", "skip"]) == "tie"  # skips are not votes
    assert majority(["b", "skip"]) == "b"
    assert majority(["skip", "skip"]) is None


def test_persona_agreement_and_its_table():
    pairs = candidate_pairs(20, seed=8)
    riley = GoldAnnotator("riley")
    records = [
        {"prompt": p, "a": a, "b": b, "label": "a" if riley.score(p, a) > riley.score(p, b) else "b"}
        for p, a, b in pairs
        if riley.score(p, a) != riley.score(p, b)
    ]
    records.append({"prompt": "p", "a": "x", "b": "y", "label": "tie"})  # not an A/B choice
    result = persona_agreement(records, ("riley", "quinn"))
    assert result["riley"] == Agreement("riley", len(records) - 1, len(records) - 1)
    table = agreement_table(result)
    assert list(table.index) == ["riley", "quinn"] and list(table.columns) == ["agree", "of", "agreement"]
    assert table.loc["riley", "agreement"] == 1.0
    assert table.loc["quinn", "of"] == result["quinn"].total
