"""The reward-hacking lab: what the gold annotator thinks while the policy climbs the proxy reward.

Gao et al. (2022, "Scaling laws for reward model overoptimization") plot two scores against
d = √KL(π ‖ π_SFT): the *proxy* reward the policy is optimised for, and the *gold* reward of the
judge the proxy was trained to imitate. The proxy keeps rising; the gold score rises, peaks and
falls. Best-of-n sampling (draw n SFT answers, keep the one the proxy likes best) moves along the
same axes without any training, with KL(best-of-n ‖ SFT) ≤ log n − (n − 1)/n.

Both scores are shown in the same units: standard deviations above the SFT model's mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from tutor.errors import TutorError
from tutor.ppo.rollout import detokenize


def best_of_n_kl(n: int) -> float:
    """KL(best-of-n ‖ base) upper bound: log n − (n − 1)/n (0 for n = 1)."""
    if n < 1:
        raise TutorError(f"best-of-n needs n ≥ 1, got {n}.")
    return math.log(n) - (n - 1) / n


def expected_best_of_n(proxy: Sequence[float], gold: Sequence[float], n: int) -> tuple[float, float]:
    """Expected (proxy, gold) of the proxy's favourite among n answers drawn without replacement
    from this pool, computed exactly from order statistics instead of by resampling.

    With the pool sorted by proxy (ascending), answer i (0-based) is the best of a random n-subset
    with probability C(i, n−1) / C(N, n).
    """
    N = len(proxy)
    if not 1 <= n <= N:
        raise TutorError(f"best-of-{n} needs a pool of at least {n} answers, got {N}.")
    order = sorted(range(N), key=lambda i: proxy[i])
    total = math.comb(N, n)
    expected_proxy = expected_gold = 0.0
    for rank, i in enumerate(order):
        if rank >= n - 1:
            weight = math.comb(rank, n - 1) / total
            expected_proxy += weight * proxy[i]
            expected_gold += weight * gold[i]
    return expected_proxy, expected_gold


@dataclass
class BestOfN:
    """Best-of-n on the SFT model: per n, the KL bound and the mean proxy and gold of the pick.

    `proxy` is in the reward's normalised units (as PPO sees it); `gold` in SFT standard deviations
    (see `gold_mean`, `gold_std`: the gold annotator's mean and std on the SFT answers of the pool).
    """

    n: list[int]
    kl: list[float]
    proxy: list[float]
    gold: list[float]
    gold_raw: list[float]
    gold_mean: float
    gold_std: float
    prompts: int
    pool: int

    @property
    def sqrt_kl(self) -> list[float]:
        return [math.sqrt(k) for k in self.kl]

    def normalise_gold(self, values: Sequence[float]) -> list[float]:
        return [(v - self.gold_mean) / self.gold_std for v in values]


@torch.no_grad()
def best_of_n(
    trainer, prompts: Sequence[str], pool: int = 64, ns: Sequence[int] | None = None, seed: int = 0
) -> BestOfN:
    """Sample `pool` SFT answers per prompt with the trainer's sampler and score them with the
    trainer's reward (normalised, with the missing-EOS penalty: exactly PPO's objective/scores) and
    its gold annotator; then best-of-n for n = 1, 2, 4, … ≤ pool."""
    if trainer.gold is None:
        raise TutorError("best_of_n() needs a trainer with a gold annotator (gold=GoldAnnotator(...)).")
    prompts = list(prompts)
    if not prompts or pool < 1:
        raise TutorError("best_of_n() needs at least one prompt and a pool of at least one answer.")
    ns = list(ns) if ns is not None else [2**k for k in range(int(math.log2(pool)) + 1)]
    torch.manual_seed(seed)
    proxy_all: list[list[float]] = []
    gold_all: list[list[float]] = []
    batch = max(1, 64 // pool) if pool < 64 else 1
    for start in range(0, len(prompts), batch):
        group = [p for p in prompts[start : start + batch] for _ in range(pool)]
        answers = trainer.sample(trainer.ref_policy, group)
        texts = detokenize(trainer.tokenizer, answers.response_ids, answers.response_mask)
        scores = trainer.normalised_scores(trainer.reward_scores(group, texts, answers), answers.ended)
        gold = trainer.gold.scores(group, texts)
        for j in range(len(group) // pool):
            proxy_all.append(scores[j * pool : (j + 1) * pool].tolist())
            gold_all.append(gold[j * pool : (j + 1) * pool])
    flat = [g for row in gold_all for g in row]
    mean = sum(flat) / len(flat)
    std = math.sqrt(sum((g - mean) ** 2 for g in flat) / max(1, len(flat) - 1)) or 1.0
    out = BestOfN([], [], [], [], [], mean, std, len(prompts), pool)
    for n in ns:
        picks = [expected_best_of_n(p, g, n) for p, g in zip(proxy_all, gold_all, strict=True)]
        out.n.append(n)
        out.kl.append(best_of_n_kl(n))
        out.proxy.append(sum(p for p, _ in picks) / len(picks))
        mean_gold = sum(g for _, g in picks) / len(picks)
        out.gold_raw.append(mean_gold)
        out.gold.append((mean_gold - mean) / std)
    return out


def trajectory(history: Sequence[dict], bon: BestOfN) -> dict[str, list[float]]:
    """A PPO run on Gao et al.'s axes: √KL (training KL, floored at 0), proxy and gold in the same
    units as the best-of-n curve."""
    kl = [max(0.0, h["objective/kl"]) for h in history]
    return {
        "sqrt_kl": [math.sqrt(k) for k in kl],
        "proxy": [h["objective/scores"] for h in history],
        "gold": bon.normalise_gold([h["gold/score"] for h in history]),
    }


def smoothed(values: Sequence[float], k: int = 3) -> list[float]:
    """Trailing mean over k steps: one rollout of a few dozen answers is a noisy measurement."""
    return [sum(values[max(0, i - k + 1) : i + 1]) / len(values[max(0, i - k + 1) : i + 1]) for i in range(len(values))]


def peak_and_fall(history: Sequence[dict], k: int = 3) -> dict:
    """Gao et al.'s over-optimisation verdict on one run: smoothed gold and proxy per step, the gold
    peak's step index, and `hacked` — the proxy still rose after the gold peak while gold fell."""
    if not history:
        raise TutorError("peak_and_fall() needs a trained run's history (at least one step).")
    gold = smoothed([h["gold/score"] for h in history], k)
    proxy = smoothed([h["objective/scores"] for h in history], k)
    peak = max(range(len(gold)), key=gold.__getitem__)
    return {"gold": gold, "proxy": proxy, "peak": peak, "hacked": proxy[-1] > proxy[peak] and gold[-1] < gold[peak]}
