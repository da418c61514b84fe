"""The reward model R(prompt, answer) → one number: made from a causal LM, and how it scores texts.

A reward model is a language model with its next-token head swapped for one linear `score` head
(`AutoModelForSequenceClassification`, `num_labels=1`). The head reads the last hidden state of
every token; *pooling* says which of those readings become the answer's score:

- ``"last"``: the reading at the last token (transformers' default, InstructGPT's choice): one
  position has to summarise the whole answer;
- ``"mean"``: the mean of the readings over the answer's tokens: every token reports on the text
  around it, so a rude word, a myth or a caveat anywhere in the answer moves the score directly.

The mean-pooled model is the same `*ForSequenceClassification` class with its `forward` pooling
differently (`config.reward_pooling` records the choice, so a saved model loads back the same way:
`as_pooled`). `score_texts` is the one way every notebook and PPO turns (prompt, answer) texts into
scores, on exactly the tokens the trainer trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification
from transformers.modeling_outputs import SequenceClassifierOutputWithPast
from transformers.utils import logging as hf_logging

from tutor.core.chat import conversation_texts
from tutor.errors import TutorError

POOLINGS = ("last", "mean")


def answer_weights(input_ids, attention_mask, answer_token_id: int | None):
    """Per-token weights that average over each row's answer: the real (unpadded) tokens after the
    last `answer_token_id` (the chat template's assistant marker), or every real token when the
    marker is unknown or absent. Rows sum to 1."""
    real = (
        attention_mask.to(torch.float32)
        if attention_mask is not None
        else torch.ones_like(input_ids, dtype=torch.float32)
    )
    if answer_token_id is not None:
        marker = (input_ids == answer_token_id).to(torch.int32)
        # after the last marker: the marker count still to come (a reversed cumsum) is zero
        after = marker.flip(-1).cumsum(-1).flip(-1) == 0
        has_marker = marker.any(-1, keepdim=True)
        real = torch.where(has_marker, real * after, real)
    return real / real.sum(-1, keepdim=True).clamp(min=1.0)


class MeanPooledScore:
    """Mixin for a `*ForSequenceClassification` class: the score is the mean of the head's per-token
    readings over the answer (`answer_weights`), instead of the reading at the last token."""

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, use_cache=None, **kwargs):
        kwargs.pop("labels", None)
        out = self.base_model(
            input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False, **kwargs
        )
        readings = self.score(out.last_hidden_state)  # (batch, tokens, 1): what each token says
        weights = answer_weights(input_ids, attention_mask, getattr(self.config, "answer_token_id", None))
        pooled = (readings * weights.unsqueeze(-1).to(readings.dtype)).sum(1)
        return SequenceClassifierOutputWithPast(logits=pooled, hidden_states=out.hidden_states)


_POOLED_CLASSES: dict[type, type] = {}


def as_pooled(model):
    """`model` with the forward its `config.reward_pooling` asks for (no copy; "last" or missing
    leaves it as it is). Used when a reward model is made and whenever a saved one is loaded."""
    pooling = getattr(model.config, "reward_pooling", "last") or "last"
    if pooling not in POOLINGS:
        raise TutorError(f"The reward model's pooling {pooling!r} is unknown; the course knows: {', '.join(POOLINGS)}.")
    if pooling == "mean" and not isinstance(model, MeanPooledScore):
        base = type(model)
        if base not in _POOLED_CLASSES:
            _POOLED_CLASSES[base] = type("MeanPooled" + base.__name__, (MeanPooledScore, base), {})
        model.__class__ = _POOLED_CLASSES[base]
    return model


def init_reward_model(
    folder: str | Path, tokenizer, device: str = "cpu", seed: int = 0, pooling: str = "last", dropout: float = 0.0
):
    """A reward model initialised from a causal LM folder (the SFT model): same body, a fresh
    one-output `score` head, pooled as `pooling` asks. Its pad token id tells it where each padded
    sequence really ends; the assistant marker tells mean pooling where the answer starts.

    The head's random start comes from `seed`, not from whatever ran earlier in the process, so
    notebook 04 and `rlhf-tutor run` train the same reward model (the start alone moves held-out
    accuracy by a few points: benchmarks/results/reward.md). dropout: on the body's attention
    (the Llama config's `attention_dropout`), a regulariser; off when the model is evaluated."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TutorError(f"No model at {str(folder)!r} to initialise the reward model from.")
    if pooling not in POOLINGS:
        raise TutorError(f"pooling must be one of {', '.join(map(repr, POOLINGS))}, got {pooling!r}.")
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # "score.weight newly initialised" is the point, not a warning
    hf_logging.disable_progress_bar()
    try:
        dtype = torch.float32 if device == "cpu" else "auto"
        extra = {"attention_dropout": dropout} if dropout else {}
        with torch.random.fork_rng(devices=[]):  # seed the head without touching the caller's RNG
            torch.manual_seed(seed)
            model = AutoModelForSequenceClassification.from_pretrained(str(folder), num_labels=1, dtype=dtype, **extra)
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    model.config.pad_token_id = tokenizer.pad_token_id
    model.config.reward_pooling = pooling
    model.config.answer_token_id = answer_token_id(tokenizer)
    return as_pooled(model).to(device)


def load_reward(folder: str | Path, device: str = "cpu", tokenizer=None):
    """A saved reward model and its tokenizer, pooled as it was trained: (model, tokenizer).

    tokenizer: the tokenizer it will read (e.g. the policy's); refused in one sentence when its
    vocabulary is not the one the reward model was trained on, since the ids would mean other words.
    """
    from tutor.core.models import load_reward_model, load_tokenizer

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise TutorError(
            f"No reward model at {str(folder)!r} (no config.json there): build the course's reward stage "
            "(tutor.stages.ensure(course, 'reward')) or point at a folder a reward model was saved to."
        )
    model = as_pooled(load_reward_model(folder, device))
    own = load_tokenizer(folder)
    if tokenizer is not None:
        check_same_vocabulary(own, tokenizer, f"the reward model in {str(folder)!r}")
    return model, own


def check_same_vocabulary(expected, tokenizer, what: str) -> None:
    """One sentence when `tokenizer` does not map text to the ids `what` was trained on."""
    if tokenizer.get_vocab() != expected.get_vocab():
        raise TutorError(
            f"The tokenizer given has a different vocabulary ({len(tokenizer.get_vocab()):,} tokens) from "
            f"{what} ({len(expected.get_vocab()):,} tokens); use the tokenizer saved with it, or train "
            "the reward model from the same base model as the policy."
        )


def answer_token_id(tokenizer) -> int | None:
    """The token that opens the assistant's turn in the chat template (the answer starts after
    it), or None when the template does not end the prompt with one special token."""
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": "x"}], tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(rendered, add_special_tokens=False)["input_ids"]
    special = set(tokenizer.all_special_ids) | {
        i for t, i in tokenizer.get_vocab().items() if t in getattr(tokenizer, "added_tokens_encoder", {})
    }
    return ids[-1] if ids and ids[-1] in special else None


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
