"""Why reward hacking happens, measured: proxies of different strength, optimised on one axis.

A proxy reward model is trained on some of the gold annotator's labels (the fair fight's fixed
pairs, `tutor.labs.comparison.budget.fixed_pairs`: label seed 0 for every proxy); more labels make
a better proxy. An *ensemble* of proxies trained on the same few labels from different seeds is
Coste et al.'s (2024) mitigation: optimise the mean of their standardised scores, or the worst
(lowest) of them, so an answer only wins if no member is fooled.

Each proxy is optimised by best-of-n on ONE shared pool of SFT answers (the same answers, only the
pick differs), scored by the gold annotator, on Gao et al.'s axis d = √KL with
KL(best-of-n ‖ SFT) = log n − (n − 1)/n. Proxies are cached in runs/<model>/beyond/proxies/.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tutor.beyond.overoptimisation import GaoFit, fit_gao
from tutor.config import check_whole
from tutor.course import TINY
from tutor.errors import TutorError
from tutor.labs.reward_hacking import best_of_n_kl, expected_best_of_n

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "beyond.json"
MIN_LABELS = 16  # as the fair fight's: fewer pairs than a couple of batches teach nothing
REDUCTIONS = ("mean", "worst")  # Coste et al.'s mean ensemble and worst-case optimisation


@dataclass(frozen=True)
class ProxySettings:
    """The proxy sweep (`tutor.config`'s convention: checked when made)."""

    labels: tuple[int, ...] = (100, 400)  # one proxy per label count, fewest first (the benchmark: 250, 1,000, 4,000)
    members: int = 3  # ensemble: reward models on the fewest labels, training seeds 0 … members − 1
    n_prompts: int = 12  # held-out prompts
    pool: int = 64  # SFT answers per prompt; best-of-n for n = 1, 2, 4, … ≤ pool
    seed: int = 0  # the pool's sampling seed

    def __post_init__(self):
        labels = self.labels
        if (
            not isinstance(labels, tuple)
            or not labels
            or any(isinstance(n, bool) or not isinstance(n, int) or n < MIN_LABELS for n in labels)
            or list(labels) != sorted(set(labels))
        ):
            raise TutorError(
                f"ProxySettings.labels must be a tuple of whole numbers ≥ {MIN_LABELS}, fewest first and none "
                f"twice, e.g. (250, 1000); got {labels!r}."
            )
        check_whole(self, "members", minimum=2)
        check_whole(self, "n_prompts")
        check_whole(self, "pool", minimum=2)
        check_whole(self, "seed", minimum=0)

    @classmethod
    def for_mode(cls, fast: bool, model: str = TINY, **changes) -> ProxySettings:
        """FAST mode: tiny proxies (40 and 160 labels), two members, 4 prompts × 16 answers."""
        base = dict(labels=(40, 160), members=2, n_prompts=4, pool=16) if fast else {}
        return cls(**{**base, **changes})

    @property
    def ns(self) -> list[int]:
        return [2**k for k in range(int(math.log2(self.pool)) + 1)]


def proxy_folder(course, labels: int, seed: int = 0) -> Path:
    return course.model_runs / "beyond" / "proxies" / f"{labels}-seed{seed}"


def train_proxy(course, labels: int, seed: int = 0, graded: bool = True) -> dict:
    """A reward model on `labels` fixed gold pairs from training seed `seed`, with its held-out
    accuracy when `graded`; cached (its record, with the model folder, is returned)."""
    from tutor.core.models import save
    from tutor.labs.comparison.budget import PERSONA, fixed_pairs
    from tutor.preferences import to_dataset
    from tutor.reward import RewardSettings, train
    from tutor.reward.accuracy import evaluate, held_out_pairs
    from tutor.world import GoldAnnotator

    where = proxy_folder(course, labels, seed)
    try:
        record = json.loads((where / "record.json").read_text())
        if (where / "model" / "config.json").is_file() and (record["accuracy"] is not None or not graded):
            return record
    except (OSError, json.JSONDecodeError):
        pass
    start = time.perf_counter()
    settings = RewardSettings.for_mode(course.fast, course.model, n_pairs=labels, seed=seed)
    # 500 held-out pairs: accuracy ± 2 points, enough to rank proxies 4× apart in labels (FAST: a sketch)
    settings = replace(settings, n_eval_pairs=50 if course.fast else 500)
    source = f"{labels} fixed pairs labelled by the gold annotator ({PERSONA})"
    reward = train(course, settings, data=to_dataset(fixed_pairs(labels)), source=source, progress=False)
    save(reward.model, reward.tokenizer, where / "model")
    pairs = held_out_pairs(settings.n_eval_pairs) if graded else []
    accuracy = evaluate(reward.model, reward.tokenizer, pairs, GoldAnnotator(PERSONA))["accuracy"] if graded else None
    record = {
        "labels": labels,
        "seed": seed,
        "accuracy": accuracy,
        "eval_pairs": len(pairs),
        "seconds": round(time.perf_counter() - start, 1),
        "model": str(where / "model"),
    }
    (where / "record.json").write_text(json.dumps(record, indent=2))
    return record


@dataclass
class Pool:
    """`per_prompt` SFT answers to each prompt, in a row, with the gold annotator's scores."""

    prompts: list[str]
    texts: list[str]
    ended: list[bool]
    gold: list[float]
    per_prompt: int

    def rows(self, values: Sequence[float]) -> list[list[float]]:
        k = self.per_prompt
        return [list(values[i : i + k]) for i in range(0, len(values), k)]


def sample_pool(model, tokenizer, prompts: Sequence[str], per_prompt: int, seed: int = 0, max_new_tokens: int = 96):
    from tutor.core.sampling import sample
    from tutor.labs.comparison.budget import PERSONA
    from tutor.world import GoldAnnotator

    asked = [p for p in prompts for _ in range(per_prompt)]
    samples = sample(model, tokenizer, asked, seed=seed, max_new_tokens=max_new_tokens)
    gold = GoldAnnotator(PERSONA).scores(asked, samples.texts)
    return Pool(asked, samples.texts, samples.ended, gold, per_prompt)


def standardised(scores: Sequence[float], ended: Sequence[bool], missing_eos_penalty: float = 1.0) -> list[float]:
    """What PPO would maximise: the score in standard deviations of the SFT answers (this pool),
    minus the penalty for an answer that never ended."""
    mean, sd = statistics.fmean(scores), statistics.pstdev(scores) or 1.0
    return [(s - mean) / sd - missing_eos_penalty * (not e) for s, e in zip(scores, ended, strict=True)]


def ensemble(members: Sequence[Sequence[float]], reduction: str) -> list[float]:
    """Per answer, the mean or the worst (lowest) of the members' standardised scores."""
    if reduction not in REDUCTIONS:
        raise TutorError(f"Unknown ensemble reduction {reduction!r}; choose one of: {', '.join(REDUCTIONS)}.")
    if len(members) < 2:
        raise TutorError(f"An ensemble needs at least two members, got {len(members)}.")
    pick = statistics.fmean if reduction == "mean" else min
    return [pick(column) for column in zip(*members, strict=True)]


@dataclass
class Curve:
    """Best-of-n with one proxy: per n, the mean over prompts of the pick's gold (in SFT standard
    deviations above the pool's mean) and its standard error over prompts."""

    name: str
    labels: int
    accuracy: float | None  # held-out accuracy (None for an ensemble)
    gold: list[float]
    se: list[float]
    per_prompt: list[list[float]]  # [n][prompt]: the pick's expected gold, for paired differences
    kind: str = "labels"  # "labels": one proxy; "members": one member, averaged over seeds; "ensemble"


@dataclass
class ProxySweep:
    ns: list[int]
    curves: dict[str, Curve] = field(default_factory=dict)
    gold_mean: float = 0.0
    gold_sd: float = 1.0
    prompts: int = 0
    member_correlation: float | None = None  # mean correlation of two ensemble members' scores
    member_gold: list[float] = field(default_factory=list)  # each member's gold at the largest n, alone

    @property
    def sqrt_kl(self) -> list[float]:
        return [math.sqrt(best_of_n_kl(n)) for n in self.ns]

    def fit(self, name: str) -> GaoFit:
        return fit_gao(self.sqrt_kl, self.curves[name].gold, "best_of_n")

    def table(self):
        """One row per proxy: labels, held-out accuracy, the gold of the best pick, where it peaks,
        the gold at the largest n, and Gao's best-of-n fit."""
        import pandas as pd

        rows = {}
        for name, c in self.curves.items():
            fit = self.fit(name)
            peak = max(range(len(self.ns)), key=c.gold.__getitem__)
            rows[name] = {
                "labels": c.labels,
                "held-out accuracy": c.accuracy,
                "peak gold": c.gold[peak],
                "peak n": self.ns[peak],
                f"gold at n = {self.ns[-1]}": c.gold[-1],
                "± se": c.se[-1],
                "fit α": fit.alpha,
                "fit β": fit.beta,
                "fit peak √KL": fit.peak,
                "fit r²": fit.r2,
            }
        return pd.DataFrame(rows).T

    def curves_frame(self):
        """Long form for plotting: proxy, n, √KL, gold, and Gao's fitted gold."""
        import pandas as pd

        from tutor.beyond.overoptimisation import gao_curve

        rows = []
        for name, c in self.curves.items():
            fit = self.fit(name)
            for n, d, g, se in zip(self.ns, self.sqrt_kl, c.gold, c.se, strict=True):
                fitted = gao_curve(d, fit.alpha, fit.beta, "best_of_n")
                rows.append({"proxy": name, "n": n, "√KL": d, "gold": g, "se": se, "Gao fit": fitted})
        return pd.DataFrame(rows)

    def difference(self, a: str, b: str, n: int | None = None) -> tuple[float, float]:
        """Gold of `a`'s pick minus `b`'s at n (default: the largest), paired by prompt: (mean, 95 % half-width)."""
        i = self.ns.index(n) if n is not None else len(self.ns) - 1
        return paired(self.curves[a].per_prompt[i], self.curves[b].per_prompt[i])


def paired(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Mean of xs − ys, prompt by prompt, and its 95 % half-width (normal; inf with one prompt)."""
    diffs = [x - y for x, y in zip(xs, ys, strict=True)]
    se = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else float("inf")
    return statistics.fmean(diffs), 1.96 * se


def _curve(name, labels, accuracy, proxy: Sequence[float], pool: Pool, ns, mean, sd, kind="labels") -> Curve:
    gold_rows = pool.rows([(g - mean) / sd for g in pool.gold])
    per_n = [[expected_best_of_n(p, g, n)[1] for p, g in zip(pool.rows(proxy), gold_rows, strict=True)] for n in ns]
    return _summarised(name, labels, accuracy, per_n, kind)


def _summarised(name, labels, accuracy, per_n: list[list[float]], kind: str) -> Curve:
    k = len(per_n[0])
    gold = [statistics.fmean(row) for row in per_n]
    se = [statistics.stdev(row) / math.sqrt(k) if k > 1 else 0.0 for row in per_n]
    return Curve(name, labels, accuracy, gold, se, per_n, kind)


def member_average(curves: Sequence[Curve], name: str) -> Curve:
    """What optimising ONE member gets, averaged over the members (prompt by prompt): the fair
    baseline for an ensemble, since one seed can be luckier than the rest."""
    per_n = [
        [statistics.fmean(values) for values in zip(*(c.per_prompt[i] for c in curves), strict=True)]
        for i in range(len(curves[0].per_prompt))
    ]
    return _summarised(name, curves[0].labels, None, per_n, "members")


def proxy_sweep(course, settings: ProxySettings | None = None, progress=None) -> ProxySweep:
    """Train (or load) every proxy and ensemble member, sample one pool of SFT answers to held-out
    prompts, and measure best-of-n with each proxy, the mean ensemble and the worst-case ensemble."""
    from tutor import stages
    from tutor.core.models import load_causal_lm, load_tokenizer
    from tutor.ppo import PPOSettings
    from tutor.reward.model import load_reward, score_texts
    from tutor.world import prompts_for

    s = settings or ProxySettings.for_mode(course.fast, course.model)
    sft = stages.ensure(course, "sft", quiet=True)
    tokenizer = load_tokenizer(sft)
    ppo = PPOSettings.for_mode(course.fast, course.model)
    prompts = [p.text for p in prompts_for("test")][: s.n_prompts]
    pool = sample_pool(load_causal_lm(sft, course.device), tokenizer, prompts, s.pool, s.seed, ppo.max_new_tokens)
    mean, sd = statistics.fmean(pool.gold), statistics.pstdev(pool.gold) or 1.0
    sweep = ProxySweep(s.ns, gold_mean=mean, gold_sd=sd, prompts=len(prompts))

    def scores(record):
        model, reward_tokenizer = load_reward(record["model"], course.device, tokenizer)
        raw = score_texts(model, reward_tokenizer, pool.prompts, pool.texts)
        return standardised(raw, pool.ended, ppo.missing_eos_penalty)

    fewest = s.labels[0]
    members = []
    for labels in s.labels:
        record = train_proxy(course, labels, 0)
        proxy = scores(record)
        if labels == fewest:
            members.append(proxy)
        name = f"{labels:,} labels"
        sweep.curves[name] = _curve(name, labels, record["accuracy"], proxy, pool, s.ns, mean, sd)
        if progress is not None:
            progress(name)
    for seed in range(1, s.members):
        members.append(scores(train_proxy(course, fewest, seed, graded=False)))
    sweep.member_correlation = statistics.fmean(
        statistics.correlation(x, y) for i, x in enumerate(members) for y in members[i + 1 :]
    )
    single = [_curve(str(i), fewest, None, m, pool, s.ns, mean, sd) for i, m in enumerate(members)]
    sweep.member_gold = [c.gold[-1] for c in single]
    name = f"one of {s.members} × {fewest:,} (seed average)"
    sweep.curves[name] = member_average(single, name)
    for reduction in REDUCTIONS:
        name = f"{reduction} of {s.members} × {fewest:,}"
        proxy = ensemble(members, reduction)
        sweep.curves[name] = _curve(name, fewest, None, proxy, pool, s.ns, mean, sd, kind="ensemble")
    return sweep


def verdict(sweep: ProxySweep) -> list[str]:
    """What the sweep shows, each claim beside its 95 % interval (paired by prompt)."""
    names = list(sweep.curves)
    singles = [n for n in names if sweep.curves[n].kind == "labels"]
    n_max = sweep.ns[-1]
    lines = []
    for name in names:
        c = sweep.curves[name]
        peak = max(range(len(sweep.ns)), key=c.gold.__getitem__)
        drop, half = paired(c.per_prompt[peak], c.per_prompt[-1])
        fell = peak < len(sweep.ns) - 1 and drop > half
        accuracy = f" (held-out accuracy {c.accuracy:.3f})" if c.accuracy is not None else ""
        lines.append(
            f"{name}{accuracy}: gold peaks at n = {sweep.ns[peak]} ({c.gold[peak]:+.2f} SFT sd) and is "
            f"{c.gold[-1]:+.2f} ± {1.96 * c.se[-1]:.2f} at n = {n_max}"
            + (
                f": past its peak the gold fell by {drop:.2f} ± {half:.2f}, over-optimisation."
                if fell
                else ": no fall past the peak beyond the noise."
            )
        )
    if len(singles) >= 2:
        diff, half = sweep.difference(singles[-1], singles[0])
        lines.append(_compare(f"{singles[-1]} − {singles[0]}", diff, half, n_max))
    if sweep.member_gold:
        alone = ", ".join(f"{g:+.2f}" for g in sweep.member_gold)
        lines.append(f"Each ensemble member alone, at n = {n_max}: {alone} (one training seed each, the same labels).")
    baseline = next((n for n in names if sweep.curves[n].kind == "members"), None)
    for name in (n for n in names if sweep.curves[n].kind == "ensemble" and baseline is not None):
        diff, half = sweep.difference(name, baseline)
        lines.append(_compare(f"{name} − {baseline}", diff, half, n_max))
    return lines


def _compare(what: str, diff: float, half: float, n: int) -> str:
    if diff - half > 0:
        word = "higher, beyond the noise"
    elif diff + half < 0:
        word = "lower, beyond the noise"
    else:
        word = "no measurable difference"
    return f"{what} at n = {n}: {diff:+.2f} ± {half:.2f} SFT sd of gold ({word})."


def rl_path(course, record: dict, sweep: ProxySweep, steps: int = 20, beta: float = 0.0) -> dict:
    """PPO (the stage's recipe, with `beta` and `steps`) against one proxy from the SFT model: per
    step √KL and the gold score of the rollouts, in SFT standard deviations above the first step's
    (which the SFT model wrote), and Gao's RL fit to them."""
    from dataclasses import replace

    from tutor import stages
    from tutor.core.models import load_causal_lm, load_tokenizer
    from tutor.ppo import PPOSettings
    from tutor.ppo.stage import StageModels, make_trainer
    from tutor.reward.model import load_reward

    sft = stages.ensure(course, "sft", quiet=True)
    tokenizer = load_tokenizer(sft)
    model, reward_tokenizer = load_reward(record["model"], course.device, tokenizer)
    models = StageModels(
        sft, Path(record["model"]), tokenizer, reward_tokenizer, load_causal_lm(sft, course.device), model
    )
    settings = replace(PPOSettings.for_mode(course.fast, course.model), beta=beta, steps=steps)
    trainer = make_trainer(models, settings)
    history = trainer.train(progress=False)
    d = [math.sqrt(max(0.0, h["objective/kl"])) for h in history]
    gold = [(h["gold/score"] - history[0]["gold/score"]) / sweep.gold_sd for h in history]
    fit = fit_gao(d, gold, "rl")
    return {
        "labels": record["labels"],
        "beta": beta,
        "sqrt_kl": d,
        "gold": gold,
        "proxy": [h["objective/scores"] for h in history],
        "fit": {"alpha": fit.alpha, "beta": fit.beta, "peak_sqrt_kl": fit.peak, "r2": fit.r2},
        "seconds": round(trainer.train_seconds, 1),
    }


def measured(path: str | Path | None = None) -> dict | None:
    """The full-scale sweep `benchmarks/beyond.py --sections hacking` committed with the course
    (None where this copy of the course has no benchmarks folder)."""
    path = Path(path) if path is not None else RESULTS
    try:
        return json.loads(path.read_text()).get("reward_hacking")
    except (OSError, json.JSONDecodeError):
        return None
