"""The pairs a learner labels: a fixed `PairList`, or `LivePairs` sampled from a model as shown.

Every pair carries an id that every label record of it repeats, and every pair source a
fingerprint that every record of its label file repeats, so a file is never replayed against
pairs it was not written for. The fingerprint covers what a label means: a fixed list's prompts and
answers; live pairs' prompts and the model (its weights) and settings that sample their answers.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from tutor.core import sampling
from tutor.errors import TutorError
from tutor.world.corpus import prompts_for


@dataclass(frozen=True)
class Pair:
    """Two answers to one prompt, with the id that every record of them carries."""

    id: str
    prompt: str
    a: str
    b: str


def pair_id(prompt: str, a: str, b: str) -> str:
    """A short id derived from the text, so the same pair gets the same id in every session."""
    return hashlib.sha1(json.dumps([prompt, a, b]).encode("utf-8")).hexdigest()[:12]


def _fingerprint(kind: str, items: Iterable[str]) -> str:
    return f"{kind}-" + hashlib.sha1("\n".join(items).encode("utf-8")).hexdigest()[:16]


def model_fingerprint(model) -> str:
    """A short hash of a model's weights: a retrained model gets a new one, a reloaded model the same."""
    import torch

    digest = hashlib.sha1()
    for name, tensor in sorted(model.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()[:16]


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` with lone surrogates (text pasted from a broken source; UTF-8 cannot hold them) replaced
    by U+FFFD, so every label file stays valid UTF-8 and every record of it readable."""
    return _SURROGATE.sub("\ufffd", text)


def short_repr(value: object) -> str:
    """`repr(value)` cut to 60 characters, to name a bad argument in an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_pair(item: object, position: int | None = None) -> Pair:
    """Read one pair from a `Pair`, a `(prompt, a, b)` tuple or a dict with prompt / a / b."""
    where = "" if position is None else f" (item {position})"
    accepted = "a (prompt, answer_a, answer_b) tuple of strings or a dict with 'prompt', 'a' and 'b' (optionally 'id')"
    if isinstance(item, Pair):
        return item
    given_id = None
    if isinstance(item, dict):
        a = item.get("a", item.get("answer_a"))
        b = item.get("b", item.get("answer_b"))
        prompt = item.get("prompt")
        given_id = item.get("id", item.get("pair_id"))
    elif isinstance(item, (tuple, list)) and len(item) == 3:
        prompt, a, b = item
    else:
        raise TutorError(f"A pair{where} must be {accepted}, not {short_repr(item)}.")
    if not all(isinstance(text, str) for text in (prompt, a, b)):
        raise TutorError(
            f"A pair{where} must be {accepted}; its prompt and answers must be strings, got {short_repr(item)}."
        )
    if given_id is not None and (not isinstance(given_id, (str, int)) or str(given_id) == ""):
        raise TutorError(f"A pair id{where} must be a non-empty string or an integer, not {short_repr(given_id)}.")
    prompt, a, b = clean_text(prompt), clean_text(a), clean_text(b)
    return Pair(str(given_id) if given_id is not None else pair_id(prompt, a, b), prompt, a, b)


class PairList:
    """A fixed list of pairs to label (a data set, or `tutor.world.candidate_pairs`)."""

    live = False

    def __init__(self, pairs: Iterable[object]):
        if isinstance(pairs, (str, bytes, dict)) or not isinstance(pairs, Iterable):
            raise TutorError(
                f"Pairs must be a list of (prompt, answer_a, answer_b) tuples or dicts, not {short_repr(pairs)}."
            )
        items = [as_pair(item, position) for position, item in enumerate(pairs)]
        if not items:
            raise TutorError("The pair list is empty; give at least one (prompt, answer_a, answer_b).")
        first_position: dict[str, int] = {}
        for position, pair in enumerate(items):
            if pair.id in first_position:
                raise TutorError(
                    f"The pair list holds pair id {pair.id!r} twice (items {first_position[pair.id]} and {position}); "
                    "every pair needs its own id, so drop the repeat (list(dict.fromkeys(pairs)) drops "
                    "repeated tuples) or give distinct 'id' values."
                )
            first_position[pair.id] = position
        self._pairs = {pair.id: pair for pair in items}
        self.ids = [pair.id for pair in items]
        self.fingerprint = _fingerprint(
            "list", sorted(f"{pair.id}:{pair_id(pair.prompt, pair.a, pair.b)}" for pair in items)
        )

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Pair]:
        return iter(self._pairs.values())

    def __contains__(self, id_: object) -> bool:
        return id_ in self._pairs

    def get(self, id_: str) -> Pair:
        return self._pairs[id_]

    def matches(self, pair: Pair) -> bool:
        return self._pairs.get(pair.id) == pair

    def remember(self, pair: Pair) -> None:
        """Fixed pairs need no memory; live sources keep answers that were already labelled."""

    def __repr__(self) -> str:
        return f"PairList({len(self)} pairs, {self.fingerprint})"


class LivePairs:
    """Pairs sampled on demand from a model: `sample(prompt)` returns two answers `(a, b)`.

    A prompt is sampled the first time it is shown; once labelled, its answers live in the label
    file, so resuming never re-samples (and never re-labels) a pair the learner already judged.
    The pair id is the prompt's position plus a hash of its text, so the same prompt may appear
    twice in the list to get two different pairs. `source` names what samples the answers (from_model:
    the model's weight hash and the sampling settings); it is part of the fingerprint, so answers of a
    retrained model never land in the file of the old one.
    """

    live = True

    def __init__(self, prompts: Iterable[object], sample: Callable[[str], tuple[str, str]], *, source: str = ""):
        if not callable(sample):
            raise TutorError(f"sample must be a function prompt -> (answer_a, answer_b), not {short_repr(sample)}.")
        if isinstance(prompts, (str, bytes)) or not isinstance(prompts, Iterable):
            raise TutorError(f"prompts must be a list of prompt strings, not {short_repr(prompts)}.")
        texts = []
        for position, prompt in enumerate(prompts):
            text = getattr(prompt, "text", prompt)  # tutor.world.Prompt or a plain string
            if not isinstance(text, str) or not text.strip():
                raise TutorError(f"Prompt {position} must be a non-empty string, not {short_repr(prompt)}.")
            texts.append(clean_text(text))
        if not texts:
            raise TutorError("The prompt list is empty; give at least one prompt to sample answers for.")
        self._sample = sample
        self.ids = [f"{i:04d}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:8]}" for i, text in enumerate(texts)]
        self._prompts = dict(zip(self.ids, texts, strict=True))
        self._sampled: dict[str, Pair] = {}
        if not isinstance(source, str):
            raise TutorError(f"source must be a string naming what samples the answers, not {short_repr(source)}.")
        self.source = source
        self.fingerprint = _fingerprint("live", [f"source:{source}", *self.ids] if source else self.ids)

    @classmethod
    def from_model(cls, prompts: Iterable[object], model, tokenizer, *, max_new_tokens: int = 128) -> LivePairs:
        """Two independent answers of `model` per prompt (one `sample` call of [prompt, prompt])."""
        if not isinstance(max_new_tokens, int) or isinstance(max_new_tokens, bool) or max_new_tokens < 1:
            raise TutorError(f"max_new_tokens must be a whole number ≥ 1, not {short_repr(max_new_tokens)}.")

        def two_answers(prompt: str) -> tuple[str, str]:
            a, b = sampling.sample(model, tokenizer, [prompt, prompt], max_new_tokens=max_new_tokens).texts
            return a, b

        return cls(prompts, two_answers, source=f"model-{model_fingerprint(model)}/max_new_tokens={max_new_tokens}")

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Pair]:
        return (self.get(id_) for id_ in self.ids)

    def __contains__(self, id_: object) -> bool:
        return id_ in self._prompts

    def get(self, id_: str) -> Pair:
        if id_ not in self._sampled:
            prompt = self._prompts[id_]
            answers = self._sample(prompt)
            if not (
                isinstance(answers, (tuple, list)) and len(answers) == 2 and all(isinstance(x, str) for x in answers)
            ):
                raise TutorError(
                    f"sample(prompt) must return two answer strings (answer_a, answer_b), got {short_repr(answers)}."
                )
            self._sampled[id_] = Pair(id_, prompt, clean_text(answers[0]), clean_text(answers[1]))
        return self._sampled[id_]

    def matches(self, pair: Pair) -> bool:
        return self._prompts.get(pair.id) == pair.prompt

    def remember(self, pair: Pair) -> None:
        if pair.id in self._prompts:
            self._sampled[pair.id] = pair

    def __repr__(self) -> str:
        return f"LivePairs({len(self)} prompts, {self.fingerprint})"


def as_pair_source(pairs: object) -> PairList | LivePairs:
    """`pairs` itself if it is a `PairList` or `LivePairs`, else a `PairList` of it."""
    if isinstance(pairs, (PairList, LivePairs)):
        return pairs
    return PairList(pairs)  # type: ignore[arg-type]


def prompts_to_label(seed: int, split: str = "train") -> list[str]:
    """The world's prompts of one split in a seeded random order (notebook 03 labels the first few)."""
    prompts = [prompt.text for prompt in prompts_for(split)]
    random.Random(seed).shuffle(prompts)
    return prompts
