"""The hand-written sampling loop: greedy equals transformers' generate token for token, sampled
tokens carry the log-probabilities a teacher-forced forward pass gives them, and rows that end
early leave the batch without changing anyone's answer."""

import pytest
import torch

from tutor import TutorError
from tutor.core.chat import encode_prompts
from tutor.core.models import load_causal_lm, load_tokenizer
from tutor.core.sampling import sample, sample_tokens
from tutor.world import prompts_for

# Prompts of different lengths, so the batch is left-padded.
PROMPTS = [p.text for p in prompts_for("test")][:10] + [
    "Duration?",
    "Explain convexity to a retail saver in plain words, please.",
]


@pytest.fixture(scope="module")
def tiny():
    tok = load_tokenizer("tiny")
    return tok, load_causal_lm("tiny").eval()


def _stop_token(tok):
    """The untrained-for-chat base model rarely writes <|end|>; a full stop as the end token makes
    rows end at different steps, which is what the loop's batch handling needs exercising."""
    return tok.convert_tokens_to_ids(".")


def _hf_greedy(model, tok, prompts, chat, max_new_tokens, eos):
    enc = encode_prompts(tok, prompts, chat=chat)
    with torch.no_grad():
        out = model.generate(
            **enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id, eos_token_id=eos
        )
    rows = []
    for row in out[:, enc["input_ids"].shape[1] :].tolist():
        rows.append(row[: row.index(eos) + 1] if eos in row else row)
    return rows


@pytest.mark.parametrize("chat", [True, False])
def test_greedy_equals_transformers_generate_token_for_token(tiny, chat):
    tok, model = tiny
    enc = encode_prompts(tok, PROMPTS, chat=chat)
    assert (enc["attention_mask"] == 0).any(), "prompts of one length: left padding is not exercised"
    eos = _stop_token(tok)
    ours, _ = sample_tokens(model, enc["input_ids"], enc["attention_mask"], eos, 60, None)
    theirs = _hf_greedy(model, tok, PROMPTS, chat, 60, eos)
    assert ours == theirs
    lengths = {len(r) for r in ours}
    assert len(lengths) > 1, "every row the same length: the loop never dropped a finished row"


def test_sampled_tokens_have_the_teacher_forced_log_probs(tiny):
    """At temperature T each token is drawn from softmax(logits / T) of the prefix it follows: the
    cached, left-padded loop must see exactly what a fresh forward pass over prompt + answer sees."""
    tok, model = tiny
    temperature = 0.7
    torch.manual_seed(3)
    enc = encode_prompts(tok, PROMPTS, chat=True)
    rows, logps = sample_tokens(
        model, enc["input_ids"], enc["attention_mask"], _stop_token(tok), 40, temperature, return_logps=True
    )
    assert len({len(r) for r in rows}) > 1
    for i, (row, lp) in enumerate(zip(rows, logps, strict=True)):
        prompt = enc["input_ids"][i][enc["attention_mask"][i].bool()].tolist()
        ids = torch.tensor([prompt + row])
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, len(prompt) - 1 : -1]
        expected = torch.log_softmax(logits / temperature, -1).gather(-1, torch.tensor(row)[:, None]).squeeze(-1)
        assert torch.allclose(torch.tensor(lp), expected, atol=1e-4), f"row {i}"


def test_answers_do_not_depend_on_the_batch_they_were_decoded_in(tiny):
    """Rows leave the batch as they finish: the others' answers must not notice."""
    tok, model = tiny
    eos = _stop_token(tok)
    enc = encode_prompts(tok, PROMPTS, chat=False)
    together, _ = sample_tokens(model, enc["input_ids"], enc["attention_mask"], eos, 60, None)
    assert len({len(r) for r in together}) > 1
    for prompt, row in zip(PROMPTS, together, strict=True):
        one = encode_prompts(tok, [prompt], chat=False)
        alone, _ = sample_tokens(model, one["input_ids"], one["attention_mask"], eos, 60, None)
        assert alone[0] == row


def test_samples_are_cut_at_the_end_token_and_report_length_and_ending(tiny):
    tok, model = tiny
    s = sample(model, tok, PROMPTS * 3, chat=False, max_new_tokens=60, seed=1)
    assert 0 < sum(s.ended) < len(s), "want both ended and cut-off answers in this batch"
    for text, ended, length in zip(s.texts, s.ended, s.lengths, strict=True):
        assert "<|end|>" not in text and "<|pad|>" not in text and text
        assert length <= 60
        assert ended or length == 60  # an answer that did not end used every token it was allowed


def test_sampling_is_seeded_and_seed_sensitive(tiny):
    tok, model = tiny
    a = sample(model, tok, PROMPTS, max_new_tokens=30, seed=5, batch_size=4)
    b = sample(model, tok, PROMPTS, max_new_tokens=30, seed=5, batch_size=4)
    c = sample(model, tok, PROMPTS, max_new_tokens=30, seed=6, batch_size=4)
    assert a.texts == b.texts and a.lengths == b.lengths
    assert a.texts != c.texts


def test_bad_temperature_is_a_clear_error(tiny):
    tok, model = tiny
    with pytest.raises(TutorError, match="temperature must be > 0"):
        sample(model, tok, ["Explain duration."], temperature=0)


def test_draws_follow_the_models_next_token_distribution(tiny):
    """Many draws of one prompt's first answer token: their frequencies match softmax(logits / T)
    (an off-by-one in the inverse-CDF lookup would shift mass onto neighbouring token ids)."""
    tok, model = tiny
    n, temperature = 4000, 1.3
    enc = encode_prompts(tok, ["Explain duration to a retail saver."] * n, chat=False)
    torch.manual_seed(0)
    rows, _ = sample_tokens(model, enc["input_ids"], enc["attention_mask"], tok.eos_token_id, 1, temperature)
    with torch.no_grad():
        logits = model(input_ids=enc["input_ids"][:1], attention_mask=enc["attention_mask"][:1]).logits[0, -1]
    expected = torch.softmax(logits / temperature, -1)
    observed = torch.bincount(torch.tensor([r[0] for r in rows]), minlength=expected.numel()).float() / n
    total_variation = 0.5 * (observed - expected).abs().sum().item()
    assert total_variation < 0.05, total_variation


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_one_bad_logit_in_one_row_is_a_clear_error(bad):
    """Diverged weights show up as a NaN or infinite logit; one in one row is enough to refuse."""
    from tutor.core.sampling import _draw

    logits = torch.zeros(4, 1024)
    _draw(logits, 1.0)  # fine
    logits[2, 17] = bad
    with pytest.raises(TutorError, match="NaN or infinite"):
        _draw(logits, 1.0)
