"""The value model V: a critic that predicts, at each token, the (normalised) reward still to come.

It is a copy of the reward model's trunk with its scoring head (the InstructGPT choice), rescaled so
that it predicts *normalised* scores: from the first step it already has a reasonable guess of where
an answer is heading, so the advantages are useful sooner. When the reward is a plain function (no
network to copy), it is a copy of the SFT trunk with a zero-initialised head: it starts by
predicting 0, the mean of the normalised score.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from tutor.errors import TutorError


class ValueModel(nn.Module):
    """A transformer trunk with a linear head: one value estimate per token position."""

    def __init__(self, trunk: nn.Module, head: nn.Linear):
        super().__init__()
        self.trunk, self.head = trunk, head

    @classmethod
    def from_causal_lm(cls, lm) -> ValueModel:
        """Copy of the SFT model's trunk with a zero head: predicts 0 (the mean normalised score)."""
        trunk = copy.deepcopy(lm.base_model)
        head = nn.Linear(lm.config.hidden_size, 1)
        nn.init.zeros_(head.weight)
        nn.init.zeros_(head.bias)
        return cls(trunk, head).float()

    @classmethod
    def from_reward_model(cls, reward_model, mean: float = 0.0, std: float = 1.0) -> ValueModel:
        """Copy of the reward model with its head rescaled to predict (score − mean) / std."""
        score = score_head(reward_model)
        trunk = copy.deepcopy(reward_model.base_model)
        head = nn.Linear(score.in_features, 1)
        with torch.no_grad():
            head.weight.copy_(score.weight[:1] / std)
            bias = score.bias[:1] if score.bias is not None else torch.zeros(1)
            head.bias.copy_((bias - mean) / std)
        return cls(trunk, head).float()

    def features(self, input_ids, attention_mask, position_ids=None):
        """The trunk's last hidden state at every position (what the head reads)."""
        return self.trunk(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False
        ).last_hidden_state.float()

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, features=None):
        """Values from token ids, or from precomputed `features` (frozen trunk: only the head runs)."""
        if features is None:
            features = self.features(input_ids, attention_mask, position_ids)
        return self.head(features).squeeze(-1)


def score_head(reward_model) -> nn.Linear:
    """The reward model's linear scoring layer (`score`, or `classifier` in some architectures)."""
    head = getattr(reward_model, "score", None) or getattr(reward_model, "classifier", None)
    if not isinstance(head, nn.Linear):
        raise TutorError(
            f"Cannot find the scoring head of {type(reward_model).__name__} (expected a linear 'score' layer); "
            "use PPOSettings(value_init='sft') for this reward model."
        )
    return head
