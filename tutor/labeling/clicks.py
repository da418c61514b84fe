"""What the learner pressed, and what it means: the click ↔ label mapping of the labeler.

On screen the left answer is "A" and the right one "B"; which original answer (a or b) is shown
on the left is random per pair, so a habit of clicking left does not become a preference for
answer a. A record keeps both: the `click` (left / right / tie / skip) and the `label` in terms
of the original answers (a / b / tie / skip), plus `left`, the answer that was shown on the left.
"""

from __future__ import annotations

import random

from tutor.errors import TutorError

CLICKS = ("left", "right", "tie", "skip")
SIDES = ("a", "b")


def left_side(pair_id: str, seed: int) -> str:
    """Which original answer is shown on the left: random per pair, the same in every session."""
    return "a" if random.Random(f"{seed}/{pair_id}").random() < 0.5 else "b"


def label_for_click(click: str, left: str) -> str:
    """Translate what was pressed (left / right / tie / skip) into a label on the original a / b."""
    if click not in CLICKS:
        raise TutorError(f"Unknown click {click!r}; use one of {', '.join(map(repr, CLICKS))}.")
    if left not in SIDES:
        raise TutorError(f"left must be 'a' or 'b' (the answer shown on the left), not {left!r}.")
    if click == "left":
        return left
    if click == "right":
        return "b" if left == "a" else "a"
    return click


def click_for_label(label: str, left: str) -> str:
    """The click that gives `label` when answer `left` is shown on the left."""
    if label in ("tie", "skip"):
        return label
    return "left" if label == left else "right"
