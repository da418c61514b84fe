"""Pretraining the tiny model: next-token prediction on the world's text, in a loop you can read.

This is how the shipped model in `tutor/assets/tiny` was made (`rlhf-tutor pretrain`), and notebook
01 re-runs it for a minute. The loop is ours rather than a Trainer's so the one idea —
predict the next token, nudge the weights — stays visible.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tutor.world.corpus import pretraining_corpus


@dataclass
class PretrainConfig:
    steps: int = 1500  # as shipped; notebook 01 uses far fewer
    batch_size: int = 16
    seq_len: int = 256
    lr: float = 3e-3  # tiny models want large learning rates
    warmup: int = 100
    weight_decay: float = 0.1
    n_docs: int = 6000
    vocab_size: int = 1024
    seed: int = 0


@dataclass
class PretrainResult:
    model: object
    tokenizer: object
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def token_stream(tokenizer, docs: list[str]):
    """All documents as one long 1-D tensor of token ids, each followed by EOS."""
    import torch

    ids: list[int] = []
    for enc in tokenizer(docs, add_special_tokens=False, verbose=False)["input_ids"]:
        ids += enc + [tokenizer.eos_token_id]
    return torch.tensor(ids, dtype=torch.long)


def pretrain(
    config: PretrainConfig | None = None,
    tokenizer=None,
    on_step: Callable[[int, float], None] | None = None,
    progress: bool = True,
) -> PretrainResult:
    """Train a fresh tiny model from random weights. `on_step(step, loss)` feeds a live plot."""
    import torch
    from tqdm.auto import tqdm
    from transformers import LlamaForCausalLM

    from tutor.core.models import tiny_config
    from tutor.core.tokenizer import train_tokenizer
    from tutor.course import seed_everything

    cfg = config or PretrainConfig()
    seed_everything(cfg.seed)
    docs = pretraining_corpus(cfg.n_docs, seed=cfg.seed)
    tokenizer = tokenizer or train_tokenizer(docs, cfg.vocab_size)
    stream = token_stream(tokenizer, docs)
    model = LlamaForCausalLM(tiny_config(tokenizer))
    model.train()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.95),
    )

    def lr_at(step: int) -> float:  # linear warm-up, then cosine decay to 10 %
        if step < cfg.warmup:
            return cfg.lr * (step + 1) / cfg.warmup
        t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
        return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))

    gen = torch.Generator().manual_seed(cfg.seed)
    n_windows = len(stream) - cfg.seq_len - 1
    losses = []
    start = time.perf_counter()
    bar = tqdm(range(cfg.steps), desc="pretraining", disable=not progress)
    for step in bar:
        starts = torch.randint(0, n_windows, (cfg.batch_size,), generator=gen)
        batch = torch.stack([stream[s : s + cfg.seq_len] for s in starts.tolist()])
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        loss = model(input_ids=batch, labels=batch).loss  # labels shift inside: predict token t+1
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])
        if step % 20 == 0:
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    model.eval()
    return PretrainResult(model, tokenizer, losses, time.perf_counter() - start)
