"""The `rlhf-tutor` command: `doctor`, `run` (the whole course pipeline, headless) and `pretrain`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from tutor.errors import TutorError


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def summary_table(summary: dict) -> str:
    """Stage | time | key metrics, as aligned text (the same table `run` prints and reports)."""
    from tutor.stages import STAGES

    rows = [("stage", "seconds", "key metrics")]
    for name, record in summary.items():
        keys = STAGES[name].key_metrics
        metrics = ", ".join(f"{k}={_fmt(record[k])}" for k in keys if k in record)
        rows.append((name, f"{record['seconds']:.1f}", metrics))
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = [f"{r[0]:<{width[0]}}  {r[1]:>{width[1]}}  {r[2]}" for r in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


def ppo_vs_dpo_table(summary: dict, same_labels: dict | None = None) -> str | None:
    """The seed's comparison, with this run's numbers: gold win-rate over SFT, KL, training time.
    `same_labels`: DPO trained on the very pairs the reward model learned (`equal_label_dpo`), the
    column that compares the methods at equal labels (the stages' recipes spend different labels)."""
    if not {"ppo", "dpo"} <= set(summary):
        return None
    from tutor.labs.comparison import dpo_labels, dpo_loop

    columns = {"ppo": summary["ppo"], "dpo": summary["dpo"]}
    header = ["", "PPO (RLHF)", "DPO (its recipe)"]
    if same_labels:
        columns["same"] = same_labels
        header.append("DPO, PPO's labels")
    rows = [tuple(header)]
    for key, label, fmt in (
        ("gold_win_rate_vs_sft", "gold win-rate vs SFT", "{:.0%}"),
        ("kl", "KL to SFT (nats/answer)", "{:.2f}"),
        ("seconds", "training time (s)", "{:.0f}"),
    ):
        cells = [column.get(key) for column in columns.values()]
        rows.append((label, *(fmt.format(c) if isinstance(c, int | float) else "-" for c in cells)))
    rm_labels = summary.get("reward", {}).get("n_train_pairs")
    same = (
        ["no", "no: one supervised loss over fixed pairs", str(same_labels.get("annotator_labels"))]
        if same_labels
        else []
    )
    rows.append(("reward model", "yes (stage 'reward')", "no", *same[:1]))
    rows.append(("RL loop", "yes (sample, score, update)", dpo_loop(summary["dpo"]), *same[1:2]))
    rows.append(
        ("annotator labels", f"{rm_labels} (reward model)" if rm_labels else "-", dpo_labels(summary["dpo"]), *same[2:])
    )
    width = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(f"{cell:<{w}}" for cell, w in zip(r, width, strict=True)).rstrip() for r in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


def equal_label_dpo(course, summary: dict) -> dict | None:
    """DPO on the very pairs the reward stage learned (notebook 07's offline arm, this run's seed):
    trained once and cached; None when the reward model learned other labels than the gold
    annotator's fixed pairs (the learner's own, say), PPO and DPO were not both run, or the model is
    not the tiny one (a real model's run keeps to its five stages: the extra DPO run costs minutes)."""
    from tutor.course import TINY
    from tutor.labs.comparison.budget import LABEL_SEED, MIN_LABELS, Arm, arm_record
    from tutor.reward import RewardSettings

    if course.model != TINY:
        return None

    reward = summary.get("reward") or {}
    settings = RewardSettings.for_mode(course.fast, course.model)
    gold = "gold annotator" in str(reward.get("source")) and settings.seed == LABEL_SEED and settings.persona == "riley"
    if not ({"ppo", "dpo"} <= set(summary) and gold and reward.get("n_train_pairs", 0) >= MIN_LABELS):
        return None
    record = arm_record(course, Arm("offline", "dpo", reward["n_train_pairs"], seed=course.seed))
    return {"seconds": record["seconds"], **{k: v for k, v in record["metrics"].items() if isinstance(v, int | float)}}


def run_pipeline(fast: bool, model: str, stages: list[str] | None = None, rebuild: bool = False) -> dict:
    """Build (or reuse) each stage in order, then write summary.json and report.md to the runs folder."""
    from tutor.core.processes import is_main_process
    from tutor.course import setup
    from tutor.stages import available_stages, build, check_stage, ensure, folder, read_metrics

    course = setup(FAST=fast, MODEL=model)
    names = stages or available_stages()
    for name in names:
        check_stage(name)
    summary = {}
    for name in names:
        start = time.perf_counter()
        record = None if rebuild else read_metrics(course, name)
        if record is None:
            for need in check_stage(name).needs:
                ensure(course, need)
            record = build(course, name)
        metrics = {k: v for k, v in record["metrics"].items() if not isinstance(v, dict | list)}
        summary[name] = {"seconds": record["seconds"], **metrics, "folder": str(folder(course, name))}
        print(f"[{name}] done in {time.perf_counter() - start:.1f} s")
    table = summary_table(summary)
    same_labels = equal_label_dpo(course, summary)
    if same_labels:
        print(f"[dpo on PPO's labels] done in {same_labels['seconds']:.1f} s")
    comparison = ppo_vs_dpo_table(summary, same_labels)
    if comparison:
        table += "\n\nPPO vs DPO\n" + comparison
    if same_labels:
        summary["dpo_on_ppo_labels"] = same_labels  # not a stage: after the stage table, in summary.json
    print()
    print(table)
    if not is_main_process():  # under `accelerate launch`, rank 0 writes the summary
        return summary
    (course.runs / "summary.json").write_text(json.dumps(summary, indent=2))
    mode = "FAST" if course.fast else "full"
    report = [
        "# rlhf-tutor run",
        "",
        f"Model `{course.model}`, {mode} mode, device {course.device}.",
        "",
        "```",
        table,
        "```",
        "",
        "Each stage's folder holds its model, `metrics.json` and evaluation `samples.jsonl`.",
    ]
    (course.runs / "report.md").write_text("\n".join(report) + "\n")
    print(f"\nWrote {course.runs / 'summary.json'} and {course.runs / 'report.md'}")
    return summary


def quiet_other_processes() -> None:
    """Under `accelerate launch` every process runs the pipeline (they train together); only rank 0
    prints. A launch that silently started one process is refused (tutor.core.processes.check_launch)."""
    from tutor.core.processes import check_launch, is_main_process

    check_launch()
    if not is_main_process():
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process


def parse_stages(text: str | None) -> list[str] | None:
    """--stages "sft,dpo" → ["sft", "dpo"]; None (not given) → every stage; an empty list is refused."""
    from tutor.stages import STAGES, check_stage

    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not any(names) or not all(names):
        raise TutorError(
            f"--stages {text!r} names no stage (or an empty one); give stages separated by commas from: "
            f"{', '.join(STAGES)} (or leave --stages out to run them all)."
        )
    for name in names:
        check_stage(name)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rlhf-tutor", description="The rlhf-tutor course, from the command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="check that everything the course needs is in place")
    run = sub.add_parser(
        "run",
        help="run the course pipeline end to end and print a summary table",
        description="Run the course pipeline end to end and print a summary table. The stages it saves are "
        "the ones notebooks 05-08 reuse (08_beyond: benchmarks/beyond.py runs its experiments headless). With "
        "both PPO and DPO it also trains DPO on the very pairs PPO's reward model learned, so its PPO-vs-DPO "
        "table compares the methods at equal labels (07's fair fight: benchmarks/comparison.py).",
    )
    run.add_argument("--fast", action="store_true", help="FAST mode: small, quick versions of every stage")
    run.add_argument("--model", default="tiny", help='"tiny" (default) or a local model folder')
    run.add_argument("--stages", default=None, help="comma-separated stages (default: all)")
    run.add_argument("--rebuild", action="store_true", help="retrain stages even if saved ones exist")
    pre = sub.add_parser("pretrain", help="pretrain the tiny model from scratch (how the shipped one was made)")
    pre.add_argument("--out", required=True, help="folder to save the model and tokenizer in")
    pre.add_argument("--steps", type=int, default=None, help="training steps (default: as shipped)")
    args = parser.parse_args(argv)
    from tutor.course import offline_defaults

    offline_defaults()
    try:
        if args.command == "doctor":
            from tutor.doctor import doctor

            return 0 if doctor() else 1
        if args.command == "run":
            quiet_other_processes()
            run_pipeline(args.fast, args.model, parse_stages(args.stages), args.rebuild)
            return 0
        if args.command == "pretrain":
            from tutor.core.models import save
            from tutor.course import check_new_folder
            from tutor.pretrain import PretrainSettings, pretrain

            settings = PretrainSettings() if args.steps is None else PretrainSettings(steps=args.steps)
            out = check_new_folder(args.out)  # before minutes of training, not after
            result = pretrain(settings)
            out = save(result.model, result.tokenizer, out)
            print(f"Saved to {out} after {result.seconds:.0f} s; final loss {result.losses[-1]:.3f}")
            return 0
    except TutorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
