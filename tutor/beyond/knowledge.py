"""Alignment vs capability: does SFT, PPO or DPO change what the model *knows*, or only what it
*prefers to say*?

Knowledge probes, on held-out prompts (the world has no concept that training never shows, so
"held out" means phrasings of every concept that no training prompt used):

- **fact recall**: the share of sampled answers to held-out "explain" prompts that state at least
  one true sentence about the asked concept and no myth (read by the world's analyser);
- **truth over myths**: the share of (true sentence, myth) pairs about the asked concept where the
  model gives the true one the higher log-likelihood per token as an answer to the prompt, and the
  mean gap in nats per token;
- **pretraining perplexity**: exp(mean next-token loss) on fresh documents of the pretraining
  distribution (a seed the shipped model never saw).

Beside them, what alignment is meant to change: the gold score and the attribute profile.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence

from tutor.errors import TutorError
from tutor.world import GoldAnnotator, analyse, pretraining_corpus, prompts_for
from tutor.world.facts import CONCEPTS_BY_KEY

PROFILE = ("words", "politeness", "audience", "safety", "correctness")


def held_out_explain_prompts(n: int | None = None) -> list[str]:
    prompts = [p.text for p in prompts_for("test") if p.kind == "explain"]
    return prompts[:n] if n else prompts


def truth_pairs(prompts: Sequence[str], per_prompt: int = 4, seed: int = 0) -> list[tuple[str, str, str]]:
    """(prompt, true sentence, myth) about each prompt's concept, `per_prompt` of them at random."""
    from tutor.world import parse_prompt

    rng = random.Random(seed)
    out = []
    for text in prompts:
        c = CONCEPTS_BY_KEY.get(parse_prompt(text).concept)
        if c is None or not c.myths:
            continue
        combos = [(f, m) for f in c.retail_defs + c.quant_defs for m in c.myths]
        out += [(text, f, m) for f, m in rng.sample(combos, min(per_prompt, len(combos)))]
    if not out:
        raise TutorError("truth_pairs() found no prompt about a concept with myths; pass 'explain' prompts.")
    return out


def _per_token_logps(model, tokenizer, prompts, answers, chat: bool, batch_size: int = 32):
    """Mean log-probability per answer token (the end-of-answer token left out, so the two sentences
    of a pair are compared on their words alone)."""
    import torch

    from tutor.core.chat import encode_prompts, right_pad
    from tutor.core.logprobs import next_token_logps

    rows = []
    for p, a in zip(prompts, answers, strict=True):
        prefix = encode_prompts(tokenizer, [p], chat=chat)["input_ids"][0].tolist()
        rows.append((prefix, tokenizer(a if chat else " " + a, add_special_tokens=False)["input_ids"]))
    out = []
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            ids, attn = right_pad([p + a for p, a in chunk], tokenizer.pad_token_id)
            token = next_token_logps(model, ids, attn).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
            for i, (p, a) in enumerate(chunk):
                out.append(float(token[i, len(p) - 1 : len(p) - 1 + len(a)].mean()))
    return out


def truth_over_myths(model, tokenizer, pairs, chat: bool = True) -> dict:
    """Share of pairs where the true sentence is likelier per token than the myth, and the mean gap."""
    prompts = [p for p, _, _ in pairs]
    true = _per_token_logps(model, tokenizer, prompts, [f for _, f, _ in pairs], chat)
    myth = _per_token_logps(model, tokenizer, prompts, [m for _, _, m in pairs], chat)
    gaps = [t - m for t, m in zip(true, myth, strict=True)]
    return {"truth over myths": sum(g > 0 for g in gaps) / len(gaps), "truth gap (nats/token)": sum(gaps) / len(gaps)}


def fact_recall(prompts: Sequence[str], texts: Sequence[str]) -> float:
    """Share of answers stating a true sentence about the asked concept and no myth."""
    profiles = [analyse(t, p) for p, t in zip(prompts, texts, strict=True)]
    return sum(a.facts >= 1 and a.myths == 0 for a in profiles) / len(profiles)


def perplexity(model, tokenizer, docs: Sequence[str], batch_size: int = 16) -> float:
    """exp(mean next-token loss in nats) over `docs`, each as the model read them in pretraining."""
    import torch

    from tutor.core.chat import right_pad
    from tutor.core.logprobs import next_token_logps

    rows = [ids + [tokenizer.eos_token_id] for ids in tokenizer(list(docs), add_special_tokens=False)["input_ids"]]
    limit = getattr(model.config, "max_position_embeddings", 512)
    rows = [r[:limit] for r in rows]
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            ids, attn = right_pad(rows[start : start + batch_size], tokenizer.pad_token_id)
            logps = next_token_logps(model, ids, attn)
            token = logps.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
            mask = attn[:, 1:].bool()
            total -= float((token * mask).sum())
            count += int(mask.sum())
    return math.exp(total / count)


def probe(
    models: Mapping[str, tuple[object, bool]],
    tokenizer,
    n_prompts: int | None = None,
    n_docs: int = 64,
    pairs_per_prompt: int = 4,
    seed: int = 0,
    persona: str = "riley",
):
    """One row per model (name → (model, chat?)): knowledge probes, then the gold score and the
    attribute profile of the same answers. The base model is asked as a forum question (chat=False)."""
    import pandas as pd

    from tutor.core.sampling import sample

    prompts = held_out_explain_prompts(n_prompts)
    pairs = truth_pairs(prompts, pairs_per_prompt, seed)
    docs = pretraining_corpus(n_docs, seed=10_000 + seed)
    gold = GoldAnnotator(persona)
    rows = {}
    for name, (model, chat) in models.items():
        texts = sample(model, tokenizer, prompts, chat=chat, seed=seed, max_new_tokens=96).texts
        profiles = [analyse(t, p).as_dict() for p, t in zip(prompts, texts, strict=True)]
        rows[name] = {
            "fact recall": (recall := fact_recall(prompts, texts)),
            "fact recall ± (1 s.e.)": math.sqrt(recall * (1 - recall) / len(texts)),
            **truth_over_myths(model, tokenizer, pairs, chat),
            "perplexity": perplexity(model, tokenizer, docs),
            "gold score": sum(gold.scores(prompts, texts)) / len(texts),
            **{k: sum(float(p[k]) for p in profiles) / len(profiles) for k in PROFILE},
        }
    return pd.DataFrame(rows).T


def verdict(table, before: str = "SFT") -> list[str]:
    """Each aligned model against `before` on knowledge (recall with its standard error, truth over
    myths, perplexity) and on what alignment targets (gold score)."""
    lines = []
    ref = table.loc[before]
    if "base" in table.index:
        b = table.loc["base"]
        lines.append(
            f"base → {before}: perplexity {b['perplexity']:.3f} → {ref['perplexity']:.3f}, fact recall "
            f"{b['fact recall']:.2f} → {ref['fact recall']:.2f}, gold score {b['gold score']:.2f} → "
            f"{ref['gold score']:.2f}."
        )
    for name in table.index:
        if name in (before, "base"):
            continue
        row = table.loc[name]
        se = max(row["fact recall ± (1 s.e.)"], ref["fact recall ± (1 s.e.)"])
        lines.append(
            f"{name} vs {before}: fact recall {ref['fact recall']:.2f} → {row['fact recall']:.2f} (±{se:.2f} s.e.), "
            f"truth over myths {ref['truth over myths']:.2f} → {row['truth over myths']:.2f}, "
            f"perplexity {ref['perplexity']:.3f} → {row['perplexity']:.3f}, gold score {ref['gold score']:.2f} → "
            f"{row['gold score']:.2f}."
        )
    return lines
