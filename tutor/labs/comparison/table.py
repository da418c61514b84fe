"""The seed's PPO-vs-DPO table (reward model, RL loop, stability, compute cost, implementation),
each cell a measurement from the runs' records, plus the outcome rows it leaves out (win-rate, KL).
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Sequence
from pathlib import Path

from tutor.errors import TutorError
from tutor.exercises.comparison import seed_interval  # the interval the notebook asks learners to write

# Our implementation of each method: the files under tutor/ that make up the algorithm (not its
# input checks or settings). The last entries are the single modules they are being split from:
# only files that exist are counted, so the list holds before and after the split lands.
IMPLEMENTATION_FILES = {
    "ppo": ("ppo/trainer.py", "ppo/rollout.py", "ppo/math.py", "ppo/value.py", "ppo/kl_controller.py"),
    "dpo": ("dpo/loss.py", "dpo/rounds.py", "dpo/pairs.py", "dpo/trl_trainer.py", "dpo/stage.py"),
}
PACKAGE = Path(__file__).resolve().parents[2]  # tutor/


def code_lines(path: str | Path) -> int:
    """Lines of code in a Python file: not blank, not comments, not docstrings."""
    source = Path(path).read_text()
    doc_lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(getattr(body[0], "value", None), ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            doc_lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    code: set[int] = set()
    skip = {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENCODING,
        tokenize.ENDMARKER,
    }
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in skip:
            continue
        for line in range(tok.start[0], tok.end[0] + 1):
            if line not in doc_lines:
                code.add(line)
    return len(code)


def implementation_lines() -> dict[str, dict[str, int]]:
    """Per method, lines of our code (`IMPLEMENTATION_FILES`) and of the library code it stands on."""
    ours = {
        method: sum(code_lines(PACKAGE / name) for name in names if (PACKAGE / name).exists())
        for method, names in IMPLEMENTATION_FILES.items()
    }
    try:
        import trl.trainer.dpo_trainer as trl_dpo

        library = code_lines(trl_dpo.__file__)
    except ImportError:  # pragma: no cover - trl is a dependency
        library = 0
    return {"ppo": {"ours": ours["ppo"], "library": 0}, "dpo": {"ours": ours["dpo"], "library": library}}


def mean_and_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    n = len(values)
    mean = sum(values) / n
    sd = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5 if n > 1 else 0.0
    return mean, sd


def summarise(records: Sequence[dict]) -> dict:
    """Mean and spread (sample standard deviation) across seeds of what the table reports."""
    if not records:
        raise TutorError("summarise() needs at least one run record.")
    win = [r["metrics"]["gold_win_rate_vs_sft"] for r in records]
    kl = [r["metrics"]["kl"] for r in records]
    seconds = [r["seconds"] for r in records]
    memory = [r["peak_rss_mb"] for r in records if r.get("peak_rss_mb")]
    summary = {"seeds": len(records)}
    for name, values in (("win", win), ("kl", kl), ("seconds", seconds)):
        summary[name], summary[name + "_sd"] = mean_and_sd(values)
    summary["win_range"] = (min(win), max(win))
    summary["win_interval"] = seed_interval(win) if len(win) > 1 else None
    ordered = sorted(seconds)
    mid = len(ordered) // 2
    summary["seconds_median"] = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    summary["seconds_range"] = (ordered[0], ordered[-1])
    summary["peak_rss_mb"] = max(memory) if memory else None
    return summary


def wall_time(summary: dict) -> str:
    """The median and range of the runs' wall times: one run slowed by a busy machine moves a mean
    and its sd a lot (it once printed "51 s ± 43"), the median hardly."""
    low, high = summary["seconds_range"]
    if summary["seeds"] < 2:
        return f"{summary['seconds_median']:.0f} s (one run; times depend on the machine's load)"
    return (
        f"{summary['seconds_median']:.0f} s median, {low:.0f}–{high:.0f} s over {summary['seeds']} runs "
        "(times depend on the machine's load)"
    )


def win_rate_cell(summary: dict) -> str:
    """The mean win-rate with its 95 % interval over seeds (t-interval), or the one seed's number."""
    if summary["win_interval"] is None:
        return f"{summary['win']:.0%} (one seed: no interval)"
    low, high = summary["win_interval"]
    return f"{summary['win']:.0%} (95 % interval {low:.0%}–{high:.0%}, {summary['seeds']} seeds)"


def describe_run(record: dict) -> str:
    """One line for a run: "PPO seed 0: win-rate over SFT 50%, KL 2.41, 5 s"."""
    metrics = record["metrics"]
    return (
        f"{record['method'].upper()} seed {record['seed']}: win-rate over SFT {metrics['gold_win_rate_vs_sft']:.0%}, "
        f"KL {metrics['kl']:.2f}, {record['seconds']:.0f} s"
    )


def _stability(summary: dict) -> str:
    if summary["seeds"] < 2:
        return f"{summary['win']:.0%} on one seed (the spread needs ≥ 2 seeds: run in full mode)"
    low, high = summary["win_range"]
    return f"{summary['win']:.0%} ± {summary['win_sd']:.0%} over {summary['seeds']} seeds (range {low:.0%}–{high:.0%})"


def trained_tokens(records: Sequence[dict]) -> str:
    """The "tokens trained on" cell: prompt + answer tokens through the policy's updates, every
    epoch counted (TRL's `num_tokens` for DPO, the same count in our PPO), the mean over seeds."""
    tokens = [r["metrics"]["trained_tokens"] for r in records if r["metrics"].get("trained_tokens")]
    if not tokens:
        return "not recorded (runs made before the count existed: rebuild them)"
    mean = sum(tokens) / len(tokens)
    return f"{mean / 1e6:.2f} M" + (f" (mean of {len(tokens)} runs)" if len(tokens) > 1 else "")


def _peak_memory(summary: dict) -> str:
    return f"{summary['peak_rss_mb']:.0f} MB" if summary["peak_rss_mb"] else "not measured"


def models_in_memory(method: str, record: dict | None = None) -> str:
    """The "models in memory" cell: PPO holds four models while it trains, DPO two."""
    if method == "ppo":
        params = (record or {}).get("metrics", {}).get("parameters", {})
        total = sum(params.get(n, 0) for n in ("policy", "reference", "reward", "value"))
        return "4: policy, reference, reward, value" + (f" ({total / 1e6:.1f} M parameters)" if total else "")
    return "2: policy, reference (the reference only scores the pairs once, before training)"


def _rounds_trained(metrics: dict) -> int:
    return int(metrics.get("rounds_trained") or len(metrics.get("rounds") or []) or 1)


def dpo_loop(metrics: dict) -> str:
    """The "RL loop" cell for a DPO run: none, but iterative DPO is not one fixed set of pairs either."""
    rounds = _rounds_trained(metrics)
    if rounds == 1:
        return "no: one supervised loss over fixed pairs"
    return f"no RL loop, but {rounds} rounds: fresh answers, labelled by the annotator, then a supervised loss"


def dpo_labels(metrics: dict) -> str:
    """The "annotator labels used" cell for a DPO run (ranking k answers costs k(k−1)/2 labels a pair)."""
    labels = metrics.get("annotator_labels")
    if not labels:
        return "not recorded"
    return f"{labels} (each round ranks fresh answers)" if _rounds_trained(metrics) > 1 else str(labels)


def _ppo_column(ppo: Sequence[dict], reward_record: dict | None, lines: dict) -> dict[str, str]:
    summary = summarise(ppo)
    reward_metrics = (reward_record or {}).get("metrics", {})
    reward_seconds = (reward_record or {}).get("seconds")
    episodes = ppo[0]["metrics"].get("episodes")
    return {
        "reward model": (
            f"yes: trained first ({reward_seconds:.0f} s, held-out accuracy "
            f"{reward_metrics.get('accuracy', float('nan')):.0%})"
        )
        if reward_seconds
        else "yes",
        "RL loop": f"yes: {episodes} answers sampled, scored and learned from" if episodes else "yes",
        "annotator labels used": (
            f"{reward_metrics['n_train_pairs']} (the reward model's pairs)"
            if "n_train_pairs" in reward_metrics
            else "not recorded"
        ),
        "stability (win-rate across seeds)": _stability(summary),
        "compute cost (wall time)": (
            wall_time(summary) + (f" + reward model {reward_seconds:.0f} s" if reward_seconds else "")
        ),
        "peak memory (training process)": _peak_memory(summary),
        "tokens trained on": trained_tokens(ppo),
        "models in memory": models_in_memory("ppo", ppo[0]),
        "implementation (lines of code)": f"{lines['ppo']['ours']} of ours (written from scratch)",
        "gold win-rate over SFT": win_rate_cell(summary),
        "KL to SFT (nats per answer)": f"{summary['kl']:.2f} ± {summary['kl_sd']:.2f}",
    }


def _dpo_column(dpo: Sequence[dict], lines: dict) -> dict[str, str]:
    summary = summarise(dpo)
    return {
        "reward model": "no: the policy's log-ratio to the reference is the reward",
        "RL loop": dpo_loop(dpo[0]["metrics"]),
        "annotator labels used": dpo_labels(dpo[0]["metrics"]),
        "stability (win-rate across seeds)": _stability(summary),
        "compute cost (wall time)": wall_time(summary),
        "peak memory (training process)": _peak_memory(summary),
        "tokens trained on": trained_tokens(dpo),
        "models in memory": models_in_memory("dpo"),
        "implementation (lines of code)": (
            f"{lines['dpo']['ours']} of ours + TRL's DPOTrainer ({lines['dpo']['library']})"
        ),
        "gold win-rate over SFT": win_rate_cell(summary),
        "KL to SFT (nats per answer)": f"{summary['kl']:.2f} ± {summary['kl_sd']:.2f}",
    }


def comparison_table(ppo: Sequence[dict] | None, dpo: Sequence[dict], reward_record: dict | None = None):
    """The seed's table filled from the runs' records (one per seed), a pandas DataFrame with a
    "PPO (RLHF)" column (when there are PPO runs) and a "DPO" column; `reward_record` is the reward
    stage's record, whose time and labels PPO's column counts."""
    import pandas as pd

    lines = implementation_lines()
    columns = {}
    if ppo:
        columns["PPO (RLHF)"] = _ppo_column(ppo, reward_record, lines)
    columns["DPO"] = _dpo_column(dpo, lines)
    return pd.DataFrame(columns)
