"""Odd bytes in and around a label file: a BOM, a one-line stranger, a deeply nested line, a lone
surrogate, an annotator name that is a path. None may lose a label, crash, or write elsewhere."""

from __future__ import annotations

import codecs
import json
import warnings

import pytest

from tutor.errors import TutorError
from tutor.labeling import LabelStore, PreferenceLabeler
from tutor.world import candidate_pairs

PAIRS = candidate_pairs(4, seed=6)


def test_a_utf8_bom_does_not_drop_the_first_label(tmp_path):
    path = tmp_path / "ada.jsonl"
    store = LabelStore(path, "ada", PAIRS)
    store.add(PAIRS[0], "a")
    store.add(PAIRS[1], "b")
    path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())  # saved again by an editor, "UTF-8 with BOM"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "unreadable line" warning either
        reopened = LabelStore(path, "ada", PAIRS)
    assert reopened.labels == store.labels and reopened.corrupt_lines == 0
    reopened.add(PAIRS[2], "tie")
    assert len(LabelStore(path, "ada", PAIRS)) == 3


@pytest.mark.parametrize("text", ["just some notes\n", "notes without a newline", '{"a": 1}\n', "[1, 2, 3]"])
def test_a_one_line_file_that_is_not_a_label_file_is_refused_and_untouched(tmp_path, text):
    path = tmp_path / "notes.jsonl"
    path.write_text(text)
    with pytest.raises(TutorError, match="does not look like a label file"):
        LabelStore(path, "ada", PAIRS)
    assert path.read_text() == text


def test_a_first_record_cut_off_mid_write_is_still_resumed(tmp_path):
    path = tmp_path / "ada.jsonl"
    LabelStore(path, "ada", PAIRS).add(PAIRS[0], "a")
    path.write_bytes(path.read_bytes()[:40])  # the kernel died while writing the very first label
    with pytest.warns(UserWarning, match="skipped 1 unreadable line"):
        store = LabelStore(path, "ada", PAIRS)
    store.add(PAIRS[0], "b")
    with pytest.warns(UserWarning, match="skipped 1 unreadable line"):  # the cut-off line stays, skipped
        assert LabelStore(path, "ada", PAIRS).labels == {store.records[0]["pair_id"]: "b"}


def test_a_deeply_nested_line_is_one_bad_line_not_an_unopenable_file(tmp_path):
    path = tmp_path / "ada.jsonl"
    store = LabelStore(path, "ada", PAIRS)
    store.add(PAIRS[0], "a")
    with open(path, "a") as f:
        f.write("[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.warns(UserWarning, match="skipped 1 unreadable line"):
        reopened = LabelStore(path, "ada", PAIRS)
    assert reopened.labels == store.labels
    reopened.add(PAIRS[1], "b")
    assert len(reopened) == 2


def test_a_lone_surrogate_in_a_rationale_is_stored_as_a_replacement_character(tmp_path):
    path = tmp_path / "ada.jsonl"
    store = LabelStore(path, "ada", PAIRS)
    record = store.add(PAIRS[0], "a", rationale="pasted \ud83d text")
    assert record["rationale"] == "pasted \ufffd text"
    line = path.read_bytes().decode("utf-8")  # still valid UTF-8
    assert json.loads(line)["rationale"] == "pasted \ufffd text"
    assert LabelStore(path, "ada", PAIRS).records[0]["rationale"] == "pasted \ufffd text"


def test_a_lone_surrogate_in_a_pair_is_replaced_too(tmp_path):
    pairs = [("Explain \udc80 duration.", "Answer one.", "Answer two.")]
    store = LabelStore(tmp_path / "ada.jsonl", "ada", pairs)
    store.add(pairs[0], "a")
    assert LabelStore(tmp_path / "ada.jsonl", "ada", pairs).records[0]["prompt"] == "Explain \ufffd duration."


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", ".hidden", "x" * 65, "ada\n", "c:\\x"])
def test_an_annotator_name_that_is_a_path_is_refused(tmp_path, monkeypatch, name):
    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path / "runs"))
    with pytest.raises(TutorError, match="annotator must be a name of up to 64 letters"):
        PreferenceLabeler(PAIRS, annotator=name)
    assert not (tmp_path / "x").exists() and not list(tmp_path.rglob("*.jsonl"))


def test_ordinary_names_work(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path / "runs"))
    for name in ("ada", "student-07", "José", "a.b_c"):
        labeler = PreferenceLabeler(PAIRS, annotator=name)
        assert labeler.store.path.parent == tmp_path / "runs" / "labels"
