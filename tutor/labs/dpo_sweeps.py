"""Notebook 06's small comparable DPO runs: with and without π_ref, a β sweep, a faster learning
rate, TRL's named loss variants, the learner's own labels."""

from __future__ import annotations

from dataclasses import dataclass, replace

from tutor.core.evaluation import answers_per_prompt, evaluate_model
from tutor.core.models import load_causal_lm, load_tokenizer
from tutor.dpo import DPOSettings, make_trainer, train
from tutor.stages import ensure, load_samples
from tutor.world import GoldAnnotator


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
        compute, and the same contrasts: benchmarks/results/dpo.md) and the 35 held-out prompts;
        FAST: 16 pairs, 20 prompts, answers cut at 96 tokens (a sketch)."""
        n = min(len(pairs), n_pairs or (16 if course.fast else 64))
        sft = load_samples(course, "sft")
        k = answers_per_prompt(course.fast)  # eval_prompts repeats each held-out prompt k times in a row
        keep = list(range(0, len(sft), k))[: 20 if course.fast else None]
        return cls(
            pairs.select(range(n)),
            [sft.prompts[i] for i in keep],
            [sft.texts[i] for i in keep],
            96 if course.fast else 160,
        )

    def scored_pairs(self, course, settings: DPOSettings):
        """The sweep's pairs, tokenized and scored by the reference once: every run starts from the
        SFT model, so log π_ref of each answer is the same for all of them."""
        if self.scored is None:
            sft = ensure(course, "sft")
            trainer = make_trainer(
                load_causal_lm(sft, course.device),
                load_causal_lm(sft, course.device),
                load_tokenizer(sft),
                self.pairs,
                course.model_runs / "dpo-scratch",
                course.device,
                replace(settings, reference_free=False),
                progress=False,
            )
            self.scored = trainer.train_dataset
        return self.scored

    def run(self, course, settings: DPOSettings, dataset=None, callbacks=None, **changes) -> dict:
        """Train from SFT with `settings` (+ `changes`) on the sweep's pairs for one round of plain DPO
        (no NLL term, unless `changes` ask for it); measure on the sweep's prompts."""
        s = replace(
            settings, **{"rounds": 1, "sft_weight": 0.0, "batch_size": self.batch_size, **changes}
        )  # one round of plain DPO unless asked
        data = self.scored_pairs(course, s) if dataset is None else dataset
        run = train(course, s, dataset=data, callbacks=callbacks, progress=False)
        result = evaluate_model(
            run.model,
            run.tokenizer,
            self.prompts,
            GoldAnnotator(s.persona),
            baseline=self.baseline,
            ref_model=run.ref_model,
            max_new_tokens=self.max_new_tokens,
        )
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

    def beta_sweep(self, course, settings: DPOSettings, betas, plot=None) -> dict[str, dict]:
        """One run per β in `betas`, keyed "β=value"; each a run of its own in `plot` (a
        `tutor.ui.dashboards.dpo_dashboard`) when one is given."""
        rows = {}
        for beta in betas if plot is None else plot.sweep("β", betas):
            rows[f"β={beta}"] = self.run(
                course, settings, beta=beta, callbacks=None if plot is None else [plot.callback()]
            )
        return rows

    def variants(self, course, settings: DPOSettings, dpo_row: dict | None = None) -> dict[str, dict]:
        """TRL's named losses on the sweep's pairs: DPO's `sigmoid` (`dpo_row` when that run is made
        already), `ipo`, `hinge` and `robust` (ε = 0.2), and a SimPO-like one without π_ref; FAST
        mode skips hinge and robust (a sketch)."""
        rows = {
            "sigmoid (DPO)": self.run(course, settings) if dpo_row is None else dpo_row,
            "ipo": self.run(course, settings, loss_type="ipo"),
        }
        if not course.fast:
            rows["hinge"] = self.run(course, settings, loss_type="hinge")
            rows["robust (ε = 0.2)"] = self.run(course, settings, loss_type="robust", label_smoothing=0.2)
        rows["SimPO-like (no π_ref)"] = self.run_simpo(course, settings)
        return rows
