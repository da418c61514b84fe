"""The toy world: deterministic data, an analyser that reads styles back, an honest annotator."""

import random

import pytest

from tutor import TutorError
from tutor.world import (
    PERSONAS,
    GoldAnnotator,
    Style,
    all_prompts,
    analyse,
    candidate_pairs,
    compose,
    get_persona,
    parse_prompt,
    pretraining_corpus,
    prompts_for,
    sft_examples,
)
from tutor.world.answers import random_sft_style
from tutor.world.facts import (
    CAUTION_MARKERS,
    CONCEPTS,
    QUANT_MARKERS,
    RETAIL_MARKERS,
    RISKY_MARKERS,
)


def test_generators_are_deterministic_and_seed_sensitive():
    assert pretraining_corpus(50, seed=3) == pretraining_corpus(50, seed=3)
    assert pretraining_corpus(50, seed=3) != pretraining_corpus(50, seed=4)
    a, b = sft_examples(30, seed=1), sft_examples(30, seed=1)
    assert [x["completion"] for x in a] == [x["completion"] for x in b]
    assert candidate_pairs(20, seed=2) == candidate_pairs(20, seed=2)
    pairs = candidate_pairs(3000, seed=0)
    assert len(set(pairs)) == len(pairs) == 3000  # no pair twice: a labeler would refuse it


def test_train_and_test_prompts_are_disjoint_and_cover_every_concept():
    train, test = prompts_for("train"), prompts_for("test")
    assert not {p.text for p in train} & {p.text for p in test}
    assert {p.concept for p in test} == {c.key for c in CONCEPTS}
    assert {p.text for p in sft_examples(300, split="train") for p in [parse_prompt(p["prompt"])]} <= {
        p.text for p in train
    }


def test_parse_prompt_recovers_concept_audience_and_kind():
    for p in all_prompts():
        q = parse_prompt(p.text)
        assert (q.concept, q.audience, q.kind) == (p.concept, p.audience, p.kind), p.text
    assert parse_prompt("Explain a zero-coupon bond.").concept == "zero_coupon"  # not "coupon"


def test_marker_invariants_of_the_fact_bank():
    """Retail sentences read as retail, quant as quant, cautions as safe, risky as risky."""

    def hits(text, markers):
        return sum(m in text.lower() for m in markers)

    for c in CONCEPTS:
        for s in c.retail_defs + c.retail_more:
            assert hits(s, RETAIL_MARKERS) and not hits(s, QUANT_MARKERS), s
        for s in c.quant_defs + c.quant_more:
            assert hits(s, QUANT_MARKERS) and not hits(s, RETAIL_MARKERS), s
        for s in c.cautions:
            assert hits(s, CAUTION_MARKERS) and not hits(s, RISKY_MARKERS), s
        for s in c.risky:
            assert hits(s, RISKY_MARKERS) and not hits(s, CAUTION_MARKERS), s


def test_analyser_reads_back_the_style_the_generator_wrote():
    rng = random.Random(7)
    prompts = prompts_for("train")
    for _ in range(500):
        p = rng.choice(prompts)
        style = random_sft_style(rng)
        prof = analyse(compose(p, style, rng), p)
        assert (prof.politeness > 0) == (style.politeness == "polite")
        assert (prof.audience > 0) == (style.audience == "quant")
        assert prof.on_topic and prof.myths == 0 and prof.fluent and not prof.degenerate
        if p.kind == "advice":
            assert (prof.safety > 0) == (style.safety == "cautious")


def test_analyser_flags_flaws():
    p = parse_prompt("Explain convexity.")
    rng = random.Random(0)
    wrong = analyse(compose(p, Style(flaw="wrong"), rng), p)
    assert wrong.myths == 1 and wrong.correctness == 0.0
    rude = analyse(compose(p, Style(politeness="rude"), rng), p)
    assert rude.politeness < 0
    loop = analyse(compose(p, Style(flaw="repetitive"), rng), p)
    assert loop.degenerate and loop.repetition > 0.3
    off = analyse(compose(p, Style(flaw="off_topic"), rng), p)
    assert not off.on_topic and off.other_facts >= 1
    assert analyse("", p).degenerate
    risky = analyse(compose(parse_prompt("Should I put my savings in junk bonds?"), Style(safety="risky"), rng))
    assert risky.safety < 0


def test_analyser_tolerates_a_slightly_garbled_copy_of_a_fact():
    garbled = (
        "Convexity describes how a bond's price curve bends as rates change, so the price does not move along a line."
    )
    assert analyse(garbled, "Explain convexity.").facts == 1


def test_empirical_label_accuracy_matches_bayes_accuracy():
    ann = GoldAnnotator("riley", seed=11)
    pairs = candidate_pairs(3000, seed=5)
    agree = sum(ann.label(p, a, b) == int(ann.score(p, a) > ann.score(p, b)) for p, a, b in pairs)
    bayes = ann.bayes_accuracy(pairs)
    assert 0.6 < bayes < 0.99
    assert abs(agree / len(pairs) - bayes) < 0.025  # ~3 standard errors at n = 3000


def test_lower_temperature_means_a_higher_ceiling():
    pairs = candidate_pairs(500, seed=1)
    assert GoldAnnotator("riley", temperature=0.3).bayes_accuracy(pairs) > GoldAnnotator("riley").bayes_accuracy(pairs)
    exact = GoldAnnotator("riley", temperature=0)
    ties = sum(exact.score(p, a) == exact.score(p, b) for p, a, b in pairs) / len(pairs)
    assert exact.bayes_accuracy(pairs) == pytest.approx(1.0 - ties / 2)  # a noiseless judge: only ties are coin flips


def test_personas_disagree_on_style_and_agree_on_what_is_bad():
    riley, quinn = GoldAnnotator("riley"), GoldAnnotator("quinn")
    p = parse_prompt("Explain duration.")
    rng = random.Random(3)
    short_retail = compose(p, Style("polite", "concise", "retail"), rng)
    long_quant = compose(p, Style("curt", "verbose", "quant"), rng)
    assert riley.score(p, short_retail) > riley.score(p, long_quant)
    assert quinn.score(p, long_quant) > quinn.score(p, short_retail)
    for flaw_style in (Style(flaw="wrong"), Style(politeness="rude"), Style(flaw="repetitive")):
        bad = compose(p, flaw_style, rng)
        for ann, good in ((riley, short_retail), (quinn, long_quant)):
            assert ann.score(p, good) > ann.score(p, bad)
    advice = parse_prompt("Should I borrow money to buy bonds?")
    for ann in (riley, quinn):
        careful = compose(advice, Style("curt", "concise", "retail", "cautious"), rng)
        reckless = compose(advice, Style("curt", "concise", "retail", "risky"), rng)
        assert ann.score(advice, careful) > ann.score(advice, reckless)


def test_a_stated_audience_overrides_the_persona_lean():
    riley = GoldAnnotator("riley")
    p = parse_prompt("Explain convexity for a quant.")
    rng = random.Random(2)
    quant = compose(p, Style("polite", "concise", "quant"), rng)
    retail = compose(p, Style("polite", "concise", "retail"), rng)
    assert riley.score(p, quant) > riley.score(p, retail)


def test_scores_any_text():
    score = GoldAnnotator("quinn").score("Explain convexity.", "I like turtles very much, they are green.")
    assert isinstance(score, float)


def test_bad_input_is_one_clear_sentence():
    with pytest.raises(TutorError, match="Unknown persona 'bob'; choose one of: riley, quinn"):
        GoldAnnotator("bob")
    with pytest.raises(TutorError, match="Unknown persona setting"):
        get_persona("riley").with_(kindness=2)
    with pytest.raises(TutorError, match="Unknown attribute"):
        from tutor.world.analyser import check_attribute

        check_attribute("funniness")
    with pytest.raises(TutorError, match="temperature"):
        GoldAnnotator("riley", temperature=-1)
    assert set(PERSONAS) == {"riley", "quinn"}
