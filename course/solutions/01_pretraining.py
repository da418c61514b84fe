"""Solutions to notebook 01's exercises (pretraining). Try them yourself first!

Each function passes `tutor.exercises.check(name, function)`.
"""

import torch
import torch.nn.functional as F


def next_token_loss(logits, input_ids, attention_mask):
    """Position t predicts token t+1: drop the last logit and the first id, then cross-entropy over
    the positions whose target is a real token (its attention_mask is 1)."""
    vocab = logits.shape[-1]
    targets = input_ids[:, 1:].masked_fill(attention_mask[:, 1:] == 0, -100)  # -100: not graded
    return F.cross_entropy(logits[:, :-1].reshape(-1, vocab), targets.reshape(-1), ignore_index=-100)


def perplexity(token_logps, mask):
    """e to the mean negative log-probability of the real tokens (natural logs: nats)."""
    mask = mask.float()
    loss = -(token_logps * mask).sum() / mask.sum()
    return torch.exp(loss)


def bigram_probabilities(input_ids, attention_mask, vocab_size, alpha):
    """Count consecutive pairs of real tokens row by row, add α to every count, normalise each row."""
    counts = torch.zeros(vocab_size, vocab_size)
    for ids, mask in zip(input_ids, attention_mask, strict=True):
        real = ids[mask.bool()]
        counts.index_put_((real[:-1], real[1:]), torch.ones(len(real) - 1), accumulate=True)
    return (counts + alpha) / (counts.sum(dim=1, keepdim=True) + alpha * vocab_size)
