"""The adaptive KL controller: β follows the KL towards a target (Ziegler et al. 2019)."""

from __future__ import annotations


class AdaptiveKLController:
    """β ← β·(1 + clip(KL/target − 1, −0.2, 0.2)·n/horizon): raise β when KL overshoots, lower it
    when KL stays under target (Ziegler et al. 2019). With target=None, β stays fixed."""

    def __init__(self, beta: float, target: float | None, horizon: int):
        self.value, self.target, self.horizon = beta, target, horizon

    def update(self, kl: float, n_episodes: int) -> None:
        if self.target is None:
            return
        error = max(-0.2, min(0.2, kl / self.target - 1.0))
        self.value *= 1.0 + error * n_episodes / self.horizon
