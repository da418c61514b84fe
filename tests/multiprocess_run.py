"""One small training run of a stage on the tiny model, launched by tests/test_multiprocess.py once
under `accelerate launch --num_processes 2` and once as a single process with the same batch.

Each process writes `<stage>-rank<r>.safetensors` (its final weights) and `<stage>-rank<r>.json`
(a fingerprint of every training example or episode it computed, its losses, its time), so the
test can compare the ranks with each other and with the single-process run.

    python tests/multiprocess_run.py --stages sft,ppo --out DIR
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import torch

torch.set_num_threads(1)  # two processes share two cores


def fingerprint(ids, mask=None) -> str:
    ids = ids.tolist() if mask is None else ids[mask.bool()].tolist()
    return hashlib.sha1(json.dumps(ids).encode()).hexdigest()[:16]


def record_batches(trainer, seen: list):
    """Wrap `trainer.training_step` to note a fingerprint of every row it computes."""
    step = trainer.training_step

    def noted(model, inputs, *args, **kwargs):
        rows = zip(inputs["input_ids"], inputs["attention_mask"], strict=True)
        seen.append([fingerprint(ids, mask) for ids, mask in rows])
        return step(model, inputs, *args, **kwargs)

    trainer.training_step = noted


def run_trl(stage: str, out: Path) -> tuple[torch.nn.Module, list, list]:
    from tutor.core.models import TINY_DIR, load_causal_lm, load_tokenizer
    from tutor.preferences import gold_dataset

    tokenizer = load_tokenizer("tiny")
    if stage == "sft":
        from tutor.sft import SFTSettings, make_trainer, sft_dataset

        settings = SFTSettings(n_examples=64, batch_size=8, warmup_steps=2)
        trainer = make_trainer(
            load_causal_lm("tiny"), tokenizer, sft_dataset(64, 0), out / "trainer", "cpu", settings, progress=False
        )
    elif stage == "reward":
        from tutor.reward.config import RewardSettings
        from tutor.reward.model import init_reward_model
        from tutor.reward.train import make_trainer

        settings = RewardSettings(n_pairs=64, batch_size=8, warmup_steps=2)
        model = init_reward_model(TINY_DIR, tokenizer, "cpu", seed=0)
        # Random batches: the length-grouped sampler forms its groups from one process's batch size.
        trainer = make_trainer(
            model,
            tokenizer,
            gold_dataset(64, seed=0),
            out / "trainer",
            "cpu",
            settings,
            progress=False,
            train_sampling_strategy="random",
        )
    else:
        from tutor.dpo.config import DPOSettings
        from tutor.dpo.trl_trainer import make_trainer

        settings = DPOSettings(n_pairs=64, batch_size=8, epochs=1.0, chunk_pairs=0)
        trainer = make_trainer(
            load_causal_lm("tiny"),
            load_causal_lm("tiny"),
            tokenizer,
            gold_dataset(64, seed=0),
            out / "trainer",
            "cpu",
            settings,
            progress=False,
        )
    seen: list = []
    record_batches(trainer, seen)
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return trainer.model, seen, losses


def run_ppo(out: Path, seed: int = 0) -> tuple[torch.nn.Module, list, list]:
    from tutor.core.models import load_causal_lm, load_tokenizer
    from tutor.ppo import PPOSettings, PPOTrainer
    from tutor.world import GoldAnnotator

    gold = GoldAnnotator("riley")
    settings = PPOSettings(
        steps=3, batch_size=8, mini_batch_size=4, calibration_samples=16, max_new_tokens=48, value_init="sft", seed=seed
    )
    trainer = PPOTrainer(
        load_causal_lm("tiny"), load_causal_lm("tiny"), load_tokenizer("tiny"), gold.scores, settings, gold=gold
    )
    seen: list = []
    rollout = trainer.rollout

    def noted(prompts):
        result = rollout(prompts)
        seen.append(
            [hashlib.sha1(f"{p}\0{t}".encode()).hexdigest()[:16] for p, t in zip(prompts, result.texts, strict=True)]
        )
        return result

    trainer.rollout = noted
    history = trainer.train(progress=False)
    return trainer.unwrapped_policy, seen, [h["objective/scores"] for h in history]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stages", default="sft,reward,dpo,ppo", help="comma-separated, run one after another")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0, help="PPO's seed (its episodes)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from safetensors.torch import save_file

    from tutor.core.processes import num_processes, process_index
    from tutor.course import seed_everything

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for stage in args.stages.split(","):
        seed_everything(0)
        start = time.perf_counter()
        model, seen, losses = run_ppo(out, args.seed) if stage == "ppo" else run_trl(stage, out)
        seconds = time.perf_counter() - start
        rank = process_index()
        weights = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
        save_file(weights, str(out / f"{stage}-rank{rank}.safetensors"))
        record = {"processes": num_processes(), "rank": rank, "seconds": seconds, "batches": seen, "losses": losses}
        (out / f"{stage}-rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main()
