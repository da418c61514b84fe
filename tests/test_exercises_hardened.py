"""The checkers' inputs catch the quiet mistakes: junk on padding, a real token with id 0, extreme
values where a naive formula overflows. Each wrong function here is written independently of the
checkers' own list of mistakes, the way a learner would write it, and must fail with a named hint."""

import pytest
import torch
import torch.nn.functional as F

from tutor.exercises import check

SEEDS = range(6)


def naive_bt_loss(chosen_rewards, rejected_rewards):
    return -torch.log(torch.sigmoid(chosen_rewards - rejected_rewards)).mean()


def naive_margin_loss(chosen_rewards, rejected_rewards, margin):
    return -torch.log(torch.sigmoid(chosen_rewards - rejected_rewards - margin)).mean()


def naive_preference(reward_a, reward_b):
    return reward_a.exp() / (reward_a.exp() + reward_b.exp())


def naive_label_probability(score_a, score_b, temperature):
    ea, eb = torch.exp(score_a / temperature), torch.exp(score_b / temperature)
    return eb / (ea + eb)


def naive_dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    margin = beta * ((policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps))
    return -torch.log(torch.sigmoid(margin)).mean()


def naive_sft_loss(logits, labels):
    logps = torch.log(torch.softmax(logits[:, :-1], -1))
    labels = labels[:, 1:]
    mask = labels != -100
    picked = logps.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * mask).sum() / mask.sum()


def naive_sequence_logps(logits, labels):
    logps = torch.log(torch.softmax(logits[:, :-1], -1))
    labels = labels[:, 1:]
    mask = labels != -100
    return (logps.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1) * mask).sum(-1)


def naive_next_token_loss(logits, input_ids, attention_mask):
    logps = torch.log(torch.softmax(logits[:, :-1], -1))
    picked = logps.gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    mask = attention_mask[:, 1:].float()
    return -(picked * mask).sum() / mask.sum()


def naive_token_kl(logits, ref_logits, mask):
    p, q = torch.softmax(logits, -1), torch.softmax(ref_logits, -1)
    return ((p * (p.log() - q.log())).sum(-1) * mask).sum(-1)


@pytest.mark.parametrize(
    "name, naive",
    [
        ("bradley_terry_loss", naive_bt_loss),
        ("bradley_terry_margin_loss", naive_margin_loss),
        ("preference_probability", naive_preference),
        ("label_probability", naive_label_probability),
        ("dpo_loss", naive_dpo_loss),
        ("sft_loss", naive_sft_loss),
        ("sequence_logps", naive_sequence_logps),
        ("next_token_loss", naive_next_token_loss),
        ("token_kl", naive_token_kl),
    ],
)
def test_a_numerically_unstable_formula_fails_with_a_named_hint(name, naive):
    for seed in SEEDS:
        result = check(name, naive, seed=seed, quiet=True)
        assert not result.passed, f"{name}: the unstable formula passed (seed {seed})"
        assert "overflow" in result.message or "underflow" in result.message, result.message


def id_zero_is_padding_labels(input_ids, prompt_lengths, attention_mask):
    labels = input_ids.clone()
    for row, n in enumerate(prompt_lengths.tolist()):
        labels[row, :n] = -100
    labels[input_ids == 0] = -100  # "0 is the pad id"
    return labels


def label_zero_is_ignored_loss(logits, labels):
    labels = labels[:, 1:]
    keep = labels > 0
    logps = F.log_softmax(logits[:, :-1], -1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(logps * keep).sum() / keep.sum()


def label_zero_is_ignored_logps(logits, labels):
    labels = labels[:, 1:]
    keep = labels > 0
    logps = F.log_softmax(logits[:, :-1], -1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (logps * keep).sum(-1)


def pad_by_id_next_token_loss(logits, input_ids, attention_mask):
    keep = (input_ids[:, 1:] != 0).float()
    logps = F.log_softmax(logits[:, :-1], -1).gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return -(logps * keep).sum() / keep.sum()


@pytest.mark.parametrize(
    "name, wrong",
    [
        ("completion_labels", id_zero_is_padding_labels),
        ("sft_loss", label_zero_is_ignored_loss),
        ("sequence_logps", label_zero_is_ignored_logps),
        ("next_token_loss", pad_by_id_next_token_loss),
    ],
)
def test_treating_token_id_0_as_padding_fails_with_a_named_hint(name, wrong):
    for seed in SEEDS:
        result = check(name, wrong, seed=seed, quiet=True)
        assert not result.passed, f"{name}: treating id 0 as padding passed (seed {seed})"
        assert "0 is a real" in result.message or "id 0" in result.message, result.message


def unmasked_kl_rewards(scores, logps, ref_logps, mask, beta):
    rewards = -beta * (logps - ref_logps)  # junk on padding survives
    last = mask.sum(1).long() - 1
    rewards[torch.arange(len(scores)), last] += scores
    return rewards * (mask.sum(1, keepdim=True) > 0)


def unmasked_surrogate(logps, old_logps, advantages, mask, cliprange):
    ratio = torch.exp(logps - old_logps)
    per_token = torch.maximum(-advantages * ratio, -advantages * ratio.clamp(1 - cliprange, 1 + cliprange))
    return per_token.sum() / mask.sum()


def unmasked_kl(logits, ref_logits, mask):
    logps, ref = F.log_softmax(logits, -1), F.log_softmax(ref_logits, -1)
    return (logps.exp() * (logps - ref)).sum(-1).sum(-1)


def unmasked_perplexity(token_logps, mask):
    return torch.exp(-token_logps.mean())


def unmasked_bigrams(input_ids, attention_mask, vocab_size, alpha):
    counts = torch.zeros(vocab_size, vocab_size)
    for ids in input_ids:
        for a, b in zip(ids[:-1].tolist(), ids[1:].tolist(), strict=True):
            counts[a, b] += 1
    return (counts + alpha) / (counts.sum(1, keepdim=True) + alpha * vocab_size)


@pytest.mark.parametrize(
    "name, wrong",
    [
        ("kl_penalty_rewards", unmasked_kl_rewards),
        ("clipped_surrogate", unmasked_surrogate),
        ("token_kl", unmasked_kl),
        ("perplexity", unmasked_perplexity),
        ("bigram_probabilities", unmasked_bigrams),
    ],
)
def test_junk_on_padding_catches_a_forgotten_mask(name, wrong):
    for seed in SEEDS:
        result = check(name, wrong, seed=seed, quiet=True)
        assert not result.passed, f"{name}: ignoring the mask passed (seed {seed})"
        assert "Hint:" in result.message and "Re-read" not in result.message, result.message
        assert "mask" in result.message or "padding" in result.message, result.message


def test_the_gae_starter_of_notebook_05_gets_a_hint_about_its_returns_line():
    """Notebook 05's starter keeps `returns = advantages + values`; a learner who writes the loop
    right and keeps that line must learn what is wrong with it, not read a generic hint."""

    def starter_with_a_right_loop(rewards, values, mask, gamma, lam):
        advantages = torch.zeros_like(rewards)
        for b in range(rewards.shape[0]):
            n, next_value, next_adv = int(mask[b].sum()), 0.0, 0.0
            for t in reversed(range(n)):
                delta = rewards[b, t] + gamma * next_value - values[b, t]
                advantages[b, t] = delta + gamma * lam * next_adv
                next_value, next_adv = values[b, t], advantages[b, t]
        returns = advantages + values  # the starter's line, kept
        return advantages, returns

    for seed in SEEDS:
        result = check("gae", starter_with_a_right_loop, seed=seed, quiet=True)
        assert not result.passed
        assert "returns = (advantages + values) · mask" in result.message, result.message


def test_ties_rules_are_stated_in_the_summaries():
    from tutor.exercises import describe

    assert "counts as wrong" in describe("pairwise_accuracy")
    assert "tie" in describe("pairwise_agreement").lower() and "left out" in describe("pairwise_agreement")
    assert "shared first place" in describe("majority_vote")
    assert "½" in describe("win_rate")
    assert "− margin" in describe("bradley_terry_margin_loss")
