"""Exercises of notebook 02 (SFT): the completion-only labels, the SFT loss, token accuracy.

Shapes follow transformers: `input_ids` and `labels` are [batch, time], `logits` [batch, time,
vocab]; label -100 means "no loss here". Sequences are right-padded (padding at the end).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tutor.exercises import Exercise, register

IGNORE = -100
VOCAB = 11


# --------------------------------------------------------------------------- completion-only labels


def completion_labels(input_ids, prompt_lengths, attention_mask):
    """Labels for completion-only loss: the token ids where the answer is, -100 on the prompt and
    on padding."""
    positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
    keep = (positions >= prompt_lengths.unsqueeze(1)) & attention_mask.bool()
    return torch.where(keep, input_ids, torch.full_like(input_ids, IGNORE))


def _labels_inputs(gen):
    """Right-padded rows whose padding holds junk ids (as a reused buffer would), and a real token
    with id 0 in every answer, so neither "id 0 is padding" nor "ids on padding are pad ids" holds."""
    batch, time = 4, 9
    lengths = torch.randint(4, time + 1, (batch,), generator=gen)
    lengths[0] = time  # one row without padding
    lengths[1] = min(int(lengths[1]), time - 2)  # and one with padding, always
    prompt_lengths = torch.stack([torch.randint(1, int(n) - 1, (1,), generator=gen)[0] for n in lengths])
    attention_mask = (torch.arange(time).unsqueeze(0) < lengths.unsqueeze(1)).long()
    input_ids = torch.randint(0, VOCAB, (batch, time), generator=gen)  # junk ids on padding too
    for row in range(batch):  # token id 0 is a real token in every answer
        input_ids[row, int(torch.randint(int(prompt_lengths[row]), int(lengths[row]), (1,), generator=gen))] = 0
    return {"input_ids": input_ids, "prompt_lengths": prompt_lengths, "attention_mask": attention_mask}


def _labels_pad_by_id(input_ids, prompt_lengths, attention_mask):
    positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
    keep = (positions >= prompt_lengths.unsqueeze(1)) & (input_ids != 0)
    return torch.where(keep, input_ids, torch.full_like(input_ids, IGNORE))


def _labels_keep_padding(input_ids, prompt_lengths, attention_mask):
    positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
    keep = positions >= prompt_lengths.unsqueeze(1)
    return torch.where(keep, input_ids, torch.full_like(input_ids, IGNORE))


def _labels_mask_answer(input_ids, prompt_lengths, attention_mask):
    positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
    keep = (positions < prompt_lengths.unsqueeze(1)) & attention_mask.bool()
    return torch.where(keep, input_ids, torch.full_like(input_ids, IGNORE))


def _labels_off_by_one(input_ids, prompt_lengths, attention_mask):
    positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
    keep = (positions > prompt_lengths.unsqueeze(1)) & attention_mask.bool()
    return torch.where(keep, input_ids, torch.full_like(input_ids, IGNORE))


def _labels_zero_fill(input_ids, prompt_lengths, attention_mask):
    positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
    keep = (positions >= prompt_lengths.unsqueeze(1)) & attention_mask.bool()
    return torch.where(keep, input_ids, torch.zeros_like(input_ids))


def _labels_shifted(input_ids, prompt_lengths, attention_mask):
    return completion_labels(input_ids, prompt_lengths, attention_mask)[:, 1:]


register(
    Exercise(
        name="completion_labels",
        summary="completion_labels(input_ids, prompt_lengths, attention_mask) -> labels [batch, time]: "
        "the token id on answer tokens, -100 on prompt tokens and on padding.",
        reference=completion_labels,
        make_inputs=_labels_inputs,
        mistakes={
            (
                "padding tokens still carry labels: positions where attention_mask is 0 must be -100 too."
            ): _labels_keep_padding,
            "you kept the prompt and hid the answer; the loss belongs on the completion.": _labels_mask_answer,
            (
                "off by one: the answer starts AT position prompt_length (the first answer token is trained)."
            ): _labels_off_by_one,
            "ignored positions must be -100 (what the loss skips), not 0 (a real token id).": _labels_zero_fill,
            "labels keep the shape of input_ids; the shift by one happens inside the loss.": _labels_shifted,
            "padding is where attention_mask is 0, not where the token id is 0: id 0 is a real token here, "
            "and padding can hold any id.": _labels_pad_by_id,
        },
    )
)


# --------------------------------------------------------------------------- the SFT loss


def sft_loss(logits, labels):
    """Mean cross-entropy of the next token over completion tokens: position t predicts token t+1,
    and positions labelled -100 do not count."""
    logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels != IGNORE
    logps = F.log_softmax(logits.float(), dim=-1)
    picked = logps.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * mask).sum() / mask.sum()


def _loss_inputs(gen):
    """Labels with real 0s, junk logits on ignored positions, and one extreme prediction: a true next
    token whose logit is 120 below the best, where log(softmax(·)) underflows to log(0) = −inf."""
    inputs = _labels_inputs(gen)
    labels = completion_labels(**inputs)
    logits = torch.randn(labels.shape[0], labels.shape[1], VOCAB, generator=gen) * 2.0
    row = 0
    t = int((labels[row] != IGNORE).nonzero()[-1])  # the last answer token of row 0, predicted at t − 1
    true = int(labels[row, t])
    logits[row, t - 1] = 0.0
    logits[row, t - 1, true] = -60.0
    logits[row, t - 1, (true + 1) % VOCAB] = 60.0
    return {"logits": logits, "labels": labels}


def _loss_log_of_softmax(logits, labels):
    logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels != IGNORE
    picked = torch.log(torch.softmax(logits, -1)).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * mask).sum() / mask.sum()


def _loss_zero_is_ignored(logits, labels):
    logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels > 0
    picked = F.log_softmax(logits, -1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * mask).sum() / mask.sum()


def _loss_no_shift(logits, labels):
    mask = labels != IGNORE
    picked = F.log_softmax(logits, -1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * mask).sum() / mask.sum()


def _loss_all_positions(logits, labels):
    logits, labels = logits[:, :-1], labels[:, 1:]
    picked = F.log_softmax(logits, -1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    mask = labels != IGNORE
    return -(picked * mask).sum() / labels.numel()


def _loss_sum(logits, labels):
    logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels != IGNORE
    picked = F.log_softmax(logits, -1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * mask).sum()


def _loss_per_sequence_mean(logits, labels):
    logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels != IGNORE
    picked = F.log_softmax(logits, -1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (-(picked * mask).sum(1) / mask.sum(1)).mean()


def _loss_no_log_softmax(logits, labels):
    logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels != IGNORE
    picked = logits.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(picked * mask).sum() / mask.sum()


def _loss_positive(logits, labels):
    return -sft_loss(logits, labels)


register(
    Exercise(
        name="sft_loss",
        summary="sft_loss(logits, labels) -> scalar: mean next-token cross-entropy over the tokens whose "
        "label is not -100.",
        reference=sft_loss,
        make_inputs=_loss_inputs,
        mistakes={
            (
                "shift by one: the logits at position t predict the token at t+1 (drop the last logit and the first "
                "label)."
            ): _loss_no_shift,
            (
                "divide by the number of answer tokens, not by every position (ignored positions do not count)."
            ): _loss_all_positions,
            (
                "take the mean over answer tokens, not the sum (the sum grows with batch size and answer length)."
            ): _loss_sum,
            (
                "average over all answer tokens of the batch at once, not per sequence first (TRL weighs every token "
                "equally)."
            ): _loss_per_sequence_mean,
            "turn logits into log-probabilities first (log_softmax over the vocabulary).": _loss_no_log_softmax,
            "a loss is the NEGATIVE log-likelihood: flip the sign.": _loss_positive,
            "log(softmax(x)) underflows to log(0) = −inf when a token's logit is far below the best one: "
            "use log_softmax (or F.cross_entropy), which subtracts the max first.": _loss_log_of_softmax,
            "only the label −100 means 'no loss here': a label of 0 is a real token and counts.": _loss_zero_is_ignored,
        },
    )
)


# --------------------------------------------------------------------------- token accuracy


def token_accuracy(logits, labels):
    """Share of answer tokens where the model's most likely next token is the true one (what TRL
    logs as `mean_token_accuracy`)."""
    logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels != IGNORE
    hits = (logits.argmax(-1) == labels) & mask
    return hits.sum().float() / mask.sum()


def _acc_no_shift(logits, labels):
    mask = labels != IGNORE
    return ((logits.argmax(-1) == labels) & mask).sum().float() / mask.sum()


def _acc_all_positions(logits, labels):
    logits, labels = logits[:, :-1], labels[:, 1:]
    return (logits.argmax(-1) == labels).float().mean()


def _acc_zero_is_ignored(logits, labels):
    logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels > 0
    return ((logits.argmax(-1) == labels) & mask).sum().float() / mask.sum()


def _acc_count(logits, labels):
    logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels != IGNORE
    return ((logits.argmax(-1) == labels) & mask).sum().float()


def _accuracy_inputs(gen):
    """`_loss_inputs`, with logits whose argmax is the true next token at about 70 % of the answer
    positions (a half-trained model): on purely random logits over a small vocabulary nearly every
    prediction misses, and an accuracy read at the wrong position can come out the same."""
    inputs = _loss_inputs(gen)
    logits, labels = inputs["logits"], inputs["labels"]
    rows, cols = (labels[:, 1:] != IGNORE).nonzero(as_tuple=True)
    right = torch.rand(len(rows), generator=gen) < 0.7
    right[0] = False  # row 0's first answer token is a miss, and its last (the extreme logit) too
    for b, t in zip(rows[right].tolist(), cols[right].tolist(), strict=True):
        if (b, t + 1) != (0, int((labels[0] != IGNORE).nonzero()[-1])):
            logits[b, t, int(labels[b, t + 1])] = logits[b, t].max() + 3.0
    return {"logits": logits, "labels": labels}


register(
    Exercise(
        name="token_accuracy",
        summary="token_accuracy(logits, labels) -> scalar in [0, 1]: share of answer tokens (label ≠ -100) "
        "whose argmax prediction from the previous position is right.",
        reference=token_accuracy,
        make_inputs=_accuracy_inputs,
        mistakes={
            "shift by one: the prediction for token t+1 is read at position t.": _acc_no_shift,
            "count only answer tokens: positions labelled -100 are neither hits nor misses.": _acc_all_positions,
            "return the share of hits (a number between 0 and 1), not their count.": _acc_count,
            (
                "only the label −100 means 'not an answer token': a label of 0 is a real token and counts."
            ): _acc_zero_is_ignored,
        },
    )
)
