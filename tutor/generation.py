"""Sample answers from a model for a list of prompts, the same way in every stage.

Chat models get the tokenizer's chat template; a *base* model gets a plain "Question: … Answer:"
prefix, because it never saw chat markers. Prompts are left-padded so every row's answer starts at
the same column, and answers are cut at the first EOS — the model's own "I am done".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tutor.errors import TutorError
from tutor.world.corpus import completion_prompt


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


def encode_prompts(tokenizer, prompts: Sequence[str], chat: bool = True, max_length: int | None = None):
    """Left-padded input ids and attention mask for `prompts` (chat template or base-model prefix)."""
    if chat:
        texts = [
            tokenizer.apply_chat_template(
                [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
            )
            for p in prompts
        ]
    else:
        texts = [completion_prompt(p) for p in prompts]
    tokenizer.padding_side = "left"
    enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    limit = max_length or getattr(tokenizer, "model_max_length", None) or 10**9
    if enc["input_ids"].shape[1] > limit:
        longest = max(range(len(prompts)), key=lambda i: len(texts[i]))
        raise TutorError(
            f"Prompt {longest} is {enc['input_ids'].shape[1]} tokens long, more than the model's "
            f"context of {limit} tokens; shorten it."
        )
    return enc


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
    if seed is not None:
        torch.manual_seed(seed)
    device = next(model.parameters()).device
    eos = tokenizer.eos_token_id
    texts, ended, lengths = [], [], []
    was_training = model.training
    model.eval()
    for start in range(0, len(prompts), batch_size):
        batch = prompts[start : start + batch_size]
        enc = encode_prompts(tokenizer, batch, chat=chat).to(device)
        with torch.no_grad():
            out = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=not greedy,
                temperature=temperature if not greedy else None,
                top_k=0 if not greedy else None,
                top_p=1.0 if not greedy else None,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=eos,
            )
        for row in out[:, enc["input_ids"].shape[1] :].tolist():
            hit = row.index(eos) if eos in row else None
            kept = row[:hit] if hit is not None else [t for t in row if t != tokenizer.pad_token_id]
            texts.append(tokenizer.decode(kept, skip_special_tokens=True).strip())
            ended.append(hit is not None)
            lengths.append(hit + 1 if hit is not None else len(kept))
    model.train(was_training)
    return Samples(prompts, texts, ended, lengths)
