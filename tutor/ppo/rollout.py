"""A rollout — answers sampled from the policy, scored, with everything PPO's update needs — and the
functions that compute each part of it from the models.

Shapes: B answers; P prompt tokens (left-padded, so every answer starts in the same column); T
answer tokens (right-padded after each answer's first EOS). `response_mask` is 1 on an answer's
tokens up to and including its first EOS, 0 on the padding after it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from tutor.core.chat import right_pad
from tutor.core.sampling import sample_tokens
from tutor.ppo.checks import function_scores

RewardFn = Callable[[list[str], list[str]], Sequence[float]]


@dataclass
class Answers:
    """Sampled answers as padded tensors, cut after the first EOS."""

    query_ids: torch.Tensor  # B × P, left-padded prompts
    query_mask: torch.Tensor
    response_ids: torch.Tensor  # B × T, pad after the first EOS
    response_mask: torch.Tensor  # B × T, bool: True up to and including the first EOS
    ended: torch.Tensor  # B, bool: the answer emitted EOS


@dataclass
class Rollout:
    """One batch of episodes, with everything the PPO update needs (tensors are B × T unless noted)."""

    prompts: list[str]
    texts: list[str]
    query_ids: torch.Tensor  # B × P, left-padded prompts
    query_mask: torch.Tensor
    response_ids: torch.Tensor  # B × T, pad after the first EOS
    response_mask: torch.Tensor  # 1.0 on response tokens up to and including the first EOS
    ended: torch.Tensor  # B, bool: the answer emitted EOS
    logps: torch.Tensor  # log π_old(token), at the sampling temperature
    ref_logps: torch.Tensor
    values: torch.Tensor
    raw_scores: torch.Tensor  # B, from the reward source
    scores: torch.Tensor  # B, normalised, minus the missing-EOS penalty
    kl: torch.Tensor  # per-token KL estimate (settings.kl_estimator)
    rewards: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    entropy: torch.Tensor  # B, summed per-token entropy of π
    value_features: torch.Tensor | None = None  # B × T × H from the frozen value trunk, if frozen

    @property
    def lengths(self) -> torch.Tensor:
        return self.response_mask.sum(1)


def position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions that start at 0 on each row's first real token, so left padding changes nothing."""
    return (attention_mask.long().cumsum(1) - 1).clamp(min=0)


def truncate_after_eos(response_ids: torch.Tensor, eos_id: int, pad_id: int):
    """Keep each answer up to and including its first EOS; pad the rest. Returns (ids, mask, ended)."""
    is_eos = response_ids == eos_id
    ended = is_eos.any(1)
    first = torch.where(
        ended, is_eos.float().argmax(1), torch.full_like(ended, response_ids.shape[1], dtype=torch.long)
    )
    positions = torch.arange(response_ids.shape[1], device=response_ids.device)
    mask = positions.unsqueeze(0) <= first.unsqueeze(1)
    return response_ids.masked_fill(~mask, pad_id), mask, ended


@torch.no_grad()
def sample_answers(model, tokenizer, query_ids, query_mask, max_new_tokens: int, temperature: float) -> Answers:
    """Pure sampling at `temperature` (`tutor.core.sampling.sample_tokens`, the loop every stage
    samples with), the answers right-padded and cut after their first EOS."""
    rows, _ = sample_tokens(model, query_ids, query_mask, tokenizer.eos_token_id, max_new_tokens, temperature)
    response = right_pad(rows, tokenizer.pad_token_id)[0].to(query_ids.device)
    response_ids, response_mask, ended = truncate_after_eos(response, tokenizer.eos_token_id, tokenizer.pad_token_id)
    return Answers(query_ids, query_mask, response_ids, response_mask, ended)


def detokenize(tokenizer, response_ids, response_mask) -> list[str]:
    """The answers' texts (special tokens dropped, the padding after EOS ignored)."""
    return [
        tokenizer.decode(row[: int(n)], skip_special_tokens=True).strip()
        for row, n in zip(response_ids.tolist(), response_mask.sum(1).tolist(), strict=True)
    ]


def query_response(query_ids, query_mask, response_ids, response_mask):
    """Prompt and answer as one sequence: (input ids, attention mask)."""
    return torch.cat([query_ids, response_ids], 1), torch.cat([query_mask, response_mask.long()], 1)


def response_logits(model, query_ids, query_mask, response_ids, response_mask):
    """Logits at the positions that predict each response token (B × T × V)."""
    input_ids, attention = query_response(query_ids, query_mask, response_ids, response_mask)
    out = model(input_ids=input_ids, attention_mask=attention, position_ids=position_ids(attention), use_cache=False)
    P = query_ids.shape[1]
    return out.logits[:, P - 1 : -1]


def response_values(value_model, query_ids, query_mask, response_ids, response_mask, frozen_trunk=None):
    """V at the positions that predict each response token, and the features the head read.

    frozen_trunk: the (unwrapped) value model when its trunk does not train: its features (B × T × H)
    are computed once without gradients and returned, for the update to reuse; otherwise None.
    """
    input_ids, attention = query_response(query_ids, query_mask, response_ids, response_mask)
    P = query_ids.shape[1]
    if frozen_trunk is None:
        return value_model(input_ids, attention, position_ids(attention))[:, P - 1 : -1], None
    with torch.no_grad():
        features = frozen_trunk.features(input_ids, attention, position_ids(attention))[:, P - 1 : -1]
    return value_model(features=features), features


@torch.no_grad()
def reward_model_scores(reward_model, query_ids, query_mask, response_ids, response_mask) -> torch.Tensor:
    """The reward model's score of each answer, read from the policy's own token ids."""
    input_ids, attention = query_response(query_ids, query_mask, response_ids, response_mask)
    # The classifier reads the last non-pad token: EOS, or the last word of a cut answer.
    logits = reward_model(
        input_ids=input_ids, attention_mask=attention, position_ids=position_ids(attention), use_cache=False
    ).logits
    return logits[:, 0].float()


def reward_function_scores(reward_fn: RewardFn, prompts: Sequence[str], texts: Sequence[str], device) -> torch.Tensor:
    """A Python reward function's score of each answer text."""
    return function_scores(reward_fn(list(prompts), list(texts)), len(texts), device)


def normalised_scores(raw_scores, ended, mean: float, std: float, settings) -> torch.Tensor:
    """(score − SFT mean) / SFT std, minus the penalty for answers that never emitted EOS."""
    scores = (raw_scores - mean) / std if settings.normalize_reward else raw_scores.clone()
    return scores - settings.missing_eos_penalty * (~ended).float()
