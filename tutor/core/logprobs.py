"""How likely a model finds an answer, and how far two models are apart on sampled answers.

`answer_logps` is log π(answer | prompt), summed over the answer's tokens: what DPO's loss and the
implicit reward are made of. `answer_kl` is the KL divergence KL(π ‖ π_ref) of each answer sampled
from π, summed over its tokens, with a named estimator:

- ``"exact"``: Σ_t KL(π(·|prefix_t) ‖ π_ref(·|prefix_t)), computed over the whole vocabulary at each
  token (never negative; the course reports this one for every method);
- ``"sampled"``: Σ_t log π(y_t) − log π_ref(y_t), the single-sample estimate (the same expectation,
  noisier, and negative for some answers).

Rows are scored in batches of similar length, right-padded; a row's result does not depend on its
neighbours (tested).
"""

from __future__ import annotations

from collections.abc import Sequence

from tutor.core.chat import answer_ids, right_pad
from tutor.errors import TutorError

KL_ESTIMATORS = ("exact", "sampled")


def _batches(rows: Sequence[tuple[list[int], list[int]]], pad_id: int, batch_size: int):
    """(row indices, ids, attention, answer mask) per batch, rows shortest first so that a batch
    carries little padding; callers put each result back at its row's index."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]) + len(rows[i][1]))
    for start in range(0, len(order), batch_size):
        picked = order[start : start + batch_size]
        chunk = [rows[i] for i in picked]
        ids, attn = right_pad([p + a for p, a in chunk], pad_id)
        answer = attn.bool().clone()
        for i, (p, _) in enumerate(chunk):
            answer[i, : len(p)] = False
        yield picked, ids, attn, answer


def next_token_logps(model, ids, attn):
    """log p(· | prefix) at every position that predicts a next token: (batch, length − 1, vocab)."""
    import torch

    device = next(model.parameters()).device
    logits = model(input_ids=ids.to(device), attention_mask=attn.to(device)).logits[:, :-1].float()
    return torch.log_softmax(logits, dim=-1).cpu()


def answer_logps(
    model,
    tokenizer,
    prompts: Sequence[str],
    answers: Sequence[str],
    ended: Sequence[bool] | None = None,
    batch_size: int = 64,
    max_length: int | None = None,
):
    """Σ over answer tokens of log π(token | prompt, earlier tokens): one float per row (a tensor)."""
    import torch

    rows = answer_ids(tokenizer, prompts, answers, ended, max_length)
    out = torch.zeros(len(rows))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for picked, ids, attn, mask in _batches(rows, tokenizer.pad_token_id, batch_size):
            logps = next_token_logps(model, ids, attn)
            token_logps = logps.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
            out[picked] = (token_logps * mask[:, 1:]).sum(-1)
    model.train(was_training)
    return out


def answer_kls(model, ref_model, tokenizer, samples, batch_size: int = 64) -> dict:
    """Both estimators of KL(π ‖ π_ref) for each answer in `samples` (sampled from `model`), from one
    pass of each model: {"exact": tensor, "sampled": tensor}."""
    import torch

    rows = answer_ids(tokenizer, samples.prompts, samples.texts, samples.ended)
    sampled, exact = torch.zeros(len(rows)), torch.zeros(len(rows))
    modes = (model.training, ref_model.training)
    model.eval()
    ref_model.eval()
    with torch.no_grad():
        for picked, ids, attn, mask in _batches(rows, tokenizer.pad_token_id, batch_size):
            logps, ref_logps = next_token_logps(model, ids, attn), next_token_logps(ref_model, ids, attn)
            tokens, answer = ids[:, 1:].unsqueeze(-1), mask[:, 1:]
            sampled[picked] = (logps.gather(-1, tokens).squeeze(-1) * answer).sum(-1) - (
                ref_logps.gather(-1, tokens).squeeze(-1) * answer
            ).sum(-1)
            exact[picked] = ((logps.exp() * (logps - ref_logps)).sum(-1) * answer).sum(-1)
    model.train(modes[0])
    ref_model.train(modes[1])
    return {"exact": exact, "sampled": sampled}


def answer_kl(model, ref_model, tokenizer, samples, estimator: str = "exact", batch_size: int = 64):
    """KL(π ‖ π_ref) of each answer in `samples`, summed over its tokens (a tensor), by `estimator`."""
    if estimator not in KL_ESTIMATORS:
        raise TutorError(f"Unknown KL estimator {estimator!r}; choose one of: {', '.join(KL_ESTIMATORS)}.")
    return answer_kls(model, ref_model, tokenizer, samples, batch_size)[estimator]
