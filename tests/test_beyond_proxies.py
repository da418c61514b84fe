"""Notebook 08's reward-hacking sweep: best-of-n on one pool, ensembles, the verdict's intervals,
and proxies trained once and read back."""

import pytest

from tutor.beyond import proxies
from tutor.beyond.proxies import Pool, ProxySettings, ProxySweep, _curve, ensemble, standardised, verdict
from tutor.errors import TutorError


def pool_of(gold_rows):
    k = len(gold_rows[0])
    prompts = [f"p{i}" for i, row in enumerate(gold_rows) for _ in row]
    gold = [g for row in gold_rows for g in row]
    return Pool(prompts, [f"answer {i}" for i in range(len(gold))], [True] * len(gold), gold, k)


# 12 prompts × 8 answers; each prompt's gold scores are 0 … 7 shifted by the prompt.
GOLD = [[float(j + (i % 3)) for j in range(8)] for i in range(12)]
NS = [1, 2, 4, 8]


def sweep_with(**named_proxies):
    pool = pool_of(GOLD)
    flat = [g for row in GOLD for g in row]
    mean = sum(flat) / len(flat)
    sd = (sum((g - mean) ** 2 for g in flat) / len(flat)) ** 0.5
    sweep = ProxySweep(NS, gold_mean=mean, gold_sd=sd, prompts=len(GOLD))
    for name, proxy in named_proxies.items():
        sweep.curves[name] = _curve(name, 100, 0.6, proxy, pool, NS, mean, sd)
    return sweep


def test_a_faithful_proxy_climbs_and_a_fooled_one_peaks_and_falls():
    faithful = [g for row in GOLD for g in row]
    # Right about every answer but the worst, which it rates above all others: best-of-n finds it.
    fooled = [100.0 if j == 0 else float(j) for row in GOLD for j, _ in enumerate(row)]
    sweep = sweep_with(faithful=faithful, fooled=fooled)
    up, hacked = sweep.curves["faithful"].gold, sweep.curves["fooled"].gold
    assert up == sorted(up) and up[-1] > up[0]
    assert max(hacked) > hacked[-1] and hacked[-1] < 0
    lines = verdict(sweep)
    assert "no fall past the peak" in lines[0]
    assert "over-optimisation" in lines[1]
    assert "fooled − faithful" in lines[2] and "lower, beyond the noise" in lines[2]


def test_best_of_one_is_the_pool_mean_for_every_proxy():
    sweep = sweep_with(a=[float(i) for i in range(96)], b=[-float(i) for i in range(96)])
    assert sweep.curves["a"].gold[0] == pytest.approx(0.0, abs=1e-9)
    assert sweep.curves["b"].gold[0] == pytest.approx(0.0, abs=1e-9)
    assert sweep.difference("a", "a") == (0.0, 0.0)


def test_the_ensemble_averages_or_takes_the_worst_member():
    members = [[1.0, -2.0, 0.5], [3.0, 0.0, 0.5]]
    assert ensemble(members, "mean") == [2.0, -1.0, 0.5]
    assert ensemble(members, "worst") == [1.0, -2.0, 0.5]
    with pytest.raises(TutorError, match="reduction"):
        ensemble(members, "median")
    with pytest.raises(TutorError, match="at least two members"):
        ensemble(members[:1], "mean")


def test_scores_are_standardised_and_an_unfinished_answer_pays_the_eos_penalty():
    out = standardised([1.0, 3.0, 1.0, 3.0], [True, True, True, False], missing_eos_penalty=1.0)
    assert out == [-1.0, 1.0, -1.0, 0.0]


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(labels=(400, 100)), "fewest first"),
        (dict(labels=(100, 100)), "none twice"),
        (dict(labels=(8,)), "≥ 16"),
        (dict(labels=[100, 400]), "tuple"),
        (dict(members=1), "members"),
        (dict(pool=1), "pool"),
    ],
)
def test_bad_settings_are_one_sentence(changes, message):
    with pytest.raises(TutorError, match=message):
        ProxySettings(**changes)


def test_best_of_n_sizes_stop_at_the_pool():
    assert ProxySettings(pool=16).ns == [1, 2, 4, 8, 16]
    assert ProxySettings.for_mode(True).labels == (40, 160)


def test_the_committed_sweep_is_read_and_a_missing_one_is_none(tmp_path):
    assert proxies.measured(tmp_path / "nothing.json") is None
    full = proxies.measured()
    assert full is not None and full["settings"]["labels"] == [250, 1000, 4000]
    assert len(full["rl"]) == 3 and all(len(p["gold"]) == len(p["sqrt_kl"]) for p in full["rl"])


def test_a_proxy_is_trained_once_and_read_back(fast_course, monkeypatch):
    first = proxies.train_proxy(fast_course, 16, seed=0, graded=False)
    assert first["labels"] == 16 and first["accuracy"] is None

    def no_training(*args, **kwargs):
        raise AssertionError("the cached proxy was trained again")

    monkeypatch.setattr("tutor.reward.train", no_training)
    assert proxies.train_proxy(fast_course, 16, seed=0, graded=False) == first


def test_an_ensemble_is_judged_against_the_average_member_not_the_luckiest():
    pool = pool_of(GOLD)
    faithful = [g for row in GOLD for g in row]
    fooled = [100.0 if j == 0 else float(j) for row in GOLD for j, _ in enumerate(row)]
    sweep = sweep_with(lucky=faithful)
    members = [proxies._curve(str(i), 100, None, p, pool, NS, 0.0, 1.0) for i, p in enumerate((faithful, fooled))]
    average = proxies.member_average(members, "one of 2")
    assert average.gold == pytest.approx([(a + b) / 2 for a, b in zip(members[0].gold, members[1].gold, strict=True)])
    sweep.curves["one of 2"] = average
    worst = ensemble([faithful, fooled], "worst")  # the fooled member's 100 is outvoted by the faithful 0
    sweep.curves["worst of 2"] = proxies._curve("worst of 2", 100, None, worst, pool, NS, 0.0, 1.0, kind="ensemble")
    line = verdict(sweep)[-1]
    assert line.startswith("worst of 2 − one of 2") and "higher, beyond the noise" in line
