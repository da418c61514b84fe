"""What PPO checks before and while it trains: each bad input or diverged number stops it with one
sentence that says what is wrong and what to do (never a shape error or a silent NaN run)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from tutor.core.chat import encode_prompts
from tutor.errors import TutorError


def check_tokenizer(tokenizer) -> None:
    """The pad token must exist and differ from EOS: padding must never read as 'the answer ended'."""
    if tokenizer.pad_token_id is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        raise TutorError(
            "The tokenizer's pad token must exist and differ from EOS (load it with "
            "tutor.core.models.load_tokenizer), or padding would read as 'the answer ended'."
        )


def check_prompt_lengths(policy, tokenizer, prompts: Sequence[str], max_new_tokens: int) -> None:
    """Every training prompt plus `max_new_tokens` of answer must fit in the model's context."""
    context = getattr(policy.config, "max_position_embeddings", None) or 10**9
    enc = encode_prompts(tokenizer, prompts, chat=True)
    lengths = enc["attention_mask"].sum(1)
    worst = int(lengths.argmax())
    if int(lengths[worst]) + max_new_tokens > context:
        raise TutorError(
            f"Training prompt {worst} is {int(lengths[worst])} tokens long; with max_new_tokens="
            f"{max_new_tokens} that exceeds the model's context of {context} tokens: shorten the prompt "
            "or lower max_new_tokens."
        )


def check_reward(reward) -> None:
    """The reward source is a reward model (a network) or a function (prompts, responses) → scores."""
    if not isinstance(reward, nn.Module) and not callable(reward):
        raise TutorError(
            f"reward must be a reward model (num_labels=1) or a function (prompts, responses) → "
            f"scores, got {type(reward).__name__}."
        )


def check_reward_model(reward_model, reward_tokenizer, tokenizer) -> None:
    """PPO scores the policy's token ids directly: one output, the same vocabulary, the same pad id."""
    if getattr(reward_model.config, "num_labels", 1) != 1:
        raise TutorError(
            f"The reward model has {reward_model.config.num_labels} outputs; it must output one score (num_labels=1)."
        )
    if reward_tokenizer.get_vocab() != tokenizer.get_vocab():
        raise TutorError(
            "The reward model's tokenizer differs from the policy's; PPO scores the policy's token "
            "ids directly, so train the reward model from the same base (or pass a function "
            "(prompts, responses) → scores as the reward instead)."
        )
    if reward_model.config.pad_token_id != tokenizer.pad_token_id:
        raise TutorError(
            f"The reward model's pad_token_id ({reward_model.config.pad_token_id}) differs from the "
            f"tokenizer's ({tokenizer.pad_token_id}); it would score the wrong token."
        )


def function_scores(values, n_responses: int, device) -> torch.Tensor:
    """A reward function's output as a tensor: one number per response, or a TutorError."""
    try:
        scores = torch.tensor([float(v) for v in values], dtype=torch.float32, device=device)
    except (TypeError, ValueError):
        raise TutorError("The reward function must return one number per response.") from None
    if len(scores) != n_responses:
        raise TutorError(
            f"The reward function returned {len(scores)} scores for {n_responses} responses; it must return one per "
            "response."
        )
    return scores


def finite_or_raise(step: int, what: str, x: torch.Tensor, fix: str = "lower learning_rate") -> None:
    """Stop with a sentence naming the step and the quantity: never a silent NaN run."""
    bad = ~torch.isfinite(x)
    if bool(bad.any()):
        raise TutorError(
            f"PPO step {step}: {what} is NaN or infinite ({int(bad.sum())} value(s)), so training stopped; {fix}."
        )
