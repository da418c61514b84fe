"""Side-by-side answers of several models to the same held-out prompts, with what the judge thinks.

Numbers summarise; reading answers is how a learner sees *what* changed. `SampleViewer` shows one
prompt at a time — SFT, PPO and DPO answers next to each other, each with the gold annotator's
score and the analyser's reading — and steps through prompts with buttons or a slider, optionally
only the prompts of one kind (advice, or a named quant / retail audience).
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from tutor.errors import TutorError

FILTERS = (
    "all prompts",
    "advice",
    "names a quant audience",
    "names a retail audience",
    "names no audience",
)


def _matches(prompt: str, which: str) -> bool:
    from tutor.world import parse_prompt

    parsed = parse_prompt(prompt)
    return {
        "all prompts": True,
        "advice": parsed.kind == "advice",
        "names a quant audience": parsed.audience == "quant",
        "names a retail audience": parsed.audience == "retail",
        "names no audience": parsed.audience is None,
    }[which]


class SampleViewer:
    """Browse {model name: Samples} side by side. All Samples must answer the same prompts."""

    def __init__(self, samples: Mapping[str, object], personas: tuple[str, ...] = ("riley",)):
        from tutor.world import GoldAnnotator

        if not samples:
            raise TutorError("SampleViewer needs at least one model's samples, e.g. {'SFT': sft_samples}.")
        names = list(samples)
        first = list(samples[names[0]].prompts)
        for name in names[1:]:
            if list(samples[name].prompts) != first:
                raise TutorError(
                    f"The samples of {name!r} answer other prompts than those of {names[0]!r}; "
                    "compare models on the same held-out prompts (each stage's saved samples do)."
                )
        if not first:
            raise TutorError("SampleViewer got samples without any prompts.")
        self.samples = dict(samples)
        self.prompts = first
        self.judges = {persona: GoldAnnotator(persona) for persona in personas}
        self.filter = FILTERS[0]
        self.shown = list(range(len(first)))
        self.position = 0
        self._widget = None
        self._syncing = False  # set while the view updates its own controls

    # -- content ----------------------------------------------------------------------------------

    @property
    def index(self) -> int:
        """Index (into the prompts) of the prompt shown now."""
        return self.shown[self.position]

    def card(self, name: str, i: int) -> str:
        """One model's answer to prompt `i`: the gold scores, the text and the analyser's notes."""
        from tutor.world import analyse

        samples = self.samples[name]
        text, prompt = samples.texts[i], self.prompts[i]
        reading = analyse(text, prompt)
        scores = " · ".join(
            f"{persona.capitalize()} {judge.score(prompt, text):+.2f}" for persona, judge in self.judges.items()
        )
        notes = [
            f"{reading.words} words",
            f"politeness {reading.politeness:+.1f}",
            f"audience {reading.audience:+.1f}",
        ]
        if not reading.on_topic:
            notes.append("<b style='color:#c0392b'>off topic</b>")
        if reading.myths:
            notes.append(f"<b style='color:#c0392b'>{reading.myths} false claim(s)</b>")
        if not samples.ended[i]:
            notes.append("no end token")
        return (
            "<div style='flex:1;min-width:220px;border:1px solid #ccc;border-radius:6px;padding:8px;margin:4px'>"
            f"<div style='font-weight:bold'>{html.escape(name)}</div>"
            f"<div style='font-size:90%;color:#555'>gold: {scores}</div>"
            f"<div style='margin:6px 0'>{html.escape(text) or '<i>(empty)</i>'}</div>"
            f"<div style='font-size:85%;color:#555'>{' · '.join(notes)}</div></div>"
        )

    def html(self, i: int | None = None) -> str:
        """The side-by-side view of prompt `i` (default: the one shown now) as HTML."""
        i = self.index if i is None else i
        if not 0 <= i < len(self.prompts):
            raise TutorError(
                f"Prompt index {i} is out of range: there are {len(self.prompts)} prompts (0–{len(self.prompts) - 1})."
            )
        cards = "".join(self.card(name, i) for name in self.samples)
        return (
            f"<div><b>Q ({self.position + 1}/{len(self.shown)}):</b> {html.escape(self.prompts[i])}</div>"
            f"<div style='display:flex;flex-wrap:wrap'>{cards}</div>"
        )

    # -- navigation -------------------------------------------------------------------------------

    def show_only(self, which: str) -> None:
        """Step through only the prompts of one kind (see FILTERS)."""
        if which not in FILTERS:
            raise TutorError(f"Unknown filter {which!r}; choose one of: {', '.join(FILTERS)}.")
        shown = [i for i, p in enumerate(self.prompts) if _matches(p, which)]
        if not shown:
            raise TutorError(f"No held-out prompt {which}.")
        self.filter, self.shown, self.position = which, shown, 0
        self._refresh()

    def go(self, position: int) -> None:
        self.position = max(0, min(len(self.shown) - 1, int(position)))
        self._refresh()

    def next(self) -> None:
        self.go((self.position + 1) % len(self.shown))

    def previous(self) -> None:
        self.go((self.position - 1) % len(self.shown))

    # -- the widget -------------------------------------------------------------------------------

    @property
    def widget(self):
        if self._widget is None:
            import ipywidgets as w

            self._prev = w.Button(description="◀ previous", layout=w.Layout(width="110px"))
            self._next = w.Button(description="next ▶", layout=w.Layout(width="110px"))
            self._slider = w.IntSlider(
                min=1,
                max=len(self.shown),
                value=self.position + 1,
                description="prompt",
                continuous_update=False,
            )
            self._which = w.Dropdown(options=FILTERS, value=self.filter, description="show")
            self._body = w.HTML(self.html())
            self._prev.on_click(lambda _: self.previous())
            self._next.on_click(lambda _: self.next())
            self._slider.observe(lambda ch: None if self._syncing else self.go(ch["new"] - 1), names="value")
            self._which.observe(lambda ch: None if self._syncing else self.show_only(ch["new"]), names="value")
            self._widget = w.VBox([w.HBox([self._prev, self._next, self._slider, self._which]), self._body])
        return self._widget

    def _refresh(self) -> None:
        if self._widget is None:
            return
        self._syncing = True
        try:
            self._slider.max = len(self.shown)
            self._slider.value = self.position + 1
            self._which.value = self.filter
            self._body.value = self.html()
        finally:
            self._syncing = False

    def _repr_mimebundle_(self, include=None, exclude=None):
        widget = self.widget
        if hasattr(widget, "_repr_mimebundle_"):  # ipywidgets 8
            bundle = widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        else:  # ipywidgets 7 (Colab's 7.7.1) displays via _ipython_display_: the same view bundle
            view = {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}
            bundle = {"text/plain": repr(widget)[:110], "application/vnd.jupyter.widget-view+json": view}
            widget._handle_displayed()
        bundle["text/html"] = self.html()  # what a saved notebook or an exported page shows
        return bundle
