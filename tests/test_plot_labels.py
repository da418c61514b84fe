"""Plot legends show readable names, not the trainers' internal keys, and say what the faint and
bold lines are."""

from tutor.ui.dashboards import DPO_PANELS, PPO_PANELS
from tutor.ui.live_plot import LivePlot
from tutor.ui.live_plot.labels import SMOOTHING_NOTE, readable


def test_every_dashboard_metric_has_a_readable_name():
    for panels in (PPO_PANELS, DPO_PANELS):
        for metrics in panels.values():
            for key in metrics:
                assert readable(key) != key and "/" not in readable(key).split("(")[0], key


def test_legend_shows_readable_names_and_the_smoothing_note():
    plot = LivePlot({"reward": ["objective/scores", "objective/rlhf_reward"]}, title="t", smoothing=0.5, mode="final")
    for step in range(3):
        plot.log(step, {"objective/scores": float(step), "objective/rlhf_reward": step / 2})
    figure = plot.figure()
    names = {t.name for t in figure.data if t.showlegend}
    assert names == {"reward-model score", "score − β·KL (what PPO maximises)"}
    assert figure.layout.legend.title.text == SMOOTHING_NOTE


def test_unknown_keys_are_shown_as_they_are():
    assert readable("my_metric") == "my_metric"
