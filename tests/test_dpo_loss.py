"""DPO's loss: the from-scratch twin equals TRL's loss and logged rewards, and training separates the pairs."""

import copy

import pytest
import torch

from tutor import TutorError, dpo
from tutor.core.chat import answer_ids, message_text
from tutor.core.logprobs import answer_logps
from tutor.core.models import load_causal_lm
from tutor.preferences import gold_dataset


def _one_trl_step_and_our_logps(policy, ref_model, tokenizer, data, settings, tmp_path):
    """One full-batch DPOTrainer step (a learning rate too small to move anything) and, for the same
    pairs, our own log-probabilities of policy and reference: what the twin tests compare."""
    before = copy.deepcopy(policy)
    trainer = dpo.make_trainer(
        policy, ref_model, tokenizer, data, tmp_path, settings=settings, max_steps=1, progress=False
    )
    trainer.train()
    logged = next(h for h in trainer.state.log_history if "rewards/margins" in h)
    prompts, chosen, rejected = ([message_text(r[key]) for r in data] for key in ("prompt", "chosen", "rejected"))
    logps = [
        answer_logps(model, tokenizer, prompts, answers, max_length=256)
        for model, answers in ((before, chosen), (before, rejected), (ref_model, chosen), (ref_model, rejected))
    ]
    return logged, (prompts, chosen), logps


def test_twin_matches_trl_loss_and_logged_rewards(nudged_model, tiny_model, tiny_tokenizer, tmp_path):
    data = gold_dataset(24, seed=3)
    beta = 0.3
    settings = dpo.DPOSettings(batch_size=len(data), beta=beta, learning_rate=1e-9, sft_weight=0.0)
    logged, _, (pc, pr, rc, rr) = _one_trl_step_and_our_logps(
        nudged_model, tiny_model, tiny_tokenizer, data, settings, tmp_path
    )
    loss, chosen_rewards, rejected_rewards = dpo.dpo_loss(pc, pr, rc, rr, beta)

    assert abs(chosen_rewards - rejected_rewards).max() > 0.05, "policy and reference barely differ: a weak test"
    assert logged["loss"] == pytest.approx(loss.item(), abs=1e-4)
    assert logged["rewards/chosen"] == pytest.approx(chosen_rewards.mean().item(), abs=1e-4)
    assert logged["rewards/rejected"] == pytest.approx(rejected_rewards.mean().item(), abs=1e-4)
    assert logged["rewards/margins"] == pytest.approx((chosen_rewards - rejected_rewards).mean().item(), abs=1e-4)
    assert logged["rewards/accuracies"] == pytest.approx((chosen_rewards > rejected_rewards).float().mean().item())
    assert logged["logps/chosen"] == pytest.approx(pc.mean().item(), abs=1e-3)


def test_twin_with_the_sft_term_matches_trl(nudged_model, tiny_model, tiny_tokenizer, tmp_path):
    """RPO: DPO's loss + w · (mean NLL per token of the chosen answers), as TRL's ["sigmoid", "sft"]."""
    data = gold_dataset(16, seed=5)  # holds a pair over DPO's 256 tokens: TRL cuts it, so must the twin
    beta, weight = 0.2, 0.7
    settings = dpo.DPOSettings(batch_size=len(data), beta=beta, learning_rate=1e-9, sft_weight=weight)
    logged, (prompts, chosen), (pc, pr, rc, rr) = _one_trl_step_and_our_logps(
        nudged_model, tiny_model, tiny_tokenizer, data, settings, tmp_path
    )
    loss, _, _ = dpo.dpo_loss(pc, pr, rc, rr, beta)
    tokens = sum(len(ids) for _, ids in answer_ids(tiny_tokenizer, prompts, chosen, max_length=256))
    nll = -pc.sum().item() / tokens
    assert logged["loss"] == pytest.approx(loss.item() + weight * nll, abs=1e-4)


@pytest.mark.parametrize("beta", [0, -0.1, "big", None])
def test_beta_must_be_positive(beta, nudged_model, tiny_model, tiny_tokenizer, tmp_path):
    with pytest.raises(TutorError, match="DPOSettings.beta must be a finite number > 0"):
        dpo.make_trainer(
            nudged_model, tiny_model, tiny_tokenizer, gold_dataset(4), tmp_path, settings=dpo.DPOSettings(beta=beta)
        )
    with pytest.raises(TutorError, match="beta"):
        dpo.dpo_loss(torch.zeros(2), torch.zeros(2), torch.zeros(2), torch.zeros(2), beta)


def test_training_makes_the_implicit_reward_prefer_the_chosen_answers(tiny_model, tiny_tokenizer, tmp_path):
    """A few DPO steps move β·log(π/π_ref) apart on the pairs: chosen above rejected on most of them
    (it starts at exactly 0 for every answer, since the policy starts as the reference)."""
    data = gold_dataset(48, seed=5)
    policy = load_causal_lm("tiny")
    settings = dpo.DPOSettings(batch_size=16, epochs=4, learning_rate=2e-3, beta=0.1, sft_weight=0.0)
    trainer = dpo.make_trainer(policy, tiny_model, tiny_tokenizer, data, tmp_path, settings=settings, disable_tqdm=True)
    trainer.train()
    prompts = [message_text(r["prompt"]) for r in data]
    chosen = [message_text(r["chosen"]) for r in data]
    rejected = [message_text(r["rejected"]) for r in data]
    trained = trainer.model
    rc = dpo.implicit_reward(
        answer_logps(trained, tiny_tokenizer, prompts, chosen),
        answer_logps(tiny_model, tiny_tokenizer, prompts, chosen),
        0.1,
    )
    rr = dpo.implicit_reward(
        answer_logps(trained, tiny_tokenizer, prompts, rejected),
        answer_logps(tiny_model, tiny_tokenizer, prompts, rejected),
        0.1,
    )
    assert (rc > rr).float().mean().item() >= 0.8
    assert (rc - rr).mean().item() > 0.1
