"""Notebook 00's exercise: the probability that a noisy person prefers answer B (Bradley–Terry with
the label temperature T).

Scores are 1-D float32 tensors, one number per pair; one pair in every input is extreme (scores
±150, T at most 1.5), where a naive exp(score / T) overflows.
"""

from __future__ import annotations

import torch

from tutor.exercises import Exercise, register


def label_probability(score_a, score_b, temperature):
    """P(the person prefers B) = σ((score_b − score_a) / T): T is how noisy the person is."""
    return torch.sigmoid((score_b - score_a) / temperature)


def _inputs(gen):
    n = int(torch.randint(4, 12, (1,), generator=gen))
    score_a, score_b = torch.randn(n, generator=gen) * 2, torch.randn(n, generator=gen) * 2
    temperature = float(torch.empty(1).uniform_(0.25, 1.5, generator=gen))
    i = int(torch.randint(0, n, (1,), generator=gen))
    score_a[i], score_b[i] = -150.0, 150.0  # a pair far apart: exp(150 / T) overflows float32
    return {"score_a": score_a, "score_b": score_b, "temperature": temperature}


register(
    Exercise(
        name="label_probability",
        summary="label_probability(score_a, score_b, temperature) -> tensor: for each pair, the probability "
        "that a person with label temperature T prefers answer B, σ((score(B) − score(A)) / T).",
        reference=label_probability,
        make_inputs=_inputs,
        mistakes={
            (
                "that is P(prefers A): the probability of B grows with score(B) − score(A)."
            ): lambda score_a, score_b, temperature: torch.sigmoid((score_a - score_b) / temperature),
            (
                "the temperature is missing: divide the score difference by T (a larger T, a noisier person)."
            ): lambda score_a, score_b, temperature: torch.sigmoid(score_b - score_a),
            (
                "divide by T, do not multiply: a larger T must push the probability towards 0.5 (a coin flip)."
            ): lambda score_a, score_b, temperature: torch.sigmoid((score_b - score_a) * temperature),
            (
                "squash the difference into (0, 1) with the sigmoid σ(x) = 1 / (1 + e^(−x))."
            ): lambda score_a, score_b, temperature: (score_b - score_a) / temperature,
            "exp(s_B/T) / (exp(s_A/T) + exp(s_B/T)) is right on paper, but exp(150 / T) overflows to inf and "
            "inf / inf = nan: write it as σ((s_B − s_A) / T).": lambda score_a, score_b, temperature: (
                torch.exp(score_b / temperature) / (torch.exp(score_a / temperature) + torch.exp(score_b / temperature))
            ),
        },
    )
)
