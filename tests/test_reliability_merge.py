"""A merge is about the same answers: files whose pairs share ids but not prompt and both answers
(two students' live pairs) are refused in one sentence, as course/classroom.md promises."""

from __future__ import annotations

import pytest

from tutor.errors import TutorError
from tutor.labeling import LivePairs, PreferenceLabeler, merge_labels
from tutor.labeling.classroom import main as merge_cli

PROMPTS = ["Explain duration.", "What is a coupon?", "Explain convexity.", "Is a junk bond safe?"]


def student(folder, name, sample):
    labeler = PreferenceLabeler(LivePairs(PROMPTS, sample), folder / f"{name}.jsonl", name, double_click_s=0)
    labeler.simulate("riley")
    return labeler


def ada_samples(prompt):
    return "Plainly: " + prompt, "In detail, " + prompt


def bob_samples(prompt):
    return "Plainly: " + prompt, "Something else entirely about " + prompt


def test_live_pairs_with_different_answers_refuse_to_merge(tmp_path, capsys):
    folder = tmp_path / "class"
    student(folder, "ada", ada_samples)
    student(folder, "bob", bob_samples)
    with pytest.raises(TutorError, match=r"ada.jsonl and bob.jsonl hold pair '0000-[0-9a-f]+' with a different b,"):
        merge_labels(folder)
    assert merge_cli([str(folder)]) == 2
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "merge only files labelled on one shared list of pairs" in out


def test_a_different_prompt_under_the_same_id_is_named_too(tmp_path):
    folder = tmp_path / "class"
    student(folder, "ada", ada_samples)
    student(folder, "bob", lambda prompt: ("Another: " + prompt, "Other: " + prompt))
    with pytest.raises(TutorError, match="with a different a and b"):
        merge_labels(folder)


def test_the_same_answers_still_merge(tmp_path):
    folder = tmp_path / "class"
    student(folder, "ada", ada_samples)
    student(folder, "bob", ada_samples)
    room = merge_labels(folder)
    assert len(room.pairs) == len(PROMPTS) and room.kappa() == pytest.approx(1.0)


def test_live_pairs_of_two_models_have_different_fingerprints(tiny_model, nudged_model, tiny_tokenizer):
    ada = LivePairs.from_model(PROMPTS, tiny_model, tiny_tokenizer, max_new_tokens=8)
    bob = LivePairs.from_model(PROMPTS, nudged_model, tiny_tokenizer, max_new_tokens=8)
    assert ada.ids == bob.ids and ada.fingerprint != bob.fingerprint
