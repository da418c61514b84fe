"""The rollout's tensor bookkeeping: answers cut after their first EOS, positions under left padding.
(Rollouts of the tiny model are tested with the trainer, in test_ppo.py.)"""

import torch

from tutor.ppo.rollout import position_ids, truncate_after_eos


def test_truncate_after_eos_keeps_the_first_eos_and_pads_the_rest():
    eos, pad = 1, 0
    response = torch.tensor([[5, 6, 1, 7, 1], [5, 6, 7, 8, 9], [1, 5, 5, 5, 5]])
    ids, mask, ended = truncate_after_eos(response, eos, pad)
    assert ids.tolist() == [[5, 6, 1, 0, 0], [5, 6, 7, 8, 9], [1, 0, 0, 0, 0]]
    assert mask.int().tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]]
    assert ended.tolist() == [True, False, True]


def test_position_ids_ignore_left_padding():
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    assert position_ids(mask).tolist() == [[0, 0, 0, 1, 2], [0, 1, 2, 3, 4]]
