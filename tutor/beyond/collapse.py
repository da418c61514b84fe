"""How the KL penalty prevents collapse: a β sweep measuring what a policy loses as β → 0.

PPO maximises reward − β·KL(π ‖ π_SFT). With β = 0 nothing holds the policy near the SFT model, and
the cheapest way to a high reward is one safe answer for everything: mode collapse. We measure it
four ways on answers to held-out prompts (several answers per prompt):

- **distinct-n**: distinct word n-grams / all word n-grams, pooled over every answer (Li et al. 2016);
- **same-prompt similarity**: mean Jaccard overlap of the word-bigram sets of two answers to one prompt;
- **entropy**: the policy's next-token entropy along its own answers, in nats per token;
- **template share**: the share of answers whose skeleton (the sequence of sentence roles the
  world's analyser reads: polite, fact for a retail reader, fact for a quant, caution, ...) is the
  most common one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import combinations

from tutor.config import check_number, check_whole
from tutor.course import TINY
from tutor.errors import TutorError
from tutor.world import analyse, prompts_for
from tutor.world.analyser import split_sentences


def _words(text: str) -> list[str]:
    return text.lower().split()


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct word n-grams over all word n-grams of `texts` (pooled): 1 = no n-gram repeats anywhere."""
    if n < 1:
        raise TutorError(f"distinct_n() needs n ≥ 1, got {n}.")
    grams = [tuple(w[i : i + n]) for w in map(_words, texts) for i in range(len(w) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def jaccard(a: str, b: str) -> float:
    """Overlap of the word-bigram sets of two texts: 1 = the same bigrams, 0 = none shared."""
    ga, gb = (set(zip(w, w[1:], strict=False)) for w in (_words(a), _words(b)))
    return len(ga & gb) / len(ga | gb) if ga | gb else 1.0


def same_prompt_similarity(groups: Sequence[Sequence[str]]) -> float:
    """Mean `jaccard` over every pair of answers to the same prompt (groups of ≥ 2 answers)."""
    sims = [jaccard(a, b) for group in groups for a, b in combinations(group, 2)]
    if not sims:
        raise TutorError("same_prompt_similarity() needs at least one prompt with two or more answers.")
    return sum(sims) / len(sims)


def _role(sentence: str, prompt: str) -> str:
    p = analyse(sentence, prompt)
    if p.myths:
        return "myth"
    if p.safety < 0:
        return "risky"
    if p.safety > 0:
        return "caution"
    if p.facts or p.other_facts:
        return "fact-quant" if p.audience > 0 else "fact-retail" if p.audience < 0 else "fact"
    if p.politeness:
        return "polite" if p.politeness > 0 else "rude"
    return "other"


def template(text: str, prompt: str) -> tuple[str, ...]:
    """An answer's skeleton: the role of each sentence, in order (its topic and wording left out)."""
    return tuple(_role(s, prompt) for s in split_sentences(text)) or ("empty",)


def template_share(prompts: Sequence[str], texts: Sequence[str]) -> tuple[float, tuple[str, ...]]:
    """The share of answers written to the most common skeleton, and that skeleton."""
    counts = Counter(template(t, p) for p, t in zip(prompts, texts, strict=True))
    top, n = counts.most_common(1)[0]
    return n / len(texts), top


def token_entropy(model, tokenizer, prompts: Sequence[str], texts: Sequence[str], batch_size: int = 32) -> float:
    """Mean entropy of the model's next-token distribution over the tokens of its answers, in nats
    per token (log 1024 ≈ 6.9 nats would be a uniform guess over the tiny model's vocabulary)."""
    import torch

    from tutor.core.chat import answer_ids, right_pad
    from tutor.core.logprobs import next_token_logps

    rows = answer_ids(tokenizer, prompts, texts)
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            ids, attn = right_pad([p + a for p, a in chunk], tokenizer.pad_token_id)
            mask = attn.bool().clone()
            for i, (p, _) in enumerate(chunk):
                mask[i, : len(p)] = False
            logps = next_token_logps(model, ids, attn)
            entropy = -(logps.exp() * logps).sum(-1)
            total += float((entropy * mask[:, 1:]).sum())
            count += int(mask[:, 1:].sum())
    return total / max(count, 1)


def diversity(model, tokenizer, prompts: Sequence[str], per_prompt: int = 4, seed: int = 0, gold=None) -> dict:
    """Every collapse measure of `per_prompt` sampled answers to each of `prompts` (and the gold
    annotator's mean score, when `gold` is given)."""
    from tutor.core.sampling import sample

    if per_prompt < 2:
        raise TutorError(f"diversity() needs at least 2 answers per prompt to compare them, got {per_prompt}.")
    asked = [p for p in prompts for _ in range(per_prompt)]
    samples = sample(model, tokenizer, asked, seed=seed, max_new_tokens=96)
    texts = samples.texts
    groups = [texts[i : i + per_prompt] for i in range(0, len(texts), per_prompt)]
    share, top = template_share(asked, texts)
    out = {
        "distinct-1": distinct_n(texts, 1),
        "distinct-2": distinct_n(texts, 2),
        "same-prompt similarity": same_prompt_similarity(groups),
        "entropy (nats/token)": token_entropy(model, tokenizer, asked, texts),
        "template share": share,
        "top template": " + ".join(top),
        "words": sum(len(t.split()) for t in texts) / len(texts),
    }
    if gold is not None:
        out["gold score"] = sum(gold.scores(asked, texts)) / len(texts)
    return out


@dataclass(frozen=True)
class CollapseSettings:
    """The β sweep (`tutor.config`'s convention); each run is the PPO stage's recipe with its β."""

    betas: tuple[float, ...] = (0.0, 0.2, 1.0)
    steps: int = 15  # PPO steps per run
    learning_rate: float = 3e-4
    n_prompts: int = 20  # held-out prompts the answers are measured on
    per_prompt: int = 4  # answers per prompt
    seed: int = 0

    def __post_init__(self):
        if not self.betas or any(not isinstance(b, int | float) or b < 0 for b in self.betas):
            raise TutorError(f"CollapseSettings.betas must be a non-empty tuple of numbers ≥ 0, got {self.betas!r}.")
        check_whole(self, "steps")
        check_whole(self, "n_prompts")
        check_whole(self, "per_prompt", minimum=2)
        check_whole(self, "seed", minimum=0)
        check_number(self, "learning_rate", above=0)

    @classmethod
    def for_mode(cls, fast: bool, model: str = TINY, **changes) -> CollapseSettings:
        """FAST mode: β = 0 only, two steps, fewer prompts (a sketch: too short to show collapse)."""
        base = dict(betas=(0.0,), steps=2, n_prompts=6, per_prompt=2) if fast else {}
        return cls(**{**base, **changes})


def beta_sweep(models, settings: CollapseSettings, ppo_settings=None, progress=None):
    """One PPO run per β from the same SFT model (the same reward normalisation), each measured with
    `diversity`; the SFT model measured twice (two sampling seeds) gives the noise floor.
    Returns (table: DataFrame, runs: {β: PPOTrainer})."""
    import pandas as pd

    from tutor.labs.ppo_sweeps import train_run
    from tutor.ppo import PPOSettings
    from tutor.world import GoldAnnotator

    base = ppo_settings or PPOSettings()
    base = replace(base, steps=settings.steps, learning_rate=settings.learning_rate, seed=settings.seed)
    gold = GoldAnnotator("riley")
    prompts = [p.text for p in prompts_for("test")][: settings.n_prompts]
    rows = {
        "SFT": diversity(models.ref_policy, models.tokenizer, prompts, settings.per_prompt, settings.seed, gold),
        "SFT, other seed": diversity(
            models.ref_policy, models.tokenizer, prompts, settings.per_prompt, settings.seed + 1, gold
        ),
    }
    runs, stats = {}, None
    for beta in settings.betas:
        trainer = train_run(models, replace(base, beta=beta), reward_stats=stats)
        stats = (trainer.reward_mean, trainer.reward_std)
        runs[beta] = trainer
        row = diversity(trainer.unwrapped_policy, models.tokenizer, prompts, settings.per_prompt, settings.seed, gold)
        row["KL (last 3 steps)"] = sum(h["objective/kl"] for h in trainer.history[-3:]) / len(trainer.history[-3:])
        rows[f"β = {beta:g}"] = row
        if progress is not None:
            progress(beta, row)
    return pd.DataFrame(rows).T, runs


MEASURES = ("distinct-2", "same-prompt similarity", "entropy (nats/token)", "template share", "gold score")


def verdict(table) -> list[str]:
    """Each collapse measure at the smallest β against SFT, beside the noise floor: how far SFT's own
    two sampling seeds are apart on it."""
    runs = [r for r in table.index if r.startswith("β")]
    if not runs:
        raise TutorError("verdict() needs a table from beta_sweep() with at least one β run.")
    low = runs[0]
    lines = []
    for m in MEASURES:
        sft, floor, value = (
            table.loc["SFT", m],
            abs(table.loc["SFT", m] - table.loc["SFT, other seed", m]),
            table.loc[low, m],
        )
        moved = abs(value - sft) > 2 * floor
        lines.append(
            f"{m}: SFT {sft:.3f}, {low} {value:.3f} (SFT's two seeds differ by {floor:.3f}: "
            f"{'a change beyond twice that' if moved else 'within twice that, not a measured change'})."
        )
    return lines
