"""A quiet trainer: one progress bar instead of a printed dict (or a table row) per step.

With `logging_steps=1` (what live curves need) the Trainer's own callbacks print every log dict
(scripts) or grow a table by one row per step (notebooks): noise that hides what the cell teaches.
`quiet_progress(trainer)` swaps them for a single tqdm bar whose postfix shows the latest loss.
"""

from __future__ import annotations

from transformers import TrainerCallback

_SHOWN = ("loss", "accuracy", "margin")  # the postfix keeps a few numbers a learner can follow


class StepBar(TrainerCallback):
    """A tqdm bar over optimisation steps; `tqdm.auto` picks the notebook widget or the terminal."""

    def __init__(self, desc: str = "training", show: bool = True):
        self.desc = desc
        self.show = show
        self.bar = None

    def on_train_begin(self, args, state, control, **kwargs):
        if self.show and state.is_world_process_zero:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=state.max_steps, desc=self.desc, unit="step", leave=True)

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.bar is not None and logs:
            shown = {k: f"{v:.3g}" for k, v in logs.items() if k in _SHOWN and isinstance(v, int | float)}
            if shown:
                self.bar.set_postfix(shown, refresh=False)

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def quiet_progress(trainer, desc: str = "training", show: bool = True):
    """Replace the trainer's printing/table callbacks with one `StepBar` (none if `show` is False)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    noisy = [PrinterCallback, ProgressCallback]
    try:
        from transformers.utils.notebook import NotebookProgressCallback

        noisy.append(NotebookProgressCallback)
    except ImportError:  # pragma: no cover - optional in some transformers builds
        pass
    for cls in noisy:
        trainer.remove_callback(cls)
    trainer.add_callback(StepBar(desc, show))
    return trainer
