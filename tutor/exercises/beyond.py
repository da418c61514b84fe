"""Exercises for notebook 08 (Beyond): best-of-n's KL, the closed-form optimal policy, the KL to it,
distinct-n.

Each reference is the course's own implementation (`tutor.beyond`), so what the learner matches is
what the notebook measures; each mistake is one we expect learners to make, with a hint that names it.
"""

from __future__ import annotations

import math

from tutor.exercises import Exercise, register


def _policy_inputs(gen):
    """A few prompts with K candidates: reference probabilities, gold rewards, a β."""
    import torch

    prompts, k = 4, 6
    ref = torch.softmax(torch.randn(prompts, k, generator=gen, dtype=torch.float64) * 2, dim=-1)
    rewards = torch.randn(prompts, k, generator=gen, dtype=torch.float64) * 2
    beta = float(torch.empty(1).uniform_(0.3, 2.0, generator=gen))
    return dict(ref_probs=ref, rewards=rewards, beta=beta)


# --- the optimal policy -----------------------------------------------------------------------------


def _optimal_policy(ref_probs, rewards, beta):
    from tutor.beyond.optimal_policy import optimal_policy

    return optimal_policy(ref_probs.log(), rewards, beta).exp()


def _normalised(weights, dim=-1):
    return weights / weights.sum(dim, keepdim=True)


register(
    Exercise(
        name="optimal_policy",
        summary=(
            "optimal_policy(ref_probs, rewards, beta) -> (prompts, K) tensor: π*(y|x) ∝ π_ref(y|x)·exp(r(x,y)/β), "
            "normalised over each prompt's K answers."
        ),
        reference=_optimal_policy,
        make_inputs=_policy_inputs,
        mistakes={
            "divide the reward by β, do not multiply: exp(r/β).": lambda ref_probs, rewards, beta: _normalised(
                ref_probs * (rewards * beta).exp()
            ),
            (
                "normalise: divide by Z(x) = Σ_y π_ref(y|x)·exp(r(x,y)/β), so each prompt's row sums to 1."
            ): lambda ref_probs, rewards, beta: ref_probs * (rewards / beta).exp(),
            (
                "the reference is missing: π* is π_ref reweighted, not softmax(r/β) alone."
            ): lambda ref_probs, rewards, beta: _normalised((rewards / beta).exp()),
            (
                "normalise over each prompt's answers (the last dimension), not over prompts."
            ): lambda ref_probs, rewards, beta: _normalised(ref_probs * (rewards / beta).exp(), dim=0),
            "the sign of the reward: better answers get more mass, exp(+r/β).": lambda ref_probs, rewards, beta: (
                _normalised(ref_probs * (-rewards / beta).exp())
            ),
        },
    )
)


# --- KL to the optimal policy -----------------------------------------------------------------------


def _kl_inputs(gen):
    import torch

    d = _policy_inputs(gen)
    p = torch.softmax(torch.randn(4, 6, generator=gen, dtype=torch.float64) * 1.5, dim=-1)
    return dict(p=p, q=_optimal_policy(**d))


def _kl(p, q):
    from tutor.beyond.optimal_policy import kl_divergence

    return kl_divergence(p.log(), q.log())


register(
    Exercise(
        name="kl_divergence",
        summary="kl_divergence(p, q) -> (prompts,) tensor: KL(p ‖ q) = Σ_y p(y)·log(p(y)/q(y)) per prompt, in nats.",
        reference=_kl,
        make_inputs=_kl_inputs,
        mistakes={
            "the direction is reversed: KL(p ‖ q) weights by p, not q.": lambda p, q: (q * (q.log() - p.log())).sum(-1),
            "weight each log-ratio by p(y): the KL is an expectation under p.": lambda p, q: (p.log() - q.log()).sum(
                -1
            ),
            "that is in bits (log base 2); the course measures KL in nats (natural log).": lambda p, q: (
                (p * (p.log() - q.log())).sum(-1) / math.log(2)
            ),
            "the log-ratio is upside down: log(p/q), not log(q/p).": lambda p, q: (p * (q.log() - p.log())).sum(-1),
            "that is the total variation ½·Σ|p − q|, another distance; the KL is Σ p·log(p/q).": lambda p, q: (
                0.5 * (p - q).abs().sum(-1)
            ),
        },
    )
)


# --- distinct-n -------------------------------------------------------------------------------------

_VOCAB = ("bond", "yield", "price", "rate", "the", "a", "rises", "falls", "when", "coupon", "risk", "is")


def _texts_inputs(gen):
    import torch

    texts = []
    for _ in range(int(torch.randint(3, 6, (1,), generator=gen))):
        length = int(torch.randint(4, 12, (1,), generator=gen))
        words = torch.randint(0, len(_VOCAB), (length,), generator=gen).tolist()
        texts.append(" ".join(_VOCAB[w] for w in words))
    # one phrase that two answers share, so counting n-grams per text (not pooled) gives another number
    shared = " ".join(_VOCAB[w] for w in torch.randint(0, len(_VOCAB), (4,), generator=gen).tolist())
    texts[0] += " " + shared
    texts[1] += " " + shared
    return dict(texts=texts, n=int(torch.randint(2, 4, (1,), generator=gen)))


def _distinct(texts, n):
    from tutor.beyond.collapse import distinct_n

    return distinct_n(texts, n)


def _grams(text, n):
    w = text.lower().split()
    return [tuple(w[i : i + n]) for i in range(len(w) - n + 1)]


register(
    Exercise(
        name="distinct_n",
        summary=(
            "distinct_n(texts, n) -> float: distinct word n-grams / all word n-grams, pooled over every text "
            "(words: text.lower().split())."
        ),
        reference=_distinct,
        make_inputs=_texts_inputs,
        mistakes={
            (
                "pool the n-grams of all texts before counting: a phrase every answer repeats must count once."
            ): lambda texts, n: sum(len(set(_grams(t, n))) / max(len(_grams(t, n)), 1) for t in texts) / len(texts),
            "divide by the number of n-grams: distinct-n is a share between 0 and 1, not a count.": lambda texts, n: (
                float(len({g for t in texts for g in _grams(t, n)}))
            ),
            "use n-grams of n words, not single words.": lambda texts, n: _distinct(texts, 1),
            "divide by the number of n-grams (len(words) − n + 1 per text), not of words.": lambda texts, n: (
                len({g for t in texts for g in _grams(t, n)}) / sum(len(t.split()) for t in texts)
            ),
        },
    )
)


# --- how far best-of-n moves from the SFT model -----------------------------------------------------


def _n_inputs(gen):
    import torch

    return dict(n=int(torch.randint(2, 257, (1,), generator=gen)))


def _best_of_n_kl(n):
    from tutor.labs.reward_hacking import best_of_n_kl

    return best_of_n_kl(n)


register(
    Exercise(
        name="best_of_n_kl",
        summary=(
            "best_of_n_kl(n) -> float: KL(best-of-n ‖ SFT) = log n − (n − 1)/n, in nats: the distance best-of-n "
            "travels, the x-axis of Gao et al.'s curves (as √KL)."
        ),
        reference=_best_of_n_kl,
        make_inputs=_n_inputs,
        mistakes={
            "log n is only an upper bound: subtract (n − 1)/n.": lambda n: math.log(n),
            "subtract (n − 1)/n, do not add it.": lambda n: math.log(n) + (n - 1) / n,
            "that is in bits (log base 2); the course measures KL in nats (natural log).": lambda n: (
                math.log2(n) - (n - 1) / n
            ),
            "that is √KL, the axis of the plot; the exercise asks for the KL itself.": lambda n: math.sqrt(
                math.log(n) - (n - 1) / n
            ),
        },
    )
)
