"""Conversations as the models see them: chat messages, the text a template renders, token ids.

Every stage renders a conversation the same way, through the tokenizer's chat template (the tiny
model's is `tutor.core.tokenizer.CHAT_TEMPLATE`), so a model is scored on exactly the tokens it
was trained on. Prompts are left-padded for batched generation (every answer starts in the same
column); answers are right-padded for scoring. Padding is asked for per call, never set on a
shared tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence

from tutor.errors import TutorError
from tutor.world.corpus import completion_prompt


def message_text(value) -> str:
    """The text of a data-set field in either TRL format: a plain string, or a list of chat messages
    (their contents joined). Anything else has no text: ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(str(m.get("content", "")) for m in value if isinstance(m, dict))
    return ""


def as_conversational(prompt: str, **answers: str) -> dict:
    """One row in TRL's conversational format: the prompt as a user turn, each answer as an
    assistant turn. SFT: ``as_conversational(p, completion=c)``; preferences:
    ``as_conversational(p, chosen=c, rejected=r)``."""
    row = {"prompt": [{"role": "user", "content": prompt}]}
    row.update({name: [{"role": "assistant", "content": text}] for name, text in answers.items()})
    return row


def prompt_texts(tokenizer, prompts: Sequence[str], chat: bool = True) -> list[str]:
    """What a model reads before it answers: the chat template with the assistant's turn opened,
    or, for a base model that never saw chat markers, a plain "Question: … Answer:" prefix."""
    if not chat:
        return [completion_prompt(p) for p in prompts]
    return [
        tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        for p in prompts
    ]


def conversation_texts(tokenizer, prompts: Sequence[str], answers: Sequence[str]) -> list[str]:
    """Prompt + answer as one rendered conversation (what the reward model reads)."""
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}, {"role": "assistant", "content": a}], tokenize=False
        )
        for p, a in zip(prompts, answers, strict=True)
    ]


def encode_prompts(tokenizer, prompts: Sequence[str], chat: bool = True, max_length: int | None = None):
    """Left-padded input ids and attention mask for `prompts` (tensors), refusing a prompt longer
    than the model's context."""
    texts = prompt_texts(tokenizer, prompts, chat)
    enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False, padding_side="left")
    limit = max_length or getattr(tokenizer, "model_max_length", None) or 10**9
    if enc["input_ids"].shape[1] > limit:
        longest = max(range(len(prompts)), key=lambda i: len(texts[i]))
        raise TutorError(
            f"Prompt {longest} is {enc['input_ids'].shape[1]} tokens long, more than the model's "
            f"context of {limit} tokens; shorten it."
        )
    return enc


def answer_ids(
    tokenizer,
    prompts: Sequence[str],
    answers: Sequence[str],
    ended: Sequence[bool] | None = None,
    max_length: int | None = None,
) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, answer ids) per row, tokenised as TRL tokenises conversational data: the whole
    conversation is rendered, and the answer is what follows the prompt's own rendering. The answer
    keeps its end-of-answer token when it ended by itself (always, for training data); with
    `max_length`, prompt + answer is cut to that many tokens, keeping the start (as DPOTrainer does)."""
    rows = []
    eos = tokenizer.eos_token_id
    for i, (prompt, full_text) in enumerate(
        zip(prompt_texts(tokenizer, prompts), conversation_texts(tokenizer, prompts, answers), strict=True)
    ):
        prompt_part = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        full = tokenizer(full_text, add_special_tokens=False)["input_ids"]
        n = 0
        while n < min(len(prompt_part), len(full)) and prompt_part[n] == full[n]:
            n += 1
        answer = full[n:]
        if ended is not None and not ended[i] and answer and answer[-1] == eos:
            answer = answer[:-1]  # the model never wrote that end token
        if max_length is not None:
            answer = answer[: max(0, max_length - n)]
        rows.append((full[:n], answer))
    return rows


def right_pad(rows: Sequence[Sequence[int]], pad_id: int, width: int | None = None):
    """Token rows of different lengths as one (ids, mask) pair of long tensors, padded on the right
    to `width` (default: the longest row, at least 1)."""
    import torch

    width = width or max(1, max((len(r) for r in rows), default=0))
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.as_tensor(list(row), dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask
