"""DPO's training pairs: the model's own answers ranked by a persona (best vs worst), the SFT
model's answers kept for reuse, or the learner's notebook-03 labels."""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tutor.core.chat import as_conversational, message_text
from tutor.core.models import load_causal_lm, load_tokenizer, weights_stamp
from tutor.core.sampling import sample
from tutor.dpo.config import DPOSettings
from tutor.errors import TutorError
from tutor.preferences import learner_dataset, preference_data, to_dataset
from tutor.stages import ensure
from tutor.world import GoldAnnotator, prompts_for


@dataclass
class Answers:
    """`k` sampled answers to each of the prompts in `asked` (answers[i][row] is answer i to prompt
    `row`), with the seed that drew the prompts: what a persona ranks to make on-policy pairs."""

    asked: list[str]
    answers: list[list[str]]
    seed: int
    split: str = "train"
    seconds: float = 0.0  # what sampling them took
    kept: bool = False  # read back from where `sft_answers` keeps them (sampled by an earlier run)
    weights: str | None = None  # `sft_answers`: the stamp of the SFT weights that wrote them


def _draw_prompts(rng, n: int, split: str) -> list[str]:
    prompts = [p.text for p in prompts_for(split)]
    return [rng.choice(prompts) for _ in range(n)]


def sample_answers(
    model, tokenizer, n: int, seed: int = 0, k: int = 2, split: str = "train", max_new_tokens: int = 96
) -> Answers:
    """`n` prompts drawn from `split` (with replacement) and `k` answers to each, sampled from the model."""
    if k < 2:
        raise TutorError(f"on-policy pairs need k ≥ 2 answers per prompt, got {k}.")
    start = time.perf_counter()
    asked = _draw_prompts(random.Random(seed), n, split)
    answers = [
        sample(model, tokenizer, asked, seed=seed * 100 + i + 1, max_new_tokens=max_new_tokens, batch_size=256).texts
        for i in range(k)
    ]
    return Answers(asked, answers, seed, split, seconds=time.perf_counter() - start)


def sft_answers(
    course,
    n: int,
    seed: int = 0,
    k: int = 2,
    split: str = "train",
    max_new_tokens: int = 96,
    model=None,
    tokenizer=None,
) -> Answers:
    """`sample_answers` from the SFT stage's model, kept next to it: round 1 of a DPO run ranks the
    SFT model's answers, so notebook 06's look at its pairs, the stage it builds and notebook 07's
    two-persona section (same seed) all rank the one set of answers instead of sampling it again.
    The file remembers which weights wrote it, so a rebuilt SFT model samples afresh. `model` and
    `tokenizer`: the SFT stage's, when the caller has them loaded already."""
    sft = ensure(course, "sft", quiet=True)
    path = sft.parent / "answers" / f"{split}-{n}x{k}-seed{seed}-{max_new_tokens}tokens.json"
    stamp = weights_stamp(sft)
    if stamp is not None and path.exists():
        try:
            saved = json.loads(path.read_text())
        except ValueError:
            saved = {}
        if saved.get("weights") == stamp:
            return Answers(
                saved["asked"], saved["answers"], seed, split, saved.get("seconds", 0.0), kept=True, weights=stamp
            )
    if model is None:
        model, tokenizer = load_causal_lm(sft, course.device), load_tokenizer(sft)
    answers = sample_answers(model, tokenizer, n, seed, k, split, max_new_tokens)
    answers.weights = stamp
    if stamp is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "weights": stamp,
                    "seconds": round(answers.seconds, 2),
                    "asked": answers.asked,
                    "answers": answers.answers,
                }
            )
        )
    return answers


def rank_by_labels(judge, prompt: str, answers: Sequence[str], rng) -> list[int]:
    """Order answers worst → best by how many of the judge's (noisy) pairwise comparisons each won,
    as InstructGPT's labellers ranked several answers at once; ties are broken at random."""
    wins = [0] * len(answers)
    scores = judge.scores([prompt] * len(answers), answers)
    for i, j in itertools.combinations(range(len(answers)), 2):
        wins[i if judge.label_scores(scores[i], scores[j]) else j] += 1
    return sorted(range(len(answers)), key=lambda i: (wins[i], rng.random()))


def best_and_worst(answers: Answers, persona="riley") -> list[tuple[int, int] | None]:
    """Per prompt, the indices of the answer that won most and fewest of the persona's pairwise
    comparisons (None where the answers are all alike or one is empty: nothing to learn)."""
    rng = random.Random(answers.seed)
    _draw_prompts(rng, len(answers.asked), answers.split)  # the generator as it was after drawing the prompts
    judge = GoldAnnotator(persona, seed=answers.seed)
    picks: list[tuple[int, int] | None] = []
    for row, prompt in enumerate(answers.asked):
        texts = [a[row] for a in answers.answers]
        if len(set(texts)) < 2 or not all(t.strip() for t in texts):
            picks.append(None)
            continue
        order = rank_by_labels(judge, prompt, texts, rng)
        picks.append((order[-1], order[0]) if texts[order[-1]] != texts[order[0]] else None)
    return picks


def rank_answers(answers: Answers, persona="riley", picks: list | None = None):
    """Preference pairs (best vs worst of each prompt's answers, as `persona` ranks them, or as
    `picks` from `best_and_worst` say), in TRL's conversational format."""
    picks = best_and_worst(answers, persona) if picks is None else picks
    rows = []
    for row, (prompt, pick) in enumerate(zip(answers.asked, picks, strict=True)):
        if pick is not None:
            best, worst = pick
            rows.append(
                as_conversational(prompt, chosen=answers.answers[best][row], rejected=answers.answers[worst][row])
            )
    return to_dataset(rows)


def label_quality(pairs, persona="riley") -> float:
    """Share of pairs whose `chosen` answer the persona's noiseless score really rates higher: how
    much of the training signal points the right way (the simulated world lets us look)."""
    judge = GoldAnnotator(persona)
    rows = list(pairs)
    if not rows:
        raise TutorError("label_quality() needs at least one pair.")
    prompt, chosen, rejected = ([message_text(r[key]) for r in rows] for key in ("prompt", "chosen", "rejected"))
    better = sum(a > b for a, b in zip(judge.scores(prompt, chosen), judge.scores(prompt, rejected), strict=True))
    return better / len(rows)


@dataclass
class TrainingData:
    """One round's preference pairs and what they are."""

    pairs: object  # a Dataset in TRL's format: prompt, chosen, rejected
    source: str  # where they came from, for people to read
    from_learner: bool = False  # the learner's notebook-03 labels: they cannot be asked for again on fresh answers
    answers: Answers | None = None  # on-policy pairs: the sampled answers the annotator ranked

    @property
    def labels_per_pair(self) -> int:
        """The annotator comparisons each pair cost: ranking k answers asks for every pair of them."""
        return 1 if self.answers is None else math.comb(len(self.answers.answers), 2)


def training_data(
    course,
    settings: DPOSettings,
    model=None,
    tokenizer=None,
    use_learner_labels: bool | None = None,
    seed: int | None = None,
    from_sft: bool | None = None,
) -> TrainingData:
    """The pairs `settings.data` asks for; the learner's notebook-03 labels (pairs of SFT answers
    too) take the place of either source when there are enough of them. On-policy pairs rank
    `model`'s answers; `from_sft` (default: no `model` given) says they are the SFT stage's, so its
    kept answers serve (`sft_answers`, sampled with `model` if they are not kept yet)."""
    if use_learner_labels is None:
        use_learner_labels = settings.use_learner_labels
    seed = settings.seed if seed is None else seed
    from_sft = model is None if from_sft is None else from_sft
    learner_pairs = learner_dataset(course.runs) if use_learner_labels else None
    if learner_pairs is not None:
        return TrainingData(learner_pairs, f"your {len(learner_pairs)} labels from notebook 03", from_learner=True)
    if settings.data != "on_policy":
        return TrainingData(
            *preference_data(course, settings.n_pairs, settings.persona, use_learner_labels=False, seed=seed)
        )
    k = settings.answers_per_prompt
    if from_sft:
        answers = sft_answers(
            course, settings.n_pairs, seed, k, max_new_tokens=settings.max_new_tokens, model=model, tokenizer=tokenizer
        )
    else:
        answers = sample_answers(model, tokenizer, settings.n_pairs, seed, k, max_new_tokens=settings.max_new_tokens)
    pairs = rank_answers(answers, settings.persona)
    how = f"best vs worst of {k} answers ranked by" if k > 2 else "pairs of the model's own answers labelled by"
    return TrainingData(pairs, f"{len(pairs)} {how} the gold annotator ({settings.persona})", answers=answers)
