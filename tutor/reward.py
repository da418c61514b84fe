"""The reward model R(prompt, answer) → scalar, trained on Bradley–Terry pairs.

(Stage code to come: training with TRL's RewardTrainer. `score_texts` is the one way every
notebook and PPO turns (prompt, answer) texts into reward-model scores.)
"""

from __future__ import annotations

from collections.abc import Sequence


def reward_texts(tokenizer, prompts: Sequence[str], responses: Sequence[str]) -> list[str]:
    """Prompt + answer rendered exactly as the reward model saw them in training (chat template)."""
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}, {"role": "assistant", "content": r}], tokenize=False
        )
        for p, r in zip(prompts, responses, strict=True)
    ]


def score_texts(model, tokenizer, prompts: Sequence[str], responses: Sequence[str], batch_size: int = 64) -> list[float]:
    """Reward-model scores of answers to prompts (one float each)."""
    import torch

    texts = reward_texts(tokenizer, prompts, responses)
    device = next(model.parameters()).device
    scores: list[float] = []
    tokenizer.padding_side = "left"
    for start in range(0, len(texts), batch_size):
        enc = tokenizer(texts[start : start + batch_size], return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        with torch.no_grad():
            scores += model(**enc).logits[:, 0].float().tolist()
    return scores
