"""Log-probabilities of answers and the KL between two models: batching changes nothing, the end
token counts only when the answer ended, and both KL estimators agree where they must."""

import pytest
import torch

from tutor import TutorError
from tutor.core.logprobs import answer_kl, answer_kls, answer_logps
from tutor.core.models import load_causal_lm
from tutor.core.sampling import sample

PROMPTS = ["Explain convexity.", "What is a coupon?"] * 3


def test_kl_of_a_model_to_itself_is_zero_and_grows_when_it_changes(tiny_model, nudged_model, tiny_tokenizer):
    samples = sample(tiny_model, tiny_tokenizer, PROMPTS, seed=0, max_new_tokens=40)
    for estimator in ("exact", "sampled"):
        same = answer_kl(tiny_model, load_causal_lm("tiny"), tiny_tokenizer, samples, estimator=estimator)
        assert same.tolist() == pytest.approx([0.0] * 6, abs=1e-4)
    samples = sample(nudged_model, tiny_tokenizer, PROMPTS, seed=0, max_new_tokens=40)
    assert float(answer_kl(nudged_model, tiny_model, tiny_tokenizer, samples, estimator="sampled").mean()) > 0
    assert (answer_kl(nudged_model, tiny_model, tiny_tokenizer, samples) > 0).all()  # exact: never negative


def test_answer_logps_count_the_end_token_only_when_the_answer_ended(tiny_model, tiny_tokenizer):
    both = answer_logps(
        tiny_model, tiny_tokenizer, ["Explain convexity."] * 2, ["Convexity is curvature."] * 2, ended=[True, False]
    )
    assert both[0] < both[1]  # the ended answer also pays for its end token


def test_answer_logps_do_not_depend_on_batching(tiny_model, tiny_tokenizer):
    """Rows are scored in batches of similar length and put back in their own order."""
    prompts = ["Explain convexity.", "What is a coupon?", "Explain duration to a quant.", "Yield?", "What is a bond?"]
    answers = [
        "Convexity is the curvature of price in yield, which matters for large moves.",
        "A coupon is interest.",
        "Duration is the price sensitivity to yield.",
        "The return you earn.",
        "A loan you can trade, paying coupons until it matures.",
    ]
    together = answer_logps(tiny_model, tiny_tokenizer, prompts, answers, batch_size=2)
    alone = torch.cat(
        [answer_logps(tiny_model, tiny_tokenizer, [p], [a]) for p, a in zip(prompts, answers, strict=True)]
    )
    assert torch.allclose(together, alone, atol=1e-4)
    assert len(set(together.tolist())) == len(prompts)


def test_both_kl_measures_from_one_pass_equal_each_computed_alone(nudged_model, tiny_model, tiny_tokenizer):
    samples = sample(
        nudged_model,
        tiny_tokenizer,
        ["What is a bond?", "Explain duration to a quant.", "Yield?"] * 3,
        seed=4,
        max_new_tokens=40,
    )
    both = answer_kls(nudged_model, tiny_model, tiny_tokenizer, samples, batch_size=4)
    alone = answer_logps(
        nudged_model, tiny_tokenizer, samples.prompts, samples.texts, samples.ended, batch_size=4
    ) - answer_logps(tiny_model, tiny_tokenizer, samples.prompts, samples.texts, samples.ended, batch_size=4)
    assert both["sampled"].tolist() == alone.tolist()
    assert both["exact"].tolist() == answer_kl(nudged_model, tiny_model, tiny_tokenizer, samples, batch_size=4).tolist()
    assert min(both["exact"].tolist()) > 0 and both["sampled"].abs().max() > 0  # exact KL is never negative


def test_an_unknown_estimator_is_named(tiny_model, tiny_tokenizer):
    samples = sample(tiny_model, tiny_tokenizer, PROMPTS[:2], seed=0, max_new_tokens=5)
    with pytest.raises(TutorError, match="Unknown KL estimator 'k9'"):
        answer_kl(tiny_model, tiny_model, tiny_tokenizer, samples, estimator="k9")
