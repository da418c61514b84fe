"""Solutions to notebook 07's exercises. Try them yourself first!

Each function passes `tutor.exercises.check(name, function)`.
"""

import math

import torch

from tutor.exercises.comparison import T_975


def seed_interval(values):
    """mean ± t·s/√n: s the sample standard deviation, t Student's quantile with n − 1 degrees of freedom."""
    x = torch.tensor(values, dtype=torch.float64)
    n = len(values)
    half = T_975[n - 1] * x.std() / math.sqrt(n)
    return (x.mean() - half).item(), (x.mean() + half).item()


def token_kl(logits, ref_logits, mask):
    """Σ_v π(v)·(log π(v) − log π_ref(v)) at every position, summed over each answer's real tokens."""
    logps = torch.log_softmax(logits, dim=-1)
    ref_logps = torch.log_softmax(ref_logits, dim=-1)
    per_token = (logps.exp() * (logps - ref_logps)).sum(dim=-1)
    return (per_token * mask).sum(dim=-1)


def win_rate(scores, baseline_scores):
    """Every answer against every baseline answer to the same prompt: 1, ½ or 0, averaged."""
    a = scores[:, :, None]  # [prompts, n, 1]
    b = baseline_scores[:, None, :]  # [prompts, 1, m]
    return ((a > b).float() + 0.5 * (a == b).float()).mean().item()
