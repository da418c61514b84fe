"""The seed's PPO-vs-DPO table: code counting, seed statistics, the cells."""

import pytest

from tutor import TutorError
from tutor.labs import comparison


def test_code_lines_skips_blanks_comments_and_docstrings(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(
        '"""Module docstring\nover two lines."""\n\n'
        "import os  # a comment\n"
        "# a whole-line comment\n"
        "def f(x):\n"
        '    """Doc."""\n'
        "    y = (x +\n"
        "         1)\n"
        "    return y\n"
    )
    assert comparison.code_lines(path) == 5  # import, def, two lines of y = ..., return


def test_implementation_lines_counts_our_dpo_module_and_trl():
    lines = comparison.implementation_lines()
    assert lines["dpo"]["ours"] > 50
    assert lines["dpo"]["library"] > lines["dpo"]["ours"]


def _record(method, seed, win, kl, seconds, rss=None):
    return {
        "method": method,
        "seed": seed,
        "seconds": seconds,
        "peak_rss_mb": rss,
        "metrics": {
            "gold_win_rate_vs_sft": win,
            "kl": kl,
            "episodes": 960,
            "parameters": {"policy": 10, "reference": 10, "reward": 10, "value": 10},
        },
    }


def test_summarise_gives_mean_and_sample_spread():
    s = comparison.summarise([_record("dpo", i, w, 1.0, 10.0 + i, 500) for i, w in enumerate([0.6, 0.7, 0.8])])
    assert s["win"] == pytest.approx(0.7) and s["win_sd"] == pytest.approx(0.1)
    assert s["win_range"] == (0.6, 0.8) and s["seconds"] == pytest.approx(11.0) and s["peak_rss_mb"] == 500
    low, high = s["win_interval"]
    assert low == pytest.approx(0.7 - 4.303 * 0.1 / 3**0.5) and high == pytest.approx(0.7 + 4.303 * 0.1 / 3**0.5)
    assert s["seconds_median"] == 11.0 and s["seconds_range"] == (10.0, 12.0)


def test_wall_time_is_a_median_that_one_slow_run_does_not_move():
    s = comparison.summarise([_record("dpo", i, 0.7, 1.0, t) for i, t in enumerate([40.0, 42.0, 120.0])])
    cell = comparison.table.wall_time(s)
    assert cell.startswith("42 s median, 40–120 s over 3 runs") and "load" in cell
    assert comparison.table.win_rate_cell(comparison.summarise([_record("dpo", 0, 0.7, 1.0, 5.0)])).endswith(
        "(one seed: no interval)"
    )
    with pytest.raises(TutorError):
        comparison.summarise([])


def test_describe_run_is_one_line_with_win_rate_kl_and_time():
    line = comparison.describe_run(_record("ppo", 0, 0.5, 2.414, 5.4))
    assert line == "PPO seed 0: win-rate over SFT 50%, KL 2.41, 5 s"


def test_comparison_table_fills_every_row_for_both_methods():
    dpo = [_record("dpo", i, 0.7 + 0.01 * i, 2.0, 30.0, 600) for i in range(3)]
    ppo = [_record("ppo", i, 0.6 + 0.05 * i, 4.0, 90.0, 900) for i in range(3)]
    reward = {"seconds": 20.0, "metrics": {"accuracy": 0.8}}
    table = comparison.comparison_table(ppo, dpo, reward)
    assert list(table.columns) == ["PPO (RLHF)", "DPO"]
    for row in (
        "reward model",
        "RL loop",
        "stability (win-rate across seeds)",
        "compute cost (wall time)",
        "implementation (lines of code)",
        "models in memory",
        "gold win-rate over SFT",
        "KL to SFT (nats per answer)",
    ):
        assert row in table.index and all(isinstance(v, str) and v for v in table.loc[row])
    assert "65% ± 5% over 3 seeds" in table.loc["stability (win-rate across seeds)", "PPO (RLHF)"]
    assert "900 MB" in table.loc["peak memory (training process)", "PPO (RLHF)"]
    assert "4:" in table.loc["models in memory", "PPO (RLHF)"] and "2:" in table.loc["models in memory", "DPO"]
    only_dpo = comparison.comparison_table(None, dpo)
    assert list(only_dpo.columns) == ["DPO"]


def test_the_table_counts_the_annotator_labels_each_method_used():
    dpo = [_record("dpo", 0, 0.8, 5.0, 100.0)]
    dpo[0]["metrics"].update(rounds=[{"labels": 2400}] * 3, annotator_labels=7200)
    table = comparison.comparison_table(
        [_record("ppo", 0, 0.7, 3.0, 40.0)], dpo, {"seconds": 20.0, "metrics": {"n_train_pairs": 1000}}
    )
    assert table.loc["annotator labels used", "PPO (RLHF)"].startswith("1000 ")
    assert table.loc["annotator labels used", "DPO"].startswith("7200 ")
    assert "3 rounds" in table.loc["RL loop", "DPO"]


def test_the_table_counts_tokens_trained_on_and_says_when_a_run_did_not():
    ppo = [_record("ppo", i, 0.7, 3.0, 40.0) for i in range(2)]
    for record, tokens in zip(ppo, (1_200_000, 1_400_000), strict=True):
        record["metrics"]["trained_tokens"] = tokens
    dpo = [_record("dpo", 0, 0.8, 5.0, 100.0)]  # a record from before the count existed
    table = comparison.comparison_table(ppo, dpo)
    assert table.loc["tokens trained on", "PPO (RLHF)"] == "1.30 M (mean of 2 runs)"
    assert table.loc["tokens trained on", "DPO"].startswith("not recorded")
