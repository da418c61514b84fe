"""Sample answers from a model for a list of prompts, the same way in every stage.

Chat models get the tokenizer's chat template; a *base* model gets a plain "Question: … Answer:"
prefix, because it never saw chat markers. Prompts are left-padded so every row's answer starts at
the same column, and answers are cut at the first EOS — the model's own "I am done".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tutor.core.chat import encode_prompts
from tutor.errors import TutorError


@dataclass
class Samples:
    """Answers to `prompts`, with whether each one ended by itself (emitted EOS)."""

    prompts: list[str]
    texts: list[str]
    ended: list[bool]
    lengths: list[int] = field(default_factory=list)  # answer length in tokens (EOS included)

    def __len__(self) -> int:
        return len(self.texts)

    def __iter__(self):
        return iter(self.texts)

    def __getitem__(self, i):
        return self.texts[i]


def sample(
    model,
    tokenizer,
    prompts: Sequence[str],
    *,
    chat: bool = True,
    max_new_tokens: int = 160,
    temperature: float = 1.0,
    greedy: bool = False,
    batch_size: int = 64,
    seed: int | None = None,
) -> Samples:
    """Sample one answer per prompt (pure sampling: top_k=0, top_p=1, at `temperature`)."""
    import torch

    if isinstance(prompts, str):
        prompts = [prompts]
    prompts = list(prompts)
    if not prompts:
        raise TutorError("sample() needs at least one prompt.")
    if not greedy and not temperature > 0:
        raise TutorError(f"temperature must be > 0 for sampling (or use greedy=True), got {temperature!r}.")
    if seed is not None:
        torch.manual_seed(seed)
    device = next(model.parameters()).device
    eos = tokenizer.eos_token_id
    texts, ended, lengths = [], [], []
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(prompts), batch_size):
            batch = prompts[start : start + batch_size]
            enc = encode_prompts(tokenizer, batch, chat=chat).to(device)
            rows, _ = sample_tokens(
                model, enc["input_ids"], enc["attention_mask"], eos, max_new_tokens, None if greedy else temperature
            )
            for row in rows:
                hit = row[-1] == eos if row else False
                kept = row[:-1] if hit else row
                texts.append(tokenizer.decode(kept, skip_special_tokens=True).strip())
                ended.append(hit)
                lengths.append(len(row))
    finally:
        model.train(was_training)
    return Samples(prompts, texts, ended, lengths)


def sample_tokens(
    model,
    input_ids,
    attention_mask,
    eos: int,
    max_new_tokens: int,
    temperature: float | None,
    return_logps: bool = False,
):
    """The sampling loop: one forward pass per new token over the key/value cache. Rows that wrote
    `eos` leave the batch (once a tenth of it has finished), so a few long answers do not keep every
    row computing. transformers' `generate` does the same maths with far more Python per token,
    which is what a model this small spends its time on.

    `temperature=None` decodes greedily. Returns each row's new tokens (ending with `eos` when the
    answer ended by itself) and, with `return_logps`, the log-probability of each token under the
    distribution it was drawn from, softmax(logits / temperature).
    """
    import inspect

    import torch
    from transformers import DynamicCache

    n = input_ids.shape[0]
    rows: list[list[int]] = [[] for _ in range(n)]
    logps: list[list[float]] = [[] for _ in range(n)]
    if max_new_tokens < 1:
        return rows, logps
    params = inspect.signature(model.forward).parameters
    cache_name = "cache" if "cache" in params else "past_key_values"  # transformers renamed it
    cache = DynamicCache(config=model.config)
    mask = attention_mask.long()
    position = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding: each row's first real token is position 0
    alive = torch.arange(n, device=input_ids.device)  # original row of each batch row
    done = torch.zeros(n, dtype=torch.bool, device=input_ids.device)  # finished, still in the batch
    extra = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
    with torch.inference_mode():  # no_grad, minus autograd's bookkeeping: 5 % faster here, the same tokens
        logits = model(
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=position,
            use_cache=True,
            **{cache_name: cache},
            **extra,
        ).logits[:, -1]
        position = position[:, -1:] + 1
        for step in range(max_new_tokens):
            tokens = logits.argmax(-1) if temperature is None else _draw(logits, temperature)
            if return_logps:
                scale = 1.0 if temperature is None else temperature
                lp = torch.log_softmax(logits.float() / scale, dim=-1).gather(-1, tokens[:, None]).squeeze(-1).tolist()
            for i, (row, token, finished) in enumerate(
                zip(alive.tolist(), tokens.tolist(), done.tolist(), strict=True)
            ):
                if not finished:
                    rows[row].append(token)
                    if return_logps:
                        logps[row].append(lp[i])
            done |= tokens == eos
            if step + 1 == max_new_tokens or bool(done.all()):
                break
            if int(done.sum()) * 10 >= len(done):  # drop the finished rows
                keep = (~done).nonzero().squeeze(-1)
                alive, tokens, mask, position, done = alive[keep], tokens[keep], mask[keep], position[keep], done[keep]
                for layer in cache.layers:
                    layer.batch_select_indices(keep)
            mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=-1)
            logits = model(
                input_ids=tokens[:, None],
                attention_mask=mask,
                position_ids=position,
                use_cache=True,
                **{cache_name: cache},
            ).logits[:, -1]
            position = position + 1
    return rows, logps


def _draw(logits, temperature: float):
    """One token per row from softmax(logits / temperature), by inverting the cumulative
    distribution at a uniform draw (exact, and many times cheaper on a CPU than torch.multinomial)."""
    import torch

    probs = torch.softmax(logits.float() / temperature, dim=-1)
    cdf = probs.cumsum(-1)
    if not bool(torch.isfinite(cdf[:, -1]).all()):  # a NaN or infinity anywhere in a row ends up in its total
        raise TutorError(
            "The model's next-token probabilities are NaN or infinite, so it cannot sample (its weights diverged)."
        )
    u = torch.rand(cdf.shape[0], 1, device=cdf.device) * cdf[:, -1:]
    return torch.searchsorted(cdf, u, right=True).squeeze(-1).clamp_(max=cdf.shape[-1] - 1)
