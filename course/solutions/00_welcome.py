"""Solution to notebook 00's exercise. Try it yourself first!

Passes `tutor.exercises.check("label_probability", label_probability)`.
"""

import torch


def label_probability(score_a, score_b, temperature):
    """P(prefers B) = σ((score(B) − score(A)) / T). torch.sigmoid never overflows, where
    exp(s_B/T) / (exp(s_A/T) + exp(s_B/T)) — the same number on paper — does for large scores."""
    return torch.sigmoid((score_b - score_a) / temperature)
