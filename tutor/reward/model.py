"""The reward model R(prompt, answer) → one number: made from the SFT model, and how it scores texts.

A reward model is the SFT model with its next-token head swapped for one linear `score` head
(`AutoModelForSequenceClassification`, `num_labels=1`): it reads prompt + answer as one rendered
conversation and outputs one number at the last token. `score_texts` is the one way every notebook
and PPO turns (prompt, answer) texts into scores, on exactly the tokens the trainer trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification
from transformers.utils import logging as hf_logging

from tutor.core.chat import conversation_texts
from tutor.errors import TutorError


def init_reward_model(folder: str | Path, tokenizer, device: str = "cpu", seed: int = 0):
    """A reward model initialised from a causal LM folder (the SFT model): same body, a fresh
    one-output `score` head. Its pad token id tells it where each padded sequence really ends.

    The head's random start comes from `seed`, not from whatever ran earlier in the process, so
    notebook 04 and `rlhf-tutor run` train the same reward model (the start alone moves held-out
    accuracy by a few points: benchmarks/results/reward.md)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TutorError(f"No model at {str(folder)!r} to initialise the reward model from.")
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # "score.weight newly initialised" is the point, not a warning
    hf_logging.disable_progress_bar()
    try:
        dtype = torch.float32 if device == "cpu" else "auto"
        with torch.random.fork_rng(devices=[]):  # seed the head without touching the caller's RNG
            torch.manual_seed(seed)
            model = AutoModelForSequenceClassification.from_pretrained(str(folder), num_labels=1, dtype=dtype)
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    model.config.pad_token_id = tokenizer.pad_token_id
    return model.to(device)


def score_texts(
    model, tokenizer, prompts: Sequence[str], responses: Sequence[str], batch_size: int = 64
) -> list[float]:
    """Reward-model scores of answers to prompts (one float each).

    Texts are scored in batches of similar length (then put back in order): a batch is padded to
    its longest text, and a score does not depend on its batch neighbours (left padding, pad id).
    """
    texts = conversation_texts(tokenizer, prompts, responses)
    device = next(model.parameters()).device
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
    scores = [0.0] * len(texts)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        enc = tokenizer.pad({"input_ids": [ids[i] for i in chunk]}, return_tensors="pt", padding_side="left").to(device)
        with torch.no_grad():
            values = model(**enc).logits[:, 0].float().tolist()
        for i, score in zip(chunk, values, strict=True):
            scores[i] = score
    return scores
