"""README's numbers are the committed benchmark results: benchmarks/readme_tables.py writes them, and
this test fails when README and benchmarks/results/*.json disagree (run the script to fix README)."""

import copy
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def script():
    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "benchmarks" / "readme_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_matches_the_committed_results():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert script().render(readme) == readme, "README is stale: run `python benchmarks/readme_tables.py`"


def test_a_changed_result_changes_readme():
    tables = script()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    results = {name: tables.load(name) for name in ("notebooks", "run", "eval_noise", "machines", "dpo", "comparison")}
    changed = copy.deepcopy(results)
    changed["notebooks"]["notebooks"]["02_sft"]["full"]["seconds"] = 1234.0
    changed["run"]["summary"]["ppo"]["gold_win_rate_vs_sft"] = 0.123
    from tutor.ppo import PPOSettings

    ppo_offline = next(
        r
        for r in changed["comparison"]["summary"]
        if (r["regime"], r["method"], r["labels"], r["beta"]) == ("offline", "ppo", 1000, PPOSettings().beta)
    )
    ppo_offline["win_rate"] = 0.987
    out = tables.render(readme, changed)
    assert "| 1234 s / " in out and "gold win-rate over SFT 12 %" in out
    assert "| offline | 1,000 | 99 % (" in out
    assert tables.render(readme, results) == readme


def test_every_course_notebook_has_a_row_in_the_map_with_its_measured_time():
    """A notebook newer than the last benchmarks/notebooks.py run says so instead of showing a time."""
    notebooks = json.loads((ROOT / "benchmarks" / "results" / "notebooks.json").read_text())["notebooks"]
    names = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert set(notebooks) <= set(names), "results time a notebook that no longer exists"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in names:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"{name} has no row in README's course map"
        if name not in notebooks:
            assert row.endswith("| not measured yet |"), row


def test_a_notebook_without_results_is_not_measured_yet():
    tables = script()
    body = "| `09_new` | something | 1 s / 1 s |\n"
    assert tables.course_map(body, {"notebooks": {"notebooks": {}}}) == "| `09_new` | something | not measured yet |\n"


def test_readme_without_a_generated_part_is_an_error():
    tables = script()
    with pytest.raises(SystemExit, match="lacks the generated parts"):
        tables.render("no markers here")
