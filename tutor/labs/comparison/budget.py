"""PPO and DPO at equal label budgets: the controlled experiment behind notebook 07's verdict.

The course's own stages are not one experiment: the DPO stage asks the annotator for ~16,600
comparisons of fresh answers, PPO's reward model learned 1,000 pairs of the world's candidate
answers. Here both methods get the very same labels, from the same SFT model and reference,
measured the same way (the stages' held-out protocol and the exact KL of `tutor.core.logprobs`):

- offline: one fixed set of `labels` annotated pairs of candidate answers (the reward stage's
  kind, label seed 0 for every arm): PPO's reward model learns exactly these pairs, DPO trains on
  exactly these pairs;
- online: the same pairs to start, then `rounds − 1` times `labels_per_round` fresh labels on the
  current policy's own answers (two answers a prompt, one label each) for both: PPO refreshes its
  reward model on them (`tutor.ppo.online`), DPO trains its next round on them (iterative DPO).

An arm's seed changes its training (the reward model's start and batches too), never its labels.
Each arm is cached in runs/<model>/compare/budget/<arm>; `benchmarks/comparison.py` trains the
grid and writes benchmarks/results/comparison.json, which notebook 07 reads.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tutor.config import check_choice, check_number, check_whole
from tutor.core.memory import peak_rss_mb, reset_peak_rss
from tutor.errors import TutorError
from tutor.exercises.comparison import seed_interval
from tutor.labs.comparison.runs import METHODS, read_record, write_record

REGIMES = ("offline", "online")
LABEL_SEED = 0  # every arm's fixed pairs: the reward stage's own 1,000 when labels = 1,000
MIN_LABELS = 16  # fewer pairs than a couple of batches teach neither method anything
PERSONA = "riley"
RESULTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "comparison.json"


@dataclass(frozen=True)
class Arm:
    """One run of the experiment (`tutor.config`'s convention: checked when made)."""

    regime: str = "offline"
    method: str = "ppo"
    labels: int = 1000  # the fixed annotated pairs every arm starts from
    seed: int = 0
    beta: float | None = None  # None: the method's own default (PPO 0.05, DPO 0.2)
    labels_per_round: int = 1000  # online: fresh labels before each later round
    rounds: int = 3  # online: training rounds (the fresh labels come between them)

    def __post_init__(self):
        check_choice(self, "regime", REGIMES)
        check_choice(self, "method", METHODS)
        check_whole(self, "labels", minimum=MIN_LABELS)
        check_whole(self, "seed", minimum=0)
        check_number(self, "beta", above=0, optional=True)
        check_whole(self, "labels_per_round", minimum=MIN_LABELS)
        check_whole(self, "rounds", minimum=2 if self.regime == "online" else 1)

    @property
    def annotator_labels(self) -> int:
        """Labels the arm may ask of the annotator: the same for PPO and DPO in one regime."""
        fresh = (self.rounds - 1) * self.labels_per_round if self.regime == "online" else 0
        return self.labels + fresh

    @property
    def name(self) -> str:
        online = f"-{self.rounds - 1}x{self.labels_per_round}" if self.regime == "online" else ""
        beta = f"-beta{self.beta:g}" if self.beta is not None else ""
        return f"{self.regime}-{self.method}-{self.labels}{online}{beta}-seed{self.seed}"


def folder(course, arm: Arm) -> Path:
    return course.model_runs / "compare" / "budget" / arm.name


def fixed_pairs(n: int):
    """The offline pairs: `n` candidate-answer pairs labelled by the gold annotator (label seed 0)."""
    from tutor.preferences import gold_rows

    return gold_rows(n, seed=LABEL_SEED, persona=PERSONA)


def _ppo(course, arm: Arm, rows, where: Path) -> dict:
    from tutor import stages
    from tutor.core.models import load_causal_lm, load_tokenizer, save
    from tutor.ppo import PPOSettings
    from tutor.ppo.online import OnlineSettings, train_online
    from tutor.ppo.stage import StageModels, make_trainer
    from tutor.preferences import to_dataset
    from tutor.reward import RewardSettings, train
    from tutor.reward.accuracy import evaluate, held_out_pairs
    from tutor.world import GoldAnnotator

    reward_settings = RewardSettings.for_mode(course.fast, course.model, n_pairs=arm.labels, seed=arm.seed)
    source = f"{arm.labels} fixed pairs labelled by the gold annotator ({PERSONA})"
    reward = train(course, reward_settings, data=to_dataset(rows), source=source, progress=False)
    save(reward.model, reward.tokenizer, where / "reward")
    pairs = held_out_pairs(reward_settings.n_eval_pairs)
    accuracy = evaluate(reward.model, reward.tokenizer, pairs, GoldAnnotator(PERSONA))["accuracy"]
    sft = stages.ensure(course, "sft", quiet=True)
    models = StageModels(
        sft,
        where / "reward",
        load_tokenizer(sft),
        reward.tokenizer,
        load_causal_lm(sft, course.device),
        reward.model.eval().requires_grad_(False),
        course.device,
    )
    settings = PPOSettings.for_mode(course.fast, course.model, seed=arm.seed)
    if arm.beta is not None:
        settings = replace(settings, beta=arm.beta)
    fresh = 0
    if arm.regime == "offline":
        trainer = make_trainer(models, settings)
        trainer.train(progress=False)
    else:
        online = OnlineSettings.for_mode(
            course.fast, course.model, rounds=arm.rounds, labels_per_round=arm.labels_per_round, seed=arm.seed
        )
        steps = settings.steps // arm.rounds  # the same PPO steps in all as the offline arm
        online = replace(online, steps_per_round=max(1, steps))
        run = train_online(course, models, settings, online, rows=rows)
        trainer, fresh = run.trainer, run.labels
    result = trainer.evaluate(baseline=stages.load_samples(course, "sft"))
    stages.save_samples(where, result.samples)
    return {
        **result.metrics(),
        "annotator_labels": arm.labels + fresh,
        "reward_accuracy": accuracy,
        "beta": trainer.settings.beta,
        "episodes": trainer.episodes,
        "trained_tokens": trainer.trained_tokens,
        "settings": asdict(trainer.settings),
    }


def _dpo(course, arm: Arm, rows, where: Path) -> dict:
    from tutor.dpo import DPOSettings, build_stage
    from tutor.preferences import to_dataset

    changes = dict(seed=arm.seed, use_learner_labels=False, persona=PERSONA)
    if arm.beta is not None:
        changes["beta"] = arm.beta
    if arm.regime == "offline":
        changes.update(data="gold", n_pairs=arm.labels)
    else:  # later rounds: pairs of two fresh answers a prompt, one label each, as PPO's refreshes
        changes.update(data="on_policy", answers_per_prompt=2, n_pairs=arm.labels_per_round, rounds=arm.rounds)
    settings = DPOSettings.for_mode(course.fast, course.model, **changes)
    metrics = build_stage(
        course, where, settings=settings, progress=False, pairs=to_dataset(rows), measure_rounds=False
    )
    return {
        **{k: v for k, v in metrics.items() if k != "history"},
        "beta": settings.beta,
        "settings": asdict(settings),
    }


def train_arm(course, arm: Arm) -> dict:
    """Train one arm from the SFT stage, in this process; save and return its record (the run's
    time and peak memory include its reward model, for PPO, and its labelling)."""
    from tutor import stages

    stages.ensure(course, "sft", quiet=True)
    where = folder(course, arm)
    where.mkdir(parents=True, exist_ok=True)
    reset_peak_rss()
    start = time.perf_counter()
    rows = fixed_pairs(arm.labels)
    metrics = (_ppo if arm.method == "ppo" else _dpo)(course, arm, rows, where)
    record = {
        "arm": asdict(arm),
        "name": arm.name,
        "fast": course.fast,
        "model": course.model,
        "seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "load_average": round(os.getloadavg()[0], 2),  # times measured under load are longer
        "metrics": metrics,
        "folder": str(where),
    }
    return write_record(where, record)


def arm_record(course, arm: Arm, train: bool = True) -> dict | None:
    """The arm's cached record (of this mode), trained first when missing and `train` is set."""
    record = read_record(folder(course, arm), course.fast)
    if record is None and train:
        record = train_arm(course, arm)
    return record


def measured(path: str | Path | None = None) -> dict | None:
    """benchmarks/results/comparison.json of a clone of the course (None where there is none)."""
    path = Path(path) if path is not None else RESULTS
    return json.loads(path.read_text()) if path.exists() else None


def group_key(record: dict) -> tuple:
    a = record["arm"]
    online = (a["labels_per_round"], a["rounds"]) if a["regime"] == "online" else None
    return a["regime"], a["method"], a["labels"], online, record["metrics"]["beta"]


def summarise_arms(records) -> list[dict]:
    """One row per arm setting (regime, method, labels, β): seeds, win-rate mean ± sd with its 95 %
    t-interval over seeds, exact KL, gold score, labels used, wall time (median), peak memory."""
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        groups.setdefault(group_key(record), []).append(record)
    rows = []
    for (regime, method, labels, online, beta), runs in groups.items():
        runs = sorted(runs, key=lambda r: r["arm"]["seed"])
        win = [r["metrics"]["gold_win_rate_vs_sft"] for r in runs]
        kl = [r["metrics"]["kl"] for r in runs]
        row = {
            "regime": regime,
            "method": method,
            "labels": labels,
            "beta": beta,
            "seeds": [r["arm"]["seed"] for r in runs],
            "annotator_labels": max(r["metrics"]["annotator_labels"] for r in runs),
            "win_rates": win,
            "win_rate": statistics.fmean(win),
            "win_rate_sd": statistics.stdev(win) if len(win) > 1 else None,
            "win_interval": seed_interval(win) if len(win) > 1 else None,
            "kl": statistics.fmean(kl),
            "kl_sd": statistics.stdev(kl) if len(kl) > 1 else None,
            "gold": statistics.fmean(r["metrics"]["gold"] for r in runs),
            "seconds_median": statistics.median(r["seconds"] for r in runs),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        }
        if online:
            row["labels_per_round"], row["rounds"] = online
        if method == "ppo":
            row["reward_accuracy"] = statistics.fmean(r["metrics"]["reward_accuracy"] for r in runs)
        rows.append(row)
    return sorted(rows, key=lambda r: (r["regime"], r["labels"], r["beta"], r["method"]))


def difference_interval(a, b) -> tuple[float, float]:
    """95 % interval of mean(b) − mean(a) over independent seeds (Welch's standard error, the
    t-quantile of the smaller side's degrees of freedom: cautious with 3 seeds a side)."""
    from tutor.exercises.comparison import T_975

    if len(a) < 2 or len(b) < 2:
        raise TutorError("A difference between methods needs at least 2 seeds on each side.")
    se = (statistics.variance(a) / len(a) + statistics.variance(b) / len(b)) ** 0.5
    half = T_975[min(len(a), len(b)) - 1] * se
    gap = statistics.fmean(b) - statistics.fmean(a)
    return gap - half, gap + half


def compare_rows(first: tuple[str, dict], second: tuple[str, dict]) -> str:
    """Two summary rows' win-rates and the 95 % interval of their difference, the direction
    generated from that interval: "no measurable difference" when it holds 0."""
    (name_a, a), (name_b, b) = first, second

    def cell(row):
        low, high = max(0.0, row["win_interval"][0]), min(1.0, row["win_interval"][1])  # a share: within 0–100 %
        return f"{row['win_rate']:.0%} ± {row['win_rate_sd'] * 100:.0f} (95 % interval {low:.0%}–{high:.0%})"

    low, high = difference_interval(a["win_rates"], b["win_rates"])
    gap = f"{low * 100:+.0f} to {high * 100:+.0f} points".replace("-", "−")  # a typographic minus
    numbers = f"{name_a} {cell(a)} vs {name_b} {cell(b)}; {name_b} − {name_a}: {gap}"
    if low <= 0 <= high:
        return f"{numbers}: no measurable difference."
    return f"{numbers}: {name_b if low > 0 else name_a} is higher, beyond the seeds' noise."


def label_counts(ppo: dict, dpo: dict) -> str:
    """The annotator labels two summary rows used: one number, or both where they differ (online, a
    fresh pair whose two answers are the same is not labelled, so the counts may differ a little)."""
    n_ppo, n_dpo = ppo["annotator_labels"], dpo["annotator_labels"]
    return f"{n_ppo:,}" if n_ppo == n_dpo else f"{n_ppo:,} (PPO) and {n_dpo:,} (DPO)"


def verdict(ppo: dict, dpo: dict) -> str:
    """The verdict row in numbers: at equal labels, PPO x ± y vs DPO z ± w (`compare_rows`)."""
    seeds = ", ".join(map(str, ppo["seeds"]))
    where = f"At {label_counts(ppo, dpo)} labels ({ppo['regime']}, seeds {seeds}): "
    return where + compare_rows(("PPO", ppo), ("DPO", dpo))


def online_gains(summary, labels: int = 1000) -> list[str]:
    """Per method, what the online regime's fresh labels bought over the offline one (`compare_rows`)."""
    rows = main_rows(summary, labels)
    out = []
    for method in ("ppo", "dpo"):
        offline, online = rows.get("offline", {}).get(method), rows.get("online", {}).get(method)
        if offline and online and min(len(offline["seeds"]), len(online["seeds"])) > 1:
            out.append(f"{method.upper()}: " + compare_rows(("offline", offline), ("online", online)))
    return out


def stale_runs(results: dict) -> list[str]:
    """The runs recorded with other settings than today's defaults give (besides their arm's own
    seed, β and data): results a changed recipe has made stale."""
    from tutor.dpo import DPOSettings
    from tutor.ppo import PPOSettings

    own = {"seed", "beta", "data", "n_pairs", "rounds", "answers_per_prompt", "use_learner_labels", "persona", "steps"}
    stale = []
    for run in results.get("runs", []):
        today = asdict(PPOSettings() if run["arm"]["method"] == "ppo" else DPOSettings())
        recorded = run["metrics"].get("settings", {})
        if any(recorded.get(k) != v for k, v in today.items() if k not in own):
            stale.append(run["name"])
    return stale


def equal_budget(path: str | Path | None = None) -> dict | None:
    """What notebook 07 shows: the committed results (`benchmarks/comparison.py`), their summary
    and which runs a changed recipe made stale; None where the file is missing (an installed
    package ships no benchmark results)."""
    results = measured(path)
    if results is None:
        return None
    sft_gold = next((r["metrics"]["sft_gold"] for r in results.get("runs", []) if "sft_gold" in r["metrics"]), None)
    return {**results, "stale": stale_runs(results), "sft_gold": sft_gold}


def main_rows(summary, labels: int = 1000) -> dict[str, dict[str, dict]]:
    """Per regime, PPO's and DPO's rows at `labels` fixed labels with each method's default β (the
    seed's table is re-measured on these)."""
    defaults = {"ppo": _default_beta("ppo"), "dpo": _default_beta("dpo")}
    out: dict[str, dict[str, dict]] = {}
    for row in summary:
        if row["labels"] == labels and row["beta"] == defaults[row["method"]]:
            out.setdefault(row["regime"], {})[row["method"]] = row
    return out


def _default_beta(method: str) -> float:
    if method == "ppo":
        from tutor.ppo import PPOSettings

        return PPOSettings().beta
    from tutor.dpo import DPOSettings

    return DPOSettings().beta


def arm_records(results: dict, regime: str, labels: int = 1000) -> dict[str, list[dict]]:
    """Per method, the runs of `regime` at `labels` fixed labels with the method's default β, by seed."""
    out: dict[str, list[dict]] = {}
    for run in results.get("runs", []):
        a = run["arm"]
        if a["regime"] == regime and a["labels"] == labels and a["beta"] is None:
            out.setdefault(a["method"], []).append(run)
    return {m: sorted(runs, key=lambda r: r["arm"]["seed"]) for m, runs in out.items()}


def seed_table(results: dict, labels: int = 1000):
    """The seed's table (`table.comparison_table`) re-measured on the equal-budget runs, one PPO and
    one DPO column per regime. PPO's wall time includes training its reward model."""
    import pandas as pd

    from tutor.labs.comparison.table import comparison_table

    parts = []
    for regime in REGIMES:
        runs = arm_records(results, regime, labels)
        if not runs.get("ppo") or not runs.get("dpo"):
            continue
        ppo, dpo = runs["ppo"], runs["dpo"]
        part = comparison_table(ppo, dpo)
        accuracy = statistics.fmean(r["metrics"]["reward_accuracy"] for r in ppo)
        refreshed = ", refreshed on each round's fresh labels" if regime == "online" else ""
        part.loc["reward model", "PPO (RLHF)"] = (
            f"yes: learned the same {labels:,} pairs{refreshed} (held-out accuracy at the start {accuracy:.0%})"
        )
        part.loc["annotator labels used"] = [
            f"{max(r['metrics']['annotator_labels'] for r in method_runs):,}" for method_runs in (ppo, dpo)
        ]
        part.columns = [f"{column}, {regime}" for column in part.columns]
        parts.append(part)
    return pd.concat(parts, axis=1) if parts else pd.DataFrame()


def verdicts(summary, labels: int = 1000) -> list[str]:
    """One verdict per regime whose two methods both have ≥ 2 seeds."""
    out = []
    for rows in main_rows(summary, labels).values():
        ppo, dpo = rows.get("ppo"), rows.get("dpo")
        if ppo and dpo and len(ppo["seeds"]) > 1 and len(dpo["seeds"]) > 1:
            out.append(verdict(ppo, dpo))
    return out


COLOURS = {"ppo": "#1f77b4", "dpo": "#d62728"}


def label_curve_figure(summary):
    """Gold win-rate over SFT against the annotator labels used, both methods on one chart: the
    offline points (fixed labels, default β) joined, the online ones as diamonds; bars: the 95 %
    interval over seeds where an arm has several."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for method in ("ppo", "dpo"):
        for regime, symbol in (("offline", "circle"), ("online", "diamond")):
            rows = sorted(
                (
                    r
                    for r in summary
                    if r["method"] == method and r["regime"] == regime and r["beta"] == _default_beta(method)
                ),
                key=lambda r: r["annotator_labels"],
            )
            if not rows:
                continue
            fig.add_trace(
                go.Scatter(
                    x=[r["annotator_labels"] for r in rows],
                    y=[r["win_rate"] for r in rows],
                    error_y=_error_bars(rows),
                    mode="lines+markers" if regime == "offline" else "markers",
                    marker={"symbol": symbol, "size": 10, "color": COLOURS[method]},
                    line={"color": COLOURS[method]},
                    name=f"{method.upper()}, {regime}",
                )
            )
    fig.update_layout(
        title="Label efficiency: what each method makes of the same labels",
        xaxis={"title": "annotator labels used", "type": "log"},
        yaxis={"title": "gold win-rate over SFT", "tickformat": ".0%"},
        legend={"title": {"text": "bars: 95 % interval over seeds"}},
        height=420,
    )
    return fig


def _error_bars(rows) -> dict:
    up = [(r["win_interval"][1] - r["win_rate"]) if r["win_interval"] else 0 for r in rows]
    down = [(r["win_rate"] - r["win_interval"][0]) if r["win_interval"] else 0 for r in rows]
    return {"type": "data", "array": up, "arrayminus": down, "visible": any(up)}


def frontier_figure(summary, labels: int = 1000, sft_gold: float | None = None):
    """Gold score against √KL across β, both methods, offline at `labels` labels: the DPO paper's
    frontier on Gao et al.'s axis (√KL: how far the policy moved, on the scale where gold rises
    about linearly at first). The default β's point is the mean over its seeds; `sft_gold`: the
    start, at KL 0."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if sft_gold is not None:
        fig.add_trace(go.Scatter(x=[0], y=[sft_gold], mode="markers", marker={"size": 10, "color": "grey"}, name="SFT"))
    for method in ("ppo", "dpo"):
        rows = sorted(
            (r for r in summary if r["method"] == method and r["regime"] == "offline" and r["labels"] == labels),
            key=lambda r: r["kl"],
        )
        if not rows:
            continue
        fig.add_trace(
            go.Scatter(
                x=[r["kl"] ** 0.5 for r in rows],
                y=[r["gold"] for r in rows],
                mode="lines+markers+text",
                text=[f"β={r['beta']:g}" for r in rows],
                textposition="top center",
                marker={"size": 10, "color": COLOURS[method]},
                line={"color": COLOURS[method]},
                name=method.upper(),
            )
        )
    fig.update_layout(
        title=f"Gold score against √KL across β ({labels:,} fixed labels)",
        xaxis={"title": "√KL to SFT (√nats per answer)"},
        yaxis={"title": "gold score (mean over held-out answers)"},
        height=420,
    )
    return fig
