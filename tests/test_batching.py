"""Length-grouped batches: every example once per epoch, batches of similar length, random order."""

import torch

from tutor.core.batching import GROUP, LengthGroupedBatches, pair_lengths


def batches_of(sampler, size):
    order = list(sampler)
    return order, [order[i : i + size] for i in range(0, len(order), size)]


def test_every_example_once_and_batches_of_similar_length():
    torch.manual_seed(0)
    lengths = torch.randint(5, 300, (1000,)).tolist()
    order, batches = batches_of(LengthGroupedBatches(lengths, 8), 8)
    assert sorted(order) == list(range(1000))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    random_spread = sum(
        max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches_of(torch.randperm(1000).tolist(), 8)[1]
    ) / len(batches)
    assert spread < random_spread / 5


def test_batches_come_in_random_order_not_longest_first():
    lengths = list(range(8 * GROUP * 3))  # three groups
    _, batches = batches_of(LengthGroupedBatches(lengths, 8, torch.Generator().manual_seed(1)), 8)
    longest = [max(b) for b in batches]
    assert longest != sorted(longest) and longest != sorted(longest, reverse=True)
    # the last batches of an epoch are not systematically the shortest (the bias of group_by_length)
    tail = sum(longest[-5:]) / 5
    assert tail > min(longest) + 20


def test_a_short_last_batch_stays_last_so_batches_stay_aligned():
    lengths = [3] * 20 + [200] * 21  # 41 examples: one short batch of 1
    order, batches = batches_of(LengthGroupedBatches(lengths, 4, torch.Generator().manual_seed(0)), 4)
    assert len(batches[-1]) == 1
    for b in batches[:-1]:
        assert len({lengths[i] for i in b}) == 1  # never a mix of short and long in one batch


def test_the_seed_decides_the_order():
    lengths = list(range(100))
    one = list(LengthGroupedBatches(lengths, 4, torch.Generator().manual_seed(0)))
    same = list(LengthGroupedBatches(lengths, 4, torch.Generator().manual_seed(0)))
    other = list(LengthGroupedBatches(lengths, 4, torch.Generator().manual_seed(1)))
    assert one == same and one != other


def test_a_pair_is_as_long_as_its_longer_answer():
    assert pair_lengths({"chosen_ids": [[1, 2, 3], [1]], "rejected_ids": [[1], [1, 2]]}) == [3, 2]
