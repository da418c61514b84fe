"""What DPO refuses before training: a reference that scores other tokens, and pairs TRL would drop silently."""

from __future__ import annotations

from tutor.errors import TutorError


def check_same_vocabulary(model, ref_model, tokenizer) -> None:
    """Policy and reference must score the same tokens, or log π − log π_ref means nothing."""
    sizes = {
        "model": model.get_output_embeddings().weight.shape[0],
        "reference": ref_model.get_output_embeddings().weight.shape[0],
    }
    if sizes["model"] != sizes["reference"]:
        raise TutorError(
            f"The reference model has a vocabulary of {sizes['reference']} tokens but the model has "
            f"{sizes['model']}; DPO needs the reference to be a copy of the starting (SFT) model, "
            "with the same tokenizer."
        )
    if len(tokenizer) > sizes["model"]:
        raise TutorError(
            f"The tokenizer has {len(tokenizer)} tokens but the model only {sizes['model']}; "
            "use the tokenizer saved with the model."
        )


def context_limit(model, max_length: int) -> int:
    """The tokens DPO reads per prompt + answer: `max_length`, or the model's context if that is shorter."""
    return min(max_length, getattr(model.config, "max_position_embeddings", max_length) or max_length)


def check_pairs(dataset, tokenizer, max_length: int) -> None:
    """An empty data set, or a prompt that alone fills the model's context, is an error (TRL would
    silently drop such rows and train on fewer pairs than asked)."""
    if dataset is None or len(dataset) == 0:
        raise TutorError("The preference data set is empty; DPO needs rows with 'prompt', 'chosen' and 'rejected'.")
    for column in ("prompt", "chosen", "rejected"):
        if column not in dataset.column_names:
            raise TutorError(
                f"The preference data set has no {column!r} column; it needs 'prompt', 'chosen' and 'rejected'."
            )
    for i, row in enumerate(dataset):
        prompt = row["prompt"]
        messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
        n = len(tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True, return_dict=False))
        if n >= max_length:
            raise TutorError(
                f"Preference row {i} has a prompt of {n} tokens, but DPO reads at most {max_length} tokens per "
                "prompt + answer; shorten the prompt or drop the row."
            )
