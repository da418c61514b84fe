"""TRL's DPOTrainer with our CPU speed-ups: they change what is computed when, never the result."""

import copy

import pytest
import torch

from tutor import dpo
from tutor.core.chat import message_text
from tutor.core.logprobs import answer_logps
from tutor.core.models import load_causal_lm
from tutor.preferences import gold_dataset


def test_reference_free_variant_drops_the_reference(nudged_model, tiny_model, tiny_tokenizer, tmp_path):
    data = gold_dataset(8, seed=1)
    settings = dpo.DPOSettings(batch_size=8, reference_free=True)
    trainer = dpo.make_trainer(nudged_model, tiny_model, tiny_tokenizer, data, tmp_path, settings=settings)
    assert set(trainer.train_dataset["ref_chosen_logps"]) == {0.0}
    assert set(trainer.train_dataset["ref_rejected_logps"]) == {0.0}


def test_pairs_scored_once_are_not_scored_again(nudged_model, tiny_model, tiny_tokenizer, tmp_path):
    """The sweep's runs share one scoring of their pairs by the SFT reference: a data set that
    carries the reference's log-probs keeps them, and they equal what scoring it anew gives."""
    data = gold_dataset(12, seed=2)
    scored = dpo.make_trainer(nudged_model, tiny_model, tiny_tokenizer, data, tmp_path).train_dataset
    prompts, chosen = ([message_text(r[key]) for r in data] for key in ("prompt", "chosen"))
    ours = answer_logps(tiny_model, tiny_tokenizer, prompts, chosen, max_length=256)
    assert torch.allclose(torch.tensor(scored["ref_chosen_logps"]), ours, atol=1e-4)
    marked = scored.remove_columns("ref_chosen_logps").add_column("ref_chosen_logps", [-1.0] * len(scored))
    again = dpo.make_trainer(load_causal_lm("tiny"), tiny_model, tiny_tokenizer, marked, tmp_path).train_dataset
    assert again["ref_chosen_logps"] == [-1.0] * len(scored)


@pytest.mark.parametrize("sft_weight", [0.0, 0.7])
def test_chunks_of_a_batch_give_the_whole_batchs_gradient_and_logs(nudged_model, tiny_tokenizer, tmp_path, sft_weight):
    """A batch computed as chunks of pairs of similar length (less padding, less memory) gives the
    same gradient as the whole batch at once, and logs the same loss and rewards: the DPO term
    weighs each chunk by its pairs, the NLL term by its chosen tokens."""
    data = gold_dataset(20, seed=7)  # answers of many lengths, so chunks differ in width and tokens
    results = []
    for chunk_pairs in (0, 6):  # the whole batch, then chunks of 6, 6, 6 and 2 pairs
        model = copy.deepcopy(nudged_model)
        settings = dpo.DPOSettings(batch_size=len(data), beta=0.2, sft_weight=sft_weight, chunk_pairs=chunk_pairs)
        trainer = dpo.make_trainer(
            model, load_causal_lm("tiny"), tiny_tokenizer, data, tmp_path, settings=settings, progress=False
        )
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


def test_training_on_a_cpu_skips_the_full_garbage_collection_at_its_start(
    nudged_model, tiny_model, tiny_tokenizer, tmp_path, monkeypatch
):
    """accelerate's free_memory runs gc.collect as training starts (0.2-0.3 s of a notebook's heap, for
    a device cache a CPU lacks): our trainers skip that one call and leave gc.collect as it was."""
    import gc

    calls = []
    real = gc.collect
    monkeypatch.setattr(gc, "collect", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    counting = gc.collect
    trainer = dpo.make_trainer(
        nudged_model,
        tiny_model,
        tiny_tokenizer,
        gold_dataset(8, seed=1),
        tmp_path,
        settings=dpo.DPOSettings(batch_size=8),
        max_steps=1,
        progress=False,
    )
    trainer.accelerator.free_memory()
    assert calls == [] and gc.collect is counting  # skipped, then put back
    trainer.train()
    assert calls == []
