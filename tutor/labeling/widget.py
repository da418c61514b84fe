"""`PreferenceLabeler`: the learner becomes the human in RLHF, one pair of answers at a time.

Built from core ipywidgets only (so it runs in JupyterLab, Notebook 7, VS Code and Colab, on
ipywidgets 7.7+ and 8), plus an optional anywidget strip for keyboard shortcuts. Every action goes
through one method, `_act`: button clicks, key presses, "finish with the simulated annotator" and
`simulate()` in headless runs all label through the same code, so what the tests exercise is what
the learner uses.
"""

from __future__ import annotations

import html
import json
import os
import re
import time
from pathlib import Path

from tutor.course import runs_root
from tutor.errors import TutorError
from tutor.labeling.agreement import persona_agreement
from tutor.labeling.clicks import label_for_click, left_side
from tutor.labeling.pairs import Pair, as_pair_source
from tutor.labeling.store import LabelStore
from tutor.world.annotator import PERSONAS, GoldAnnotator, get_persona

# Key -> action. Plain keys only: Ctrl/Cmd combinations (save, copy) are left to the browser.
KEYMAP = {
    "a": "left",
    "ArrowLeft": "left",
    "b": "right",
    "ArrowRight": "right",
    "t": "tie",
    "s": "skip",
    "u": "undo",
}
ACTIONS = ("left", "right", "tie", "skip", "undo")
AGREEMENT_WINDOW = 100  # the live panel scores at most this many recent choices
_CLICK_NAMES = {"left": "A is better", "right": "B is better", "tie": "Tie", "skip": "Skip"}

_KEYS_HINT = "⌨ Click here, then press A or ← (A is better) · B or → (B is better) · T (tie) · S (skip) · U (undo)"
_KEYS_ACTIVE = "⌨ Keys on: A / ← · B / → · T tie · S skip · U undo (click elsewhere to stop)"

# The focused element carries data-lm-suppress-shortcuts so JupyterLab's command-mode keys
# (a = insert cell above, b = below, ...) never fire while the learner labels with the keyboard.
_KEYS_ESM = """
const KEYS = new Set(__KEYS__);
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "tutor-keys";
  box.tabIndex = 0;
  box.setAttribute("data-lm-suppress-shortcuts", "true");
  box.setAttribute("role", "button");
  box.setAttribute("aria-label", "Label with the keyboard");
  const idle = () => { box.textContent = model.get("hint"); };
  const active = () => { box.textContent = model.get("active_hint"); };
  idle();
  box.addEventListener("focus", active);
  box.addEventListener("blur", idle);
  box.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (!KEYS.has(key)) return;
    event.preventDefault();
    event.stopPropagation();
    if (event.repeat) return;  // a held key must not label pair after pair
    model.send({ key: key });
  });
  el.appendChild(box);
}
export default { render };
""".replace("__KEYS__", json.dumps(sorted(KEYMAP)))

_KEYS_CSS = """
.tutor-keys { padding: 6px 10px; border: 1px dashed var(--jp-border-color1, #999);
  border-radius: 6px; cursor: pointer; font-size: 0.9em; user-select: none; }
.tutor-keys:focus { outline: 2px solid var(--jp-brand-color1, #1976d2); border-style: solid; }
"""


def _key_strip():
    """The anywidget keyboard strip, or None where anywidget is not installed (then: buttons only)."""
    try:
        import anywidget
        import traitlets
    except ImportError:
        return None

    class KeyStrip(anywidget.AnyWidget):
        _esm = _KEYS_ESM
        _css = _KEYS_CSS
        hint = traitlets.Unicode(_KEYS_HINT).tag(sync=True)
        active_hint = traitlets.Unicode(_KEYS_ACTIVE).tag(sync=True)

    return KeyStrip()


def check_annotator_name(name: object) -> str:
    """An annotator name becomes a file name in runs/labels: letters, digits, '_', '-' and '.' only, so
    a name such as '../../x' can never write outside that folder."""
    if not isinstance(name, str) or not re.fullmatch(r"[^\W][\w.-]{0,63}", name) or ".." in name:
        raise TutorError(
            f"annotator must be a name of up to 64 letters, digits, '_', '-' or '.' such as 'ada' or 'student-07' "
            f"(it names the file in runs/labels), not {name!r}."
        )
    return name


def default_path(annotator: str | None, pairs: object | None = None) -> Path:
    """runs/labels/<annotator>-<pair set fingerprint>.jsonl, where notebooks 04 and 06 look for labels.

    The name says what the labels mean (which pairs; for live pairs, which model's answers, so also
    which mode's SFT model), so a new pair set, mode or model starts its own file and the same ones
    resume theirs, with no file to rename by hand.
    """
    name = check_annotator_name(annotator or "learner")
    if pairs is None:
        return runs_root() / "labels" / f"{name}.jsonl"
    return runs_root() / "labels" / f"{name}-{as_pair_source(pairs).fingerprint}.jsonl"


def _panel(title: str, text: str) -> str:
    body = html.escape(text)
    return (
        '<div style="border:1px solid var(--jp-border-color1,#ccc);border-radius:6px;'
        'padding:8px 10px;white-space:pre-wrap;line-height:1.4">'
        f"<b>{title}</b><br>{body}</div>"
    )


class PreferenceLabeler:
    """Label pairs of answers; every click is on disk before the next pair appears.

    ``PreferenceLabeler(pairs, path, annotator="ada")`` where `pairs` is a list of
    ``(prompt, a, b)`` tuples or dicts, a `PairList`, or ``LivePairs(prompts, sample)`` to sample
    two answers per prompt from a model as the learner goes. Display it in a cell; headless runs call
    ``simulate("riley")``. Re-running the cell with the same path resumes where the learner stopped.

    On screen the left answer is called "A" and the right one "B"; which original answer is on the
    left is random per pair (seeded) and recorded, so a learner who always clicks left does not
    end up preferring answer a.
    """

    def __init__(
        self,
        pairs,
        path: str | os.PathLike | None = None,
        annotator: str | None = None,
        *,
        seed: int = 0,
        rationale: bool = True,
        keys: bool = True,
        personas: tuple[str, ...] = tuple(PERSONAS),
        agreement_after: int = 10,
        double_click_s: float = 0.4,
    ):
        import ipywidgets as widgets

        if not isinstance(agreement_after, int) or agreement_after < 1:
            raise TutorError(f"agreement_after must be a whole number ≥ 1, not {agreement_after!r}.")
        if not isinstance(double_click_s, (int, float)) or double_click_s < 0:
            raise TutorError(f"double_click_s must be a number of seconds ≥ 0, not {double_click_s!r}.")
        self.personas = tuple(get_persona(p).name for p in personas)
        self.source = as_pair_source(pairs)
        self.store = LabelStore(
            path if path is not None else default_path(annotator, self.source), annotator, self.source
        )
        self.resumed = len(self.store)  # pairs already done when the labeler opened the file
        self.seed = seed
        self.agreement_after = agreement_after
        self.double_click_s = float(double_click_s)
        self.current: Pair | None = None
        self.left = "a"
        self.last_error: Exception | None = None
        self._by = "human"
        self._busy = False
        self._simulating = False
        self._last_action = ("", 0.0)  # (action, time) of the last action, for the double-click guard
        self._persona_preferences: dict = {}  # (persona, pair) -> preferred answer, cached scores

        self.progress = widgets.HTML()
        self.prompt_html = widgets.HTML()
        self.left_html = widgets.HTML(layout=widgets.Layout(width="50%"))
        self.right_html = widgets.HTML(layout=widgets.Layout(width="50%"))
        self.rationale = widgets.Textarea(
            placeholder="Why? (optional, saved with the label)",
            layout=widgets.Layout(width="100%", height="3.2em", display=None if rationale else "none"),
        )

        def button(text: str, tip: str, style: str = "") -> widgets.Button:
            return widgets.Button(
                description=text, tooltip=tip, button_style=style, layout=widgets.Layout(width="auto")
            )

        self.button_a = button("A is better", "The left answer is better (key: a or ←)", "info")
        self.button_b = button("B is better", "The right answer is better (key: b or →)", "info")
        self.button_tie = button("Tie", "Equally good or equally bad (key: t)")
        self.button_skip = button("Skip", "Can't judge this pair (key: s)")
        self.button_undo = button("Undo", "Take back the last label (key: u)", "warning")
        self.buttons = {
            "left": self.button_a,
            "right": self.button_b,
            "tie": self.button_tie,
            "skip": self.button_skip,
            "undo": self.button_undo,
        }
        for action, action_button in self.buttons.items():
            action_button.on_click(lambda _button, action=action: self._act(action))

        self.persona_picker = widgets.Dropdown(
            options=[(get_persona(name).description.split(":")[0], name) for name in self.personas],
            value=self.personas[0],
            description="Persona",
        )
        self.finish_button = button(
            "Finish with the simulated annotator", "Label every remaining pair as the chosen persona would"
        )
        self.finish_button.on_click(lambda _button: self._finish())
        self.agreement_html = widgets.HTML()
        self.status = widgets.HTML()
        self.keys = _key_strip() if keys else None
        if self.keys is not None:
            self.keys.on_msg(self._on_key_msg)

        rows = [
            self.progress,
            self.prompt_html,
            widgets.HBox([self.left_html, self.right_html], layout=widgets.Layout(width="100%")),
            self.rationale,
            widgets.HBox(list(self.buttons.values())),
        ]
        if self.keys is not None:
            rows.append(self.keys)
        rows += [widgets.HBox([self.persona_picker, self.finish_button]), self.agreement_html, self.status]
        self.widget = widgets.VBox(rows)
        self._show(self._next_pair())
        if len(self.store):
            self._say(f"Resumed {self.store.path.name}: {len(self.store)} pair(s) already done.")

    # -- display -----------------------------------------------------------------------------

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        return f"PreferenceLabeler({self.progress_text()}, file={str(self.store.path)!r})"

    def file_note(self) -> str:
        """Which label file this labeler uses, and whether it started it or resumed it."""
        kind = "live pairs sampled from this model" if self.source.live else "this fixed pair list"
        if self.resumed:
            return f"Label file: {self.store.path} (resumed: {self.resumed} of {len(self.source)} pairs already done)."
        return f"Label file: {self.store.path} (a new file for {len(self.source)} pairs: {kind})."

    def progress_text(self) -> str:
        counts = self.store.counts()
        text = f"{len(self.store)} / {len(self.source)} labelled"
        extras = []
        if counts["skip"]:
            extras.append(f"{counts['skip']} skipped")
        simulated = sum(1 for record in self.store.records if record["by"] != "human")
        if simulated:
            extras.append(f"{simulated} by the simulated annotator")
        return text + (f" ({', '.join(extras)})" if extras else "")

    def _say(self, message: str, error: bool = False) -> None:
        color = "var(--jp-error-color1,#c62828)" if error else "var(--jp-ui-font-color2,#555)"
        self.status.value = f'<span style="color:{color}">{html.escape(message)}</span>'

    def _next_pair(self) -> Pair | None:
        done = self.store.done
        for pair_id in self.source.ids:
            if pair_id not in done:
                return self.store.seen_pair(pair_id) or self.source.get(pair_id)
        return None

    def _show(self, pair: Pair | None) -> None:
        self.current = pair
        if pair is None:
            self.prompt_html.value = (
                "<b>All pairs are done.</b> Export them with <code>labeler.to_dataset()</code>, "
                "or press Undo to change the last label."
            )
            self.left_html.value = self.right_html.value = ""
        else:
            self.left = left_side(pair.id, self.seed)
            first, second = (pair.a, pair.b) if self.left == "a" else (pair.b, pair.a)
            self.prompt_html.value = f"<b>Prompt:</b> {html.escape(pair.prompt)}"
            self.left_html.value = _panel("Answer A", first)
            self.right_html.value = _panel("Answer B", second)
        self._refresh()

    def _refresh(self) -> None:
        self.progress.value = f"<b>{html.escape(self.progress_text())}</b>"
        open_pair = self.current is not None and not self._busy
        for action, action_button in self.buttons.items():
            action_button.disabled = self._busy or (not len(self.store) if action == "undo" else not open_pair)
        self.finish_button.disabled = not open_pair
        self._update_agreement()

    def _update_agreement(self) -> None:
        """The live panel: agreement over the learner's latest choices (bounded, so a click stays fast)."""
        choices = [record for record in self.store.records if record["by"] == "human" and record["label"] in ("a", "b")]
        if len(choices) < self.agreement_after:
            self.agreement_html.value = ""
            return
        recent = choices[-AGREEMENT_WINDOW:]
        result = persona_agreement(recent, self.personas, cache=self._persona_preferences)
        parts = [
            f"{name.title()} {agreement.rate:.0%}" for name, agreement in result.items() if agreement.rate is not None
        ]
        over = f"your {len(recent)}" if len(recent) == len(choices) else f"your last {len(recent)}"
        self.agreement_html.value = f"Your agreement with each persona over {over} A/B choices: " + " · ".join(parts)

    # -- actions -----------------------------------------------------------------------------

    def _act(self, action: str) -> None:
        """The one path every label takes: buttons, keys, the finish button and simulate()."""
        if self._busy:  # the first click is still being saved: never label twice
            return
        now = time.monotonic()
        if not self._simulating and action == self._last_action[0] and now - self._last_action[1] < self.double_click_s:
            self._say("Ignored a repeated click (a double click?); click again if you meant it.")
            return
        self._busy = True
        self._refresh()  # buttons off while the click is handled
        try:
            if (
                self.store.refresh()
                and action != "undo"
                and self.current is not None
                and self.current.id in self.store.done
            ):
                self._say("This pair was already labelled in another labeler on the same file; here is the next one.")
                self._show(self._next_pair())
            elif action == "undo":
                self._undo()
            else:
                self._label(action)
            self.last_error = None
        except Exception as exc:  # callbacks' errors are invisible in notebooks: show them
            self.last_error = exc
            reason = str(exc) if isinstance(exc, TutorError) else f"{type(exc).__name__}: {exc}"
            self._say(f"Not saved: {reason}", error=True)
        finally:
            self._last_action = (action, time.monotonic())
            self._busy = False
            self._refresh()

    def _label(self, click: str) -> None:
        if self.current is None:
            self._say("All pairs are done; nothing to label.")
            return
        label = label_for_click(click, self.left)
        self.store.add(self.current, label, left=self.left, rationale=self.rationale.value.strip(), by=self._by)
        self.rationale.value = ""
        self._say(f"Saved “{_CLICK_NAMES[click]}” to {self.store.path.name}.")
        self._show(self._next_pair())

    def _undo(self) -> None:
        target = self.store.undo()
        if target is None:
            self._say("Nothing to undo.")
            return
        self._say(f"Undid “{_CLICK_NAMES[target['click']]}”; the pair is shown again.")
        self._show(self.store.seen_pair(target["pair_id"]))

    def press(self, key: str) -> None:
        """Act on a key name as the keyboard strip sends it ('a', 'ArrowLeft', 't', ...)."""
        action = KEYMAP.get(key if len(key) != 1 else key.lower())
        if action is None:
            raise TutorError(f"Unknown key {key!r}; keys are: {', '.join(KEYMAP)}.")
        self._act(action)

    def _on_key_msg(self, _widget, content, _buffers) -> None:
        key = content.get("key") if isinstance(content, dict) else None
        if isinstance(key, str) and (key if len(key) != 1 else key.lower()) in KEYMAP:
            self.press(key)

    def click(self, action: str) -> None:
        """Click a button by action name: 'left', 'right', 'tie', 'skip' or 'undo'."""
        if action not in self.buttons:
            raise TutorError(f"Unknown action {action!r}; use one of {', '.join(ACTIONS)}.")
        self.buttons[action].click()

    # -- the simulated annotator -------------------------------------------------------------

    def simulate(
        self, persona: str = "riley", n: int | None = None, *, temperature: float | None = None, seed: int | None = None
    ) -> int:
        """Let a persona label `n` pairs (all remaining ones by default) by clicking the buttons.

        The persona sees what the learner sees (left answer, right answer) and presses
        "A is better" or "B is better" through the same handler as a mouse click. Its records say
        ``by="simulated:<persona>"`` so they can be told apart from the learner's own.
        """
        if n is not None and (not isinstance(n, int) or n < 0):
            raise TutorError(f"n must be a whole number of pairs ≥ 0 (or None for all), not {n!r}.")
        annotator = GoldAnnotator(persona, temperature=temperature, seed=self.seed if seed is None else seed)
        done = 0
        self._simulating, self._by = True, f"simulated:{annotator.persona.name}"
        try:
            while self.current is not None and (n is None or done < n):
                pair = self.current
                shown = (pair.a, pair.b) if self.left == "a" else (pair.b, pair.a)
                before = len(self.store)
                self.click("left" if annotator.label(pair.prompt, *shown) else "right")
                if self.last_error is not None:
                    raise self.last_error
                if len(self.store) != before + 1:  # pragma: no cover - would be a labeler bug
                    raise TutorError("The simulated click was not recorded; the label file is unchanged.")
                done += 1
        finally:
            self._simulating, self._by = False, "human"
        return done

    def _finish(self) -> None:
        self.finish_button.disabled = True
        try:
            done = self.simulate(self.persona_picker.value)
            self._say(f"The simulated {self.persona_picker.value.title()} labelled the remaining {done} pair(s).")
        except Exception as exc:
            self._say(f"Stopped: {exc}", error=True)
        finally:
            self._refresh()

    # -- results -----------------------------------------------------------------------------

    def agreement(self, include_simulated: bool = False):
        """The learner's agreement with each persona: share of A/B choices the persona would make.

        Only the learner's own labels count unless include_simulated=True; a persona that scores
        both answers the same has no preference, so that pair is left out of its count.
        """
        records = [record for record in self.store.records if include_simulated or record["by"] == "human"]
        return persona_agreement(records, self.personas, cache=self._persona_preferences)

    def to_dataset(self, *, conversational: bool = True, ties: str = "drop", quiet: bool = False):
        """The labels as a TRL preference data set; see `LabelStore.to_dataset`."""
        return self.store.to_dataset(conversational=conversational, ties=ties, quiet=quiet)
