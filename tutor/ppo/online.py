"""Online RLHF, the InstructGPT / Llama 2 loop: rounds of PPO → sample the current policy → the
annotator labels fresh pairs of its answers → the reward model is refreshed on old + new labels →
PPO continues from where it stopped.

Why: a reward model trained once on SFT-style answers is asked, as PPO drifts, to judge answers
unlike any it was taught; fresh labels on the policy's own answers teach it exactly there. The
labels each round costs (`labels_per_round`) is a setting, so a comparison can match another
method's label budget round for round (the DPO stage ranks `DPOSettings` rounds of fresh answers).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from tutor.config import check_number, check_whole
from tutor.course import TINY
from tutor.errors import TutorError

MIN_LABELS_PER_ROUND = 16  # fewer fresh pairs than a few reward-model batches teach it nothing


@dataclass(frozen=True)
class OnlineSettings:
    """How the online loop spends its rounds and labels (`tutor.config`'s convention)."""

    rounds: int = 3  # PPO → label → refresh, this many times (the last round's PPO ends the run)
    steps_per_round: int = 15  # PPO steps before each refresh
    labels_per_round: int = 1000  # fresh pairs of the policy's answers the annotator labels each round
    label_budget: int | None = None  # total fresh labels allowed (None: rounds × labels_per_round)
    reward_epochs: float = 1.0  # passes over old + new labels at each refresh
    reward_learning_rate: float = 5e-4  # continuing from the current reward model: below the stage's 1e-3
    persona: str = "riley"
    seed: int = 0

    def __post_init__(self):
        for name in ("rounds", "steps_per_round"):
            check_whole(self, name)
        check_whole(self, "labels_per_round", minimum=MIN_LABELS_PER_ROUND)
        check_whole(self, "seed", minimum=0)
        check_number(self, "reward_epochs", above=0)
        check_number(self, "reward_learning_rate", above=0)
        if self.label_budget is not None:
            check_whole(self, "label_budget", minimum=0)
            if self.label_budget < self.labels_per_round:
                raise TutorError(
                    f"OnlineSettings.label_budget ({self.label_budget}) is below what one round needs "
                    f"(labels_per_round = {self.labels_per_round}): raise the budget or label fewer pairs a round."
                )

    @property
    def refreshes(self) -> int:
        """Reward-model refreshes the budget pays for (one between each two PPO rounds)."""
        budget = self.label_budget if self.label_budget is not None else self.rounds * self.labels_per_round
        return min(self.rounds - 1, budget // self.labels_per_round)

    @classmethod
    def for_mode(cls, fast: bool, model: str = TINY, **changes) -> OnlineSettings:
        """FAST mode: two short rounds, a few dozen labels."""
        base = dict(rounds=2, steps_per_round=2, labels_per_round=32) if fast else {}
        return cls(**{**base, **changes})


def label_policy_pairs(trainer, n: int, annotator, seed: int = 0) -> list[dict]:
    """Fresh preference rows: two answers of the current policy to each of `n` training prompts,
    labelled by `annotator` (noisy, as a person would). A pair with an empty answer or two equal
    ones is not asked about (nothing to learn; DPO's rounds skip them too), so a round can return
    a few rows fewer than `n`, and the labels it counts are the rows it returns."""
    import torch

    from tutor.core.chat import as_conversational
    from tutor.ppo.rollout import detokenize

    torch.manual_seed(seed)
    prompts = [p for p in trainer._next_prompts(n) for _ in range(2)]
    texts = []
    for start in range(0, len(prompts), 128):
        chunk = prompts[start : start + 128]
        answers = trainer.sample(trainer.unwrapped_policy, chunk)
        texts += detokenize(trainer.tokenizer, answers.response_ids, answers.response_mask)
    rows = []
    for i in range(0, len(prompts), 2):
        prompt, a, b = prompts[i], texts[i], texts[i + 1]
        if a == b or not (a.strip() and b.strip()):
            continue
        chosen, rejected = (a, b) if annotator.label(prompt, a, b) else (b, a)
        rows.append(as_conversational(prompt, chosen=chosen, rejected=rejected))
    return rows


def refresh_reward_model(course, trainer, models, rows: list[dict], settings: OnlineSettings, where: Path):
    """Continue training the current reward model on `rows` (old + new labels) with
    `tutor.reward.train`, then hand it to PPO (re-normalised on SFT answers)."""
    from tutor.core.models import save
    from tutor.preferences import to_dataset
    from tutor.reward import RewardSettings, train

    reward = RewardSettings.for_mode(
        course.fast,
        course.model,
        epochs=settings.reward_epochs,
        learning_rate=settings.reward_learning_rate,
        warmup_steps=0,
        persona=settings.persona,
        seed=settings.seed,
    )
    trained = train(course, reward, data=to_dataset(rows), source="online labels", start=where, progress=False)
    save(trained.model, trained.tokenizer, where)
    trainer.reward_model = trained.model.to(trainer.accelerator.device).eval().requires_grad_(False)
    trainer.reward_mean, trainer.reward_std = trainer.calibrate_reward()
    return trained


@dataclass
class OnlineRun:
    """What the loop hands back: the PPO trainer (its policy, history), labels used, per-round notes."""

    trainer: object
    labels: int
    rounds: list[dict]


def train_online(course, models, ppo_settings=None, settings: OnlineSettings | None = None, *, rows=None):
    """Rounds of PPO and reward-model refreshes from the course's stages (`models`: a
    `tutor.ppo.StageModels`). `rows`: the labels the reward model was trained on (default: the
    reward stage's 1,000 gold pairs, seed 0), kept and extended each round."""
    import shutil

    from tutor.ppo.config import PPOSettings
    from tutor.ppo.stage import make_trainer
    from tutor.preferences import gold_rows
    from tutor.world import GoldAnnotator

    s = settings or OnlineSettings.for_mode(course.fast, course.model)
    ppo = ppo_settings or PPOSettings.for_mode(course.fast, seed=s.seed)
    ppo = replace(ppo, steps=s.rounds * s.steps_per_round)  # the learning rate schedule spans every round
    annotator = GoldAnnotator(s.persona, seed=s.seed + 101)
    if rows is None:
        from tutor.reward import RewardSettings

        stage = RewardSettings.for_mode(course.fast, course.model)
        rows = gold_rows(stage.n_pairs, seed=stage.seed, persona=stage.persona)
    rows = list(rows)
    trainer = make_trainer(models, ppo)
    labels, notes = 0, []
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp) / "reward"
        shutil.copytree(models.reward, where)
        for r in range(s.rounds):
            trainer.train(steps=s.steps_per_round, progress=False)
            note = {"round": r + 1, "steps": trainer.step_count, "gold/score": trainer.history[-1]["gold/score"]}
            if r < s.refreshes:
                fresh = label_policy_pairs(trainer, s.labels_per_round, annotator, seed=s.seed * 1000 + r)
                labels += len(fresh)
                rows += fresh
                refresh_reward_model(course, trainer, models, rows, s, where)
                note.update(labels=labels, reward_mean=trainer.reward_mean, reward_std=trainer.reward_std)
            notes.append(note)
    return OnlineRun(trainer, labels, notes)
