"""The reward model R(prompt, answer) → scalar, trained on Bradley–Terry pairs with TRL's RewardTrainer.

A reward model is the SFT model with its next-token head swapped for one linear `score` head
(`AutoModelForSequenceClassification`, `num_labels=1`): it reads prompt + answer and outputs one
number at the last token. Training pushes P(chosen ≻ rejected) = σ(R(chosen) − R(rejected)) up on
human-labelled pairs (`bradley_terry_loss`, our twin of TRL's loss, tested to agree).

Labels are noisy, so no model can predict them all: each evaluation reports the model's `accuracy`
on sampled held-out labels next to the annotator's `bayes_accuracy` ceiling on the same pairs, and
`expected_accuracy`, the noise-free expectation of that accuracy (a tighter estimate).
`score_texts` is the one way every notebook and PPO turns (prompt, answer) texts into scores.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tutor.config import check_number, check_whole
from tutor.core.chat import conversation_texts
from tutor.course import TINY
from tutor.errors import TutorError
from tutor.world import get_persona


@dataclass(frozen=True)
class RewardSettings:
    """How the reward stage trains and is graded (`tutor.config`'s convention). Defaults suit the
    tiny model on a 2-core CPU; `for_mode` gives FAST mode's and a real model's."""

    n_pairs: int = 1000  # labelled training pairs (when the learner's own labels are not used)
    epochs: float = 1.0  # more epochs over the same noisy labels did not help (benchmarks/results/reward_ablations.json)
    learning_rate: float = 1e-3  # tiny models need far more than TRL's 1e-4
    batch_size: int = 8  # more, smaller steps (benchmarks/results/reward_ablations.json)
    warmup_steps: int = 10
    max_length: int = 512  # TRL drops longer pairs; every answer of the world fits
    n_eval_pairs: int = 1000  # held-out pairs: the accuracy's standard error is ≈ 1.4 points
    persona: str = "riley"
    label_temperature: float | None = None  # annotator noise; None keeps the persona's own (T=1)
    seed: int = 0

    def __post_init__(self):
        for name in ("n_pairs", "batch_size", "max_length", "n_eval_pairs"):
            check_whole(self, name)
        check_whole(self, "warmup_steps", minimum=0)
        check_whole(self, "seed", minimum=0)
        check_number(self, "epochs", above=0)
        check_number(self, "learning_rate", above=0)
        check_number(self, "label_temperature", at_least=0, optional=True)  # 0: noise-free labels
        get_persona(self.persona)

    @classmethod
    def for_mode(cls, fast: bool, model: str = TINY, **changes) -> RewardSettings:
        """FAST mode: 160 pairs, graded on 200. A real pretrained model: the usual small rate."""
        base = {"n_pairs": 160, "n_eval_pairs": 200} if fast else {}
        if model != TINY:
            base.update(learning_rate=1e-5, batch_size=8)
        return cls(**{**base, **changes})


# --------------------------------------------------------------------------- the loss, from scratch


def bradley_terry_loss(chosen_rewards, rejected_rewards, margin=None):
    """Mean of −log σ(r_chosen − r_rejected − margin): the negative log-likelihood of the labels
    under Bradley–Terry. `margin` (optional, per pair) asks for a wider gap on clearer pairs."""
    import torch.nn.functional as F

    diff = chosen_rewards - rejected_rewards
    if margin is not None:
        diff = diff - margin
    return -F.logsigmoid(diff).mean()


def preference_probability(reward_a, reward_b):
    """Bradley–Terry: the probability that a person prefers answer a over answer b."""
    import torch

    return torch.sigmoid(torch.as_tensor(reward_a) - torch.as_tensor(reward_b))


def pairwise_accuracy(chosen_rewards, rejected_rewards) -> float:
    """Share of pairs where the chosen answer scores strictly higher (a tie counts as wrong)."""
    import torch

    chosen = torch.as_tensor(chosen_rewards, dtype=torch.float64)
    rejected = torch.as_tensor(rejected_rewards, dtype=torch.float64)
    if chosen.numel() == 0:
        raise TutorError("pairwise_accuracy() needs at least one pair of rewards.")
    return float((chosen > rejected).double().mean())


# --------------------------------------------------------------------------- scoring texts


def score_texts(model, tokenizer, prompts: Sequence[str], responses: Sequence[str], batch_size: int = 64) -> list[float]:
    """Reward-model scores of answers to prompts (one float each).

    Texts are scored in batches of similar length (then put back in order): a batch is padded to
    its longest text, and a score does not depend on its batch neighbours (left padding, pad id).
    """
    import torch

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
        for i, v in zip(chunk, values, strict=True):
            scores[i] = v
    return scores


# --------------------------------------------------------------------------- training


def init_reward_model(folder: str | Path, tokenizer, device: str = "cpu", seed: int = 0):
    """A reward model initialised from a causal LM folder (the SFT model): same body, a fresh
    one-output `score` head. Its pad token id tells it where each padded sequence really ends.

    The head's random start comes from `seed`, not from whatever ran earlier in the process, so
    notebook 04 and `rlhf-tutor run` train the same reward model (the start alone moves held-out
    accuracy by a few points: benchmarks/results/reward_ablations.json)."""
    import torch
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    folder = Path(folder)
    if not folder.is_dir():
        raise TutorError(f"No model at {str(folder)!r} to initialise the reward model from.")
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # "score.weight newly initialised" is the point, not a warning
    hf_logging.disable_progress_bar()
    try:
        dtype = torch.float32 if device == "cpu" else "auto"
        with torch.random.fork_rng(devices=[]):  # seed the head without touching the caller's RNG
            torch.manual_seed(seed)
            model = AutoModelForSequenceClassification.from_pretrained(str(folder), num_labels=1, dtype=dtype)
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    model.config.pad_token_id = tokenizer.pad_token_id
    return model.to(device)


def make_trainer(model, tokenizer, dataset, output_dir, device: str = "cpu", settings: RewardSettings | None = None,
                 callbacks=None, progress: bool = True, **overrides):
    """A RewardTrainer with CPU-safe settings (see tutor.core.trl_setup) and one quiet progress bar."""
    from trl import RewardConfig, RewardTrainer

    from tutor.core.batching import grouped, pair_lengths
    from tutor.core.trl_setup import common_args, schedule_args, skip_full_collection
    from tutor.ui.progress import quiet_progress

    s = settings or RewardSettings()
    options = dict(schedule_args(s), train_sampling_strategy="group_by_length")  # see tutor.core.batching: half the padding
    options.update(overrides)
    args = RewardConfig(**common_args(output_dir, device, **options))
    _quiet_datasets()
    trainer = grouped(RewardTrainer, pair_lengths)(model=model, args=args, train_dataset=dataset, processing_class=tokenizer, callbacks=callbacks)
    return quiet_progress(skip_full_collection(trainer), "reward model", show=progress)


def _quiet_datasets() -> None:
    """Tokenising a few thousand rows takes a blink; its progress bars only add noise."""
    import datasets

    datasets.disable_progress_bars()


@dataclass
class TrainedReward:
    """What `train` returns: the model, its tokenizer, the trainer (its log history) and the data."""

    model: object
    tokenizer: object
    trainer: object
    source: str
    n_train: int

    @property
    def losses(self) -> list[float]:
        return [h["loss"] for h in self.trainer.state.log_history if "loss" in h]


def train(course, settings: RewardSettings | None = None, data=None, source: str | None = None,
          start: str | Path | None = None, callbacks=None, progress: bool = True,
          trainer_options: dict | None = None) -> TrainedReward:
    """Train a reward model from the SFT model on preference pairs.

    data: a TRL preference Dataset; by default `tutor.preferences.preference_data` picks the
    learner's own labels from notebook 03 when there are enough, else gold-annotator pairs.
    start: the causal LM to start from (default: the `sft` stage, built if missing).
    trainer_options: any other RewardConfig setting (e.g. weight_decay), passed to `make_trainer`.
    """
    from tutor.core.models import load_tokenizer
    from tutor.preferences import gold_dataset, preference_data
    from tutor.stages import ensure

    s = settings or RewardSettings.for_mode(course.fast, course.model)
    folder = Path(start) if start is not None else ensure(course, "sft", quiet=True)
    if data is None:
        if s.label_temperature is None:
            data, source = preference_data(course, s.n_pairs, persona=s.persona, seed=s.seed)
        else:
            data = gold_dataset(s.n_pairs, seed=s.seed, persona=s.persona, temperature=s.label_temperature)
            source = f"{s.n_pairs} pairs labelled by the gold annotator ({s.persona}, noise T={s.label_temperature})"
    tokenizer = load_tokenizer(folder)
    model = init_reward_model(folder, tokenizer, course.device, seed=s.seed)
    trainer = make_trainer(model, tokenizer, data, course.model_runs / "reward" / "trainer", course.device, s,
                           callbacks=callbacks, progress=progress, **(trainer_options or {}))
    trainer.train()
    model = trainer.model.eval()
    return TrainedReward(model, tokenizer, trainer, source or "the given data", len(data))


# --------------------------------------------------------------------------- evaluation


def held_out_pairs(n: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """(prompt, a, b) pairs on held-out prompts: what the reward model is graded on."""
    from tutor.world import candidate_pairs

    return candidate_pairs(n, seed=seed, split="test")


def evaluate(model, tokenizer, pairs: Sequence[tuple[str, str, str]], annotator, label_seed: int = 1) -> dict:
    """Score both answers of every held-out pair with the reward model, then `evaluate_scores`."""
    if not pairs:
        raise TutorError("evaluate() needs at least one (prompt, a, b) pair.")
    prompts = [p for p, _, _ in pairs]
    scores_a = score_texts(model, tokenizer, prompts, [a for _, a, _ in pairs])
    scores_b = score_texts(model, tokenizer, prompts, [b for _, _, b in pairs])
    return evaluate_scores(pairs, scores_a, scores_b, annotator, label_seed)


def evaluate_scores(pairs, scores_a: Sequence[float], scores_b: Sequence[float], annotator, label_seed: int = 1) -> dict:
    """How well scores rank (prompt, a, b) pairs for `annotator`, three ways, on the same pairs:

    accuracy: agreement with one draw of the annotator's noisy labels (what a person labelling
        these pairs would see; a fixed seed gives every model the same draw);
    expected_accuracy: its expectation over the label noise (no sampling error from the labels);
    bayes_accuracy: the best any model could expect on these pairs, mean of max(p, 1 − p);
    gold_agreement: agreement with the noise-free preference (sign of the gold score difference).
    margins: R(labelled chosen) − R(labelled rejected) for each pair, for a histogram;
    scores_a, scores_b: the scores themselves.
    """
    import random

    n = len(pairs)
    if not n or not (n == len(scores_a) == len(scores_b)):
        raise TutorError(
            f"evaluate_scores() needs equally many pairs and scores, at least one (got {n} pairs, "
            f"{len(scores_a)} and {len(scores_b)} scores)."
        )
    picks = [int(sa > sb) for sa, sb in zip(scores_a, scores_b, strict=True)]
    probs = [annotator.prob_first_preferred(p, a, b) for p, a, b in pairs]
    rng = random.Random(label_seed)
    labels = [int(rng.random() < q) for q in probs]
    decided = [(k, q > 0.5) for k, q in zip(picks, probs, strict=True) if q != 0.5]
    return {
        "accuracy": sum(k == lab for k, lab in zip(picks, labels, strict=True)) / n,
        "expected_accuracy": sum(q if k else 1 - q for k, q in zip(picks, probs, strict=True)) / n,
        "bayes_accuracy": sum(max(q, 1 - q) for q in probs) / n,
        "gold_agreement": sum((k == 1) == better for k, better in decided) / max(len(decided), 1),
        "n_eval_pairs": n,
        "margins": [sa - sb if lab else sb - sa for sa, sb, lab in zip(scores_a, scores_b, labels, strict=True)],
        "scores_a": list(scores_a),
        "scores_b": list(scores_b),
    }


def build_stage(course, where: Path, settings: RewardSettings | None = None, callbacks=None, progress: bool = True) -> dict:
    """The `reward` stage: train the reward model, save it, measure it on held-out pairs."""
    from tutor.core.models import save
    from tutor.world import GoldAnnotator

    s = settings or RewardSettings.for_mode(course.fast, course.model)
    trained = train(course, s, callbacks=callbacks, progress=progress)
    save(trained.model, trained.tokenizer, where / "model")
    annotator = GoldAnnotator(s.persona, temperature=s.label_temperature)
    report = evaluate(trained.model, trained.tokenizer, held_out_pairs(s.n_eval_pairs), annotator)
    # The scores, so notebooks can study the held-out ranking without scoring it all again.
    held_out = {"persona": s.persona, "label_temperature": s.label_temperature,
                "scores_a": report["scores_a"], "scores_b": report["scores_b"]}
    (where / "held_out.json").write_text(json.dumps(held_out))
    losses = trained.losses
    return {
        **{k: v for k, v in report.items() if k not in ("margins", "scores_a", "scores_b")},
        "source": trained.source,
        "n_train_pairs": trained.n_train,
        "eval_annotator": s.persona,
        "final_loss": sum(losses[-5:]) / len(losses[-5:]) if losses else None,
        "losses": losses,
    }


# --------------------------------------------------------------------------- for notebook 04


def held_out_report(course) -> tuple[list[tuple[str, str, str]], dict, object]:
    """The reward stage's held-out evaluation (built if missing), from its saved scores:
    (pairs, `evaluate_scores` report, the annotator it was graded against)."""
    from tutor.stages import ensure, folder
    from tutor.world import GoldAnnotator

    ensure(course, "reward", quiet=True)
    saved = json.loads((folder(course, "reward") / "held_out.json").read_text())
    pairs = held_out_pairs(len(saved["scores_a"]))
    annotator = GoldAnnotator(saved["persona"], temperature=saved["label_temperature"])
    return pairs, evaluate_scores(pairs, saved["scores_a"], saved["scores_b"], annotator), annotator


def accuracy_by_clarity(pairs, scores_a, scores_b, annotator, edges=(0.5, 0.6, 0.75, 0.9, 1.0)):
    """Expected accuracy of the scores' picks on pairs grouped by how clear the annotator's
    preference is (max(p, 1 − p)): reward models get clear pairs right and coin flips wrong."""
    import pandas as pd

    rows = []
    for (p, a, b), sa, sb in zip(pairs, scores_a, scores_b, strict=True):
        q = annotator.prob_first_preferred(p, a, b)
        rows.append({"clarity": max(q, 1 - q), "right": q if sa > sb else 1 - q})
    table = pd.DataFrame(rows)
    table["annotator's clarity"] = pd.cut(table["clarity"], list(edges), include_lowest=True)
    grouped = table.groupby("annotator's clarity", observed=True)
    return pd.DataFrame({"pairs": grouped.size(), "ceiling": grouped["clarity"].mean(),
                         "reward model": grouped["right"].mean()}).round(3)


ATTRIBUTES = ("words", "politeness", "audience", "safety", "facts", "myths", "on_topic", "degenerate")


def what_it_learned(prompts: Sequence[str], texts: Sequence[str], scores: Sequence[float],
                    personas=("riley", "quinn")):
    """Correlation of reward-model scores with each persona's gold score and with each analyser
    attribute, next to the same correlations for the gold scores (what the RM *should* track)."""
    import pandas as pd

    from tutor.world import GoldAnnotator, analyse

    frame = pd.DataFrame([analyse(t, p).as_dict() for p, t in zip(prompts, texts, strict=True)])[list(ATTRIBUTES)]
    frame = frame.astype(float)
    frame["reward model"] = list(scores)
    for name in personas:
        frame[f"gold ({name})"] = GoldAnnotator(name).scores(prompts, texts)
    columns = ["reward model"] + [f"gold ({name})" for name in personas]
    return frame.corr().loc[[f"gold ({name})" for name in personas] + list(ATTRIBUTES), columns].round(2)
