"""Write README's numbers from the committed benchmark results, so that there is one number per
quantity: the course map's times (results/notebooks.json), the full run's table (results/run.json,
what `rlhf-tutor run` printed), the DPO seeds (results/dpo.json), the evaluation noise
(results/eval_noise.json) and how much a run moves between machines (results/machines.json).

    python benchmarks/readme_tables.py          # rewrite README.md's generated parts
    python benchmarks/readme_tables.py --check  # exit 1 (and show what differs) if README is stale

Each generated part sits between `<!-- readme_tables: NAME -->` and `<!-- /readme_tables: NAME -->`;
the text around them is README's own. No tutor import: this runs without the course installed.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
BLOCK = re.compile(
    r"(<!-- readme_tables: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /readme_tables: (?P=name) -->)", re.S
)


def load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def seconds(x: float) -> str:
    return f"{x:.0f} s"


def minus(x: float, digits: int) -> str:
    return f"{x:.{digits}f}".replace("-", "−")  # a typographic minus, as README writes it


def pct(x: float) -> str:
    return f"{x * 100:.0f} %"


# --------------------------------------------------------------------------- the generated parts


def course_map(body: str, results: dict) -> str:
    """README's course-map table with its last column (full / FAST times) from notebooks.json."""
    notebooks = results["notebooks"]["notebooks"]
    lines = []
    for line in body.splitlines():
        match = re.match(r"^\| `(\d\d_\w+)` \|", line)
        if match:
            times = notebooks.get(match.group(1))
            cells = line.rstrip().rstrip("|").split(" | ")
            cells[-1] = (
                f"{seconds(times['full']['seconds'])} / {seconds(times['fast']['seconds'])}"
                if times
                else "not measured yet"  # a notebook newer than the last benchmarks/notebooks.py run
            )
            line = " | ".join(cells) + " |"
        lines.append(line)
    return "\n".join(lines) + "\n"


def course_times(body: str, results: dict) -> str:
    notebooks = results["notebooks"]["notebooks"]
    peak_name, peak = max(
        ((name, mode["peak_rss_mb"]) for name, nb in notebooks.items() for mode in [nb["full"]]), key=lambda x: x[1]
    )
    fast = sum(nb["fast"]["seconds"] for nb in notebooks.values()) / 60
    full = sum(nb["full"]["seconds"] for nb in notebooks.values()) / 60
    when = results["notebooks"]["machine"].get("date", "")
    return (
        f"Times: wall time of the whole notebook on a quiet 2-core CPU, run in course order with a fresh runs\n"
        f"folder (each notebook builds the stages it needs the first time; later notebooks reuse them), measured by\n"
        f"`benchmarks/notebooks.py` on {when} (`benchmarks/results/notebooks.json`, with peak memory: at most\n"
        f"{peak / 1000:.2f} GB, in {peak_name[:2]}'s full run). The whole course in FAST mode takes about {fast:.0f} "
        f"minutes; in full mode\nabout {full:.0f}.\n"
    )


def full_run(body: str, results: dict) -> str:
    run = results["run"]
    s = run["summary"]
    base, sft, reward, ppo, dpo = (s[k] for k in ("base", "sft", "reward", "ppo", "dpo"))
    # The stage records its rounds and labels as totals (older records listed the rounds one by one).
    rounds = dpo.get("rounds") or []
    n_rounds = dpo.get("rounds_trained", len(rounds))
    labels = dpo.get("annotator_labels", sum(r.get("labels", 0) for r in rounds))
    dpo_detail = f"{n_rounds} rounds" + (f", {labels:,} annotator labels" if labels else "")
    rows = [
        (
            "base (shipped)",
            base,
            f"{pct(base['fluent_rate'])} fluent text, follows an instruction "
            f"{pct(base['follows_instruction_rate'])} of the time",
        ),
        (
            "SFT",
            sft,
            f"follows the instruction {pct(sft['follows_instruction_rate'])}, ends with EOS "
            f"{pct(sft['eos_rate'])}, Riley's gold score {minus(base['gold'], 1)} → {minus(sft['gold'], 2)}",
        ),
        (
            "reward model",
            reward,
            f"held-out accuracy {pct(reward['accuracy'])} against a Bayes ceiling of "
            f"{pct(reward['bayes_accuracy'])} ({reward['n_train_pairs']:,} noisy labels)",
        ),
        (
            "PPO",
            ppo,
            f"gold win-rate over SFT {pct(ppo['gold_win_rate_vs_sft'])} at KL {ppo['kl']:.1f} nats per answer",
        ),
        ("DPO", dpo, f"gold win-rate over SFT {pct(dpo['gold_win_rate_vs_sft'])} at KL {dpo['kl']:.1f} ({dpo_detail})"),
    ]
    total = sum(record["seconds"] for _, record, _ in rows)
    same = s.get("dpo_on_ppo_labels")
    if same:  # DPO on the very pairs PPO's reward model learned (07's fair fight, offline, this seed)
        rows.append(
            (
                "DPO on PPO's labels",
                same,
                f"gold win-rate over SFT {pct(same['gold_win_rate_vs_sft'])} at KL {same['kl']:.1f} "
                f"({same['annotator_labels']:,} labels, the reward model's pairs)",
            )
        )
    lines = [
        f"`rlhf-tutor run` on a {run['machine']['cpus']}-core CPU (about {seconds(total)} for the five stages; one "
        "run, "
        "seed 0, Riley as",
        "the annotator, 8 answers to each of the 35 held-out prompts; `benchmarks/results/run.json`, which says",
        "where its numbers come from):",
        "",
        "| stage | time | result |",
        "|---|---|---|",
        *(f"| {name} | {seconds(record['seconds'])} | {text} |" for name, record, text in rows),
    ]
    return "\n".join(lines) + "\n"


def noise(body: str, results: dict) -> str:
    run, ev, machines = results["run"]["summary"], results["eval_noise"], results["machines"]
    draws = ev["sft_gold_tutor_sampler"]
    a, b = machines["runs"]
    dpo = [s for s in results["dpo"]["stage"] if s["mode"] == "full"]
    seeds = ", ".join(pct(s["gold_win_rate_vs_sft"]) for s in dpo)
    names = ", ".join(str(s["seed"]) for s in dpo[:-1]) + f" and {dpo[-1]['seed']}"

    def moved(key: str, fmt) -> str:
        return f"{fmt(a[key])} vs {fmt(b[key])}"

    return (
        f"**How much these numbers move.** One evaluation is one draw: the SFT answers this run compares\n"
        f"against score {run['sft']['gold']:.2f}, where {ev['seeds']} other draws of the same model average "
        f"{draws['mean']:.2f} ± {draws['stdev']:.2f}\n"
        f"(`benchmarks/results/eval_noise.json`). Training seeds move the result too: DPO's win-rate is {seeds} on "
        "seeds\n"
        f"{names} (`benchmarks/results/dpo.json`). And the same seed gives other numbers on another machine\n"
        "(floating-point results differ between processors and libraries, and sampling amplifies small differences). "
        f"{machines['what'][0].upper()}"
        f"{machines['what'][1:]}:\n"
        f"PPO {moved('ppo_win_rate', pct)}, DPO {moved('dpo_win_rate', pct)} at KL "
        f"{moved('dpo_kl', lambda x: f'{x:.1f}')}, with {moved('dpo_labels', lambda x: f'{x:,}')} annotator labels\n"
        f"(`benchmarks/results/machines.json`). So expect a fresh clone to differ from the table by a few\n"
        f"points of win-rate and up to a couple of nats of KL; the direction of the comparisons is what\n"
        f"reproduces.\n"
    )


def equal_labels(body: str, results: dict) -> str:
    """Notebook 07's fair fight: PPO and DPO on the same labels, mean and 95 % interval over seeds."""
    sys.path.insert(0, str(ROOT))
    from tutor.labs.comparison.budget import difference_interval, label_counts, main_rows

    data = results["comparison"]
    lines = [
        "| regime | annotator labels | PPO win-rate over SFT | DPO win-rate over SFT | DPO − PPO (95 % interval) |",
        "|---|---|---|---|---|",
    ]

    def cell(row) -> str:
        low, high = max(0.0, row["win_interval"][0]), min(1.0, row["win_interval"][1])
        return f"{pct(row['win_rate'])} ({pct(low)}–{pct(high)}) at KL {row['kl']:.1f}"

    seeds = set()
    for regime, rows in main_rows(data["summary"]).items():
        ppo, dpo = rows.get("ppo"), rows.get("dpo")
        if not (ppo and dpo and min(len(ppo["seeds"]), len(dpo["seeds"])) > 1):
            continue
        seeds.add(len(ppo["seeds"]))
        low, high = difference_interval(ppo["win_rates"], dpo["win_rates"])
        gap = f"{low * 100:+.0f} to {high * 100:+.0f} points".replace("-", "−") + (
            " (no measurable difference)" if low <= 0 <= high else ""
        )
        lines.append(f"| {regime} | {label_counts(ppo, dpo)} | {cell(ppo)} | {cell(dpo)} | {gap} |")
    return (
        f"At equal labels (notebook 07's fair fight, `benchmarks/results/comparison.json`, {max(seeds)} seeds each, "
        f"measured {data['when'][:10]}):\n\n" + "\n".join(lines) + "\n"
    )


PARTS = {
    "course-map": course_map,
    "course-times": course_times,
    "full-run": full_run,
    "noise": noise,
    "equal-labels": equal_labels,
}


def render(readme: str, results: dict | None = None) -> str:
    """README with every generated part rewritten from `results` (default: the committed ones)."""
    if results is None:
        results = {name: load(name) for name in ("notebooks", "run", "eval_noise", "machines", "dpo", "comparison")}
    found = set()

    def replace(match: re.Match) -> str:
        name = match.group("name")
        if name not in PARTS:
            raise SystemExit(f"README has a generated part {name!r} that {Path(__file__).name} does not know")
        found.add(name)
        return match.group(1) + PARTS[name](match.group("body"), results) + match.group(4)

    out = BLOCK.sub(replace, readme)
    missing = set(PARTS) - found
    if missing:
        raise SystemExit(f"README lacks the generated parts {sorted(missing)} (markers <!-- readme_tables: NAME -->)")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if README is stale")
    args = parser.parse_args()
    old = README.read_text(encoding="utf-8")
    new = render(old)
    if args.check:
        if old != new:
            sys.stdout.writelines(
                difflib.unified_diff(old.splitlines(True), new.splitlines(True), "README.md", "generated")
            )
            return 1
        print("README.md matches benchmarks/results.")
        return 0
    README.write_text(new, encoding="utf-8")
    print("README.md written from benchmarks/results.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
