"""The side-by-side sample viewer: same prompts required, navigation, filters, escaping."""

import pytest

from tutor import TutorError
from tutor.core.sampling import Samples
from tutor.ui.viewer import SampleViewer

PROMPTS = [
    "Explain convexity.",
    "Explain convexity for a quant.",
    "Should I put all my savings in junk bonds?",
]


def _samples(prefix):
    return Samples(PROMPTS, [f"{prefix} answer {i} <b>bold</b>" for i in range(3)], [True, True, False])


def test_needs_samples_for_the_same_prompts():
    other = Samples(["Explain duration."] * 3, ["a", "b", "c"], [True] * 3)
    with pytest.raises(TutorError, match="other prompts"):
        SampleViewer({"SFT": _samples("sft"), "DPO": other})
    with pytest.raises(TutorError, match="at least one"):
        SampleViewer({})


def test_buttons_slider_and_filter_move_through_prompts():
    v = SampleViewer({"SFT": _samples("sft"), "DPO": _samples("dpo")})
    assert v.widget is not None  # builds the controls
    v._next.click()
    assert v.index == 1 and "for a quant" in v._body.value
    v._prev.click()
    v._prev.click()
    assert v.index == 2  # wraps around
    v._slider.value = 1
    assert v.index == 0
    v._which.value = "advice"
    assert v.shown == [2] and v.index == 2 and v._slider.max == 1
    assert "no end token" in v._body.value
    with pytest.raises(TutorError, match="Unknown filter"):
        v.show_only("funny")


def test_html_shows_every_model_escaped_with_scores():
    v = SampleViewer({"SFT": _samples("sft"), "DPO": _samples("dpo")}, personas=("riley", "quinn"))
    page = v.html(0)
    assert "SFT" in page and "DPO" in page and "Riley" in page and "Quinn" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
    with pytest.raises(TutorError, match="out of range"):
        v.html(7)
    assert "text/html" in v._repr_mimebundle_()
