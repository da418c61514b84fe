"""A small enumerable world: each prompt has a fixed set of K candidate answers, so a model's policy
over them is known exactly instead of estimated from samples.

The model's summed log-probability of each candidate, log p(y|x), normalised over the K candidates,
is the restricted policy π(y|x) = p(y|x) / Σ_y' p(y'|x). The reward r(x, y) is the gold annotator's
score divided by its label noise temperature: the Bradley–Terry reward its labels follow, the one
DPO's loss can recover.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tutor.core.chat import answer_ids, right_pad
from tutor.errors import TutorError
from tutor.world import GoldAnnotator, compose, prompts_for
from tutor.world.answers import random_candidate_style


@dataclass
class EnumerableWorld:
    """`candidates[i]` are the K answers to `prompts[i]`; `rewards` is a (prompts, K) tensor."""

    prompts: list[str]
    candidates: list[list[str]]
    rewards: object  # torch.Tensor (P, K)
    persona: str = "riley"
    _rows: list = field(default_factory=list, repr=False)  # token rows, cached by `tokenize`

    @property
    def k(self) -> int:
        return len(self.candidates[0])

    def tokenize(self, tokenizer) -> list:
        """(prompt ids, answer ids) of every candidate, prompt-major, computed once."""
        if not self._rows:
            flat_prompts = [p for p, cands in zip(self.prompts, self.candidates, strict=True) for _ in cands]
            flat_answers = [a for cands in self.candidates for a in cands]
            self._rows = answer_ids(tokenizer, flat_prompts, flat_answers)
        return self._rows


def make_world(
    n_prompts: int = 16, k: int = 8, seed: int = 0, persona: str = "riley", split: str = "train", max_words: int = 40
):
    """`n_prompts` distinct prompts of `split`, each with `k` distinct candidate answers of mixed
    quality (the world's candidate styles: good, rude, risky, wrong, truncated ...), at most
    `max_words` words long (every training step scores all of them), scored by the persona's gold
    annotator."""
    import torch

    pool = prompts_for(split)
    if not 1 <= n_prompts <= len(pool):
        raise TutorError(
            f"make_world() needs n_prompts between 1 and {len(pool)} (the {split} prompts), got {n_prompts}."
        )
    if k < 2:
        raise TutorError(f"make_world() needs k ≥ 2 candidate answers per prompt, got {k}.")
    rng = random.Random(seed)
    chosen = rng.sample(pool, n_prompts)
    judge = GoldAnnotator(persona)
    candidates, rewards = [], []
    for prompt in chosen:
        answers: dict[str, None] = {}
        tries = 0
        while len(answers) < k:
            text = compose(prompt, random_candidate_style(rng), rng)
            if len(text.split()) <= max_words:
                answers[text] = None
            tries += 1
            if tries > 50 * k:
                raise TutorError(f"Could not write {k} distinct answers to {prompt.text!r}; ask for fewer.")
        texts = list(answers)
        candidates.append(texts)
        rewards.append([s / max(judge.persona.temperature, 1e-6) for s in judge.scores([prompt] * k, texts)])
    return EnumerableWorld([p.text for p in chosen], candidates, torch.tensor(rewards), judge.persona.name)


def sequence_logps(model, tokenizer, world: EnumerableWorld, grad: bool = False, batch_size: int = 16):
    """log p(y|x) of every candidate, summed over its tokens: a (prompts, K) tensor (with gradients
    when `grad`, for training)."""
    import torch

    rows = world.tokenize(tokenizer)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]) + len(rows[i][1]))  # little padding
    device = next(model.parameters()).device
    parts, where = [], []
    with torch.set_grad_enabled(grad):
        for start in range(0, len(order), batch_size):
            picked = order[start : start + batch_size]
            ids, attn = right_pad([rows[i][0] + rows[i][1] for i in picked], tokenizer.pad_token_id)
            answer = attn.bool().clone()
            for j, i in enumerate(picked):
                answer[j, : len(rows[i][0])] = False
            logits = model(input_ids=ids.to(device), attention_mask=attn.to(device)).logits[:, :-1].float()
            token = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:].to(device).unsqueeze(-1)).squeeze(-1)
            parts.append((token * answer[:, 1:].to(device)).sum(-1).cpu())
            where += picked
        total = torch.cat(parts)[torch.argsort(torch.tensor(where))]  # back to prompt-major order
    return total.view(len(world.prompts), world.k)


def restricted_policy(seq_logps):
    """log π(y|x) over the K candidates: the sequence log-probs normalised per prompt."""
    import torch

    return torch.log_softmax(seq_logps, dim=-1)
