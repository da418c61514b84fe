"""The reward-hacking lab's verdict: a gold peak-and-fall while the proxy still rises."""

import pytest

from tutor import TutorError
from tutor.labs.reward_hacking import peak_and_fall


def test_peak_and_fall_names_reward_hacking_only_when_gold_falls_as_the_proxy_rises():
    def run(gold, proxy):
        return [{"gold/score": g, "objective/scores": p} for g, p in zip(gold, proxy, strict=True)]

    hacked = peak_and_fall(run([0, 1, 2, 3, 2, 1, 0, -1], [0, 1, 2, 3, 4, 5, 6, 7]), k=1)
    assert hacked["hacked"] and hacked["peak"] == 3
    assert not peak_and_fall(run([0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]), k=1)["hacked"]  # gold never falls
    assert not peak_and_fall(run([0, 3, 1, 0], [0, 3, 2, 1]), k=1)["hacked"]  # both fall: not the proxy's fault
    smooth = peak_and_fall(run([0, 3, 0, 3], [0, 0, 0, 0]), k=2)
    assert smooth["gold"] == [0, 1.5, 1.5, 1.5]
    with pytest.raises(TutorError, match="at least one step"):
        peak_and_fall([])
