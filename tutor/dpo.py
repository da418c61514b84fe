"""Direct Preference Optimisation: learn from preference pairs without a reward model or an RL loop.

DPO's loss for one pair (prompt x, chosen y_w, rejected y_l) is

    −log σ( β · [ (log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x)) ] )

where π is the model being trained and π_ref the frozen SFT model. β·log(π/π_ref) is the *implicit
reward* of an answer: DPO is a reward model hidden inside the policy. Training goes through TRL's
`DPOTrainer`; `dpo_loss` is our from-scratch twin of its loss, tested to agree with it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from tutor.config import check_choice, check_flag, check_number, check_whole
from tutor.course import TINY
from tutor.errors import TutorError
from tutor.world import get_persona

# TRL's names for the pairwise losses the course compares (all share DPO's data and reference).
LOSS_TYPES = ("sigmoid", "ipo", "hinge", "robust", "sigmoid_norm")


@dataclass(frozen=True)
class DPOSettings:
    """How the DPO stage makes its pairs and trains (`tutor.config`'s convention). Defaults suit
    the tiny model on a 2-core CPU (the recipe's experiments: benchmarks/results/dpo.md); `for_mode`
    gives FAST mode's sketch.

    `data` picks the pairs: "on_policy" = the model's own answers, `answers_per_prompt` per prompt
    ranked by the annotator's pairwise labels, best vs worst (the learner's notebook-03 labels, pairs
    of SFT answers too, replace them when present); "gold" = the world's candidate answers labelled
    by the annotator.
    """

    n_pairs: int = 200  # per round
    epochs: float = 2.0
    learning_rate: float = 5e-4
    batch_size: int = 32
    chunk_pairs: int = 8  # pairs computed at once within a batch: the same gradient, less padding and memory
    beta: float = 0.2
    loss_type: str = "sigmoid"
    label_smoothing: float = 0.0  # the flip rate "robust" assumes
    reference_free: bool = False  # drop π_ref from the loss (a contrast, not a recipe)
    sft_weight: float = 1.0  # > 0 adds that much of the chosen answers' NLL (TRL's "sft" loss; RPO)
    max_length: int = 256
    persona: str = "riley"
    data: str = "on_policy"
    use_learner_labels: bool = True  # notebook 03's labels, when there are enough, replace the annotator's
    answers_per_prompt: int = 8  # on-policy data: answers the annotator ranks per prompt (pair = best, worst)
    rounds: int = 3  # on-policy data: rounds of sample → rank → train (iterative DPO)
    max_new_tokens: int = 96  # on-policy answers: 95 % of SFT answers end by then; one long answer keeps a whole batch generating
    seed: int = 0

    def __post_init__(self):
        for name in ("n_pairs", "batch_size", "max_length", "rounds", "max_new_tokens"):
            check_whole(self, name)
        check_whole(self, "answers_per_prompt", minimum=2)
        check_whole(self, "chunk_pairs", minimum=0)  # 0 computes each batch at once
        check_whole(self, "seed", minimum=0)
        check_number(self, "epochs", above=0)
        check_number(self, "learning_rate", above=0)
        check_number(self, "beta", above=0)
        check_number(self, "sft_weight", at_least=0)
        check_number(self, "label_smoothing", at_least=0, below=0.5)
        check_choice(self, "loss_type", LOSS_TYPES)
        check_choice(self, "data", ("on_policy", "gold"))
        check_flag(self, "reference_free")
        check_flag(self, "use_learner_labels")
        get_persona(self.persona)
        if self.loss_type == "robust" and not 0 < self.label_smoothing < 0.5:
            raise TutorError(
                f"The robust loss needs label_smoothing (the assumed label-flip rate) in (0, 0.5), got {self.label_smoothing}."
            )

    @classmethod
    def for_mode(cls, fast: bool, model: str = TINY, **changes) -> DPOSettings:
        """FAST mode: a sketch of the recipe (32 pairs a round, 2 rounds, 4 answers ranked), not its result."""
        base = dict(n_pairs=32, rounds=2, answers_per_prompt=4) if fast else {}
        return cls(**{**base, **changes})


def check_beta(beta: float) -> float:
    """β scales the implicit reward; it must be a positive number."""
    try:
        ok = float(beta) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise TutorError(f"beta must be a number > 0 (typical values 0.05–0.5), got {beta!r}.")
    return float(beta)


# ---------------------------------------------------------------------------------------------------
# The loss, from scratch


def implicit_reward(logps, ref_logps, beta: float):
    """β · (log π(y|x) − log π_ref(y|x)): how much more likely the policy makes an answer than the
    reference did, in units DPO treats as reward."""
    return beta * (logps - ref_logps)


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta: float):
    """DPO's loss (batch mean) and the implicit rewards of the chosen and rejected answers.

    Arguments are summed log-probabilities of whole answers, one per pair. Returns
    (loss, chosen_rewards, rejected_rewards); the margin is chosen_rewards − rejected_rewards.
    """
    import torch.nn.functional as F

    beta = check_beta(beta)
    chosen_rewards = implicit_reward(policy_chosen_logps, ref_chosen_logps, beta)
    rejected_rewards = implicit_reward(policy_rejected_logps, ref_rejected_logps, beta)
    loss = -F.logsigmoid(chosen_rewards - rejected_rewards).mean()
    return loss, chosen_rewards.detach(), rejected_rewards.detach()


# ---------------------------------------------------------------------------------------------------
# Input checks


def check_same_vocabulary(model, ref_model, tokenizer) -> None:
    """Policy and reference must score the same tokens, or log π − log π_ref means nothing."""
    sizes = {"model": model.get_output_embeddings().weight.shape[0], "reference": ref_model.get_output_embeddings().weight.shape[0]}
    if sizes["model"] != sizes["reference"]:
        raise TutorError(
            f"The reference model has a vocabulary of {sizes['reference']} tokens but the model has "
            f"{sizes['model']}; DPO needs the reference to be a copy of the starting (SFT) model, with the same tokenizer."
        )
    if len(tokenizer) > sizes["model"]:
        raise TutorError(
            f"The tokenizer has {len(tokenizer)} tokens but the model only {sizes['model']}; use the tokenizer saved with the model."
        )


def context_limit(model, max_length: int) -> int:
    return min(max_length, getattr(model.config, "max_position_embeddings", max_length) or max_length)


def check_pairs(dataset, tokenizer, max_length: int) -> None:
    """An empty data set, or a prompt that alone fills the model's context, is an error (TRL would
    silently drop such rows and train on fewer pairs than asked)."""
    if dataset is None or len(dataset) == 0:
        raise TutorError("The preference data set is empty; DPO needs rows with 'prompt', 'chosen' and 'rejected'.")
    for column in ("prompt", "chosen", "rejected"):
        if column not in dataset.column_names:
            raise TutorError(f"The preference data set has no {column!r} column; it needs 'prompt', 'chosen' and 'rejected'.")
    for i, row in enumerate(dataset):
        prompt = row["prompt"]
        messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
        n = len(tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True, return_dict=False))
        if n >= max_length:
            raise TutorError(
                f"Preference row {i} has a prompt of {n} tokens, but DPO reads at most {max_length} tokens per "
                "prompt + answer; shorten the prompt or drop the row."
            )


# ---------------------------------------------------------------------------------------------------
# Training through TRL


def make_trainer(model, ref_model, tokenizer, dataset, output_dir, device: str = "cpu", settings: DPOSettings | None = None,
                 callbacks=None, progress: bool = True, **overrides):
    """A TRL DPOTrainer with CPU-safe settings and the SFT model passed explicitly as reference.

    Without `ref_model`, TRL reloads the reference from `model.config._name_or_path`, which for an
    in-memory model is the wrong checkpoint or nothing at all.
    """
    import datasets
    from trl import DPOConfig

    from tutor.core.trl_setup import common_args, skip_full_collection
    from tutor.ui.progress import quiet_progress

    s = settings or DPOSettings()
    if ref_model is None:
        raise TutorError("DPO needs the SFT model as ref_model (a frozen copy of the starting model).")
    if ref_model is model:
        raise TutorError("ref_model must be a separate frozen copy of the SFT model, not the model being trained.")
    check_same_vocabulary(model, ref_model, tokenizer)
    max_length = context_limit(model, s.max_length)
    check_pairs(dataset, tokenizer, max_length)
    args = DPOConfig(**common_args(
        output_dir,
        device,
        learning_rate=s.learning_rate,
        num_train_epochs=s.epochs,
        per_device_train_batch_size=s.batch_size,
        lr_scheduler_type="cosine",
        warmup_steps=5,
        beta=s.beta,
        loss_type=[s.loss_type] + (["sft"] if s.sft_weight > 0 else []),
        loss_weights=[1.0, s.sft_weight] if s.sft_weight > 0 else None,
        label_smoothing=s.label_smoothing,
        max_length=max_length,
        precompute_ref_log_probs=True,  # the reference is frozen: score it once, not every step
        precompute_ref_batch_size=64,
        # Pairs of similar length batched together: less padding to compute. Not with the NLL term: it
        # is a mean over the batch's tokens, so batches of short answers would weigh short answers up.
        train_sampling_strategy="group_by_length" if s.sft_weight == 0 else "random",
        seed=s.seed,
        data_seed=s.seed,
        **overrides,
    ))
    datasets.disable_progress_bars()  # tokenising and scoring a few thousand rows: bars are noise
    trainer = _trainer_class()(model=model, ref_model=ref_model, args=args, train_dataset=dataset, processing_class=tokenizer, callbacks=callbacks)
    trainer.chunk_pairs = s.chunk_pairs
    if s.reference_free:
        _make_reference_free(trainer)
    return quiet_progress(skip_full_collection(trainer), "DPO", show=progress)


def _trainer_class():
    """TRL's DPOTrainer, scoring the reference in batches of pairs of similar length.

    TRL scores the pairs in data-set order, so each batch is padded to its longest answer; sorted
    by length, the same sums cost about half the compute (padding is most of a random batch).
    Training batches are grouped by length too (`tutor.core.batching`), in random order.
    """
    from trl import DPOTrainer

    from tutor.core.batching import grouped, pair_chunks, pair_lengths

    class SortedReferenceDPOTrainer(grouped(DPOTrainer, pair_lengths)):
        def _precompute_ref_logps(self, dataset, name: str, batch_size: int):
            import torch

            if {"ref_chosen_logps", "ref_rejected_logps"} <= set(dataset.column_names):
                return dataset  # scored already by this same reference (SweepSetup.scored_pairs)
            columns = {k: dataset[k] for k in ("prompt_ids", "chosen_ids", "rejected_ids")}
            rows = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
            order = sorted(range(len(rows)), key=lambda i: len(rows[i]["prompt_ids"]) + max(len(rows[i]["chosen_ids"]), len(rows[i]["rejected_ids"])))
            model = self.ref_model or self.model
            chosen, rejected = torch.zeros(len(rows)), torch.zeros(len(rows))
            for start in range(0, len(order), batch_size):
                picked = order[start : start + batch_size]
                batch = {k: v.to(self.accelerator.device) for k, v in self.data_collator([rows[i] for i in picked]).items()}
                c, r = self.compute_ref_log_probs(model, batch)
                chosen[picked], rejected[picked] = c.float().cpu(), r.float().cpu()
            return dataset.add_column("ref_chosen_logps", chosen.tolist()).add_column("ref_rejected_logps", rejected.tolist())

        def training_step(self, model, inputs, num_items_in_batch=None):
            """One optimizer step's gradient, computed over chunks of pairs of similar length (less
            padding to compute, and a fraction of the activations in memory at once). Each chunk's
            loss is weighed by its share of the batch, so the gradient is the whole batch's: pairs
            for the per-pair losses, chosen-answer tokens for the NLL term (a mean over tokens)."""
            size = getattr(self, "chunk_pairs", 0)
            if not size or inputs["input_ids"].shape[0] <= 2 * size:
                return super().training_step(model, inputs, num_items_in_batch)
            chunks = pair_chunks(inputs, size)
            pairs = sum(n for _, n, _ in chunks)
            tokens = max(1, sum(t for _, _, t in chunks))
            weights = self.loss_weights
            logged = self._metrics["train"]
            before = {key: len(values) for key, values in logged.items()}
            total = 0.0
            try:
                for chunk, n, t in chunks:
                    self.loss_weights = [w * (t / tokens if kind == "sft" else n / pairs)
                                         for kind, w in zip(self.loss_types, weights, strict=True)]
                    total = total + super().training_step(model, chunk, num_items_in_batch)
            finally:
                self.loss_weights = weights
            for key, values in logged.items():  # one logged value per batch, as without chunks
                if len(values) - before.get(key, 0) == len(chunks):
                    values[-len(chunks):] = [sum(v * n for v, (_, n, _) in zip(values[-len(chunks):], chunks, strict=True)) / pairs]
            return total

    return SortedReferenceDPOTrainer


def _make_reference_free(trainer) -> None:
    """Zero the precomputed reference log-probs: the loss becomes −log σ(β(log π(y_w) − log π(y_l))),
    the seed's formula, with nothing that ties the model to where it started."""
    ds = trainer.train_dataset
    for col in ("ref_chosen_logps", "ref_rejected_logps"):
        ds = ds.remove_columns(col).add_column(col, [0.0] * len(ds))
    trainer.train_dataset = ds


def rank_by_labels(judge, prompt: str, answers: Sequence[str], rng) -> list[int]:
    """Order answers worst → best by how many of the judge's (noisy) pairwise comparisons each won,
    as InstructGPT's labellers ranked several answers at once; ties are broken at random."""
    import itertools

    wins = [0] * len(answers)
    scores = judge.scores([prompt] * len(answers), answers)
    for i, j in itertools.combinations(range(len(answers)), 2):
        wins[i if judge.label_scores(scores[i], scores[j]) else j] += 1
    return sorted(range(len(answers)), key=lambda i: (wins[i], rng.random()))


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
    from tutor.world import prompts_for

    prompts = [p.text for p in prompts_for(split)]
    return [rng.choice(prompts) for _ in range(n)]


def sample_answers(model, tokenizer, n: int, seed: int = 0, k: int = 2, split: str = "train", max_new_tokens: int = 96) -> Answers:
    """`n` prompts drawn from `split` (with replacement) and `k` answers to each, sampled from the model."""
    import random

    from tutor.core.sampling import sample

    if k < 2:
        raise TutorError(f"on-policy pairs need k ≥ 2 answers per prompt, got {k}.")
    start = time.perf_counter()
    asked = _draw_prompts(random.Random(seed), n, split)
    answers = [sample(model, tokenizer, asked, seed=seed * 100 + i + 1, max_new_tokens=max_new_tokens, batch_size=256).texts
               for i in range(k)]
    return Answers(asked, answers, seed, split, seconds=time.perf_counter() - start)


def sft_answers(course, n: int, seed: int = 0, k: int = 2, split: str = "train", max_new_tokens: int = 96,
                model=None, tokenizer=None) -> Answers:
    """`sample_answers` from the SFT stage's model, kept next to it: round 1 of a DPO run ranks the
    SFT model's answers, so notebook 06's look at its pairs, the stage it builds and notebook 07's
    two-persona section (same seed) all rank the one set of answers instead of sampling it again.
    The file remembers which weights wrote it, so a rebuilt SFT model samples afresh. `model` and
    `tokenizer`: the SFT stage's, when the caller has them loaded already."""
    import json

    from tutor.core.models import load_causal_lm, load_tokenizer, weights_stamp
    from tutor.stages import ensure

    sft = ensure(course, "sft", quiet=True)
    path = sft.parent / "answers" / f"{split}-{n}x{k}-seed{seed}-{max_new_tokens}tokens.json"
    stamp = weights_stamp(sft)
    if stamp is not None and path.exists():
        try:
            saved = json.loads(path.read_text())
        except ValueError:
            saved = {}
        if saved.get("weights") == stamp:
            return Answers(saved["asked"], saved["answers"], seed, split, saved.get("seconds", 0.0), kept=True, weights=stamp)
    if model is None:
        model, tokenizer = load_causal_lm(sft, course.device), load_tokenizer(sft)
    answers = sample_answers(model, tokenizer, n, seed, k, split, max_new_tokens)
    answers.weights = stamp
    if stamp is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"weights": stamp, "seconds": round(answers.seconds, 2), "asked": answers.asked,
                                    "answers": answers.answers}))
    return answers


def best_and_worst(answers: Answers, persona="riley") -> list[tuple[int, int] | None]:
    """Per prompt, the indices of the answer that won most and fewest of the persona's pairwise
    comparisons (None where the answers are all alike or one is empty: nothing to learn)."""
    import random

    from tutor.world import GoldAnnotator

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
    from tutor.core.chat import as_conversational
    from tutor.preferences import to_dataset

    picks = best_and_worst(answers, persona) if picks is None else picks
    rows = []
    for row, (prompt, pick) in enumerate(zip(answers.asked, picks, strict=True)):
        if pick is not None:
            best, worst = pick
            rows.append(as_conversational(prompt, chosen=answers.answers[best][row], rejected=answers.answers[worst][row]))
    return to_dataset(rows)


def label_quality(pairs, persona="riley") -> float:
    """Share of pairs whose `chosen` answer the persona's noiseless score really rates higher: how
    much of the training signal points the right way (the simulated world lets us look)."""
    from tutor.core.chat import message_text
    from tutor.world import GoldAnnotator

    judge = GoldAnnotator(persona)
    rows = list(pairs)
    if not rows:
        raise TutorError("label_quality() needs at least one pair.")
    prompt, chosen, rejected = ([message_text(r[key]) for r in rows] for key in ("prompt", "chosen", "rejected"))
    better = sum(a > b for a, b in zip(judge.scores(prompt, chosen), judge.scores(prompt, rejected), strict=True))
    return better / len(rows)


@dataclass
class DPORun:
    """A trained DPO model with what is needed to measure it."""

    model: object
    ref_model: object  # the model training started from (SFT): KL is measured against it
    tokenizer: object
    history: list[dict]  # TRL's logs, each with the round it belongs to
    settings: DPOSettings
    source: str
    seconds: float
    n_pairs: int
    rounds: list[dict] = field(default_factory=list)  # per round: pairs, seconds, held-out win-rate, KL


def training_data(course, settings: DPOSettings, model=None, tokenizer=None, use_learner_labels: bool | None = None, seed: int | None = None):
    """(dataset, description) for `settings.data`; the learner's notebook-03 labels (pairs of SFT
    answers too) take the place of either source when there are enough of them. On-policy pairs
    come from `model`'s answers, or without one from the SFT stage's (`sft_answers`)."""
    data, source, _ = _round_data(course, settings, model, tokenizer, use_learner_labels, seed, from_sft=model is None)
    return data, source


def _round_data(course, settings: DPOSettings, model, tokenizer, use_learner_labels: bool | None, seed: int | None,
                from_sft: bool):
    """`training_data` plus the sampled answers the pairs were ranked from (None for other data).
    `from_sft`: `model` is the SFT stage's (or None), so its kept answers serve (`sft_answers`)."""
    from tutor.preferences import learner_dataset, preference_data

    if use_learner_labels is None:
        use_learner_labels = settings.use_learner_labels
    seed = settings.seed if seed is None else seed
    if settings.data != "on_policy":
        return *preference_data(course, settings.n_pairs, settings.persona, use_learner_labels, seed), None
    mine = learner_dataset(course.runs) if use_learner_labels else None
    if mine is not None:
        return mine, f"your {len(mine)} labels from notebook 03", None
    k = settings.answers_per_prompt
    if from_sft:
        answers = sft_answers(course, settings.n_pairs, seed, k, max_new_tokens=settings.max_new_tokens, model=model, tokenizer=tokenizer)
    else:
        answers = sample_answers(model, tokenizer, settings.n_pairs, seed, k, max_new_tokens=settings.max_new_tokens)
    data = rank_answers(answers, settings.persona)
    how = f"best vs worst of {k} answers ranked by" if k > 2 else "pairs of the model's own answers labelled by"
    return data, f"{len(data)} {how} the gold annotator ({settings.persona})", answers


def _copy(model, folder: Path, device: str):
    """A clean copy of `model` (TRL patches the forward of models it trains; deepcopy keeps that)."""
    from tutor.core.models import load_causal_lm

    fresh = load_causal_lm(folder, device)
    fresh.load_state_dict(model.state_dict())
    return fresh.eval()


def train(course, settings: DPOSettings | None = None, dataset=None, callbacks=None, output_dir=None, progress: bool = True,
          start: Path | None = None, on_round=None, measure_rounds: bool = False, rounds_dir: Path | None = None) -> DPORun:
    """Fine-tune the SFT model (or the model saved in `start`) with DPO.

    One round trains on `dataset` (default: `training_data`). With `settings.rounds` > 1 (on-policy
    data only) each further round samples fresh answers from the model as it is *now*, has the
    annotator rank them, and trains on those pairs with the model at the round's start as reference
    — iterative ("online") DPO. `on_round(r)` is called as round r starts (e.g. to start a new
    curve in a plot); `measure_rounds` samples the held-out prompts after each round and records
    win-rate and KL to the starting model (and saves those answers in `rounds_dir`/round-r).
    """
    from tutor.core.models import load_causal_lm, load_tokenizer
    from tutor.course import seed_everything
    from tutor.stages import ensure

    s = settings or DPOSettings.for_mode(course.fast, course.model)
    start_dir = Path(start) if start is not None else ensure(course, "sft")
    tokenizer = load_tokenizer(start_dir)
    initial = load_causal_lm(start_dir, course.device)
    policy = load_causal_lm(start_dir, course.device)
    out = Path(output_dir or (course.model_runs / "dpo-scratch"))
    rounds = 1 if s.data == "gold" else s.rounds
    history: list[dict] = []
    records: list[dict] = []
    sources: list[str] = []
    seconds = 0.0
    n_pairs = 0
    for r in range(rounds):
        seed_everything(s.seed * 1000 + r)
        begin = time.perf_counter()
        if r == 0 and dataset is not None:
            data, source, answers = dataset, f"{len(dataset)} given pairs", None
        else:
            from_sft = r == 0 and start is None  # the SFT stage's own answers: sampled once, kept (sft_answers)
            data, source, answers = _round_data(course, s, policy, tokenizer, s.use_learner_labels and r == 0,
                                                s.seed * 1000 + r, from_sft)
            if answers is not None and answers.kept:
                begin -= answers.seconds  # sampled by an earlier run: a run's time counts its sampling all the same
        learners = r == 0 and source.startswith("your ")  # training_data's word for notebook 03's labels
        if learners:
            rounds = 1  # the learner's labels cannot be asked for again on fresh answers
        sources.append(source)
        if on_round is not None:
            on_round(r)
        reference = initial if r == 0 else _copy(policy, start_dir, course.device)
        trainer = make_trainer(policy, reference, tokenizer, data, out, course.device, s, callbacks, progress)
        trainer.train()
        policy = _copy(trainer.model, start_dir, course.device)
        spent = time.perf_counter() - begin
        seconds += spent
        n_pairs += len(trainer.train_dataset)
        history += [{**h, "round": r + 1} for h in trainer.state.log_history]
        # What the pairs cost in annotator comparisons: ranking k answers asks for every pair of them.
        ranked = s.data == "on_policy" and not learners and (dataset is None or r > 0)
        per_pair = math.comb(s.answers_per_prompt, 2) if ranked else 1
        record = {"round": r + 1, "pairs": len(trainer.train_dataset), "labels": len(data) * per_pair,
                  "seconds": round(spent, 2), "data": source}
        if answers is not None and answers.weights:
            record["sft_weights"] = answers.weights  # ranked from these SFT weights' kept answers (sft_answers)
        if measure_rounds and r + 1 < rounds:  # the last round is measured by `evaluate`
            record.update(_held_out(course, s, policy, initial, tokenizer, rounds_dir and rounds_dir / f"round-{r + 1}"))
        records.append(record)
        if r + 1 >= rounds:
            break
    source = sources[0] if len(sources) == 1 else f"{len(sources)} rounds: {sources[0]}, then fresh answers each round"
    return DPORun(policy, initial, tokenizer, history, s, source, seconds, n_pairs, records)


def _held_out(course, settings: DPOSettings, model, reference, tokenizer, where: Path | None = None) -> dict:
    """A round's model on the held-out prompts (win-rate over SFT, gold score, KL); its answers saved in `where`."""
    from tutor.core.evaluation import eval_prompts, evaluate_model
    from tutor.stages import load_samples, save_samples
    from tutor.world import GoldAnnotator

    result = evaluate_model(model, tokenizer, eval_prompts(course.fast), GoldAnnotator(settings.persona),
                            baseline=load_samples(course, "sft"), ref_model=reference)
    if where is not None:
        where.mkdir(parents=True, exist_ok=True)
        save_samples(where, result.samples)
    return {key: result.metrics()[key] for key in ("gold_win_rate_vs_sft", "gold", "kl", "eval_seconds")}


def evaluate(course, run: DPORun, samples=None) -> dict:
    """Held-out measurements (`tutor.core.evaluation.measure`: gold score, win-rate over the SFT
    model's answers, KL to SFT) and what the run cost and learned from."""
    from tutor.core.evaluation import eval_prompts, measure, sample_eval
    from tutor.stages import load_samples
    from tutor.world import GoldAnnotator

    judge = GoldAnnotator(run.settings.persona)
    if samples is None:
        samples = sample_eval(run.model, run.tokenizer, eval_prompts(course.fast))
    sft = load_samples(course, "sft")
    if list(sft.prompts) != list(samples.prompts):
        raise TutorError("The SFT stage's saved samples are for other prompts; rebuild the sft stage.")
    result = measure(samples, judge, baseline=sft, model=run.model, ref_model=run.ref_model, tokenizer=run.tokenizer)
    last = next((h for h in reversed(run.history) if "rewards/margins" in h), {})
    if run.rounds and "kl" not in run.rounds[-1]:
        run.rounds[-1].update(gold_win_rate_vs_sft=result.gold_win_rate_vs_sft, gold=result.gold, kl=result.kl)
    return {
        **result.metrics(),
        "sft_gold": sum(judge.scores(sft.prompts, sft.texts)) / len(sft),
        "train_seconds": round(run.seconds, 2),
        "n_pairs": run.n_pairs,
        "annotator_labels": sum(r.get("labels", 0) for r in run.rounds),  # comparisons asked of the annotator
        "rounds_trained": len(run.rounds),
        "data": run.source,
        "final_margin": last.get("rewards/margins"),
        "final_accuracy": last.get("rewards/accuracies"),
        "settings": asdict(run.settings),
        "rounds": run.rounds,
        "history": [{k: v for k, v in h.items() if isinstance(v, int | float)} for h in run.history],
    }


def build_stage(course, where: Path, settings: DPOSettings | None = None, callbacks=None, progress: bool = True,
                pairs=None, on_round=None, measure_rounds: bool = True) -> dict:
    """The `dpo` stage: DPO on the SFT model, saved, measured against SFT on held-out prompts.
    `callbacks` (e.g. a LivePlot's) let a notebook watch the training that makes the saved stage;
    `measure_rounds=False` skips the held-out measurement after each round but the last (the
    comparison's extra seeds need only the final model: a few seconds each). Each measured round's
    answers are kept in `where`/rounds (notebook 07's two-persona section reuses round 1's)."""
    import shutil

    from tutor.core.evaluation import eval_prompts, sample_eval
    from tutor.core.models import save
    from tutor.stages import save_samples

    shutil.rmtree(where / "rounds", ignore_errors=True)  # an earlier build's rounds
    run = train(course, settings, dataset=pairs, callbacks=callbacks, output_dir=where / "trainer", progress=progress,
                on_round=on_round, measure_rounds=measure_rounds, rounds_dir=where / "rounds")
    save(run.model, run.tokenizer, where / "model")
    samples = sample_eval(run.model, run.tokenizer, eval_prompts(course.fast))
    save_samples(where, samples)
    return evaluate(course, run, samples)


# ---------------------------------------------------------------------------------------------------
# Small comparable runs (the notebook's sweeps)


@dataclass
class SweepSetup:
    """Small DPO runs that are comparable: same pairs, same steps, same held-out prompts (one answer
    per prompt), each measured against the SFT model's saved answers to those prompts."""

    pairs: object
    prompts: list[str]
    baseline: list[str]
    max_new_tokens: int = 160  # as the SFT answers it is compared with
    batch_size: int = 16  # small batches: as many steps as a bigger run, on fewer pairs
    scored: object = None  # `pairs` with the reference's log-probs (see `scored_pairs`)

    @classmethod
    def for_course(cls, course, pairs, n_pairs: int | None = None) -> SweepSetup:
        """64 pairs in batches of 16 (8 steps, as 128 pairs in batches of 32 took, at half the
        compute: 2.9 s a run instead of 5.2, and the same contrasts: no π_ref or 4× the learning
        rate moves the model furthest; 48 pairs in batches of 12 lost the π_ref contrast) and the
        35 held-out prompts; FAST: 16 pairs, 20 prompts, answers cut at 96 tokens (a sketch)."""
        from tutor.core.evaluation import answers_per_prompt
        from tutor.stages import load_samples

        n = min(len(pairs), n_pairs or (16 if course.fast else 64))
        sft = load_samples(course, "sft")
        k = answers_per_prompt(course.fast)  # eval_prompts repeats each held-out prompt k times in a row
        keep = list(range(0, len(sft), k))[: 20 if course.fast else None]
        return cls(pairs.select(range(n)), [sft.prompts[i] for i in keep], [sft.texts[i] for i in keep],
                   96 if course.fast else 160)

    def scored_pairs(self, course, settings: DPOSettings):
        """The sweep's pairs, tokenized and scored by the reference once: every run starts from the
        SFT model, so log π_ref of each answer is the same for all of them."""
        if self.scored is None:
            from tutor.core.models import load_causal_lm, load_tokenizer
            from tutor.stages import ensure

            sft = ensure(course, "sft")
            trainer = make_trainer(load_causal_lm(sft, course.device), load_causal_lm(sft, course.device), load_tokenizer(sft),
                                   self.pairs, course.model_runs / "dpo-scratch", course.device,
                                   replace(settings, reference_free=False), progress=False)
            self.scored = trainer.train_dataset
        return self.scored

    def run(self, course, settings: DPOSettings, dataset=None, callbacks=None, **changes) -> dict:
        """Train from SFT with `settings` (+ `changes`) on the sweep's pairs for one round of plain DPO
        (no NLL term, unless `changes` ask for it); measure on the sweep's prompts."""
        from tutor.core.evaluation import evaluate_model
        from tutor.world import GoldAnnotator

        s = replace(settings, **{"rounds": 1, "sft_weight": 0.0, "batch_size": self.batch_size, **changes})  # one round of plain DPO unless asked
        data = self.scored_pairs(course, s) if dataset is None else dataset
        run = train(course, s, dataset=data, callbacks=callbacks, progress=False)
        result = evaluate_model(run.model, run.tokenizer, self.prompts, GoldAnnotator(s.persona), baseline=self.baseline,
                                ref_model=run.ref_model, max_new_tokens=self.max_new_tokens)
        return {
            "gold_win_rate_vs_sft": result.gold_win_rate_vs_sft,
            "kl": result.kl,
            "gold": result.gold,
            "on_topic": result.profile["on_topic"],
            "words": result.profile["words"],
            "seconds": run.seconds,
        }

    def run_simpo(self, course, settings: DPOSettings, beta: float = 2.0, **changes) -> dict:
        """A SimPO-like contrast (margin γ = 0): no reference, per-token average log-probs."""
        return self.run(course, settings, reference_free=True, loss_type="sigmoid_norm", beta=beta, **changes)
