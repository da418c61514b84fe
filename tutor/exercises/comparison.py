"""Notebook 07's exercises: a 95 % interval over seeds, the exact per-token KL from logits, and the
win-rate with ties counting half — the three numbers the PPO-vs-DPO table is built from.

`T_975[df]` is Student's t quantile for a two-sided 95 % interval with df degrees of freedom (no
SciPy needed). KL inputs have junk logits on padding and one extreme logit, where
log(softmax(·)) gives −inf and 0·(−inf) = nan.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from tutor.exercises import Exercise, register

T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


# --------------------------------------------------------------------------- 1. interval over seeds


def seed_interval(values):
    """(low, high): mean ± t·s/√n, with s the sample standard deviation (divided by n − 1) and t
    = T_975[n − 1]: where the mean over all seeds would fall, 95 % of the time."""
    x = torch.as_tensor(values, dtype=torch.float64)
    n = x.numel()
    half = T_975[n - 1] * x.std(unbiased=True) / math.sqrt(n)
    return float(x.mean() - half), float(x.mean() + half)


def _interval_inputs(gen):
    n = int(torch.randint(3, 8, (1,), generator=gen))
    return {"values": (0.7 + 0.08 * torch.randn(n, generator=gen, dtype=torch.float64)).tolist()}


def _interval(values, *, t=None, ddof=1, root=True, df_n=False):
    x = torch.as_tensor(values, dtype=torch.float64)
    n = x.numel()
    quantile = t if t is not None else T_975[n if df_n else n - 1]
    sd = x.std(correction=ddof)
    half = quantile * sd / (math.sqrt(n) if root else 1.0)
    return float(x.mean() - half), float(x.mean() + half)


register(
    Exercise(
        name="seed_interval",
        summary="seed_interval(values) -> (low, high): the 95 % interval of the mean of one number measured on "
        "n seeds, mean ± t·s/√n, with s the sample standard deviation (n − 1) and t = T_975[n − 1] "
        "(from tutor.exercises.comparison import T_975).",
        reference=seed_interval,
        make_inputs=_interval_inputs,
        atol=1e-6,
        mistakes={
            (
                "1.96 is for many samples; with a few seeds use Student's t, T_975[n − 1], which is wider."
            ): lambda values: _interval(values, t=1.96),
            (
                "use the sample standard deviation (divide by n − 1, torch's default): dividing by n is too narrow."
            ): lambda values: _interval(values, ddof=0),
            "the interval is for the MEAN: divide the standard deviation by √n (the standard error).": lambda values: (
                _interval(values, root=False)
            ),
            "t has n − 1 degrees of freedom (one is used up by the mean): T_975[n − 1], not T_975[n].": lambda values: (
                _interval(values, df_n=True)
            ),
        },
    )
)


# --------------------------------------------------------------------------- 2. exact KL from logits


def token_kl(logits, ref_logits, mask):
    """Per answer, Σ over real tokens of KL(π‖π_ref) at that position, Σ_v π(v)·(log π(v) − log π_ref(v)),
    in nats per answer: exact over the vocabulary, not estimated from the sampled token."""
    logps = F.log_softmax(logits.float(), dim=-1)
    ref_logps = F.log_softmax(ref_logits.float(), dim=-1)
    per_token = (logps.exp() * (logps - ref_logps)).sum(-1)
    return (per_token * mask).sum(-1)


def _kl_inputs(gen):
    batch, time, vocab = 3, 7, 10
    lengths = torch.randint(2, time + 1, (batch,), generator=gen)
    lengths[0] = time - 2
    mask = (torch.arange(time).unsqueeze(0) < lengths.unsqueeze(1)).float()
    ref_logits = torch.randn(batch, time, vocab, generator=gen) * 1.5
    logits = ref_logits + torch.randn(batch, time, vocab, generator=gen) * 0.7
    logits[1, 0, 0], logits[1, 0, 1] = 70.0, -70.0  # a confident policy: π(1) rounds to 0
    return {"logits": logits, "ref_logits": ref_logits, "mask": mask}


def _kl(logits, ref_logits, mask, *, reverse=False, log=None, unweighted=False, masked=True, mean=False):
    lp = log(logits) if log else F.log_softmax(logits, -1)
    lq = log(ref_logits) if log else F.log_softmax(ref_logits, -1)
    if reverse:
        lp, lq = lq, lp
    per_token = (lp - lq).sum(-1) if unweighted else (lp.exp() * (lp - lq)).sum(-1)
    m = mask if masked else torch.ones_like(mask)
    total = (per_token * m).sum(-1)
    return total / m.sum(-1) if mean else total


register(
    Exercise(
        name="token_kl",
        summary="token_kl(logits, ref_logits, mask) -> tensor (batch,): per answer, Σ over real tokens (mask 1) of "
        "Σ_v π(v)·(log π(v) − log π_ref(v)) with π = softmax(logits), π_ref = softmax(ref_logits); logits "
        "[batch, time, vocab].",
        reference=token_kl,
        make_inputs=_kl_inputs,
        mistakes={
            (
                "that is KL(π_ref‖π): the course's KL weighs by the policy's own probabilities π, as its samples do."
            ): lambda **kw: _kl(**kw, reverse=True),
            "log(softmax(x)) underflows to log(0) = −inf for a token with a far lower logit, and 0·(−inf) = nan: use "
            "log_softmax.": lambda **kw: _kl(**kw, log=lambda x: torch.log(x.softmax(-1))),
            "weigh each token's log-ratio by π(v): the KL is Σ_v π(v)·(log π(v) − log π_ref(v)).": lambda **kw: _kl(
                **kw, unweighted=True
            ),
            "padding holds junk logits: multiply each position's KL by the mask before summing.": lambda **kw: _kl(
                **kw, masked=False
            ),
            "the course's KL is per answer: sum over its tokens, do not average them.": lambda **kw: _kl(
                **kw, mean=True
            ),
            "log_softmax the logits first: raw logits are not log-probabilities.": lambda **kw: _kl(
                **kw, log=lambda x: x
            ),
        },
    )
)


# --------------------------------------------------------------------------- 3. win-rate with ties


def win_rate(scores, baseline_scores):
    """Each answer against every baseline answer to the same prompt (row): 1 for a higher score, ½ for
    an equal one, 0 for a lower; the mean over all those comparisons."""
    a, b = scores.unsqueeze(2), baseline_scores.unsqueeze(1)
    return float(((a > b).double() + 0.5 * (a == b).double()).mean())


def _win_inputs(gen):
    prompts, n = int(torch.randint(3, 7, (1,), generator=gen)), 4
    scores = torch.round(torch.randn(prompts, n, generator=gen, dtype=torch.float64) * 2 + 0.5)
    baseline = torch.round(torch.randn(prompts, n, generator=gen, dtype=torch.float64) * 2)
    baseline[0, 0] = scores[0, 0]  # at least one tie
    return {"scores": scores, "baseline_scores": baseline}


def _wins(scores, baseline_scores, tie=0.5, paired=False, across=False):
    if paired:
        a, b = scores, baseline_scores
    elif across:
        a, b = scores.reshape(-1, 1), baseline_scores.reshape(1, -1)
    else:
        a, b = scores.unsqueeze(2), baseline_scores.unsqueeze(1)
    return float(((a > b).double() + tie * (a == b).double()).mean())


register(
    Exercise(
        name="win_rate",
        summary="win_rate(scores, baseline_scores) -> float: scores [prompts, n] and baseline_scores [prompts, m] "
        "hold gold scores of answers to the same prompt in each row; compare every answer with every baseline "
        "answer to its prompt (a higher score wins 1, an equal one ½, a lower one 0) and average.",
        reference=win_rate,
        make_inputs=_win_inputs,
        mistakes={
            "a tie counts half a win (the annotator has no preference), not a loss.": lambda scores, baseline_scores: (
                _wins(scores, baseline_scores, tie=0.0)
            ),
            "a tie counts half a win, not a whole one.": lambda scores, baseline_scores: _wins(
                scores, baseline_scores, tie=1.0
            ),
            "compare each answer with EVERY baseline answer to its prompt, not only the one at the same index "
            "(same expectation, much less noise).": lambda scores, baseline_scores: _wins(
                scores, baseline_scores, paired=True
            ),
            (
                "compare answers to the same prompt only (one row with one row), not with every prompt's answers."
            ): lambda scores, baseline_scores: _wins(scores, baseline_scores, across=True),
        },
    )
)
