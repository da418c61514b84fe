"""PPO vs DPO at equal label budgets (tutor.labs.comparison.budget): both methods learn the very
same labels, an arm is cached and not trained twice, the verdict's direction comes from the
interval of the difference, and bad arms are one sentence."""

import pytest

from tutor import TutorError
from tutor.labs.comparison import budget
from tutor.labs.comparison.budget import Arm


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"regime": "both"}, r"Arm.regime must be one of 'offline', 'online', got 'both'"),
        ({"method": "rloo"}, r"Arm.method must be one of 'ppo', 'dpo', got 'rloo'"),
        ({"labels": 8}, r"Arm.labels must be a whole number ≥ 16, got 8"),
        ({"seed": 1.5}, r"Arm.seed must be a whole number ≥ 0, got 1.5"),
        ({"seed": "1"}, r"Arm.seed must be a whole number ≥ 0, got '1'"),
        ({"beta": 0}, r"Arm.beta must be a finite number > 0, or None, got 0"),
        ({"regime": "online", "rounds": 1}, r"Arm.rounds must be a whole number ≥ 2, got 1"),
        ({"regime": "online", "labels_per_round": 4}, r"Arm.labels_per_round must be a whole number ≥ 16, got 4"),
    ],
)
def test_a_bad_arm_is_one_sentence_naming_the_setting(changes, message):
    with pytest.raises(TutorError, match=message):
        Arm(**changes)


def test_both_methods_of_a_regime_are_allowed_the_same_labels():
    for regime in budget.REGIMES:
        ppo, dpo = (Arm(regime, method, 500, labels_per_round=200, rounds=3) for method in ("ppo", "dpo"))
        assert ppo.annotator_labels == dpo.annotator_labels
        assert ppo.name != dpo.name
    assert Arm("offline", labels=500).annotator_labels == 500
    assert Arm("online", labels=500, labels_per_round=200, rounds=3).annotator_labels == 900


class _Stop(Exception):
    pass


def test_ppos_reward_model_and_dpo_train_on_the_very_same_pairs(fast_course, monkeypatch):
    """The offline regime's point: one fixed set of labels, the reward model's data and DPO's."""
    import tutor.dpo
    import tutor.reward

    seen = {}

    def reward_train(course, settings, data=None, **kwargs):
        seen["ppo"] = [dict(row) for row in data]
        raise _Stop

    def dpo_build(course, where, settings=None, pairs=None, **kwargs):
        seen["dpo"] = [dict(row) for row in pairs]
        seen["dpo_settings"] = settings
        raise _Stop

    monkeypatch.setattr(tutor.reward, "train", reward_train)
    monkeypatch.setattr(tutor.dpo, "build_stage", dpo_build)
    for method in ("ppo", "dpo"):
        with pytest.raises(_Stop):
            budget.train_arm(fast_course, Arm("offline", method, 40, seed=int(method == "dpo")))
    assert len(seen["ppo"]) > 30 and seen["ppo"] == seen["dpo"]
    assert seen["dpo_settings"].data == "gold" and not seen["dpo_settings"].use_learner_labels


def test_online_dpo_labels_pairs_of_two_fresh_answers_like_ppos_refreshes(fast_course, monkeypatch):
    import tutor.dpo

    def dpo_build(course, where, settings=None, pairs=None, **kwargs):
        raise _Stop(settings)

    monkeypatch.setattr(tutor.dpo, "build_stage", dpo_build)
    with pytest.raises(_Stop) as stopped:
        budget.train_arm(fast_course, Arm("online", "dpo", 40, labels_per_round=24, rounds=3))
    settings = stopped.value.args[0]
    assert (settings.data, settings.answers_per_prompt, settings.n_pairs, settings.rounds) == ("on_policy", 2, 24, 3)


def test_arms_train_once_then_come_from_the_cache_with_the_same_measurements(fast_course, monkeypatch):
    records = {m: budget.arm_record(fast_course, Arm("offline", m, 32)) for m in ("ppo", "dpo")}
    for method, record in records.items():
        m = record["metrics"]
        assert m["annotator_labels"] == 32, method
        assert m["kl"] >= 0 and 0 <= m["gold_win_rate_vs_sft"] <= 1
        assert (budget.folder(fast_course, Arm("offline", method, 32)) / "samples.jsonl").exists()
    assert 0.3 < records["ppo"]["metrics"]["reward_accuracy"] <= 1

    def no_training(*args, **kwargs):
        raise AssertionError("a cached arm was trained again")

    monkeypatch.setattr(budget, "train_arm", no_training)
    assert budget.arm_record(fast_course, Arm("offline", "dpo", 32)) == records["dpo"]
    assert budget.arm_record(fast_course, Arm("offline", "dpo", 32, seed=5), train=False) is None


def _record(method, seed, win, regime="offline", labels=1000, beta=0.1):
    arm = Arm(regime, method, labels, seed, labels_per_round=500, rounds=3)
    metrics = {"gold_win_rate_vs_sft": win, "kl": 2.0 + seed, "gold": 1.0, "beta": beta}
    metrics["annotator_labels"] = arm.annotator_labels
    if method == "ppo":
        metrics["reward_accuracy"] = 0.7
    return {"arm": vars(arm), "name": arm.name, "seconds": 10.0 + seed, "peak_rss_mb": 900.0, "metrics": metrics}


def _rows(ppo_wins, dpo_wins):
    records = [_record("ppo", s, w) for s, w in enumerate(ppo_wins)]
    records += [_record("dpo", s, w) for s, w in enumerate(dpo_wins)]
    rows = {r["method"]: r for r in budget.summarise_arms(records)}
    return rows["ppo"], rows["dpo"]


def test_summary_groups_seeds_with_their_interval():
    ppo, dpo = _rows([0.70, 0.74, 0.78], [0.80, 0.81, 0.82])
    assert ppo["seeds"] == [0, 1, 2] and ppo["win_rate"] == pytest.approx(0.74)
    low, high = ppo["win_interval"]
    assert low < 0.74 < high and high - low == pytest.approx(2 * 4.303 * 0.04 / 3**0.5)
    assert ppo["kl"] == pytest.approx(3.0) and ppo["seconds_median"] == 11.0
    assert "reward_accuracy" in ppo and "reward_accuracy" not in dpo


def test_verdict_calls_a_difference_only_beyond_the_seeds_noise():
    close = budget.verdict(*_rows([0.78, 0.80, 0.82], [0.79, 0.81, 0.84]))
    assert close.endswith("no measurable difference.")
    assert "PPO 80% ± 2" in close and close.startswith("At 1,000 labels (offline, seeds 0, 1, 2)")
    apart = budget.verdict(*_rows([0.60, 0.61, 0.62], [0.80, 0.81, 0.82]))
    assert apart.endswith("DPO is higher, beyond the seeds' noise.")
    assert "+" in apart.split("DPO − PPO:")[1]
    reverse = budget.verdict(*_rows([0.80, 0.81, 0.82], [0.60, 0.61, 0.62]))
    assert reverse.endswith("PPO is higher, beyond the seeds' noise.")
    ppo, dpo = _rows([0.78, 0.80, 0.82], [0.79, 0.81, 0.84])
    uneven = budget.verdict(ppo, {**dpo, "annotator_labels": 977})  # online: repeated answers go unlabelled
    assert uneven.startswith("At 1,000 (PPO) and 977 (DPO) labels (offline")


def test_online_gains_compare_each_methods_regimes():
    records = [_record("ppo", s, w) for s, w in enumerate([0.60, 0.61, 0.62])]
    records += [_record("ppo", s, w, regime="online") for s, w in enumerate([0.80, 0.81, 0.82])]
    records += [_record("dpo", s, w, beta=0.2) for s, w in enumerate([0.70, 0.72, 0.74])]
    summary = budget.summarise_arms(
        [{**r, "metrics": {**r["metrics"], "beta": 0.05}} if r["arm"]["method"] == "ppo" else r for r in records]
    )
    (line,) = budget.online_gains(summary)  # DPO has no online runs: no line for it
    assert line.startswith("PPO: offline 61%") and line.endswith("online is higher, beyond the seeds' noise.")


def test_a_difference_needs_two_seeds_a_side():
    with pytest.raises(TutorError, match="at least 2 seeds on each side"):
        budget.difference_interval([0.8], [0.7, 0.75])
