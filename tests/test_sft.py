"""SFT: our completion-only loss equals SFTTrainer's; bad data fails clearly; a short fine-tune
makes the base model follow instructions."""

import json

import pytest
import torch

from tutor.core.models import tiny_config
from tutor.errors import TutorError
from tutor.sft import (
    SFTSettings,
    check_sft_rows,
    completion_loss,
    make_trainer,
    sft_dataset,
    to_dataset,
)


def small_causal_lm(tokenizer, seed=0):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    config = tiny_config(
        tokenizer,
        num_hidden_layers=1,
        hidden_size=32,
        intermediate_size=64,
        num_attention_heads=2,
        num_key_value_heads=2,
    )
    return AutoModelForCausalLM.from_config(config)


@pytest.fixture(scope="module")
def trainer_and_batch(tiny_tokenizer, tmp_path_factory):
    trainer = make_trainer(
        small_causal_lm(tiny_tokenizer),
        tiny_tokenizer,
        sft_dataset(12),
        tmp_path_factory.mktemp("sft"),
        settings=SFTSettings(batch_size=6),
        progress=False,
    )
    batch = next(iter(trainer.get_train_dataloader()))
    return trainer, batch


# --------------------------------------------------------------------------- the twin


def test_completion_loss_equals_sfttrainer_loss(trainer_and_batch):
    trainer, batch = trainer_and_batch
    model = trainer.model.eval()
    with torch.no_grad():
        theirs = trainer.compute_loss(model, dict(batch))
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    ours = completion_loss(logits, batch["labels"])
    assert torch.allclose(ours, theirs, atol=1e-5), (ours.item(), theirs.item())


def test_the_collated_labels_are_completion_only(trainer_and_batch, tiny_tokenizer):
    """The twin compares like with like only if the trainer really hides the prompt and padding."""
    _, batch = trainer_and_batch
    assistant = tiny_tokenizer.convert_tokens_to_ids("<|assistant|>")
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"], strict=True):
        start = ids.tolist().index(assistant) + 1  # the answer starts after the assistant marker
        assert (labels[:start] == -100).all()
        answer = labels[start:][mask[start:].bool()]
        assert (answer != -100).all() and answer[-1] == tiny_tokenizer.eos_token_id  # EOS is trained too
        assert (labels[~mask.bool()] == -100).all()


def test_completion_loss_ignores_prompt_tokens():
    """Changing logits at prompt positions cannot change the loss; at answer positions it must."""
    torch.manual_seed(0)
    logits = torch.randn(2, 6, 9)
    labels = torch.tensor([[-100, -100, -100, 4, 5, 1], [-100, -100, 3, 2, 1, -100]])
    base = completion_loss(logits, labels)
    changed = logits.clone()
    changed[:, 0] += 5.0  # position 0 predicts token 1, a prompt token in both rows
    assert torch.allclose(completion_loss(changed, labels), base)
    changed[:, 3] += torch.randn(9) * 5  # position 3 predicts an answer token
    assert not torch.allclose(completion_loss(changed, labels), base)


# --------------------------------------------------------------------------- bad data


def conversational(prompt, completion):
    return {
        "prompt": [{"role": "user", "content": prompt}],
        "completion": [{"role": "assistant", "content": completion}],
    }


@pytest.mark.parametrize(
    "rows, message",
    [
        ([], "empty"),
        ([{"prompt": "Explain duration."}], "row 0 has no 'completion'"),
        ([{"completion": "Duration is ..."}], "row 0 has no 'prompt'"),
        (
            [conversational("Explain duration.", "Duration measures ..."), conversational("Explain convexity.", "")],
            "row 1 has an empty 'completion'",
        ),
        ([{"prompt": "   ", "completion": "Duration measures ..."}], "row 0 has an empty 'prompt'"),
        ([{"prompt": "Explain duration.", "completion": None}], "row 0 has a NoneType as 'completion'"),
        (["Explain duration."], "row 0 is a str"),
    ],
)
def test_bad_sft_rows_name_the_row_and_field(rows, message):
    with pytest.raises(TutorError, match=message):
        check_sft_rows(rows)
    with pytest.raises(TutorError, match=message):
        to_dataset(rows)


def test_good_rows_of_both_formats_pass():
    rows = [
        {"prompt": "Explain duration.", "completion": "Duration measures rate sensitivity."},
        conversational("Explain convexity.", "Convexity is the curvature."),
    ]
    assert check_sft_rows(rows) == rows


def test_world_data_is_conversational_prompt_completion():
    data = sft_dataset(5)
    assert data.column_names == ["prompt", "completion"]
    assert data[0]["prompt"][0]["role"] == "user" and data[0]["completion"][0]["role"] == "assistant"


# --------------------------------------------------------------------------- the stage, trained


@pytest.fixture(scope="module")
def fast_stage(fast_course):
    """The sft stage built in FAST mode into a temporary runs folder (about a minute on 2 cores)."""
    from tutor.stages import build

    build(fast_course, "base")  # the base model ships; building its stage measures it
    record = build(fast_course, "sft", progress=False)
    return fast_course, record


def test_sft_teaches_the_base_model_to_answer(fast_stage):
    from tutor.stages import read_metrics

    course, record = fast_stage
    base, sft = read_metrics(course, "base")["metrics"], record["metrics"]
    assert sft["follows_instruction_rate"] >= base["follows_instruction_rate"] + 0.3, (base, sft)
    assert sft["eos_rate"] >= 0.9 and sft["eos_rate"] > base["eos_rate"]
    assert sft["losses"][-1] < sft["losses"][0]


def test_the_final_loss_is_the_mean_of_the_last_five_logged(fast_stage):
    _, record = fast_stage
    losses = record["metrics"]["losses"]
    assert len(losses) > 5 and record["metrics"]["final_loss"] == pytest.approx(sum(losses[-5:]) / 5)


def test_the_stage_saves_what_later_stages_need(fast_stage):
    from tutor.core.models import load_causal_lm
    from tutor.stages import folder, load_samples, model_folder

    course, record = fast_stage
    for key in ("follows_instruction_rate", "eos_rate", "gold"):
        assert isinstance(record["metrics"][key], float)
    model = load_causal_lm(model_folder(course, "sft"))
    assert model.config.pad_token_id != model.config.eos_token_id
    from tutor.core.evaluation import eval_prompts

    samples = load_samples(course, "sft")
    assert samples.prompts == eval_prompts(fast=True)
    saved = json.loads((folder(course, "sft") / "metrics.json").read_text())
    assert saved["fast"] is True and saved["metrics"]["steps"] == record["metrics"]["steps"]


# --------------------------------------------------------------------------- notebook helpers


def test_loss_mask_view_brackets_only_the_answer(trainer_and_batch, tiny_tokenizer):
    from tutor.sft import loss_mask_view

    _, batch = trainer_and_batch
    view = loss_mask_view(tiny_tokenizer, batch["input_ids"][0], batch["labels"][0], batch["attention_mask"][0])
    prompt, answer = view.split("<|assistant|>", 1)
    assert "[" not in prompt  # no prompt token is counted
    assert answer.startswith("[") and answer.endswith("[<|end|>]")
    assert "<|pad|>" not in view


def test_persona_ranking_ranks_by_each_personas_score():
    from tutor.sft import persona_ranking
    from tutor.world import GoldAnnotator, sft_examples

    prompt = "Explain convexity."
    texts = [e["completion"] for e in sft_examples(200) if e["prompt"] == prompt][:6] + ["Obviously, who knows."]
    table = persona_ranking(prompt, texts)
    quinn = GoldAnnotator("quinn")
    best = max(range(len(texts)), key=lambda i: quinn.score(prompt, texts[i]))
    assert table.loc[best, "quinn rank"] == 1
    assert table["riley rank"].is_monotonic_increasing  # sorted by Riley's ranking


def test_trainers_show_one_bar_and_print_no_log_dicts(trainer_and_batch):
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from tutor.ui.progress import StepBar

    trainer, _ = trainer_and_batch
    kinds = [type(cb) for cb in trainer.callback_handler.callbacks]
    assert PrinterCallback not in kinds and ProgressCallback not in kinds
    assert kinds.count(StepBar) == 1
