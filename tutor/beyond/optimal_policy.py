"""Why DPO often matches PPO: both optimise max E_π[r] − β·KL(π ‖ π_ref), whose optimum is known,

    π*(y|x) = π_ref(y|x)·exp(r(x, y)/β) / Z(x).

On the enumerable world (`tutor.beyond.enumerable`) we compute π* exactly, train the SFT model two
ways towards it, and measure each one's distance to π* (KL and total variation) as it trains:

- **PPO-style**: PPO's clipped surrogate on the restricted policy, with the KL to π_ref inside the
  reward (r − β·(log π − log π_ref) per answer) and the mean reward as baseline instead of a value
  model; its expectation over answers is computed exactly over the K candidates (or, with
  `samples=m`, estimated from m sampled answers per prompt);
- **DPO**: `tutor.dpo.dpo_loss` on pairs of the same candidates labelled by the gold annotator.

DPO's implicit reward β·log(π/π_ref) should then equal r up to a per-prompt constant (β·log Z).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tutor.beyond.enumerable import EnumerableWorld, make_world, restricted_policy, sequence_logps
from tutor.config import check_number, check_whole
from tutor.course import TINY
from tutor.errors import TutorError
from tutor.world import GoldAnnotator

# --- the closed form and the distances ------------------------------------------------------------


def optimal_policy(ref_logprobs, rewards, beta: float):
    """log π*(y|x) = log π_ref(y|x) + r(x, y)/β − log Z(x), normalised over the last dimension."""
    import torch

    if not beta > 0:
        raise TutorError(
            f"beta must be > 0 for the optimal policy (β → 0 puts all mass on the best answer), got {beta!r}."
        )
    return torch.log_softmax(ref_logprobs + rewards / beta, dim=-1)


def kl_divergence(logp, logq):
    """KL(p ‖ q) = Σ_y p(y)·(log p(y) − log q(y)) per prompt (in nats), from log-probabilities."""
    return (logp.exp() * (logp - logq)).sum(-1)


def total_variation(logp, logq):
    """TV(p, q) = ½·Σ_y |p(y) − q(y)| per prompt: the largest difference in probability of any event."""
    return 0.5 * (logp.exp() - logq.exp()).abs().sum(-1)


def centred_correlation(a, b) -> float:
    """Pearson correlation of a and b (prompts, K) after subtracting each prompt's mean from each:
    'equal up to a per-prompt constant' reads as a correlation of 1."""
    a = a - a.mean(-1, keepdim=True)
    b = b - b.mean(-1, keepdim=True)
    return float((a * b).sum() / (a.pow(2).sum().sqrt() * b.pow(2).sum().sqrt()).clamp_min(1e-12))


# --- settings ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptimalPolicySettings:
    """The enumerable-world experiment (`tutor.config`'s convention)."""

    n_prompts: int = 12  # prompts of the world
    k: int = 6  # candidate answers per prompt
    beta: float = 1.0  # KL price of the shared objective (and DPO's β)
    steps: int = 30  # updates of each method
    learning_rate: float = 3e-4  # Adam, both methods
    samples: int = 0  # PPO-style: 0 = the expectation over all K answers exactly; m ≥ 2 = m sampled answers
    ppo_epochs: int = 2  # PPO-style: clipped updates per rollout
    cliprange: float = 0.2
    max_words: int = 40  # candidates longer than this are not used (every step scores all of them)
    label_repeats: int = 4  # DPO: each of the K(K−1)/2 pairs of a prompt is labelled this many times
    persona: str = "riley"
    seed: int = 0

    def __post_init__(self):
        for name in ("n_prompts", "steps", "ppo_epochs", "label_repeats", "max_words"):
            check_whole(self, name)
        check_whole(self, "k", minimum=2)
        check_whole(self, "seed", minimum=0)
        check_number(self, "beta", above=0)
        check_number(self, "learning_rate", above=0)
        check_number(self, "cliprange", above=0)
        check_whole(self, "samples", minimum=0)
        if self.samples == 1:
            raise TutorError(
                "OptimalPolicySettings.samples must be 0 (exact expectation) or ≥ 2 (the baseline is the "
                "other samples' mean), got 1."
            )

    @classmethod
    def for_mode(cls, fast: bool, model: str = TINY, **changes) -> OptimalPolicySettings:
        """FAST mode: fewer prompts, candidates and steps (a sketch of the result, not the result)."""
        base = dict(n_prompts=4, k=4, steps=8, ppo_epochs=1, label_repeats=3) if fast else {}
        return cls(**{**base, **changes})


# --- training ---------------------------------------------------------------------------------------


@dataclass
class Run:
    """One method's path towards π*: per measured step, its mean KL(π ‖ π*), TV(π, π*), expected
    reward and KL(π ‖ π_ref) over the world's prompts; `model` is the trained model."""

    method: str
    history: list[dict] = field(default_factory=list)
    model: object = None
    seconds: float = 0.0

    @property
    def final(self) -> dict:
        return self.history[-1]


def measure(logpi, ref_logpi, opt_logpi, rewards, step: int) -> dict:
    """How far the restricted policy `logpi` is from π* and from π_ref, and what it earns."""
    return {
        "step": step,
        "kl_to_optimal": float(kl_divergence(logpi, opt_logpi).mean()),
        "tv_to_optimal": float(total_variation(logpi, opt_logpi).mean()),
        "reward": float((logpi.exp() * rewards).sum(-1).mean()),
        "kl_to_ref": float(kl_divergence(logpi, ref_logpi).mean()),
    }


def label_pairs(world: EnumerableWorld, repeats: int = 2, seed: int = 0) -> list[tuple[int, int, int]]:
    """(prompt, chosen, rejected) index triples: every pair of a prompt's candidates labelled
    `repeats` times by the persona's noisy annotator (Bradley–Terry labels)."""
    judge = GoldAnnotator(world.persona, seed=seed)
    temperature = judge.persona.temperature
    out = []
    for i, r in enumerate(world.rewards.tolist()):
        for a in range(world.k):
            for b in range(a + 1, world.k):
                for _ in range(repeats):
                    first = judge.label_scores(r[a] * temperature, r[b] * temperature)
                    out.append((i, a, b) if first else (i, b, a))
    return out


def _adam(model, lr: float):
    import torch

    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)


def _step(optim, model, loss) -> None:
    """One optimizer step on `loss`, gradients clipped to norm 1 (both methods alike)."""
    import torch

    optim.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optim.step()


def train_ppo_style(
    model,
    ref_seq,
    tokenizer,
    world,
    settings: OptimalPolicySettings,
    opt_logpi,
    callbacks=None,
    rewards=None,
    name: str = "PPO-style",
) -> Run:
    """PPO's clipped update on the restricted policy with the KL in the reward (no value model: one
    step is one answer). With `settings.samples` = 0 the surrogate's expectation over answers is
    computed exactly over the K candidates (weights π_old, baseline E_π_old[reward]); with m > 0 it is
    estimated from m sampled answers per prompt with a leave-one-out baseline, as RLOO does.
    `rewards` (P, K): what it maximises, the world's r unless given (e.g. a reward fitted to labels);
    it is always measured against π* and r of the world."""
    import time

    import torch

    start = time.perf_counter()
    gen = torch.Generator().manual_seed(settings.seed)
    ref_logpi = restricted_policy(ref_seq)
    optim = _adam(model, settings.learning_rate)
    run = Run(name, model=model)
    trained_on = world.rewards if rewards is None else rewards
    model.train()
    for step in range(settings.steps + 1):
        seq = sequence_logps(model, tokenizer, world, grad=step < settings.steps)
        logpi = restricted_policy(seq)
        run.history.append(measure(logpi.detach(), ref_logpi, opt_logpi, world.rewards, step))
        for cb in callbacks or ():
            cb(step, run.history[-1])
        if step == settings.steps:
            break
        old = logpi.detach()
        if settings.samples:  # sampled answers, a leave-one-out baseline over the prompt's other samples
            m = settings.samples
            picks = torch.multinomial(old.exp(), m, replacement=True, generator=gen)  # (P, m)
            weights = torch.full(picks.shape, 1.0 / m)
            reward = trained_on.gather(-1, picks) - settings.beta * (old - ref_logpi).gather(-1, picks)
            advantage = reward - (reward.sum(-1, keepdim=True) - reward) / (m - 1)
        else:  # every candidate, weighted by π_old: the expectation the samples estimate
            picks = torch.arange(world.k).expand(len(world.prompts), -1)
            weights = old.exp()
            reward = trained_on - settings.beta * (old - ref_logpi)
            advantage = reward - (weights * reward).sum(-1, keepdim=True)
        old_lp = old.gather(-1, picks)
        for epoch in range(settings.ppo_epochs):
            if epoch:  # the first epoch reuses the forward pass that measured the policy
                logpi = restricted_policy(sequence_logps(model, tokenizer, world, grad=True))
            ratio = (logpi.gather(-1, picks) - old_lp).exp()
            clipped = ratio.clamp(1 - settings.cliprange, 1 + settings.cliprange)
            loss = -(weights * torch.min(ratio * advantage, clipped * advantage)).sum(-1).mean()
            _step(optim, model, loss)
    run.seconds = time.perf_counter() - start
    return run


def train_dpo(
    model, ref_seq, tokenizer, world, settings: OptimalPolicySettings, opt_logpi, pairs, callbacks=None
) -> Run:
    """DPO (tutor.dpo.dpo_loss) on the labelled pairs of the candidates, full batch each step, with
    the SFT model as reference; the sequence log-probs it uses are not normalised over the K."""
    import time

    import torch

    from tutor.dpo import dpo_loss

    start = time.perf_counter()
    ref_logpi = restricted_policy(ref_seq)
    idx = torch.tensor(pairs)
    p, w, lo = idx[:, 0], idx[:, 1], idx[:, 2]
    optim = _adam(model, settings.learning_rate)
    run = Run("DPO", model=model)
    model.train()
    for step in range(settings.steps + 1):
        seq = sequence_logps(model, tokenizer, world, grad=step < settings.steps)
        run.history.append(measure(restricted_policy(seq.detach()), ref_logpi, opt_logpi, world.rewards, step))
        for cb in callbacks or ():
            cb(step, run.history[-1])
        if step == settings.steps:
            break
        loss, _, _ = dpo_loss(seq[p, w], seq[p, lo], ref_seq[p, w], ref_seq[p, lo], settings.beta)
        _step(optim, model, loss)
    run.seconds = time.perf_counter() - start
    return run


def fitted_rewards(world: EnumerableWorld, pairs, steps: int = 300, l2: float = 1e-3):
    """A reward model with one free number per candidate: Bradley–Terry scores fitted to the labelled
    pairs (mean 0 per prompt, a little L2 so that a pair labelled one way every time stays finite),
    a (P, K) tensor. π_ref·exp(r̂/β) is where DPO would land with unlimited capacity and these
    finite, noisy labels, and where PPO lands when its reward is learned from the same labels."""
    import torch

    idx = torch.tensor(pairs)
    p, w, lo = idx[:, 0], idx[:, 1], idx[:, 2]
    scores = torch.zeros(len(world.prompts), world.k, requires_grad=True)
    optim = torch.optim.LBFGS([scores], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optim.zero_grad()
        centred = scores - scores.mean(-1, keepdim=True)
        loss = -torch.nn.functional.logsigmoid(centred[p, w] - centred[p, lo]).mean() + l2 * centred.pow(2).mean()
        loss.backward()
        return loss

    optim.step(closure)
    return (scores - scores.mean(-1, keepdim=True)).detach()


# --- the experiment ---------------------------------------------------------------------------------

FAIR_PPO = "PPO-style, r fitted to DPO's labels"
METHODS = ("PPO-style", FAIR_PPO, "DPO")  # PPO-style sees the world's r itself; the other two only the labels


@dataclass
class Comparison:
    """Section 3's result: both runs, the start's distance to π*, the implicit-reward recovery."""

    settings: OptimalPolicySettings
    world: EnumerableWorld
    runs: dict[str, Run]
    start: dict  # the SFT model measured like the runs (step 0 of either)
    implicit_reward_correlation: dict[str, float]  # per run: centred corr(β·log π/π_ref, r)
    shuffled_correlation: tuple[float, float]  # noise floor: mean ± std of the same with r shuffled per prompt
    label_ceiling: dict  # the BT fit of the labels: its correlation with r and its π's distance to π*
    labels: int
    optimum: dict  # π* measured like the runs (its reward and KL to π_ref)

    def table(self):
        """One row per policy: distance to π*, expected reward, KL to π_ref."""
        import pandas as pd

        rows = {"SFT (start)": self.start, **{name: run.final for name, run in self.runs.items()}}
        rows["π* (closed form)"] = self.optimum
        cols = ["kl_to_optimal", "tv_to_optimal", "reward", "kl_to_ref"]
        return pd.DataFrame({k: {c: v[c] for c in cols} for k, v in rows.items()}).T.round(3)

    def curves(self):
        """Every run's distance to π* per step, long format (method, step, measure, value) for a plot."""
        import pandas as pd

        names = {"kl_to_optimal": "KL(π ‖ π*)", "tv_to_optimal": "TV(π, π*)"}
        return pd.DataFrame(
            [
                {"method": name, "step": h["step"], "measure": label, "value": h[key]}
                for name, run in self.runs.items()
                for h in run.history
                for key, label in names.items()
            ]
        )

    def verdict(self) -> list[str]:
        """The section's claims, each with its number."""
        s = self.start
        lines = [f"SFT starts at KL(π ‖ π*) = {s['kl_to_optimal']:.3f} nats, TV = {s['tv_to_optimal']:.3f}."]
        for name, run in self.runs.items():
            f = run.final
            closer = f["kl_to_optimal"] < s["kl_to_optimal"] and f["tv_to_optimal"] < s["tv_to_optimal"]
            best = min(run.history, key=lambda h: h["kl_to_optimal"])
            lines.append(
                f"{name} ends at KL {f['kl_to_optimal']:.3f}, TV {f['tv_to_optimal']:.3f}: "
                f"{'closer to π* than SFT on both' if closer else 'NOT closer to π* on both measures'} "
                f"(its closest: KL {best['kl_to_optimal']:.3f} at step {best['step']})."
            )
        c = self.label_ceiling
        lines.append(
            f"The {self.labels} labels' own Bradley–Terry fit r̂ gives π_ref·exp(r̂/β) at KL {c['kl_to_optimal']:.3f}, "
            f"TV {c['tv_to_optimal']:.3f} from π* (r̂ correlates {c['correlation']:.2f} with r): where a method "
            "that only sees these labels is headed."
        )
        if "DPO" in self.runs and FAIR_PPO in self.runs:
            a, b = self.runs["DPO"].final, self.runs[FAIR_PPO].final
            lines.append(
                f"From the same labels, DPO and PPO-style on r̂ end {abs(a['kl_to_optimal'] - b['kl_to_optimal']):.3f} "
                f"nats apart in KL to π* ({a['kl_to_optimal']:.3f} vs {b['kl_to_optimal']:.3f}) and "
                f"{abs(a['tv_to_optimal'] - b['tv_to_optimal']):.3f} apart in TV; SFT started "
                f"{s['kl_to_optimal']:.3f} away."
            )
        if "DPO" in self.implicit_reward_correlation:
            mean, std = self.shuffled_correlation
            lines.append(
                f"DPO's implicit reward β·log(π/π_ref), centred per prompt, correlates "
                f"{self.implicit_reward_correlation['DPO']:.2f} with r and "
                f"{self.implicit_reward_correlation.get('DPO vs fitted r', float('nan')):.2f} with r̂; "
                f"with r shuffled within each prompt: {mean:.2f} ± {std:.2f}."
            )
        return lines

    def as_dict(self) -> dict:
        return {
            "settings": self.settings.__dict__,
            "labels": self.labels,
            "start": self.start,
            "optimum": self.optimum,
            "final": {name: run.final for name, run in self.runs.items()},
            "seconds": {name: round(run.seconds, 1) for name, run in self.runs.items()},
            "implicit_reward_correlation": self.implicit_reward_correlation,
            "shuffled_correlation": list(self.shuffled_correlation),
            "label_ceiling": self.label_ceiling,
        }


def shuffled_floor(implicit, rewards, trials: int = 200, seed: int = 0) -> tuple[float, float]:
    """Centred correlation with the rewards shuffled within each prompt: what chance gives."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    vals = []
    for _ in range(trials):
        order = torch.argsort(torch.rand(rewards.shape, generator=gen), dim=-1)
        vals.append(centred_correlation(implicit, rewards.gather(-1, order)))
    mean = sum(vals) / len(vals)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))


def compare(
    load_model: Callable,
    ref_model,
    tokenizer,
    settings: OptimalPolicySettings,
    methods: Sequence[str] = METHODS,
    callbacks=None,
) -> Comparison:
    """Build the world, compute π*, train each of `methods` from a fresh copy of the SFT model
    (`load_model()`), and measure. `callbacks` get (method, step, metrics)."""
    import torch

    unknown = set(methods) - set(METHODS)
    if unknown:
        raise TutorError(f"Unknown method(s) {sorted(unknown)}; choose from {', '.join(map(repr, METHODS))}.")
    torch.manual_seed(settings.seed)
    random.seed(settings.seed)
    world = make_world(settings.n_prompts, settings.k, settings.seed, settings.persona, max_words=settings.max_words)
    ref_seq = sequence_logps(ref_model, tokenizer, world)
    ref_logpi = restricted_policy(ref_seq)
    opt_logpi = optimal_policy(ref_logpi, world.rewards, settings.beta)
    pairs = label_pairs(world, settings.label_repeats, settings.seed)
    fitted = fitted_rewards(world, pairs)
    runs: dict[str, Run] = {}
    for method in methods:
        cbs = [lambda s, m, method=method: [cb(method, s, m) for cb in callbacks]] if callbacks else None
        model = load_model()
        if method == "PPO-style":
            runs[method] = train_ppo_style(model, ref_seq, tokenizer, world, settings, opt_logpi, cbs)
        elif method == FAIR_PPO:
            runs[method] = train_ppo_style(
                model, ref_seq, tokenizer, world, settings, opt_logpi, cbs, rewards=fitted, name=method
            )
        else:
            runs[method] = train_dpo(model, ref_seq, tokenizer, world, settings, opt_logpi, pairs, cbs)
    corr, floor = {}, (0.0, 0.0)
    for name, run in runs.items():
        implicit = settings.beta * (sequence_logps(run.model, tokenizer, world) - ref_seq)
        corr[name] = centred_correlation(implicit, world.rewards)
        if name == "DPO":
            floor = shuffled_floor(implicit, world.rewards)
    if "DPO" in runs:
        dpo_logpi = restricted_policy(sequence_logps(runs["DPO"].model, tokenizer, world))
        corr["DPO vs fitted r"] = centred_correlation(settings.beta * (dpo_logpi - ref_logpi), fitted)
    fitted_pi = optimal_policy(ref_logpi, fitted, settings.beta)
    ceiling = {
        "correlation": centred_correlation(fitted, world.rewards),
        "kl_to_optimal": float(kl_divergence(fitted_pi, opt_logpi).mean()),
        "tv_to_optimal": float(total_variation(fitted_pi, opt_logpi).mean()),
    }
    start = measure(ref_logpi, ref_logpi, opt_logpi, world.rewards, 0)
    optimum = measure(opt_logpi, ref_logpi, opt_logpi, world.rewards, 0)
    return Comparison(settings, world, runs, start, corr, floor, ceiling, len(pairs), optimum)
