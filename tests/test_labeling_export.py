"""Exporting labels: TRL preference rows (prompt / chosen / rejected), with every tie and skip counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor.errors import TutorError
from tutor.labeling import LabelStore, preference_rows
from tutor.world import candidate_pairs

PAIRS = candidate_pairs(12, seed=3)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "labels" / "ada.jsonl"


def labelled_store(path, labels):
    store = LabelStore(path, annotator_id="ada", pair_set=PAIRS)
    for pair, label in zip(PAIRS, labels, strict=False):
        store.add(pair, label)
    return store


def test_export_is_a_conversational_trl_preference_dataset(path, capsys):
    store = labelled_store(path, ["a", "b", "tie", "skip", "a"])
    ds = store.to_dataset()
    assert ds.column_names == ["prompt", "chosen", "rejected"]
    assert len(ds) == 3
    first, second = ds[0], ds[1]
    assert first["prompt"] == [{"role": "user", "content": PAIRS[0][0]}]
    assert first["chosen"] == [{"role": "assistant", "content": PAIRS[0][1]}]
    assert first["rejected"] == [{"role": "assistant", "content": PAIRS[0][2]}]
    assert second["chosen"][0]["content"] == PAIRS[1][2]  # "b" preferred
    out = capsys.readouterr().out
    assert "3 preference rows from 3 A/B choices; 1 tie(s) dropped; 1 skip(s) dropped" in out


def test_export_plain_strings_and_ties_as_two_rows(path):
    store = labelled_store(path, ["a", "tie", "skip"])
    ds = store.to_dataset(conversational=False, ties="both", quiet=True)
    assert ds.column_names == ["prompt", "chosen", "rejected"]
    assert ds["chosen"] == [PAIRS[0][1], PAIRS[1][1], PAIRS[1][2]]
    assert ds["rejected"] == [PAIRS[0][2], PAIRS[1][2], PAIRS[1][1]]
    report = store.export_report(ties="both")
    assert (report.rows, report.choices, report.ties, report.skips) == (3, 1, 1, 1)


def test_an_empty_export_is_a_clear_error_and_the_file_stays(path):
    store = labelled_store(path, ["skip", "skip", "tie"])
    before = path.read_bytes()
    with pytest.raises(TutorError, match="Nothing to export.*2 skip"):
        store.to_dataset()
    with pytest.raises(TutorError, match="ties must be"):
        store.to_dataset(ties="half")
    assert len(store.to_dataset(ties="both", quiet=True)) == 2
    assert path.read_bytes() == before


def test_preference_rows_of_plain_records_count_every_label():
    records = [
        {"prompt": "p", "a": "x", "b": "y", "label": "b"},
        {"prompt": "q", "a": "u", "b": "v", "label": "tie"},
        {"prompt": "r", "a": "s", "b": "t", "label": "skip"},
    ]
    rows, report = preference_rows(records, conversational=False)
    assert rows == [{"prompt": "p", "chosen": "y", "rejected": "x"}]
    assert str(report) == "1 preference rows from 1 A/B choices; 1 tie(s) dropped; 1 skip(s) dropped."
    rows, report = preference_rows(records, ties="both", conversational=False)
    assert [row["chosen"] for row in rows] == ["y", "u", "v"] and report.rows == 3
