"""Merging a class's label files: majority labels, κ against hand-computed values, one data set."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor.errors import TutorError
from tutor.labeling import (
    LabelStore,
    PairList,
    PreferenceLabeler,
    merge_labels,
    personas_agree,
)
from tutor.world import candidate_pairs

PAIRS = candidate_pairs(6, seed=8)
IDS = PairList(PAIRS).ids
# rows: pairs; columns: the labels of ann0, ann1, ann2, ann3
VOTES = [
    ["a", "a", "a", "a"],  # unanimous
    ["a", "a", "b", "b"],  # split evenly: a class tie
    ["b", "b", "b", "tie"],
    ["a", "tie", "tie", "skip"],  # tie wins 2 to 1
    ["skip", "skip", "skip", "skip"],  # nobody judged it
    ["a", "b", "tie", "a"],
]


def write_class(folder: Path, votes=VOTES, pairs=PAIRS, names=("ann0", "ann1", "ann2", "ann3")) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for j, name in enumerate(names):
        store = LabelStore(folder / f"{name}.jsonl", annotator_id=name, pair_set=pairs)
        for pair, row in zip(pairs, votes, strict=True):
            store.add(pair, row[j])
    return folder


def test_merge_a_class_folder(tmp_path):
    room = merge_labels(write_class(tmp_path / "class"))
    assert room.annotators == ["ann0", "ann1", "ann2", "ann3"]
    assert room.majority() == {IDS[0]: "a", IDS[1]: "tie", IDS[2]: "b", IDS[3]: "tie", IDS[5]: "a"}
    # counts (a, b, tie): [4,0,0] [2,2,0] [0,3,1] [1,0,2] [2,1,1]; the all-skip pair has none.
    # P_i = 1, 1/3, 1/2, 1/3, 1/6 → P̄ = 7/15; shares 9/19, 6/19, 4/19 → P_e = 133/361
    # κ = (7/15 − 133/361)/(1 − 133/361) = 532/3420
    assert room.kappa() == pytest.approx(532 / 3420)
    assert room.fleiss_kappa() == pytest.approx(532 / 3420)
    # ann0 vs ann1 on pairs both judged: (a,a) (a,a) (b,b) (a,tie) (a,b): p_o = 3/5;
    # ann0 a4 b1, ann1 a2 b2 tie1 → p_e = (8 + 2)/25 = 0.4; κ = 0.2/0.6
    assert room.cohen_kappa("ann0", "ann1") == pytest.approx(1 / 3)


def test_two_annotators_use_cohens_kappa(tmp_path):
    folder = write_class(tmp_path / "pair", votes=[row[:2] for row in VOTES], names=("ann0", "ann1"))
    room = merge_labels(folder)
    assert room.kappa() == pytest.approx(1 / 3)


def test_disagreement_table_puts_the_most_disputed_pairs_first(tmp_path):
    table = merge_labels(write_class(tmp_path / "class")).disagreements()
    assert list(table["pair_id"]) == [IDS[5], IDS[1], IDS[3], IDS[2], IDS[0], IDS[4]]
    first = table.iloc[0]
    assert (first["a"], first["b"], first["tie"], first["skip"]) == (2, 1, 1, 0)
    assert first["class_label"] == "a" and first["majority_share"] == pytest.approx(0.5)
    assert first["agreement"] == pytest.approx(1 / 6)
    assert len(merge_labels(tmp_path / "class").disagreements(top=2)) == 2


def test_one_merged_dataset_for_the_class_reward_model(tmp_path, capsys):
    room = merge_labels(write_class(tmp_path / "class"))
    ds = room.to_dataset(conversational=False)
    assert ds.column_names == ["prompt", "chosen", "rejected"]
    assert ds["chosen"] == [PAIRS[0][1], PAIRS[2][2], PAIRS[5][1]]  # class labels a, b, a
    assert "3 preference rows from 3 A/B choices; 2 tie(s) dropped" in capsys.readouterr().out
    every = room.export_report(method="all")
    assert (every.rows, every.choices, every.ties, every.skips) == (15, 15, 4, 5)
    conv = room.to_dataset(method="all", quiet=True)
    assert len(conv) == 15 and conv[0]["prompt"] == [{"role": "user", "content": PAIRS[0][0]}]
    with pytest.raises(TutorError, match="method must be"):
        room.to_dataset(method="vote")


def test_files_from_different_pair_sets_are_refused(tmp_path):
    folder = write_class(tmp_path / "class")
    other = candidate_pairs(6, seed=9)
    write_class(folder, pairs=other, names=("zed", "ann4", "ann5", "ann6"))
    with pytest.raises(TutorError, match="different pair sets.*zed.jsonl"):
        merge_labels(folder)


def test_the_same_annotator_twice_is_refused(tmp_path):
    folder = write_class(tmp_path / "class")
    (folder / "copy").mkdir()
    (folder / "copy" / "ann0-again.jsonl").write_bytes((folder / "ann0.jsonl").read_bytes())
    with pytest.raises(TutorError, match="'ann0' appears in two files"):
        merge_labels([folder / "ann0.jsonl", folder / "copy" / "ann0-again.jsonl"])


def test_empty_or_missing_inputs_are_named(tmp_path):
    with pytest.raises(TutorError, match="no .jsonl"):
        merge_labels(tmp_path)
    with pytest.raises(TutorError, match="no label file"):
        merge_labels([tmp_path / "missing.jsonl"])
    folder = write_class(tmp_path / "skips", votes=[["skip", "skip"]] * 6, names=("x", "y"))
    room = merge_labels(folder)
    with pytest.raises(TutorError, match="Nothing to export"):
        room.to_dataset()
    with pytest.raises(TutorError, match="no labelled pair in common"):
        room.kappa()


def test_a_simulated_class_agrees_with_its_personas(tmp_path):
    """Riley-like and Quinn-like learners: κ within each group beats κ across them."""
    pairs = candidate_pairs(40, seed=11)
    folder = tmp_path / "class"
    for i, persona in enumerate(["riley", "riley", "riley", "quinn", "quinn", "quinn"]):
        labeler = PreferenceLabeler(pairs, folder / f"s{i}.jsonl", f"s{i}", seed=i, keys=False)
        labeler.simulate(persona, seed=i, temperature=0.3)
    room = merge_labels(folder)
    within = room.cohen_kappa("s0", "s1")
    across = room.cohen_kappa("s0", "s3")
    assert within > across
    table = room.persona_table(include_simulated=True)
    assert list(table["annotator"]) == [f"s{i}" for i in range(6)]
    assert (table["riley"][:3] > table["quinn"][:3]).all()
    assert (table["quinn"][3:] > table["riley"][3:]).all()
    both = personas_agree(pairs)
    assert 0 < both.rate < 1  # the personas themselves disagree on some pairs


def test_simulated_labels_can_be_left_out(tmp_path):
    pairs = candidate_pairs(6, seed=8)
    folder = tmp_path / "class"
    for name in ("ann0", "ann1"):
        labeler = PreferenceLabeler(pairs, folder / f"{name}.jsonl", name, keys=False, double_click_s=0)
        labeler.click("left")
        labeler.click("right")
        labeler.simulate("riley")
    everyone = merge_labels(folder)
    assert everyone.simulated == 8 and sum(len(v) for v in everyone.votes.values()) == 12
    humans = merge_labels(folder, include_simulated=False)
    assert sum(len(v) for v in humans.votes.values()) == 4
    for path in folder.glob("*.jsonl"):  # only simulated labels: nothing left to compare
        path.unlink()
    for name in ("ann0", "ann1"):
        PreferenceLabeler(pairs, folder / f"{name}.jsonl", name, keys=False).simulate("quinn")
    with pytest.raises(TutorError, match="no labels to compare \\(12 simulated label"):
        merge_labels(folder, include_simulated=False).kappa()
    assert set(humans.pairs) == set(PairList(pairs).ids[:2])


def test_the_command_line_merge_saves_a_dataset(tmp_path, capsys):
    from datasets import load_from_disk

    from tutor.labeling.classroom import main

    folder = write_class(tmp_path / "class")
    assert main([str(folder), "--out", str(tmp_path / "merged"), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "Fleiss' kappa: 0.156" in out and "Saved 3 rows" in out
    assert load_from_disk(str(tmp_path / "merged"))["chosen"][0] == [{"role": "assistant", "content": PAIRS[0][1]}]
    assert main([str(tmp_path / "nowhere")]) == 2
    assert "TutorError: There is no file or folder" in capsys.readouterr().out
