"""Notebook 08's domain section: the compliance reviewer, the checks a reviewer signs off on, and
their intervals."""

import pytest

from tutor.beyond import domain
from tutor.errors import TutorError
from tutor.world import CASEY, GoldAnnotator, get_persona, prompts_for
from tutor.world.facts import CONCEPTS_BY_KEY


@pytest.fixture(scope="module")
def advice():
    prompt = next(p for p in prompts_for("test") if p.kind == "advice")
    concept = CONCEPTS_BY_KEY[prompt.concept]
    return prompt.text, concept


def test_the_reviewer_is_a_persona_and_cares_about_caveats_more_than_the_customer(advice):
    prompt, concept = advice
    assert get_persona("casey") is CASEY
    careful, reckless = concept.cautions[0], concept.risky[0]
    casey, riley = GoldAnnotator("casey"), GoldAnnotator("riley")
    casey_gap = casey.score(prompt, careful) - casey.score(prompt, reckless)
    riley_gap = riley.score(prompt, careful) - riley.score(prompt, reckless)
    assert casey_gap > riley_gap > 0
    with pytest.raises(TutorError, match="casey"):
        get_persona("compliance")


def test_the_checks_count_caveats_deferrals_reckless_advice_and_guarantees(advice):
    prompt, concept = advice
    texts = [concept.cautions[0], concept.risky[0], "Bonds are guaranteed to pay you back, so go ahead."]
    texts.append("Ask a licensed financial advisor before you decide.")
    c = domain.compliance([prompt] * 4, texts)
    assert c["advice answers"] == 4 and c["caveated"] == 1  # "advisor" is not the world's caveat marker
    assert c["defers"] == 1 + ("adviser" in texts[0])  # but either spelling defers the decision
    assert c["reckless"] >= 2 and c["guarantees"] == 1
    assert c["casey score"] < GoldAnnotator("casey").score(prompt, concept.cautions[0])
    with pytest.raises(TutorError, match="one answer per prompt"):
        domain.compliance([prompt], [])


def test_shares_carry_their_interval_and_the_verdict_reads_it():
    assert domain.share(0, 0) == (0.0, 0.0, 1.0)
    p, lo, hi = domain.share(0, 20)
    assert p == 0 and lo == 0 and 0.1 < hi < 0.2  # none of 20 does not mean none at all
    p, lo, hi = domain.share(5, 10)
    assert p == 0.5 and lo == pytest.approx(1 - hi) and 0.2 < lo < 0.3
    scores = {"casey score": 1.0, "casey half-width": 0.2, "riley score": 1.0, "riley half-width": 0.2}
    base = {"answers": 100, "advice answers": 100, "caveated": 10, "reckless": 5, "myths": 0, **scores}
    moved = {**base, "caveated": 60, "casey score": 1.5}
    base["defers"] = 3
    moved["defers"] = 3
    casey, riley, caveated, defers, reckless, myths = domain.verdict({"SFT": base, "aligned": moved}, "SFT", "aligned")
    assert casey.startswith("Casey's score") and "+0.50 ± 0.28: a change beyond the noise" in casey
    assert "no measurable change" in riley
    assert "caveated: SFT 10%, aligned 60%" in caveated and "beyond the noise" in caveated
    assert "no measurable change" in defers and "no measurable change" in reckless and "no measurable change" in myths


def test_bad_settings_are_one_sentence():
    with pytest.raises(TutorError, match="n_pairs"):
        domain.DomainSettings(n_pairs=4)
    with pytest.raises(TutorError, match="per_prompt"):
        domain.DomainSettings(per_prompt=0)
    assert domain.DomainSettings.for_mode(True).n_pairs < domain.DomainSettings().n_pairs


def test_without_the_real_model_installed_there_is_nothing_to_read(monkeypatch):
    monkeypatch.setattr("tutor.real_models.smollm2_gguf", lambda: None)
    assert domain.real_model_answers(domain.advice_prompts()) is None


def test_the_aligned_run_is_cached_until_the_settings_or_caseys_taste_change(fast_course, monkeypatch):
    """A changed reviewer (say, a weight on deferral) must not be answered by a model aligned to the
    old one: the cached run is rebuilt."""
    import tutor.dpo
    from tutor.world import REVIEWERS

    built = []

    def fake_build(course, where, settings, **kwargs):
        built.append(settings.persona)
        return {"kl": 0.5, "gold_win_rate_vs_sft": 0.6}

    monkeypatch.setattr(tutor.dpo, "build_stage", fake_build)
    settings = domain.DomainSettings.for_mode(True)
    first = domain.align(fast_course, settings)
    assert domain.align(fast_course, settings) == first and built == ["casey"]  # read back, not retrained
    monkeypatch.setitem(REVIEWERS, "casey", CASEY.with_(deferral=CASEY.deferral + 1))
    domain.align(fast_course, settings)
    assert len(built) == 2
    domain.align(fast_course, domain.DomainSettings.for_mode(True, n_pairs=20))
    assert len(built) == 3
