"""The labeler, driven the way a learner drives it: clicking buttons and pressing keys."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tutor.errors import TutorError
from tutor.labeling import LabelStore, LivePairs, PairList, PreferenceLabeler
from tutor.labeling.clicks import left_side
from tutor.labeling.widget import _KEYS_ESM
from tutor.world import GoldAnnotator, candidate_pairs

PAIRS = candidate_pairs(12, seed=5)
IDS = PairList(PAIRS).ids


def on_disk(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def labels_on_disk(path: Path) -> list[dict]:
    return [r for r in on_disk(path) if r["kind"] == "label"]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "ada.jsonl"


@pytest.fixture
def labeler(path) -> PreferenceLabeler:
    # clicks in a test come microseconds apart, so the double-click guard is off here
    return PreferenceLabeler(PAIRS, path, "ada", double_click_s=0)


def shown_texts(labeler):
    pair = labeler.current
    return (pair.a, pair.b) if labeler.left == "a" else (pair.b, pair.a)


def test_each_button_click_is_on_disk_with_the_label_in_original_terms(labeler, path):
    expected = []
    for action in ("left", "right", "tie", "skip"):
        pair, left = labeler.current, labeler.left
        labeler.buttons[action].click()
        rec = labels_on_disk(path)[-1]  # read straight from the file after the click
        assert rec["pair_id"] == pair.id and rec["left"] == left and rec["click"] == action
        right = "b" if left == "a" else "a"
        expected.append({"left": left, "right": right, "tie": "tie", "skip": "skip"}[action])
        assert rec["label"] == expected[-1]
    assert len(on_disk(path)) == 4
    assert labeler.progress_text() == "4 / 12 labelled (1 skipped)"


def test_the_panel_called_a_shows_the_left_answer_and_sides_are_random_but_reproducible(labeler, path):
    left_text, right_text = shown_texts(labeler)
    assert left_text in labeler.left_html.value.replace("&#x27;", "'")
    assert right_text in labeler.right_html.value.replace("&#x27;", "'")
    sides = [left_side(pid, seed=0) for pid in PairList(candidate_pairs(60)).ids]
    assert 15 < sides.count("a") < 45  # both orders occur
    assert sides == [left_side(pid, seed=0) for pid in PairList(candidate_pairs(60)).ids]
    assert sides != [left_side(pid, seed=1) for pid in PairList(candidate_pairs(60)).ids]


def test_undo_button_writes_a_tombstone_and_shows_the_pair_again(labeler, path):
    first = labeler.current
    labeler.button_a.click()
    second = labeler.current
    assert second != first
    labeler.button_undo.click()
    assert labeler.current == first
    assert on_disk(path)[-1]["kind"] == "undo"
    assert labeler.progress_text() == "0 / 12 labelled"
    assert labeler.button_undo.disabled  # nothing left to undo
    labeler.button_b.click()
    assert LabelStore(path).labels == {first.id: "b" if labeler.store.records[0]["left"] == "a" else "a"}


def test_the_rationale_is_saved_with_the_label_and_cleared(labeler, path):
    labeler.rationale.value = "  B is polite and correct  "
    labeler.button_b.click()
    assert labels_on_disk(path)[-1]["rationale"] == "B is polite and correct"
    assert labeler.rationale.value == ""
    labeler.button_a.click()
    assert labels_on_disk(path)[-1]["rationale"] == ""


def test_a_click_during_a_click_is_ignored_and_buttons_are_off_meanwhile(path):
    """The second click of a double click can arrive while the first is still being handled."""
    states, made = [], {}

    def sample(prompt):
        if "labeler" in made:  # the next pair is sampled inside the first click
            labeler = made["labeler"]
            states.append({a: b.disabled for a, b in labeler.buttons.items()})
            labeler.button_a.click()
            labeler.button_undo.click()
        return prompt + " answer one", prompt + " answer two"

    made["labeler"] = labeler = PreferenceLabeler(
        LivePairs(["Explain duration.", "What is a coupon?"], sample), path, "ada", double_click_s=0
    )
    labeler.button_a.click()
    assert [r["kind"] for r in on_disk(path)] == ["label"]  # no second label, no undo
    assert states and all(all(s.values()) for s in states)
    assert not labeler.button_a.disabled  # back on once the click is done


def test_a_double_click_from_the_browser_labels_once(path):
    labeler = PreferenceLabeler(PAIRS, path, "ada", double_click_s=60)
    front_end_click = {"event": "click"}
    labeler.button_a._handle_custom_msg(front_end_click, [])
    labeler.button_a._handle_custom_msg(front_end_click, [])  # the second click of a double click
    assert len(labels_on_disk(path)) == 1
    assert "Ignored a repeated click" in labeler.status.value
    labeler.button_tie._handle_custom_msg(front_end_click, [])  # a different button is a new decision
    assert [r["label"] for r in labels_on_disk(path)][-1] == "tie"


def test_keys_from_the_keyboard_strip_label_through_the_same_path(labeler, path):
    strip = labeler.keys
    assert strip is not None
    lefts = []
    for key in ("a", "ArrowRight", "t", "s"):
        lefts.append(labeler.left)
        strip._handle_custom_msg({"key": key}, [])  # what the browser sends on a key press
    strip._handle_custom_msg({"key": "x"}, [])  # not a shortcut: ignored
    strip._handle_custom_msg({"key": "u"}, [])
    recs = on_disk(path)
    assert [r.get("click") for r in recs] == ["left", "right", "tie", "skip", None]
    assert recs[-1]["kind"] == "undo"
    assert recs[0]["label"] == lefts[0]
    with pytest.raises(TutorError, match="Unknown key"):
        labeler.press("q")


def test_the_key_strip_keeps_jupyterlab_shortcuts_from_firing():
    assert 'setAttribute("data-lm-suppress-shortcuts", "true")' in _KEYS_ESM
    assert "tabIndex = 0" in _KEYS_ESM
    assert "stopPropagation" in _KEYS_ESM and "event.repeat" in _KEYS_ESM
    assert "ctrlKey || event.metaKey" in _KEYS_ESM  # Ctrl+S still saves the notebook


def test_keys_can_be_turned_off(path):
    labeler = PreferenceLabeler(PAIRS, path, "ada", keys=False)
    assert labeler.keys is None and labeler.keys not in labeler.widget.children


def test_simulate_clicks_the_same_buttons_and_marks_its_labels(labeler, path):
    clicks = []
    labeler.button_a.on_click(lambda b: clicks.append("left"))
    labeler.button_b.on_click(lambda b: clicks.append("right"))
    assert labeler.simulate("quinn", 5, temperature=0) == 5
    assert len(clicks) == 5
    recs = labels_on_disk(path)
    assert [r["click"] for r in recs] == clicks
    assert all(r["by"] == "simulated:quinn" for r in recs)
    quinn = GoldAnnotator("quinn")
    for r in recs:  # with no label noise the simulated persona picks its higher-scored answer
        better = "a" if quinn.score(r["prompt"], r["a"]) > quinn.score(r["prompt"], r["b"]) else "b"
        assert r["label"] == better
    assert labeler.agreement(include_simulated=True)["quinn"].rate == 1.0
    assert labeler.agreement()["quinn"].total == 0  # the learner's own agreement: no labels yet


def test_finish_button_labels_every_remaining_pair_as_the_chosen_persona(labeler, path):
    labeler.button_tie.click()
    labeler.persona_picker.value = "riley"
    labeler.finish_button.click()
    recs = labels_on_disk(path)
    assert len(recs) == len(PAIRS)
    assert recs[0]["by"] == "human" and all(r["by"] == "simulated:riley" for r in recs[1:])
    assert labeler.current is None and labeler.button_a.disabled and labeler.finish_button.disabled
    assert "All pairs are done" in labeler.prompt_html.value
    assert labeler.progress_text() == "12 / 12 labelled (11 by the simulated annotator)"


def test_a_new_labeler_on_the_same_file_resumes_where_the_last_stopped(labeler, path):
    labeler.simulate("riley", 4)
    labeler.button_undo.click()
    again = PreferenceLabeler(PAIRS, path, "ada", double_click_s=0)
    assert again.current.id == IDS[3]
    assert again.progress_text().startswith("3 / 12 labelled")
    again.simulate("riley")
    ids = [r["pair_id"] for r in LabelStore(path).records]
    assert sorted(ids) == sorted(IDS)  # every pair exactly once


def test_agreement_appears_after_n_of_the_learners_own_choices(path):
    labeler = PreferenceLabeler(PAIRS, path, "ada", agreement_after=3, double_click_s=0)
    riley = GoldAnnotator("riley")
    for _ in range(3):
        assert labeler.agreement_html.value == ""
        a, b = shown_texts(labeler)
        prompt = labeler.current.prompt
        labeler.click("left" if riley.score(prompt, a) >= riley.score(prompt, b) else "right")
    assert "over your 3 A/B choices" in labeler.agreement_html.value
    result = labeler.agreement()
    assert result["riley"].rate == 1.0
    assert "Riley 100%" in labeler.agreement_html.value


def test_a_failed_save_is_shown_not_counted_and_the_pair_stays(labeler, path, monkeypatch):
    labeler.button_a.click()
    pair = labeler.current

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    labeler.button_b.click()
    assert isinstance(labeler.last_error, TutorError)
    assert "Not saved" in labeler.status.value and "No space left" in labeler.status.value
    assert labeler.current == pair and len(labeler.store) == 1
    assert not labeler.button_b.disabled  # the learner can try again
    monkeypatch.undo()
    labeler.button_b.click()
    assert len(LabelStore(path).records) == 2


def test_live_pairs_are_sampled_when_shown(path):
    calls = []

    def sample(prompt):
        calls.append(prompt)
        return "Short answer about " + prompt, "A longer answer about " + prompt

    prompts = ["Explain duration.", "What is a coupon?", "Explain convexity."]
    labeler = PreferenceLabeler(LivePairs(prompts, sample), path, "ada", double_click_s=0)
    assert calls == prompts[:1]
    labeler.button_a.click()
    assert calls == prompts[:2]
    labeler.button_undo.click()  # the undone pair comes back with the same answers, not re-sampled
    assert labeler.current.prompt == prompts[0] and calls == prompts[:2]
    assert labeler.simulate("riley") == 3
    assert calls == prompts


def test_bad_arguments_are_named(path):
    with pytest.raises(TutorError, match="agreement_after"):
        PreferenceLabeler(PAIRS, path, "ada", agreement_after=0)
    with pytest.raises(TutorError, match="Unknown persona"):
        PreferenceLabeler(PAIRS, path, "ada", personas=("sam",))
    labeler = PreferenceLabeler(PAIRS, path, "ada")
    with pytest.raises(TutorError, match="n must be"):
        labeler.simulate("riley", -1)
    with pytest.raises(TutorError, match="Unknown action"):
        labeler.click("up")


def test_default_path_is_in_the_runs_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path / "runs"))
    labeler = PreferenceLabeler(PAIRS, annotator="ada", double_click_s=0)
    labeler.button_a.click()
    assert labeler.store.path == tmp_path / "runs" / "labels" / f"ada-{PairList(PAIRS).fingerprint}.jsonl"
    assert len(on_disk(labeler.store.path)) == 1


def test_export_from_the_labeler(labeler):
    labeler.simulate("riley", 6)
    ds = labeler.to_dataset(quiet=True)
    assert len(ds) == 6 and ds.column_names == ["prompt", "chosen", "rejected"]


def test_a_second_labeler_on_the_same_file_moves_on_instead_of_double_labelling(path):
    old = PreferenceLabeler(PAIRS, path, "ada", double_click_s=0)  # the cell was run twice
    new = PreferenceLabeler(PAIRS, path, "ada", double_click_s=0)
    new.button_a.click()
    shown = old.current
    old.button_b.click()  # this pair is already labelled on disk: show the next one instead
    assert "already labelled in another labeler" in old.status.value
    assert old.current != shown and old.current == new.current
    assert [r["pair_id"] for r in LabelStore(path).records] == [shown.id]
    old.button_b.click()
    assert len(LabelStore(path).records) == 2
