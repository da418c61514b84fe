"""LivePlot: throttling, bookkeeping, callbacks, runs, references, smoothing, modes, notebooks.

Frames are recorded by replacing `tutor.ui.live_plot.display.publish`; time is a fake clock, so
nothing sleeps and nothing asserts on speed (that lives in benchmarks/plot_overhead.py).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutor.errors import TutorError
from tutor.ui import LivePlot
from tutor.ui.live_plot import bundles, display, overlay, smooth
from tutor.ui.live_plot.bundles import MIME_PLOTLY
from tutor.ui.live_plot.labels import readable

REPO = Path(__file__).resolve().parents[1]
PLOTLYJS_BANNER = "* plotly.js v"  # the licence comment at the top of the inlined bundle
PANELS = {"reward": ["objective/scores", "gold"], "KL": ["objective/kl"], "loss": ["loss"]}


@dataclass
class Frame:
    bundle: dict
    metadata: dict
    display_id: str
    update: bool

    @property
    def final(self) -> bool:
        return self.metadata["tutor_liveplot"]["final"]

    @property
    def carries_plotlyjs(self) -> bool:
        return PLOTLYJS_BANNER in self.bundle.get("text/html", "")


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(autouse=True)
def _no_leftover_plots():
    yield
    display.PENDING.clear()


@pytest.fixture
def sent(monkeypatch) -> list[Frame]:
    frames: list[Frame] = []
    monkeypatch.setattr(display, "publish", lambda b, md, did, update: frames.append(Frame(b, md, did, update)))
    return frames


@pytest.fixture
def clock() -> Clock:
    return Clock()


def live(clock, **kw) -> LivePlot:
    kw.setdefault("panels", PANELS)
    return LivePlot(mode="live", clock=clock, **kw)


def end_of_cell() -> None:
    """What IPython's post_run_cell does after every cell."""
    display.after_cell()


# --------------------------------------------------------------------------- throttling


def test_redraws_at_most_once_per_interval(sent, clock):
    plot = live(clock, every=1.0)
    for i, t in enumerate([0.0, 0.3, 0.6, 0.99, 1.0, 1.5, 2.2, 2.3]):
        clock.t = t
        plot.log(i, loss=1.0 / (i + 1))
    assert [f.update for f in sent] == [False, True, True]  # t = 0, 1.0 and 2.2
    assert len({f.display_id for f in sent}) == 1  # one output, updated in place
    assert not any(f.final for f in sent)
    # every frame shows all points logged so far
    loss_points = [len(json.loads(_fig_json(f))["data"][0]["y"]) for f in sent]
    assert loss_points == [1, 5, 7]


def test_only_the_first_live_frame_carries_plotlyjs(sent, clock):
    plot = live(clock)
    for i in range(5):
        clock.t = i
        plot.log(i, loss=0.5)
    assert [f.carries_plotlyjs for f in sent] == [True, False, False, False, False]
    assert len(sent[1].bundle["text/html"]) < 50_000


def test_every_zero_draws_on_each_log(sent, clock):
    plot = live(clock, every=0)
    for i in range(4):
        plot.log(i, loss=0.1)
    assert len(sent) == 4


def test_a_slow_frame_stretches_the_interval(monkeypatch, clock):
    frames = []

    def slow_publish(bundle, metadata, display_id, update):
        frames.append(bundle)
        clock.t += 0.1  # each frame "takes" 0.1 s of the loop

    monkeypatch.setattr(display, "publish", slow_publish)
    plot = live(clock, every=1.0)
    plot.log(0, loss=1.0)  # ships plotly.js: its cost does not count
    clock.t = 1.2
    plot.log(1, loss=1.0)  # an ordinary frame costing 0.1 s -> next one no sooner than 2 s later
    clock.t = 2.5
    plot.log(2, loss=1.0)
    assert len(frames) == 2
    clock.t = 3.25
    plot.log(3, loss=1.0)
    assert len(frames) == 3


def test_draw_ignores_the_throttle(sent, clock):
    plot = live(clock)
    plot.log(0, loss=1.0)
    plot.log(1, loss=0.9)
    plot.draw()
    assert len(sent) == 2 and "0.9" in sent[-1].bundle["text/plain"]


# --------------------------------------------------------------------------- cell ends and close


def test_cell_end_turns_the_live_output_into_one_static_figure(sent, clock):
    plot = live(clock)
    for i in range(3):
        plot.log(i, loss=1.0 - i / 10)
    end_of_cell()
    last = sent[-1]
    assert last.final and last.update
    assert MIME_PLOTLY in last.bundle and "text/html" in last.bundle
    assert not last.carries_plotlyjs
    assert len(last.bundle[MIME_PLOTLY]["data"][0]["y"]) == 3  # the throttled points are drawn
    n = len(sent)
    end_of_cell()  # nothing new: nothing sent
    assert len(sent) == n
    # logging in a later cell goes live again at once, shipping plotly.js again (the page may
    # have been reloaded in between)
    clock.t = 0.1
    plot.log(3, loss=0.5)
    assert len(sent) == n + 1 and sent[-1].carries_plotlyjs and not sent[-1].final


def test_a_static_figure_is_never_updated_by_another_static_figure(sent, clock):
    """JupyterLab's plotly renderer ignores in-place updates, so a live frame goes in between."""
    plot = live(clock)
    plot.log(0, loss=1.0)
    end_of_cell()
    plot.reference("loss", 0.5, "target")
    end_of_cell()
    kinds = [(MIME_PLOTLY in f.bundle) for f in sent]
    assert kinds == [False, True, False, True]
    assert sent[-1].bundle[MIME_PLOTLY]["layout"]["shapes"][0]["y0"] == 0.5


def test_close_leaves_one_static_figure_and_forbids_more_logs(sent, clock):
    with live(clock) as plot:
        plot.log(0, loss=1.0)
    assert plot.closed and sent[-1].final
    n = len(sent)
    plot.close()
    end_of_cell()
    assert len(sent) == n
    with pytest.raises(TutorError, match="closed"):
        plot.log(1, loss=0.5)


def test_close_of_an_unused_plot_shows_one_empty_figure(sent, clock):
    plot = live(clock)
    plot.close()
    assert len(sent) == 1 and sent[0].final and sent[0].bundle[MIME_PLOTLY]["data"] == []


def test_final_mode_draws_only_at_cell_end(sent, clock):
    plot = LivePlot(PANELS, mode="final", clock=clock, every=0)
    for i in range(50):
        plot.log(i, loss=1.0)
    assert sent == []
    end_of_cell()
    assert len(sent) == 1 and sent[0].final and not sent[0].update
    # more logs in a later cell update that same figure; close adds nothing
    plot.log(50, loss=0.5)
    end_of_cell()
    plot.close()
    assert len(sent) == 2 and sent[1].update and sent[1].display_id == sent[0].display_id
    assert not any(f.carries_plotlyjs for f in sent)


def test_a_plot_created_in_a_setup_cell_shows_nothing_until_used(sent, clock):
    plot = LivePlot(PANELS, mode="final", clock=clock, refs={"KL": 2.0})
    plot.new_run("beta=0.1")
    end_of_cell()
    assert sent == []


# --------------------------------------------------------------------------- bookkeeping


def test_history_keeps_every_point_and_skips_nan(sent, clock):
    import numpy as np
    import torch

    plot = live(clock)
    plot.log(0, {"objective/scores": 0.1, "objective/kl": float("nan")}, loss=2.0)
    plot.log(1, {"objective/scores": np.float32(0.25)}, loss=torch.tensor(1.5))
    plot.log(2, {"objective/kl": float("inf")}, gold=np.int64(3))
    assert plot.history == {
        "objective/scores": [(0, 0.1), (1, 0.25)],
        "loss": [(0, 2.0), (1, 1.5)],
        "gold": [(2, 3.0)],
    }
    assert "objective/kl" not in plot.history


@pytest.mark.parametrize("value", ["0.5", None, [1, 2], True, {"x": 1}, object()], ids=lambda v: type(v).__name__)
def test_bad_values_are_one_clear_sentence(sent, clock, value):
    plot = live(clock)
    with pytest.raises(TutorError) as info:
        plot.log(3, loss=value)
    message = str(info.value)
    assert "'loss'" in message and "step 3" in message and "numbers" in message
    assert message.count(". ") == 0 and "\n" not in message


def test_a_bad_log_records_nothing(sent, clock):
    plot = live(clock)
    with pytest.raises(TutorError):
        plot.log(0, {"objective/scores": 0.5}, loss="oops")
    assert plot.history == {} and sent == []


def test_multi_element_tensor_is_rejected(sent, clock):
    import torch

    with pytest.raises(TutorError, match="'loss'"):
        live(clock).log(0, loss=torch.ones(3))


def test_unknown_metric_names_the_known_ones(sent, clock):
    with pytest.raises(TutorError) as info:
        live(clock).log(0, reward=1.0)
    assert "'reward'" in str(info.value) and "objective/scores" in str(info.value)
    assert "panels=None" in str(info.value)


@pytest.mark.parametrize("step", ["3", None, float("nan"), 2.5j])
def test_bad_steps(sent, clock, step):
    with pytest.raises(TutorError, match="step"):
        live(clock).log(step, loss=1.0)


def test_steps_must_not_go_back_within_a_run(sent, clock):
    plot = live(clock)
    plot.log(5, loss=1.0)
    plot.log(5, loss=0.9)  # equal steps are fine (train and eval logs share a step)
    with pytest.raises(TutorError, match="new_run"):
        plot.log(4, loss=0.8)


def test_log_without_metrics_is_an_error(sent, clock):
    with pytest.raises(TutorError, match="no metrics"):
        live(clock).log(0)
    with pytest.raises(TutorError, match="dict"):
        live(clock).log(0, [("loss", 1.0)])


@pytest.mark.parametrize(
    ("panels", "expected"),
    [
        (["loss", "reward"], {"loss": ["loss"], "reward": ["reward"]}),
        ("loss", {"loss": ["loss"]}),
        ({"KL": "objective/kl"}, {"KL": ["objective/kl"]}),
        ({"r": ["a", "b", "a"]}, {"r": ["a", "b"]}),
    ],
)
def test_panel_forms(panels, expected):
    assert LivePlot(panels, mode="final").panels == expected


@pytest.mark.parametrize("panels", [{}, {"loss": []}, {"": ["loss"]}, {"loss": [3]}, 42])
def test_bad_panels(panels):
    with pytest.raises(TutorError):
        LivePlot(panels, mode="final")


@pytest.mark.parametrize(
    "options",
    [{"smoothing": 1.0}, {"smoothing": -0.1}, {"every": -1}, {"mode": "movie"}, {"max_points": 1}],
)
def test_bad_options(options):
    with pytest.raises(TutorError):
        LivePlot(PANELS, **{"mode": "final", **options})


def test_auto_panels_group_metrics_by_prefix(sent, clock):
    plot = LivePlot(None, mode="live", clock=clock)
    plot.log(1, {"rewards/chosen": 0.1, "rewards/rejected": -0.1, "eval_rewards/margins": 0.2})
    plot.log(2, loss=0.7)
    assert plot.panels == {
        "rewards": ["rewards/chosen", "rewards/rejected", "eval_rewards/margins"],
        "loss": ["loss"],
    }
    titles = [a["text"] for a in plot.figure().to_dict()["layout"]["annotations"]]
    assert titles == ["rewards", "loss"]


# --------------------------------------------------------------------------- figure contents


def test_figure_has_one_panel_per_entry_and_one_trace_per_series(sent, clock):
    plot = live(clock, title="PPO")
    for i in range(10):
        plot.log(i, {"objective/scores": i, "gold": -i, "objective/kl": i / 2}, loss=1 / (i + 1))
    fig = plot.figure()
    layout = fig.to_dict()["layout"]
    assert [a["text"] for a in layout["annotations"]] == ["reward", "KL", "loss"]
    assert [t.name for t in fig.data] == [readable(k) for k in ("objective/scores", "gold", "objective/kl", "loss")]
    axes = [(t.xaxis, t.yaxis) for t in fig.data]
    assert axes[0] == axes[1] and len(set(axes)) == 3  # the reward panel holds two series
    assert list(fig.data[1].y) == [-i for i in range(10)]
    assert layout["title"]["text"] == "PPO"


def test_max_points_thins_curves_but_keeps_the_last_point(sent, clock):
    plot = live(clock, max_points=50)
    for i in range(1001):
        plot.log(i, loss=float(i))
    end_of_cell()
    y = sent[-1].bundle[MIME_PLOTLY]["data"][0]["y"]
    assert len(y) <= 50 and y[-1] == 1000.0
    assert len(plot.history["loss"]) == 1001
    assert len(plot.figure().data[0].y) == 1001  # figure() keeps everything


def test_evenly_spaced_steps_are_sent_as_x0_dx(sent, clock):
    plot = live(clock, every=0)
    for step in range(0, 50, 5):
        plot.log(step, {"objective/kl": step / 10}, loss=1.0)
    plot.log(46, loss=0.5)  # loss is no longer evenly spaced
    traces = {t["name"]: t for t in json.loads(_fig_json(sent[-1]))["data"]}
    kl = traces[readable("objective/kl")]
    assert (kl["x0"], kl["dx"]) == (0, 5)
    assert "x" not in kl
    assert traces["loss"]["x"] == [*range(0, 50, 5), 46]
    assert list(plot.figure().data[0].x) == list(range(0, 50, 5))  # figure() keeps real x


def test_reference_lines_from_refs_and_reference(sent, clock):
    plot = live(clock, refs={"KL": [("KL budget", 2.0)], "loss": 0.1})
    plot.reference("reward", 0.82, "RM ceiling")
    shapes = plot.figure().to_dict()["layout"]["shapes"]
    found = {(s["yref"], s["y0"], s["label"]["text"]) for s in shapes}
    assert found == {
        ("y2", 2.0, "KL budget (2)"),
        ("y3", 0.1, "0.1"),
        ("y", 0.82, "RM ceiling (0.82)"),
    }
    assert all(s["xref"].endswith("domain") and (s["x0"], s["x1"]) == (0, 1) for s in shapes)


@pytest.mark.parametrize("refs", [{"KL": {"budget": 2.0}}, {"KL": ("budget", 2.0)}, {"KL": [(2.0, "budget")]}])
def test_reference_forms(refs):
    shapes = LivePlot(PANELS, mode="final", refs=refs).figure().to_dict()["layout"]["shapes"]
    assert [(s["y0"], s["label"]["text"]) for s in shapes] == [(2.0, "budget (2)")]


def test_bad_references(clock):
    plot = live(clock)
    with pytest.raises(TutorError, match="no panel 'rewards'"):
        plot.reference("rewards", 1.0)
    with pytest.raises(TutorError, match="finite number"):
        plot.reference("KL", float("nan"), "budget")


def test_names_cannot_break_out_of_the_script(sent, clock):
    plot = LivePlot({"x": ["</script><b>x"]}, mode="live", clock=clock, every=0)
    plot.log(0, {"</script><b>x": 1.0})
    plot.log(1, {"</script><b>x": 2.0})
    html = sent[-1].bundle["text/html"]
    assert not sent[-1].carries_plotlyjs
    assert html.count("</script>") == html.count("<script>") == 1
    assert json.loads(_fig_json(sent[-1]))["data"][0]["name"] == "&lt;/script&gt;&lt;b&gt;x"


# --------------------------------------------------------------------------- smoothing


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60), st.floats(0.0, 0.99))
def test_smoothing_stays_within_the_values_seen(values, weight):
    out = smooth(values, weight)
    assert len(out) == len(values) and math.isclose(out[0], values[0], rel_tol=1e-9, abs_tol=1e-6)
    for i, s in enumerate(out):
        lo, hi = min(values[: i + 1]), max(values[: i + 1])
        assert lo - 1e-6 * (1 + abs(lo)) <= s <= hi + 1e-6 * (1 + abs(hi))


@given(st.floats(-100, 100), st.integers(1, 50), st.floats(0.0, 0.99))
def test_smoothing_a_constant_gives_the_constant(c, n, weight):
    assert all(math.isclose(s, c, rel_tol=1e-9, abs_tol=1e-9) for s in smooth([c] * n, weight))


def test_smoothing_matches_the_debiased_formula():
    w, xs = 0.5, [1.0, 0.0, 0.0]
    # m1 = .5, m2 = .25, m3 = .125; debias by 1 - w^t: .5/.5, .25/.75, .125/.875
    assert smooth(xs, w) == pytest.approx([1.0, 1 / 3, 1 / 7])
    assert smooth(xs, 0.0) == xs


def test_smoothed_plot_draws_faint_raw_and_bold_smoothed(sent, clock):
    plot = live(clock, smoothing=0.8, panels={"loss": ["loss"]})
    values = [1.0, 3.0, 2.0, 5.0, 4.0]
    for i, v in enumerate(values):
        plot.log(i, loss=v)
    raw, bold = plot.figure().data
    assert list(raw.y) == values and raw.opacity < 1 and raw.showlegend is False
    assert list(bold.y) == pytest.approx(smooth(values, 0.8), rel=1e-4)
    assert bold.line.width > raw.line.width


# --------------------------------------------------------------------------- runs


def test_runs_are_overlaid_with_one_colour_and_legend_entry_each(sent, clock):
    plot = live(clock, panels={"reward": ["objective/scores"], "KL": ["objective/kl"]})
    for beta in plot.sweep("beta", [0.1, 0.5]):
        for i in range(5):
            plot.log(i, {"objective/scores": beta * i, "objective/kl": i / beta})
    assert list(plot.runs) == ["beta=0.1", "beta=0.5"]  # the empty first run was renamed
    assert plot.history["objective/scores"][-1] == (4, 2.0)
    fig = plot.figure()
    assert len(fig.data) == 4
    colour = {(t.legendgroup, t.yaxis): t.line.color for t in fig.data}
    assert colour[("beta=0.1", "y")] == colour[("beta=0.1", "y2")]
    assert colour[("beta=0.1", "y")] != colour[("beta=0.5", "y")]
    shown = [t.name for t in fig.data if t.showlegend]
    assert shown == ["beta=0.1", "beta=0.5"]


def test_runs_with_several_series_per_panel_use_dashes_and_group_titles(sent, clock):
    plot = live(clock, panels={"reward": ["objective/scores", "gold"]})
    for run in ["a", "b"]:
        plot.new_run(run)
        plot.log(0, {"objective/scores": 1.0, "gold": 0.5})
    fig = plot.figure()
    assert [(t.legendgroup, t.name, t.line.dash) for t in fig.data] == [
        ("a", readable("objective/scores"), "solid"),
        ("a", "gold", "dash"),
        ("b", readable("objective/scores"), "solid"),
        ("b", "gold", "dash"),
    ]
    assert [t.legendgrouptitle.text for t in fig.data if t.legendgrouptitle.text] == ["a", "b"]


def test_run_names_must_be_new_and_non_empty(clock):
    plot = live(clock)
    plot.log(0, loss=1.0)
    plot.new_run("second")
    with pytest.raises(TutorError, match="already"):
        plot.new_run("second")
    with pytest.raises(TutorError, match="run name"):
        plot.new_run("")


def test_add_run_and_overlay_take_trainer_log_history():
    log_history = [
        {"loss": 0.9, "rewards/margins": 0.1, "epoch": 0.1, "step": 1},
        {"loss": 0.7, "rewards/margins": 0.4, "epoch": 0.2, "step": 2},
        {"train_runtime": 3.2, "train_loss": 0.8, "epoch": 0.2, "step": 2},
    ]
    plot = overlay(
        {"beta=0.1": log_history, "beta=0.5": {"loss": [(1, 0.8), (2, 0.75)]}},
        {"loss": ["loss"], "margin": ["rewards/margins"]},
    )
    assert plot.closed
    assert plot.runs["beta=0.1"] == {
        "loss": [(1, 0.9), (2, 0.7)],
        "rewards/margins": [(1, 0.1), (2, 0.4)],
    }
    bundle, metadata = plot._repr_mimebundle_()
    assert MIME_PLOTLY in bundle and metadata["tutor_liveplot"]["final"]
    assert {t["legendgroup"] for t in bundle[MIME_PLOTLY]["data"]} == {"beta=0.1", "beta=0.5"}
    with pytest.raises(TutorError, match="log_history"):
        overlay({"x": "not a history"})


# --------------------------------------------------------------------------- trainer callback


def _state(step):
    return SimpleNamespace(global_step=step)


def test_callback_feeds_trl_metrics_and_ignores_the_rest(sent, clock):
    from transformers import TrainerCallback

    plot = live(clock, every=0)
    cb = plot.callback()
    assert isinstance(cb, TrainerCallback)
    logs = {
        "objective/scores": 0.4,
        "objective/kl": 1.2,
        "loss": 0.3,
        "policy/clipfrac_avg": 0.1,  # not in the panels
        "epoch": 0.5,
        "note": "text",
    }
    cb.on_log(None, _state(10), None, logs=logs)
    cb.on_log(None, _state(20), None, logs={"objective/kl": float("nan"), "loss": "n/a"})
    cb.on_log(None, _state(30), None, logs=None)
    assert plot.history == {
        "objective/scores": [(10, 0.4)],
        "objective/kl": [(10, 1.2)],
        "loss": [(10, 0.3)],
    }


def test_callback_with_auto_panels_plots_every_numeric_metric(clock, sent):
    plot = LivePlot(None, mode="live", clock=clock)
    cb = plot.callback()
    cb.on_log(
        None,
        _state(1),
        None,
        logs={
            "loss": 0.7,
            "rewards/chosen": 0.1,
            "grad_norm": 3.0,
            "epoch": 0.1,
            "train_samples_per_second": 99.0,
        },
    )
    assert set(plot.history) == {"loss", "rewards/chosen", "grad_norm"}


def test_callback_overlays_a_restarted_training_as_a_new_run(clock, sent):
    plot = live(clock)
    cb = plot.callback()
    for step in (5, 10):
        cb.on_log(None, _state(step), None, logs={"loss": 1.0 / step})
    cb.on_log(None, _state(5), None, logs={"loss": 0.5})
    assert list(plot.runs) == ["run 1", "run 2"] and plot.history == {"loss": [(5, 0.5)]}


def test_callback_draws_at_train_end_and_ignores_a_closed_plot(clock, sent):
    plot = live(clock)
    cb = plot.callback()
    cb.on_log(None, _state(1), None, logs={"loss": 1.0})
    cb.on_log(None, _state(2), None, logs={"loss": 0.5})  # throttled
    cb.on_train_end(None, _state(2), None)
    assert "loss=0.5" in sent[-1].bundle["text/plain"]
    plot.close()
    with pytest.warns(UserWarning, match="closed"):
        cb.on_log(None, _state(3), None, logs={"loss": 0.1})


# --------------------------------------------------------------------------- modes


def test_detect_mode(monkeypatch):
    monkeypatch.delenv("TUTOR_PLOTS", raising=False)
    monkeypatch.setattr(display, "ipython_shell", lambda: None)
    assert display.detect_mode() == "file"
    kernel = SimpleNamespace(_allow_stdin=False)
    monkeypatch.setattr(display, "ipython_shell", lambda: SimpleNamespace(kernel=kernel))
    assert display.detect_mode() == "final"  # nbclient / papermill / nbconvert --execute
    kernel._allow_stdin = True
    assert display.detect_mode() == "live"  # JupyterLab, Notebook, VS Code
    monkeypatch.setattr(display, "ipython_shell", lambda: SimpleNamespace())  # terminal IPython
    assert display.detect_mode() == "file"
    monkeypatch.setenv("TUTOR_PLOTS", "final")
    assert display.detect_mode() == "final"
    monkeypatch.setenv("TUTOR_PLOTS", "movie")
    with pytest.raises(TutorError, match="TUTOR_PLOTS"):
        display.detect_mode()


def test_file_mode_writes_a_page_beside_plotlyjs(tmp_path, clock, capsys):
    plot = LivePlot(PANELS, title="PPO run", mode="file", folder=tmp_path, clock=clock)
    plot.log(0, loss=1.0)
    page = tmp_path / "ppo-run.html"
    assert plot.path == page and page.exists() and (tmp_path / "plotly.min.js").exists()
    assert 'http-equiv="refresh"' in page.read_text()  # reloads itself while training runs
    assert str(page) in capsys.readouterr().out
    clock.t = 5
    plot.log(1, loss=0.5)  # within 30 s: not rewritten
    assert '"y":[1.0]' in page.read_text()
    plot.close()
    assert "refresh" not in page.read_text()
    assert json.loads(_fig_json(page.read_text()))["data"][0]["y"] == [1.0, 0.5]
    assert not list(tmp_path.glob(".*.tmp"))


def test_save_writes_html(tmp_path, clock):
    plot = live(clock)
    plot.log(0, loss=1.0)
    assert plot.save(tmp_path / "sub" / "p.html").exists()
    with pytest.raises(TutorError, match=".html"):
        plot.save(tmp_path / "p.png")


def test_a_script_writes_its_plot_into_the_runs_folder(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "from tutor.ui import LivePlot\n"
        "plot = LivePlot({'loss': ['loss']}, title='script run')\n"
        "print('mode', plot.mode)\n"
        "for i in range(20):\n"
        "    plot.log(i, loss=1.0 / (i + 1))\n"
        "# no close(): the page is still completed when the script exits\n"
    )
    env = {**os.environ, "TUTOR_RUNS": str(tmp_path / "runs"), "PYTHONPATH": str(REPO)}
    env.pop("TUTOR_PLOTS", None)
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "mode file" in done.stdout
    page = tmp_path / "runs" / "script-run.html"
    (trace,) = json.loads(_fig_json(page.read_text()))["data"]
    assert (trace["x0"], trace["dx"], len(trace["y"])) == (
        0,
        1,
        20,
    )  # the last log made it, via atexit
    assert trace["y"][:2] == [1.0, 0.5]
    assert (tmp_path / "runs" / "plotly.min.js").stat().st_size > 1_000_000


# --------------------------------------------------------------------------- real notebooks


def _fig_json(frame: Frame | str) -> str:
    """The figure JSON inside a frame's (or a page's) script."""
    html = frame if isinstance(frame, str) else frame.bundle["text/html"]
    html = html.split(PLOTLYJS_BANNER)[-1]
    start = html.index("var fig = ") + len("var fig = ")
    end = html.index(', cdn = "')
    return html[start:end].replace("<\\/", "</")


TRAIN_CELL = """
import math
from tutor.ui import LivePlot

panels = {"reward": ["objective/scores", "gold"], "KL": ["objective/kl"], "loss": ["loss"]}
print("mode", LivePlot(panels).mode)
with LivePlot(panels, title="PPO", refs={"KL": [("KL budget", 2.0)]}, every=0) as ppo:
    for step in range(STEPS):
        ppo.log(step, {"objective/scores": math.tanh(step / 50), "gold": math.sin(step / 40),
                       "objective/kl": step / 100, "loss": 1 / (1 + step)})
dpo = LivePlot({"margin": ["rewards/margins"], "acc": ["rewards/accuracies"]}, title="DPO",
               smoothing=0.8, every=0)
for beta in dpo.sweep("beta", [0.1, 0.5]):
    for step in range(STEPS):
        dpo.log(step, {"rewards/margins": beta * math.log1p(step),
                       "rewards/accuracies": min(1.0, step / STEPS + beta)})
"""

THIRD_PLOT_CELL = """
sft = LivePlot(["loss", "entropy"], title="SFT", every=0)
for step in range(STEPS):
    sft.log(step, loss=2 / (1 + step / 30), entropy=3 - step / STEPS)
print("training done")
"""


def _run_notebook(tmp_path, cells, mode_env):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    env_backup = dict(os.environ)
    try:
        os.environ.pop("TUTOR_PLOTS", None)
        if mode_env:
            os.environ["TUTOR_PLOTS"] = mode_env
        os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
        os.environ["TUTOR_RUNS"] = str(tmp_path / "runs")
        nbclient.NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    return nb, path


def _plot_outputs(nb):
    found = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            tag = out.get("metadata", {}).get("tutor_liveplot")
            if tag:
                found.setdefault(tag["id"], []).append(out)
    return found


@pytest.mark.parametrize("mode_env", [None, "live"], ids=["detected-final", "forced-live"])
def test_notebook_ends_with_exactly_one_static_figure_per_liveplot(tmp_path, mode_env):
    """nbclient applies every display update, so `live` here is what a front end would save."""
    nb, path = _run_notebook(tmp_path, ["STEPS = 200", TRAIN_CELL, THIRD_PLOT_CELL], mode_env)
    printed = "".join(o.get("text", "") for o in nb.cells[1].outputs if o.output_type == "stream")
    assert f"mode {mode_env or 'final'}" in printed  # nbclient is detected as non-interactive
    found = _plot_outputs(nb)
    assert len(found) == 3 and all(len(outs) == 1 for outs in found.values())
    for (out,) in found.values():
        assert out.metadata["tutor_liveplot"]["final"]
        assert MIME_PLOTLY in out.data and "tutor-liveplot" in out.data["text/html"]
        assert PLOTLYJS_BANNER not in out.data["text/html"]
    figures = [outs[0].data[MIME_PLOTLY] for outs in found.values()]
    assert sorted(len(f["data"]) for f in figures) == [
        2,
        4,
        8,
    ]  # PPO 4, DPO 2 runs×2×(raw+smooth), SFT 2
    size = path.stat().st_size
    assert size < 1_000_000, f"saved notebook with three LivePlots is {size} bytes"


def test_exported_html_holds_one_figure_per_liveplot(tmp_path):
    nbconvert = pytest.importorskip("nbconvert")
    nb, _ = _run_notebook(tmp_path, ["STEPS = 50", TRAIN_CELL], None)
    body, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    assert body.count('class="tutor-liveplot"') == 2
    assert bundles.cdn_url() in body  # nbviewer / exported HTML load plotly.js from the CDN
