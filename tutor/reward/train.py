"""Training the reward model with TRL's RewardTrainer, and the course's `reward` stage.

`train` starts from the SFT model (`init_reward_model`), picks its preference data
(`tutor.preferences`: the learner's own labels from notebook 03 when there are enough, else pairs
labelled by the gold annotator) and runs one RewardTrainer; `continue_training` trains a reward
model further on fresh labels (online RLHF's refresh); `build_stage` saves the model and its
held-out evaluation for notebook 04 and PPO.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import datasets
from trl import RewardConfig, RewardTrainer

from tutor.core.batching import grouped, pair_lengths
from tutor.core.models import load_tokenizer, save
from tutor.core.trl_setup import TrainedModel, common_args, schedule_args, skip_full_collection
from tutor.errors import TutorError
from tutor.preferences import gold_dataset, preference_data
from tutor.reward.accuracy import evaluate, held_out_pairs
from tutor.reward.config import RewardSettings
from tutor.reward.model import init_reward_model, load_reward
from tutor.stages import ensure
from tutor.ui.progress import quiet_progress
from tutor.world import GoldAnnotator


def make_trainer(
    model,
    tokenizer,
    dataset,
    output_dir,
    device: str = "cpu",
    settings: RewardSettings | None = None,
    callbacks=None,
    progress: bool = True,
    **overrides,
):
    """A RewardTrainer with CPU-safe settings (see tutor.core.trl_setup), batches of similar length
    (tutor.core.batching: half the padding) and one quiet progress bar. `overrides` go to RewardConfig."""
    s = settings or RewardSettings()
    options = dict(schedule_args(s), train_sampling_strategy="group_by_length", weight_decay=s.weight_decay)
    if s.center_rewards:
        options["center_rewards_coefficient"] = s.center_rewards
    if s.dropout:
        options["disable_dropout"] = False  # TRL switches every dropout off by default
    options.update(overrides)
    args = RewardConfig(**common_args(output_dir, device, **options))
    datasets.disable_progress_bars()  # tokenising a few thousand rows: a bar would only add noise
    trainer_class = grouped(with_lm_loss(RewardTrainer) if s.lm_coef else RewardTrainer, pair_lengths)
    trainer = trainer_class(
        model=model, args=args, train_dataset=dataset, processing_class=tokenizer, callbacks=callbacks
    )
    trainer.lm_coef = s.lm_coef
    return quiet_progress(skip_full_collection(trainer), "reward model", show=progress)


def with_lm_loss(trainer_class):
    """A RewardTrainer subclass that adds `lm_coef` × the next-token loss of the chosen answers to
    the Bradley–Terry loss (Yang et al. 2024's regularised reward model): the body keeps modelling
    the world's text instead of memorising which answers won. The LM head is the tied input
    embedding, so the reward model needs no extra weights."""

    class WithLMLoss(trainer_class):
        lm_coef = 0.0

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if not model.training:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            inputs = {**inputs, "output_hidden_states": True}
            loss, outputs = super().compute_loss(model, inputs, True, num_items_in_batch)
            loss = loss + self.lm_coef * chosen_lm_loss(model, inputs, outputs.hidden_states[-1])
            return (loss, outputs) if return_outputs else loss

    return WithLMLoss


def chosen_lm_loss(model, inputs, hidden):
    """Mean next-token loss over the chosen answers' tokens (the first half of a RewardTrainer
    batch), with the input embedding as the LM head."""
    import torch.nn.functional as F

    from tutor.reward.model import answer_weights

    n = inputs["input_ids"].shape[0] // 2
    ids, mask = inputs["input_ids"][:n], inputs["attention_mask"][:n]
    answer = answer_weights(ids, mask, getattr(model.config, "answer_token_id", None)) > 0
    logits = hidden[:n, :-1] @ model.get_input_embeddings().weight.T
    targets = ids[:, 1:].masked_fill(~answer[:, 1:], -100)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


@dataclass
class TrainedReward(TrainedModel):
    """What `train` returns: the model, its tokenizer, the trainer (its log history) and what the
    data were (`source`, `n_train` pairs)."""

    source: str
    n_train: int


def train(
    course,
    settings: RewardSettings | None = None,
    data=None,
    source: str | None = None,
    start: str | Path | None = None,
    callbacks=None,
    progress: bool = True,
    trainer_options: dict | None = None,
) -> TrainedReward:
    """Train a reward model from the SFT model on preference pairs.

    data: a TRL preference Dataset; by default `tutor.preferences.preference_data` picks the
    learner's own labels from notebook 03 when there are enough, else gold-annotator pairs.
    start: the causal LM to start from (default: the `sft` stage, built if missing).
    trainer_options: any other RewardConfig setting (e.g. weight_decay), passed to `make_trainer`.
    """
    s = settings or RewardSettings.for_mode(course.fast, course.model)
    start = Path(start) if start is not None else ensure(course, "sft", quiet=True)
    if data is None:
        if s.label_temperature is None:
            data, source = preference_data(course, s.n_pairs, persona=s.persona, seed=s.seed)
        else:
            data = gold_dataset(s.n_pairs, seed=s.seed, persona=s.persona, temperature=s.label_temperature)
            source = f"{s.n_pairs} pairs labelled by the gold annotator ({s.persona}, noise T={s.label_temperature})"
    tokenizer = load_tokenizer(start)
    model = init_reward_model(start, tokenizer, course.device, seed=s.seed, pooling=s.pooling, dropout=s.dropout)
    return _fit(course, model, tokenizer, data, s, source, callbacks, progress, trainer_options)


def _fit(course, model, tokenizer, data, s, source, callbacks, progress, trainer_options=None) -> TrainedReward:
    """TRL's RewardTrainer on `data`, from wherever `model` stands (a fresh head or a trained one)."""
    check_lm_loss(model, s)
    trainer = make_trainer(
        model,
        tokenizer,
        data,
        course.model_runs / "reward" / "trainer",
        course.device,
        s,
        callbacks=callbacks,
        progress=progress,
        **(trainer_options or {}),
    )
    trainer.train()
    return TrainedReward(trainer.model.eval(), tokenizer, trainer, source or "the given data", len(data))


def continue_training(
    course,
    reward,
    data,
    settings: RewardSettings | None = None,
    source: str | None = None,
    callbacks=None,
    progress: bool = False,
) -> TrainedReward:
    """Train an existing reward model further on more labelled pairs: online RLHF's refresh, where
    each round's policy answers are labelled and the reward model learns where it was wrong.

    reward: a `TrainedReward` (from `train` or an earlier call), or the folder of a saved reward
        model (the `reward` stage's `model/`); a folder is loaded with its own tokenizer.
    data: a TRL preference Dataset of the new pairs (mix in old ones to keep what it knew).
    settings: the schedule (rate, epochs, batch, regularisers); its pooling and seed are the
        model's own. Default: the course's reward settings for this mode.
    Returns a new `TrainedReward` whose `n_train` counts the new pairs only; the model is trained
    in place (a folder's model is loaded fresh, so the saved one is untouched).
    """
    s = settings or RewardSettings.for_mode(course.fast, course.model)
    if isinstance(reward, TrainedReward):
        model, tokenizer = reward.model, reward.tokenizer
    else:
        model, tokenizer = load_reward(reward, course.device)
    if data is None or len(data) == 0:
        raise TutorError("continue_training() needs at least one new labelled pair (a TRL preference Dataset).")
    model.train()
    return _fit(course, model, tokenizer, data, s, source, callbacks, progress)


def check_lm_loss(model, settings: RewardSettings) -> None:
    """The LM loss reads the input embedding as the LM head: only right when the two are tied."""
    if settings.lm_coef and not getattr(model.config, "tie_word_embeddings", False):
        raise TutorError(
            f"RewardSettings.lm_coef={settings.lm_coef} needs a model whose LM head is tied to its input "
            "embedding (config.tie_word_embeddings); this one's is not: use lm_coef=0."
        )


def build_stage(
    course, where: Path, settings: RewardSettings | None = None, callbacks=None, progress: bool = True
) -> dict:
    """The `reward` stage: train the reward model, save it, measure it on held-out pairs.

    The held-out scores are saved too (held_out.json), so notebook 04 can study the ranking
    without scoring every answer again (`tutor.reward.accuracy.held_out_report`).
    """
    s = settings or RewardSettings.for_mode(course.fast, course.model)
    trained = train(course, s, callbacks=callbacks, progress=progress)
    save(trained.model, trained.tokenizer, where / "model")
    annotator = GoldAnnotator(s.persona, temperature=s.label_temperature)
    report = evaluate(trained.model, trained.tokenizer, held_out_pairs(s.n_eval_pairs), annotator)
    held_out = {
        "persona": s.persona,
        "label_temperature": s.label_temperature,
        "scores_a": report["scores_a"],
        "scores_b": report["scores_b"],
    }
    (where / "held_out.json").write_text(json.dumps(held_out))
    return {
        **{k: v for k, v in report.items() if k not in ("margins", "scores_a", "scores_b")},
        "source": trained.source,
        "n_train_pairs": trained.n_train,
        "eval_annotator": s.persona,
        "final_loss": trained.final_loss,
        "losses": trained.losses,
    }
