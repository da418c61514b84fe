"""Notebook 01's exercises: the next-token cross-entropy, perplexity from the loss, and a bigram
count model (the simplest language model, trained by counting).

Rows are right-padded; `attention_mask` is 1 on real tokens. Padding holds junk ids and token id 0
is a real token, so only the mask says where a row ends; one logit in every input is extreme.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tutor.exercises import Exercise, register

VOCAB = 9


def _rows(gen, batch: int = 4, time: int = 10):
    """Token ids (junk on padding, a real 0 in every row) and the mask of real tokens."""
    lengths = torch.randint(3, time + 1, (batch,), generator=gen)
    lengths[0], lengths[1] = time, min(int(lengths[1]), time - 3)  # one full row, one padded row
    attention_mask = (torch.arange(time).unsqueeze(0) < lengths.unsqueeze(1)).long()
    input_ids = torch.randint(0, VOCAB, (batch, time), generator=gen)
    for row in range(batch):
        input_ids[row, int(torch.randint(1, int(lengths[row]), (1,), generator=gen))] = 0
    return input_ids, attention_mask


# --------------------------------------------------------------------------- 1. next-token loss


def next_token_loss(logits, input_ids, attention_mask):
    """Mean over real next tokens of −log p(token t+1 | tokens ≤ t): position t is graded on the
    token after it, and only where that token is real."""
    logps = F.log_softmax(logits[:, :-1].float(), dim=-1)
    targets = input_ids[:, 1:]
    picked = logps.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    mask = attention_mask[:, 1:].float()
    return -(picked * mask).sum() / mask.sum()


def _loss_inputs(gen):
    input_ids, attention_mask = _rows(gen)
    logits = torch.randn(*input_ids.shape, VOCAB, generator=gen) * 2
    t = int(torch.randint(1, input_ids.shape[1], (1,), generator=gen))  # row 0 is real everywhere
    true = int(input_ids[0, t])
    logits[0, t - 1] = 0.0
    logits[0, t - 1, true], logits[0, t - 1, (true + 1) % VOCAB] = -60.0, 60.0  # a confident miss
    return {"logits": logits, "input_ids": input_ids, "attention_mask": attention_mask}


def _loss_with(logits, input_ids, attention_mask, *, shift=True, mask="target", reduce="tokens", log=None):
    if shift:
        logits, targets = logits[:, :-1], input_ids[:, 1:]
        masks = {"target": attention_mask[:, 1:], "source": attention_mask[:, :-1], "id": (input_ids[:, 1:] != 0)}
        m = masks.get(mask, attention_mask[:, 1:])
    else:
        targets, m = input_ids, attention_mask
    m = m.float() if mask != "none" else torch.ones_like(targets, dtype=torch.float)
    logps = log(logits) if log else F.log_softmax(logits, -1)
    picked = logps.gather(-1, targets.unsqueeze(-1)).squeeze(-1) * m
    if reduce == "sum":
        return -picked.sum()
    if reduce == "rows":
        return (-picked.sum(1) / m.sum(1)).mean()
    return -picked.sum() / m.sum()


register(
    Exercise(
        name="next_token_loss",
        summary="next_token_loss(logits, input_ids, attention_mask) -> scalar: the mean over real next "
        "tokens of −log p(token t+1 | tokens ≤ t); logits [batch, time, vocab], ids and mask [batch, time].",
        reference=next_token_loss,
        make_inputs=_loss_inputs,
        mistakes={
            (
                "shift by one: the logits at position t predict the token at t+1 (drop the last logit and the first "
                "id)."
            ): lambda **kw: _loss_with(**kw, shift=False),
            (
                "padding is not text: average only where the next token is real (attention_mask of the target)."
            ): lambda **kw: _loss_with(**kw, mask="none"),
            "use the mask of the token being predicted (attention_mask[:, 1:]): the last real token predicts "
            "padding, which is not graded.": lambda **kw: _loss_with(**kw, mask="source"),
            "find padding with attention_mask, not with token id 0: id 0 is a real token here.": lambda **kw: (
                _loss_with(**kw, mask="id")
            ),
            "take the mean over tokens, not the sum (the sum grows with batch size and length).": lambda **kw: (
                _loss_with(**kw, reduce="sum")
            ),
            (
                "average over all real tokens of the batch at once, not per row first (long rows carry more tokens)."
            ): lambda **kw: _loss_with(**kw, reduce="rows"),
            "log(softmax(x)) underflows to log(0) = −inf when the true token's logit is far below the best: "
            "use log_softmax (or F.cross_entropy).": lambda **kw: _loss_with(
                **kw, log=lambda x: torch.log(x.softmax(-1))
            ),
            "turn logits into log-probabilities first (log_softmax over the vocabulary).": lambda **kw: _loss_with(
                **kw, log=lambda x: x
            ),
        },
    )
)


# --------------------------------------------------------------------------- 2. perplexity


def perplexity(token_logps, mask):
    """exp of the mean next-token loss over real tokens: exp(−Σ mask·log p / Σ mask), in nats."""
    mask = mask.float()
    return torch.exp(-(token_logps * mask).sum() / mask.sum())


def _ppl_inputs(gen):
    _, mask = _rows(gen)
    real = -torch.rand(mask.shape, generator=gen) * 4  # log p of each real token, in nats
    junk = -torch.rand(mask.shape, generator=gen) * 30  # what padding positions happen to hold
    return {"token_logps": torch.where(mask.bool(), real, junk), "mask": mask}


def _mean_logp(token_logps, mask):
    mask = mask.float()
    return (token_logps * mask).sum() / mask.sum()


register(
    Exercise(
        name="perplexity",
        summary="perplexity(token_logps, mask) -> scalar: exp of the mean negative log-probability (in nats) "
        "of the real tokens (mask 1); token_logps and mask are [batch, time].",
        reference=perplexity,
        make_inputs=_ppl_inputs,
        mistakes={
            (
                "the loss is the NEGATIVE mean log-probability: exp(−mean log p), which is at least 1."
            ): lambda token_logps, mask: torch.exp(_mean_logp(token_logps, mask)),
            (
                "the course measures in nats (natural logs), so perplexity is e^loss, not 2^loss (2^ is for bits)."
            ): lambda token_logps, mask: 2 ** (-_mean_logp(token_logps, mask)),
            (
                "padding holds junk: average only the real tokens (multiply by the mask, divide by its sum)."
            ): lambda token_logps, mask: torch.exp(-token_logps.mean()),
            (
                "exp of the MEAN loss per token, not of the sum (a perplexity does not grow with the text's length)."
            ): lambda token_logps, mask: torch.exp(-(token_logps * mask).sum()),
            (
                "pool all real tokens first, then exp: the mean of each row's perplexity is a different number."
            ): lambda token_logps, mask: torch.exp(-(token_logps * mask).sum(1) / mask.sum(1)).mean(),
            "that is the loss; perplexity is exp(loss).": lambda token_logps, mask: -_mean_logp(token_logps, mask),
        },
    )
)


# --------------------------------------------------------------------------- 3. bigram counts


def bigram_probabilities(input_ids, attention_mask, vocab_size, alpha):
    """P[a, b] = (count(a → b) + α) / (count(a → anything) + α·V): the probability that token b comes
    right after token a, counting consecutive real tokens within each row, with add-α smoothing."""
    counts = torch.zeros(vocab_size, vocab_size, dtype=torch.float64)
    for ids, mask in zip(input_ids, attention_mask, strict=True):
        real = ids[mask.bool()]
        for a, b in zip(real[:-1].tolist(), real[1:].tolist(), strict=True):
            counts[a, b] += 1
    return (counts + alpha) / (counts.sum(1, keepdim=True) + alpha * vocab_size)


def _bigram_inputs(gen):
    input_ids, attention_mask = _rows(gen, batch=4, time=8)
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "vocab_size": VOCAB,
        "alpha": float(torch.empty(1).uniform_(0.1, 1.0, generator=gen)),
    }


def _counts(input_ids, attention_mask, vocab_size, *, padding=False, across_rows=False, transpose=False):
    counts = torch.zeros(vocab_size, vocab_size, dtype=torch.float64)
    rows = [ids if padding else ids[mask.bool()] for ids, mask in zip(input_ids, attention_mask, strict=True)]
    if across_rows:
        rows = [torch.cat(rows)]
    for real in rows:
        for a, b in zip(real[:-1].tolist(), real[1:].tolist(), strict=True):
            if transpose:
                counts[b, a] += 1
            else:
                counts[a, b] += 1
    return counts


def _smoothed(counts, vocab_size, alpha):
    return (counts + alpha) / (counts.sum(1, keepdim=True) + alpha * vocab_size)


register(
    Exercise(
        name="bigram_probabilities",
        summary="bigram_probabilities(input_ids, attention_mask, vocab_size, alpha) -> [V, V] tensor: P[a, b] = "
        "(count(a → b) + α) / (count(a → any token) + α·V), counting consecutive real tokens within each row.",
        reference=bigram_probabilities,
        make_inputs=_bigram_inputs,
        mistakes={
            (
                "padding holds junk ids: count only pairs of real tokens (attention_mask 1)."
            ): lambda input_ids, attention_mask, vocab_size, alpha: _smoothed(
                _counts(input_ids, attention_mask, vocab_size, padding=True), vocab_size, alpha
            ),
            (
                "each row is its own text: do not pair one row's last token with the next row's first."
            ): lambda input_ids, attention_mask, vocab_size, alpha: _smoothed(
                _counts(input_ids, attention_mask, vocab_size, across_rows=True), vocab_size, alpha
            ),
            (
                "P[a, b] is the probability of b AFTER a: count the pair (x_t, x_t+1) at row x_t, column x_t+1."
            ): lambda input_ids, attention_mask, vocab_size, alpha: _smoothed(
                _counts(input_ids, attention_mask, vocab_size, transpose=True), vocab_size, alpha
            ),
            (
                "normalise each row (the previous token a) over the next token: row a must sum to 1."
            ): lambda input_ids, attention_mask, vocab_size, alpha: (
                (_counts(input_ids, attention_mask, vocab_size) + alpha)
                / (_counts(input_ids, attention_mask, vocab_size).sum(0, keepdim=True) + alpha * vocab_size)
            ),
            (
                "add α·V to the denominator (α for each of the V possible next tokens), or the rows no longer sum to 1."
            ): lambda input_ids, attention_mask, vocab_size, alpha: (
                (_counts(input_ids, attention_mask, vocab_size) + alpha)
                / (_counts(input_ids, attention_mask, vocab_size).sum(1, keepdim=True) + alpha)
            ),
            (
                "smoothing is missing: add α to every count, so a pair never seen keeps a small probability."
            ): lambda input_ids, attention_mask, vocab_size, alpha: (
                _counts(input_ids, attention_mask, vocab_size)
                / _counts(input_ids, attention_mask, vocab_size).sum(1, keepdim=True).clamp(min=1)
            ),
        },
    )
)
