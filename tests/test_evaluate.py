"""The win-rate every stage reports."""

import pytest

from tutor import TutorError
from tutor.core.evaluation import win_rate
from tutor.world import GoldAnnotator, sft_examples

GOOD = "Thank you for asking! A bond is a loan you make to a company or a government, which pays you interest."


@pytest.fixture(scope="module")
def judge():
    return GoldAnnotator("riley")


def test_each_answer_meets_every_baseline_answer_to_its_prompt(judge):
    prompt = sft_examples(1, split="test")[0]["prompt"]
    texts = [GOOD, "Bonds.", "The weather is nice today and the garden is green."]
    scores = [judge.score(prompt, t) for t in texts]
    assert len(set(scores)) == 3, "the three answers must score differently for this test to mean anything"
    policy, baseline = [texts[0], texts[1]], [texts[1], texts[2]]
    expected = (
        sum(
            1.0
            if judge.score(prompt, a) > judge.score(prompt, b)
            else 0.5
            if judge.score(prompt, a) == judge.score(prompt, b)
            else 0.0
            for a in policy
            for b in baseline
        )
        / 4
    )
    got = win_rate(judge, [prompt, prompt], policy, baseline)
    assert got == pytest.approx(expected)
    # One-to-one pairing by index would give another number on these rows.
    paired = sum(judge.score(prompt, a) > judge.score(prompt, b) for a, b in zip(policy, baseline, strict=True)) / 2
    assert got != pytest.approx(paired)


def test_with_one_answer_per_prompt_it_is_the_one_to_one_win_rate(judge):
    examples = sft_examples(4, split="test")
    prompts = [e["prompt"] for e in examples]
    texts = [e["completion"] for e in examples]
    baseline = ["Bonds.", texts[1], "The weather is nice today.", texts[0]]  # a tie at row 1
    score = judge.score
    outcome = [
        1.0 if score(p, a) > score(p, b) else 0.5 if score(p, a) == score(p, b) else 0.0
        for p, a, b in zip(prompts, texts, baseline, strict=True)
    ]
    mixed = [
        1.0 if score(p, a) > score(q, b) else 0.5 if score(p, a) == score(q, b) else 0.0
        for p, a in zip(prompts, texts, strict=True)
        for q, b in zip(prompts, baseline, strict=True)
    ]
    assert sum(outcome) / 4 != pytest.approx(sum(mixed) / 16), "comparing across prompts must give another number here"
    assert win_rate(judge, prompts, texts, baseline) == pytest.approx(sum(outcome) / 4)


def test_mismatched_lengths_are_one_clear_sentence(judge):
    with pytest.raises(TutorError, match="equally many"):
        win_rate(judge, ["a", "b"], ["x"], ["y", "z"])
    with pytest.raises(TutorError, match="at least one"):
        win_rate(judge, [], [], [])


# Where a model wins and loses, by what the question asks for

GROUP_PROMPTS = [
    "Explain convexity for a quant.",
    "I am new to investing. What is duration?",
    "Explain convexity.",
    "Should I borrow money to buy bonds?",
]


def _styled(audiences):
    import random

    from tutor.world import Style, compose, parse_prompt

    return [
        compose(parse_prompt(p), Style("polite", "concise", a), random.Random(i))
        for i, (p, a) in enumerate(zip(GROUP_PROMPTS, audiences, strict=True))
    ]


def test_prompt_group_reads_what_the_question_asks_for():
    from tutor.core.evaluation import prompt_group

    assert [prompt_group(p) for p in GROUP_PROMPTS] == [
        "explain, asks for a quant",
        "explain, asks for a beginner",
        "explain, no audience named",
        "advice",
    ]


def test_by_prompt_group_finds_where_the_losses_are(judge):
    """Plain answers everywhere (Riley's taste) lose exactly on the question that asks for a quant."""
    from tutor.core.evaluation import by_prompt_group, written_for_quants
    from tutor.core.sampling import Samples

    fitting = Samples(GROUP_PROMPTS, _styled(["quant", "retail", "retail", "retail"]), [True] * 4)
    plain = Samples(GROUP_PROMPTS, _styled(["retail"] * 4), [True] * 4)
    assert written_for_quants(fitting.prompts, fitting.texts)["explain, asks for a quant"] == 1.0
    assert written_for_quants(plain.prompts, plain.texts)["explain, asks for a quant"] == 0.0
    groups = by_prompt_group(judge, plain, fitting)
    quant = groups["explain, asks for a quant"]
    # elsewhere the two answers are the same text: ties, half a loss each (3 × 0.5 against 1.0)
    assert quant["win-rate"] == 0.0 and quant["share of all losses"] == pytest.approx(1.0 / 2.5)
    assert all(g["win-rate"] == 0.5 for name, g in groups.items() if name != "explain, asks for a quant")
    assert quant["written for quants"] == 0.0 and quant["baseline written for quants"] == 1.0
    assert sum(g["answers"] for g in groups.values()) == 4
    assert sum(g["share of all losses"] for g in groups.values()) == pytest.approx(1.0)
    with pytest.raises(TutorError, match="same prompts"):
        by_prompt_group(judge, plain, Samples(GROUP_PROMPTS[::-1], plain.texts, [True] * 4))
