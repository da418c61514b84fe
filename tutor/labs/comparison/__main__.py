"""The comparison's child process: `python -m tutor.labs.comparison dpo:1 dpo:2 ppo:1 --runs DIR`.

Trains each METHOD:SEED in turn and writes its record (see `runs.all_runs`, which starts it). Each
run is seeded as if it ran alone, and the previous run's memory is handed back before it starts,
so that its peak memory is its own.
"""

from __future__ import annotations

import argparse
import os
import sys

from tutor import stages
from tutor.core.memory import release_memory
from tutor.course import setup
from tutor.errors import TutorError
from tutor.labs.comparison.runs import METHODS, is_the_stage, run_folder, train_run, write_record


def run_spec(text: str) -> tuple[str, int]:
    """ "dpo:1" → ("dpo", 1)."""
    method, _, seed = text.partition(":")
    if method not in METHODS or not seed.isdigit():
        raise ValueError(f"expected METHOD:SEED with METHOD one of {', '.join(METHODS)}, got {text!r}")
    return method, int(seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tutor.labs.comparison", description="Train comparison runs and record them."
    )
    parser.add_argument("runs_to_train", nargs="+", type=run_spec, metavar="METHOD:SEED", help="e.g. dpo:1 dpo:2 ppo:1")
    parser.add_argument("--persona", default="riley")
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--runs", required=True)
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args(argv)
    os.environ["TUTOR_RUNS"] = args.runs
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    for method, seed in args.runs_to_train:
        release_memory()
        course = setup(FAST=args.fast, MODEL=args.model, seed=seed, quiet=True)  # seeded as if it ran alone
        if is_the_stage(seed, args.persona):
            stages.ensure(course, method, quiet=True)  # the stage itself, saved where every notebook finds it
            continue
        folder = run_folder(course, method, seed, args.persona)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            record = train_run(course, method, seed, args.persona, folder)
        except TutorError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        write_record(folder, {**record, "folder": str(folder)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
