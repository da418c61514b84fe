"""Preference data: bad rows fail in one sentence naming the row and field; ties are dropped and
counted (or refused), and all ties is an error."""

import pytest

from tutor.core.chat import as_conversational
from tutor.errors import TutorError
from tutor.preferences import check_preference_rows, to_dataset

ROW = as_conversational("Explain duration.", chosen="Duration measures rate sensitivity.", rejected="Whatever.")


@pytest.mark.parametrize(
    "rows, message",
    [
        ([], "empty"),
        ([{k: v for k, v in ROW.items() if k != "prompt"}], "row 0 has no 'prompt'"),
        ([ROW, {k: v for k, v in ROW.items() if k != "chosen"}], "row 1 has no 'chosen'"),
        ([{k: v for k, v in ROW.items() if k != "rejected"}], "row 0 has no 'rejected'"),
        ([ROW, as_conversational("Explain duration.", chosen="", rejected="Whatever.")], "row 1 has an empty 'chosen'"),
        ([as_conversational("  ", chosen="a", rejected="b")], "row 0 has an empty 'prompt'"),
        ([{"prompt": "Explain duration.", "chosen": "Good.", "rejected": ""}], "row 0 has an empty 'rejected'"),
    ],
)
def test_bad_preference_rows_name_the_row_and_field(rows, message):
    with pytest.raises(TutorError, match=message):
        check_preference_rows(rows)


def test_ties_are_dropped_and_counted():
    same = as_conversational(
        "Explain duration.",
        chosen="Duration measures rate sensitivity.",
        rejected="Duration measures rate sensitivity.",
    )
    flagged = {**ROW, "tie": True}
    kept, ties = check_preference_rows([ROW, same, flagged, ROW])
    assert len(kept) == 2 and ties == 2
    assert len(to_dataset([ROW, same])) == 1


def test_ties_can_be_refused_and_all_ties_is_an_error():
    same = as_conversational("Explain duration.", chosen="Same answer.", rejected="Same answer.")
    with pytest.raises(TutorError, match="row 1 is a tie"):
        check_preference_rows([ROW, same], drop_ties=False)
    with pytest.raises(TutorError, match="All 2 preference rows are ties"):
        check_preference_rows([same, same])
