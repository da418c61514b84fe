"""DPO: the from-scratch twin equals TRL's loss and logged rewards; training separates the pairs; bad input."""

import copy

import pytest
import torch

from tutor import TutorError, dpo
from tutor.core.chat import answer_ids, as_conversational
from tutor.core.logprobs import answer_logps
from tutor.core.models import load_causal_lm, load_tokenizer, tiny_config
from tutor.preferences import gold_dataset, to_dataset


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("tiny")


@pytest.fixture()
def ref_model():
    # Fresh each time: TRL patches the forward of models it trains with, and a deepcopy of a patched
    # model would still call the original's forward.
    return load_causal_lm("tiny")


@pytest.fixture()
def policy():
    """A policy that differs from the reference, so rewards and margins are not all zero."""
    model = load_causal_lm("tiny")
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.02)
    return model


def _texts(value):
    return value[0]["content"] if isinstance(value, list) else value


def _one_trl_step_and_our_logps(policy, ref_model, tokenizer, data, settings, tmp_path):
    """One full-batch DPOTrainer step (a learning rate too small to move anything) and, for the same
    pairs, our own log-probabilities of policy and reference: what the twin tests compare."""
    before = copy.deepcopy(policy)
    trainer = dpo.make_trainer(policy, ref_model, tokenizer, data, tmp_path, settings=settings, max_steps=1, progress=False)
    trainer.train()
    logged = next(h for h in trainer.state.log_history if "rewards/margins" in h)
    prompts, chosen, rejected = ([_texts(r[key]) for r in data] for key in ("prompt", "chosen", "rejected"))
    logps = [answer_logps(model, tokenizer, prompts, answers, max_length=256)
             for model, answers in ((before, chosen), (before, rejected), (ref_model, chosen), (ref_model, rejected))]
    return logged, (prompts, chosen), logps


def test_twin_matches_trl_loss_and_logged_rewards(policy, ref_model, tokenizer, tmp_path):
    data = gold_dataset(24, seed=3)
    beta = 0.3
    settings = dpo.DPOSettings(batch_size=len(data), beta=beta, learning_rate=1e-9, sft_weight=0.0)
    logged, _, (pc, pr, rc, rr) = _one_trl_step_and_our_logps(policy, ref_model, tokenizer, data, settings, tmp_path)
    loss, chosen_rewards, rejected_rewards = dpo.dpo_loss(pc, pr, rc, rr, beta)

    assert abs(chosen_rewards - rejected_rewards).max() > 0.05, "policy and reference barely differ: a weak test"
    assert logged["loss"] == pytest.approx(loss.item(), abs=1e-4)
    assert logged["rewards/chosen"] == pytest.approx(chosen_rewards.mean().item(), abs=1e-4)
    assert logged["rewards/rejected"] == pytest.approx(rejected_rewards.mean().item(), abs=1e-4)
    assert logged["rewards/margins"] == pytest.approx((chosen_rewards - rejected_rewards).mean().item(), abs=1e-4)
    assert logged["rewards/accuracies"] == pytest.approx((chosen_rewards > rejected_rewards).float().mean().item())
    assert logged["logps/chosen"] == pytest.approx(pc.mean().item(), abs=1e-3)


def test_twin_with_the_sft_term_matches_trl(policy, ref_model, tokenizer, tmp_path):
    """RPO: DPO's loss + w · (mean NLL per token of the chosen answers), as TRL's ["sigmoid", "sft"]."""
    data = gold_dataset(16, seed=5)  # holds a pair over DPO's 256 tokens: TRL cuts it, so must the twin
    beta, weight = 0.2, 0.7
    settings = dpo.DPOSettings(batch_size=len(data), beta=beta, learning_rate=1e-9, sft_weight=weight)
    logged, (prompts, chosen), (pc, pr, rc, rr) = _one_trl_step_and_our_logps(policy, ref_model, tokenizer, data, settings, tmp_path)
    loss, _, _ = dpo.dpo_loss(pc, pr, rc, rr, beta)
    tokens = sum(len(ids) for _, ids in answer_ids(tokenizer, prompts, chosen, max_length=256))
    nll = -pc.sum().item() / tokens
    assert logged["loss"] == pytest.approx(loss.item() + weight * nll, abs=1e-4)


def test_reference_free_variant_drops_the_reference(policy, ref_model, tokenizer, tmp_path):
    data = gold_dataset(8, seed=1)
    settings = dpo.DPOSettings(batch_size=8, reference_free=True)
    trainer = dpo.make_trainer(policy, ref_model, tokenizer, data, tmp_path, settings=settings)
    assert set(trainer.train_dataset["ref_chosen_logps"]) == {0.0}
    assert set(trainer.train_dataset["ref_rejected_logps"]) == {0.0}


def test_empty_dataset_is_a_clear_error(policy, ref_model, tokenizer, tmp_path):
    from datasets import Dataset

    empty = Dataset.from_dict({"prompt": [], "chosen": [], "rejected": []})
    with pytest.raises(TutorError, match="empty"):
        dpo.make_trainer(policy, ref_model, tokenizer, empty, tmp_path)


def test_overlong_prompt_is_a_clear_error(policy, ref_model, tokenizer, tmp_path):
    long_prompt = "Explain convexity " + "and duration " * 200
    data = to_dataset([as_conversational(long_prompt, chosen="Short answer.", rejected="Another answer.")] + gold_dataset(4).to_list())
    with pytest.raises(TutorError, match="row 0 has a prompt of .* tokens"):
        dpo.make_trainer(policy, ref_model, tokenizer, data, tmp_path)


@pytest.mark.parametrize("beta", [0, -0.1, "big", None])
def test_beta_must_be_positive(beta, policy, ref_model, tokenizer, tmp_path):
    with pytest.raises(TutorError, match="DPOSettings.beta must be a finite number > 0"):
        dpo.make_trainer(policy, ref_model, tokenizer, gold_dataset(4), tmp_path, settings=dpo.DPOSettings(beta=beta))
    with pytest.raises(TutorError, match="beta"):
        dpo.dpo_loss(torch.zeros(2), torch.zeros(2), torch.zeros(2), torch.zeros(2), beta)


def test_reference_with_another_vocabulary_is_a_clear_error(policy, tokenizer, tmp_path):
    from transformers import AutoModelForCausalLM

    other = AutoModelForCausalLM.from_config(tiny_config(tokenizer, vocab_size=2048, hidden_size=64, intermediate_size=128, num_hidden_layers=1))
    with pytest.raises(TutorError, match="reference model has a vocabulary of 2048"):
        dpo.make_trainer(policy, other, tokenizer, gold_dataset(4), tmp_path)


def test_model_as_its_own_reference_is_refused(policy, tokenizer, tmp_path):
    with pytest.raises(TutorError, match="separate frozen copy"):
        dpo.make_trainer(policy, policy, tokenizer, gold_dataset(4), tmp_path)


@pytest.mark.parametrize(
    "change, match",
    [({"loss_type": "simpo"}, "DPOSettings.loss_type"), ({"data": "web"}, "DPOSettings.data"),
     ({"loss_type": "robust"}, "label_smoothing"), ({"chunk_pairs": -1}, "chunk_pairs")],
)
def test_bad_settings_are_clear_errors(change, match):
    with pytest.raises(TutorError, match=match):
        dpo.DPOSettings(**change)


def test_training_makes_the_implicit_reward_prefer_the_chosen_answers(ref_model, tokenizer, tmp_path):
    """A few DPO steps move β·log(π/π_ref) apart on the pairs: chosen above rejected on most of them
    (it starts at exactly 0 for every answer, since the policy starts as the reference)."""
    data = gold_dataset(48, seed=5)
    policy = load_causal_lm("tiny")
    settings = dpo.DPOSettings(batch_size=16, epochs=4, learning_rate=2e-3, beta=0.1, sft_weight=0.0)
    trainer = dpo.make_trainer(policy, ref_model, tokenizer, data, tmp_path, settings=settings, disable_tqdm=True)
    trainer.train()
    prompts = [_texts(r["prompt"]) for r in data]
    chosen = [_texts(r["chosen"]) for r in data]
    rejected = [_texts(r["rejected"]) for r in data]
    trained = trainer.model
    rc = dpo.implicit_reward(answer_logps(trained, tokenizer, prompts, chosen), answer_logps(ref_model, tokenizer, prompts, chosen), 0.1)
    rr = dpo.implicit_reward(answer_logps(trained, tokenizer, prompts, rejected), answer_logps(ref_model, tokenizer, prompts, rejected), 0.1)
    assert (rc > rr).float().mean().item() >= 0.8
    assert (rc - rr).mean().item() > 0.1


def test_pairs_scored_once_are_not_scored_again(policy, ref_model, tokenizer, tmp_path):
    """The sweep's runs share one scoring of their pairs by the SFT reference: a data set that
    carries the reference's log-probs keeps them, and they equal what scoring it anew gives."""
    data = gold_dataset(12, seed=2)
    scored = dpo.make_trainer(policy, ref_model, tokenizer, data, tmp_path).train_dataset
    prompts, chosen = ([_texts(r[key]) for r in data] for key in ("prompt", "chosen"))
    ours = answer_logps(ref_model, tokenizer, prompts, chosen, max_length=256)
    assert torch.allclose(torch.tensor(scored["ref_chosen_logps"]), ours, atol=1e-4)
    marked = scored.remove_columns("ref_chosen_logps").add_column("ref_chosen_logps", [-1.0] * len(scored))
    again = dpo.make_trainer(load_causal_lm("tiny"), ref_model, tokenizer, marked, tmp_path).train_dataset
    assert again["ref_chosen_logps"] == [-1.0] * len(scored)


def test_each_persona_ranks_the_same_answers_its_own_way():
    """Given the same answers, Riley's pairs choose the short plain one and Quinn's the thorough
    technical one: the data, not the model, is where two people's preferences first differ."""
    import random

    from tutor.world import Style, compose, parse_prompt, prompts_for

    asked = [p.text for p in prompts_for("train") if p.kind != "advice" and p.audience is None][:12]
    rng = random.Random(0)
    plain = [compose(parse_prompt(p), Style("polite", "concise", "retail"), rng) for p in asked]
    technical = [compose(parse_prompt(p), Style("curt", "verbose", "quant"), rng) for p in asked]
    answers = dpo.Answers(asked, [plain, technical], seed=0)
    riley, quinn = dpo.best_and_worst(answers, "riley"), dpo.best_and_worst(answers, "quinn")
    assert sum(pick == (0, 1) for pick in riley) >= 10
    assert sum(pick == (1, 0) for pick in quinn) >= 10
    pairs = dpo.rank_answers(answers, "riley", riley)
    assert [_texts(r["chosen"]) for r in pairs] == [answers.answers[b][i] for i, (b, _) in enumerate(riley)]
    assert dpo.best_and_worst(answers, "riley") == riley  # the same seed ranks the same way again


@pytest.mark.parametrize("sft_weight", [0.0, 0.7])
def test_chunks_of_a_batch_give_the_whole_batchs_gradient_and_logs(policy, tokenizer, tmp_path, sft_weight):
    """A batch computed as chunks of pairs of similar length (less padding, less memory) gives the
    same gradient as the whole batch at once, and logs the same loss and rewards: the DPO term
    weighs each chunk by its pairs, the NLL term by its chosen tokens."""
    data = gold_dataset(20, seed=7)  # answers of many lengths, so chunks differ in width and tokens
    results = []
    for chunk_pairs in (0, 6):  # the whole batch, then chunks of 6, 6, 6 and 2 pairs
        model = copy.deepcopy(policy)
        settings = dpo.DPOSettings(batch_size=len(data), beta=0.2, sft_weight=sft_weight, chunk_pairs=chunk_pairs)
        trainer = dpo.make_trainer(model, load_causal_lm("tiny"), tokenizer, data, tmp_path, settings=settings, progress=False)
        batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(data))])
        trainer.current_gradient_accumulation_steps = 1  # set by train(); one step by hand here
        loss = trainer.training_step(model, batch)
        logged = {key: values[-1] for key, values in trainer._metrics["train"].items()}
        assert all(len(values) == 1 for values in trainer._metrics["train"].values())  # one entry per batch
        results.append((loss.item(), logged, torch.cat([p.grad.flatten() for p in model.parameters()])))
    (loss, whole, grad), (chunked_loss, chunked, chunked_grad) = results
    assert grad.abs().max() > 1e-3, "no gradient: a weak test"
    assert torch.allclose(chunked_grad, grad, rtol=1e-4, atol=1e-6)
    assert chunked_loss == pytest.approx(loss, abs=1e-5)
    for key in ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen"):
        assert chunked[key] == pytest.approx(whole[key], abs=1e-4), key


def test_sft_answers_are_sampled_once_and_resampled_when_the_sft_model_changes(tmp_path, monkeypatch):
    """Round 1 of every DPO run with one seed ranks the SFT model's answers: they are kept with the
    SFT stage (06's pairs, the stage 06 builds and 07's two-persona section share them), the same
    answers as sampling afresh, and sampled again once the SFT model is another one."""
    import tutor
    from tutor import stages
    from tutor.core.models import save

    monkeypatch.setenv("TUTOR_RUNS", str(tmp_path))
    course = tutor.setup(FAST=True, quiet=True)
    sampled = []
    real = dpo.sample_answers
    monkeypatch.setattr(dpo, "sample_answers", lambda *a, **kw: sampled.append(1) or real(*a, **kw))
    first = dpo.sft_answers(course, 6, seed=3, k=3)
    again = dpo.sft_answers(course, 6, seed=3, k=3)
    assert sampled == [1] and again.kept and not first.kept
    assert again.answers == first.answers and again.asked == first.asked and again.seconds == pytest.approx(first.seconds, abs=0.01)
    sft = stages.ensure(course, "sft")
    fresh = real(load_causal_lm(sft), load_tokenizer(sft), 6, seed=3, k=3)
    assert fresh.answers == first.answers  # keeping them changes nothing about which answers they are
    settings = dpo.DPOSettings.for_mode(True, n_pairs=6, answers_per_prompt=3)
    pairs, _ = dpo.training_data(course, settings, use_learner_labels=False, seed=3)
    assert sampled == [1] and list(pairs) == list(dpo.rank_answers(first, settings.persona))
    other = load_causal_lm(sft)
    with torch.no_grad():
        other.model.norm.weight.mul_(1.5)  # another SFT model in the same folder
    save(other, load_tokenizer(sft), sft)
    assert not dpo.sft_answers(course, 6, seed=3, k=3).kept and sampled == [1, 1]


def test_training_on_a_cpu_skips_the_full_garbage_collection_at_its_start(policy, ref_model, tokenizer, tmp_path, monkeypatch):
    """accelerate's free_memory runs gc.collect as training starts (0.2-0.3 s of a notebook's heap, for
    a device cache a CPU lacks): our trainers skip that one call and leave gc.collect as it was."""
    import gc

    calls = []
    real = gc.collect
    monkeypatch.setattr(gc, "collect", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    counting = gc.collect
    trainer = dpo.make_trainer(policy, ref_model, tokenizer, gold_dataset(8, seed=1), tmp_path,
                               settings=dpo.DPOSettings(batch_size=8), max_steps=1, progress=False)
    trainer.accelerator.free_memory()
    assert calls == [] and gc.collect is counting  # skipped, then put back
    trainer.train()
    assert calls == []
