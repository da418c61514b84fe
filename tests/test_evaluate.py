"""The win-rate every stage reports."""

import pytest

from tutor import TutorError
from tutor.evaluate import win_rate
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
    expected = sum(
        1.0 if judge.score(prompt, a) > judge.score(prompt, b) else 0.5 if judge.score(prompt, a) == judge.score(prompt, b) else 0.0
        for a in policy for b in baseline
    ) / 4
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
    outcome = [1.0 if score(p, a) > score(p, b) else 0.5 if score(p, a) == score(p, b) else 0.0
               for p, a, b in zip(prompts, texts, baseline, strict=True)]
    mixed = [1.0 if score(p, a) > score(q, b) else 0.5 if score(p, a) == score(q, b) else 0.0
             for p, a in zip(prompts, texts, strict=True) for q, b in zip(prompts, baseline, strict=True)]
    assert sum(outcome) / 4 != pytest.approx(sum(mixed) / 16), "comparing across prompts must give another number here"
    assert win_rate(judge, prompts, texts, baseline) == pytest.approx(sum(outcome) / 4)


def test_mismatched_lengths_are_one_clear_sentence(judge):
    with pytest.raises(TutorError, match="equally many"):
        win_rate(judge, ["a", "b"], ["x"], ["y", "z"])
    with pytest.raises(TutorError, match="at least one"):
        win_rate(judge, [], [], [])
