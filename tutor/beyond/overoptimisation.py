"""Why reward hacking happens: Gao et al.'s (2022) two functional forms of gold reward against the
distance d = √KL(π ‖ π_SFT) a policy has travelled while optimising a proxy reward model,

    best-of-n:  gold(d) = d·(α − β·d)          RL:  gold(d) = d·(α − β·log d)

with gold measured from the SFT model's level (gold(0) = 0). α is the initial slope (how much the
proxy helps at first), β how fast over-optimisation eats the gain; the peak of the best-of-n form
is at d = α/(2β). Both forms are linear in (α, β), so a least-squares fit is exact and seedless.
Points come from `tutor.labs.reward_hacking` (`best_of_n`, `trajectory`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tutor.errors import TutorError

FORMS = ("best_of_n", "rl")


def gao_curve(d: float, alpha: float, beta: float, form: str) -> float:
    """Gold reward at distance d under one of Gao et al.'s forms."""
    if form not in FORMS:
        raise TutorError(f"Unknown form {form!r}; choose one of: {', '.join(FORMS)}.")
    if d <= 0:
        return 0.0
    return d * (alpha - beta * (d if form == "best_of_n" else math.log(d)))


@dataclass(frozen=True)
class GaoFit:
    form: str
    alpha: float
    beta: float
    r2: float  # share of the gold's variance around 0 that the fit explains
    points: int

    @property
    def peak(self) -> float | None:
        """d at which the fitted gold is highest (None when the curve never turns down)."""
        if self.beta <= 0:
            return None
        return self.alpha / (2 * self.beta) if self.form == "best_of_n" else math.exp(self.alpha / self.beta - 1)


def fit_gao(d: Sequence[float], gold: Sequence[float], form: str) -> GaoFit:
    """Least-squares α, β of `form` to points (d, gold − gold at d = 0); points with d ≤ 0 are skipped."""
    import torch

    if form not in FORMS:
        raise TutorError(f"Unknown form {form!r}; choose one of: {', '.join(FORMS)}.")
    pts = [(x, y) for x, y in zip(d, gold, strict=True) if x > 0]
    if len(pts) < 2:
        raise TutorError(f"fit_gao() needs at least two points with d > 0, got {len(pts)}.")
    x = torch.tensor([p[0] for p in pts], dtype=torch.float64)
    y = torch.tensor([p[1] for p in pts], dtype=torch.float64)
    second = x * x if form == "best_of_n" else x * torch.log(x)
    design = torch.stack([x, -second], dim=1)
    coef = torch.linalg.lstsq(design, y.unsqueeze(1)).solution.squeeze(1)
    residual = y - design @ coef
    total = float((y * y).sum())
    r2 = 1 - float((residual * residual).sum()) / total if total > 0 else 0.0
    return GaoFit(form, float(coef[0]), float(coef[1]), r2, len(pts))
