"""Pretraining the tiny model: next-token prediction on the world's text, in a loop you can read.

This is how the shipped model in `tutor/assets/tiny` was made (`rlhf-tutor pretrain`), and notebook
01 re-runs it for a minute. The loop is ours rather than a Trainer's so the one idea —
predict the next token, nudge the weights — stays visible.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm
from transformers import LlamaForCausalLM

from tutor.config import check_number, check_whole
from tutor.core.models import tiny_config
from tutor.core.tokenizer import train_tokenizer
from tutor.course import seed_everything
from tutor.world.corpus import pretraining_corpus


@dataclass(frozen=True)
class PretrainSettings:
    """How the tiny model is pretrained (`tutor.config`'s convention): the defaults are the shipped
    model's recipe; notebook 01 asks for far fewer steps and documents."""

    steps: int = 1500
    batch_size: int = 16
    seq_len: int = 256  # tokens per training window
    learning_rate: float = 3e-3  # tiny models want large learning rates
    warmup_steps: int = 100  # linear warm-up, then cosine decay to 10 %
    weight_decay: float = 0.1
    n_docs: int = 6000  # documents of the world's corpus
    vocab_size: int = 1024  # of the BPE tokenizer trained on them
    seed: int = 0

    def __post_init__(self):
        for name in ("steps", "batch_size", "seq_len", "n_docs", "vocab_size"):
            check_whole(self, name)
        check_whole(self, "warmup_steps", minimum=0)
        check_whole(self, "seed", minimum=0)
        check_number(self, "learning_rate", above=0)
        check_number(self, "weight_decay", at_least=0)


@dataclass
class PretrainResult:
    """What `pretrain` returns: the model, its tokenizer, the loss of every step and the time taken."""

    model: object
    tokenizer: object
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def token_stream(tokenizer, docs: list[str]):
    """All documents as one long 1-D tensor of token ids, each followed by EOS."""
    ids: list[int] = []
    for enc in tokenizer(docs, add_special_tokens=False, verbose=False)["input_ids"]:
        ids += enc + [tokenizer.eos_token_id]
    return torch.tensor(ids, dtype=torch.long)


def learning_rate_at(step: int, settings: PretrainSettings) -> float:
    """Linear warm-up to the full rate, then cosine decay to 10 % of it at the last step."""
    if step < settings.warmup_steps:
        return settings.learning_rate * (step + 1) / settings.warmup_steps
    t = (step - settings.warmup_steps) / max(1, settings.steps - settings.warmup_steps)
    return settings.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def pretrain(
    settings: PretrainSettings | None = None,
    tokenizer=None,
    callbacks: Sequence[Callable[[int, dict], None]] = (),
    progress: bool = True,
) -> PretrainResult:
    """Train a fresh tiny model from random weights on random windows of the world's text.

    tokenizer: reuse one (notebook 01 reuses the shipped one); None trains a new BPE on the corpus.
    callbacks: each is called as `callback(step, {"loss": loss})` after every step (a live plot).
    """
    s = settings or PretrainSettings()
    seed_everything(s.seed)
    docs = pretraining_corpus(s.n_docs, seed=s.seed)
    tokenizer = tokenizer or train_tokenizer(docs, s.vocab_size)
    stream = token_stream(tokenizer, docs)
    model = LlamaForCausalLM(tiny_config(tokenizer))
    model.train()
    decay = [p for p in model.parameters() if p.dim() >= 2]  # matrices decay; norms' gains do not
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": s.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=s.learning_rate,
        betas=(0.9, 0.95),
    )
    generator = torch.Generator().manual_seed(s.seed)
    n_windows = len(stream) - s.seq_len - 1
    losses = []
    start = time.perf_counter()
    bar = tqdm(range(s.steps), desc="pretraining", disable=not progress)
    for step in bar:
        starts = torch.randint(0, n_windows, (s.batch_size,), generator=generator)
        batch = torch.stack([stream[i : i + s.seq_len] for i in starts.tolist()])
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, s)
        loss = model(input_ids=batch, labels=batch).loss  # labels shift inside: predict token t+1
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        for callback in callbacks:
            callback(step, {"loss": losses[-1]})
        if step % 20 == 0:
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    model.eval()
    return PretrainResult(model, tokenizer, losses, time.perf_counter() - start)


def top_next_tokens(model, tokenizer, prefix: str, k: int = 5) -> list[tuple[str, float]]:
    """The model's `k` most likely next tokens after `prefix`, with their probabilities (3 places):
    what p(token t+1 | tokens ≤ t) looks like for a trained model (notebook 01)."""
    device = next(model.parameters()).device
    ids = tokenizer(prefix, return_tensors="pt", add_special_tokens=False)["input_ids"].to(device)
    with torch.no_grad():
        probs = model(input_ids=ids).logits[0, -1].softmax(-1)
    top = probs.topk(k)
    return [(tokenizer.decode([int(i)]), round(float(p), 3)) for p, i in zip(top.values, top.indices, strict=True)]
