"""The adaptive KL controller moves β towards the KL target, and leaves a fixed β alone."""

import pytest

from tutor.ppo.kl_controller import AdaptiveKLController


def test_adaptive_kl_controller_moves_beta_towards_the_target():
    ctl = AdaptiveKLController(0.1, target=2.0, horizon=100)
    ctl.update(kl=10.0, n_episodes=10)  # far above target: the error is clipped at +20 %
    assert ctl.value == pytest.approx(0.1 * (1 + 0.2 * 10 / 100))
    ctl = AdaptiveKLController(0.1, target=2.0, horizon=100)
    ctl.update(kl=1.0, n_episodes=10)
    assert ctl.value == pytest.approx(0.1 * (1 - 0.2 * 10 / 100))
    fixed = AdaptiveKLController(0.1, target=None, horizon=100)
    fixed.update(kl=50.0, n_episodes=10)
    assert fixed.value == 0.1
