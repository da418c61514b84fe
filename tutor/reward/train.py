"""Training the reward model with TRL's RewardTrainer, and the course's `reward` stage.

`train` starts from the SFT model (`init_reward_model`), picks its preference data
(`tutor.preferences`: the learner's own labels from notebook 03 when there are enough, else pairs
labelled by the gold annotator) and runs one RewardTrainer; `build_stage` saves the model and its
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
from tutor.preferences import gold_dataset, preference_data
from tutor.reward.accuracy import evaluate, held_out_pairs
from tutor.reward.config import RewardSettings
from tutor.reward.model import init_reward_model
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
    options = dict(schedule_args(s), train_sampling_strategy="group_by_length")
    options.update(overrides)
    args = RewardConfig(**common_args(output_dir, device, **options))
    datasets.disable_progress_bars()  # tokenising a few thousand rows: a bar would only add noise
    trainer = grouped(RewardTrainer, pair_lengths)(
        model=model, args=args, train_dataset=dataset, processing_class=tokenizer, callbacks=callbacks
    )
    return quiet_progress(skip_full_collection(trainer), "reward model", show=progress)


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
    model = init_reward_model(start, tokenizer, course.device, seed=s.seed)
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
    model = trainer.model.eval()
    return TrainedReward(model, tokenizer, trainer, source or "the given data", len(data))


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
