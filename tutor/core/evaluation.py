"""The numbers every stage reports: gold score, win-rate, instruction following, attribute profile.

All of them are measured on held-out prompts by the gold annotator (the simulated human) and the
attribute analyser, never by the model's own reward model — that is how reward hacking shows up.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from tutor.core.sampling import Samples, sample
from tutor.errors import TutorError
from tutor.world import GoldAnnotator, analyse, parse_prompt, profile_table, prompts_for

PROFILE_KEYS = ("politeness", "audience", "safety", "words", "correctness", "on_topic", "degenerate")


def answers_per_prompt(fast: bool) -> int:
    """How many answers each held-out prompt gets in an evaluation: 8 (280 answers, so a win-rate
    is ± about 2.4 points; 4 left it at ± 3.4, as large as the differences the notebooks discuss),
    2 in FAST mode (a sketch)."""
    return 2 if fast else 8


def eval_prompts(fast: bool, per_prompt: int | None = None, model: str = "tiny") -> list[str]:
    """Held-out prompts, each repeated `per_prompt` times (default: `answers_per_prompt`), in a row.
    A real `model` in FAST mode answers fewer of them (`tutor.real_models.FAST_EVAL_PROMPTS`)."""
    k = per_prompt or answers_per_prompt(fast)
    prompts = prompts_for("test")
    if fast and model != "tiny":
        from tutor.real_models import FAST_EVAL_PROMPTS

        prompts, k = prompts[:FAST_EVAL_PROMPTS], per_prompt or 1
    return [p.text for p in prompts for _ in range(k)]


def follows_instruction(prompt: str, text: str, ended: bool) -> bool:
    """Answers the concept that was asked about, is not degenerate, and stops by itself (EOS)."""
    p = analyse(text, prompt)
    return ended and p.on_topic and not p.degenerate


def summarize(samples: Samples, annotator: GoldAnnotator) -> dict:
    """Gold score, instruction following and the attribute profile of a batch of samples."""
    if not len(samples):
        raise TutorError("summarize() got no samples to measure.")
    gold = annotator.scores(samples.prompts, samples.texts)
    n = len(samples)
    follow = [
        follows_instruction(p, t, e) for p, t, e in zip(samples.prompts, samples.texts, samples.ended, strict=True)
    ]
    profile = profile_table(samples.texts, samples.prompts)
    return {
        "gold": sum(gold) / n,
        "follows_instruction_rate": sum(follow) / n,
        "eos_rate": sum(samples.ended) / n,
        "fluent_rate": profile["fluent"],
        "profile": {k: profile[k] for k in PROFILE_KEYS},
    }


def win_rate(annotator: GoldAnnotator, prompts: Sequence[str], texts: Sequence[str], baseline: Sequence[str]) -> float:
    """How often the annotator's score of an answer beats a baseline answer to the same prompt (ties
    count half). `baseline[i]` answers `prompts[i]`, like `texts[i]`. Each answer meets *every*
    baseline answer to its prompt, not only the one at its own index: the same expectation as
    one-to-one pairing, with less noise (8 answers a prompt make 64 comparisons, not 8), and no
    dependence on how two draws happen to line up."""
    if not (len(prompts) == len(texts) == len(baseline)) or not prompts:
        raise TutorError(
            f"win_rate() needs equally many prompts, texts and baseline texts (got {len(prompts)}, "
            f"{len(texts)}, {len(baseline)}), and at least one."
        )
    rivals: dict[str, list[float]] = {}
    for p, b in zip(prompts, baseline, strict=True):
        rivals.setdefault(p, []).append(annotator.score(p, b))
    wins = 0.0
    for p, a in zip(prompts, texts, strict=True):
        sa, others = annotator.score(p, a), rivals[p]
        wins += sum(1.0 if sa > sb else 0.5 if sa == sb else 0.0 for sb in others) / len(others)
    return wins / len(prompts)


def prompt_group(prompt: str) -> str:
    """What a held-out question asks for, as the annotator reads it: advice, or an explanation for
    the audience it names (if any). The annotator scores audience fit only where one is named."""
    p = parse_prompt(prompt)
    if p.kind == "advice":
        return "advice"
    return {"quant": "explain, asks for a quant", "retail": "explain, asks for a beginner"}.get(
        p.audience, "explain, no audience named"
    )


def written_for_quants(prompts: Sequence[str], texts: Sequence[str]) -> dict[str, float]:
    """Per prompt group, the share of answers written for quants (technical register)."""
    rows: dict[str, list[bool]] = {}
    for prompt, text in zip(prompts, texts, strict=True):
        rows.setdefault(prompt_group(prompt), []).append(analyse(text, prompt).audience > 0)
    return {group: sum(v) / len(v) for group, v in sorted(rows.items())}


def by_prompt_group(annotator: GoldAnnotator, samples: Samples, baseline: Samples) -> dict[str, dict[str, float]]:
    """Per prompt group: how many answers, the win-rate over `baseline` (answers to the same prompts,
    in the same order), that group's share of all the comparisons lost, and how many of the model's
    and the baseline's answers are written for quants: where a model wins, and where it still loses."""
    if list(samples.prompts) != list(baseline.prompts):
        raise TutorError(
            "by_prompt_group() needs the model's and the baseline's answers to the same prompts, in the same order."
        )
    rows: dict[str, list[int]] = {}
    for i, prompt in enumerate(samples.prompts):
        rows.setdefault(prompt_group(prompt), []).append(i)
    model_quants = written_for_quants(samples.prompts, samples.texts)
    baseline_quants = written_for_quants(baseline.prompts, baseline.texts)
    out = {}
    for group, idx in sorted(rows.items()):
        prompts = [samples.prompts[i] for i in idx]
        win = win_rate(annotator, prompts, [samples.texts[i] for i in idx], [baseline.texts[i] for i in idx])
        out[group] = {
            "answers": len(idx),
            "win-rate": win,
            "share of all losses": (1 - win) * len(idx),
            "written for quants": model_quants[group],
            "baseline written for quants": baseline_quants[group],
        }
    lost = sum(r["share of all losses"] for r in out.values()) or 1.0
    for r in out.values():
        r["share of all losses"] /= lost
    return out


def sample_eval(
    model, tokenizer, prompts: Sequence[str], *, chat: bool = True, seed: int = 1234, batch_size: int = 512, **kwargs
) -> Samples:
    """Samples for evaluation, with a fixed seed so every stage is compared on equal footing. The
    held-out answers go in one batch (280 in full mode: 1.5 s instead of 2.6 s in batches of 64 on
    2 cores)."""
    return sample(model, tokenizer, prompts, chat=chat, seed=seed, batch_size=batch_size, **kwargs)


@dataclass
class Evaluation:
    """One model measured on held-out prompts, the way every stage and the comparison measure one:
    the gold annotator's mean score, instruction following, the attribute profile and, when there is
    something to compare with, the win-rate over the SFT model's answers to the same prompts and the
    exact KL to the reference (`tutor.core.logprobs.answer_kl`, nats per answer)."""

    samples: Samples = field(repr=False)
    gold: float
    follows_instruction_rate: float
    eos_rate: float
    fluent_rate: float
    profile: dict
    gold_win_rate_vs_sft: float | None = None
    kl: float | None = None
    eval_seconds: float = 0.0

    def metrics(self) -> dict:
        """The numbers, as a stage's metrics.json records them (no samples; unmeasured ones left out)."""
        out = {
            "gold": self.gold,
            "follows_instruction_rate": self.follows_instruction_rate,
            "eos_rate": self.eos_rate,
            "fluent_rate": self.fluent_rate,
            "profile": self.profile,
        }
        for key in ("gold_win_rate_vs_sft", "kl"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out["eval_seconds"] = round(self.eval_seconds, 2)
        return out


def measure(
    samples: Samples,
    judge: GoldAnnotator,
    *,
    baseline: Samples | Sequence[str] | None = None,
    model=None,
    ref_model=None,
    tokenizer=None,
    seconds: float = 0.0,
) -> Evaluation:
    """An `Evaluation` of answers already sampled: the gold score and profile; the win-rate over
    `baseline` (answers to the same prompts, in the same order); the KL of `model` to `ref_model`."""
    from tutor.core.logprobs import answer_kl

    start = time.perf_counter()
    summary = summarize(samples, judge)
    win = kl = None
    if baseline is not None:
        if isinstance(baseline, Samples):
            if list(baseline.prompts) != list(samples.prompts):
                raise TutorError("The baseline answers are for other prompts; compare on the same held-out prompts.")
            baseline = baseline.texts
        win = win_rate(judge, samples.prompts, samples.texts, list(baseline))
    if ref_model is not None:
        kl = float(answer_kl(model, ref_model, tokenizer, samples).mean())
    return Evaluation(
        samples,
        summary["gold"],
        summary["follows_instruction_rate"],
        summary["eos_rate"],
        summary["fluent_rate"],
        summary["profile"],
        win,
        kl,
        seconds + time.perf_counter() - start,
    )


def evaluate_model(
    model,
    tokenizer,
    prompts: Sequence[str],
    judge: GoldAnnotator,
    *,
    baseline=None,
    ref_model=None,
    chat: bool = True,
    seed: int = 1234,
    **sampling,
) -> Evaluation:
    """Sample `model`'s answers to `prompts` (`sample_eval`: the same seed for every stage) and `measure` them."""
    start = time.perf_counter()
    samples = sample_eval(model, tokenizer, list(prompts), chat=chat, seed=seed, **sampling)
    return measure(
        samples,
        judge,
        baseline=baseline,
        model=model,
        ref_model=ref_model,
        tokenizer=tokenizer,
        seconds=time.perf_counter() - start,
    )
