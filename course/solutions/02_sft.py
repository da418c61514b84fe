"""Solutions to the exercises of notebook 02 (SFT). Try them yourself first!

Each function passes `tutor.exercises.check(name, function)`.
"""

import torch.nn.functional as F


def completion_labels(input_ids, prompt_lengths, attention_mask):
    """Copy the ids, then hide (-100) the prompt of each row and every padding position."""
    labels = input_ids.clone()
    for row, n_prompt in enumerate(prompt_lengths.tolist()):
        labels[row, :n_prompt] = -100
    labels[attention_mask == 0] = -100
    return labels


def sft_loss(logits, labels):
    """Shift so position t predicts token t+1; cross_entropy skips the -100 labels and averages
    over the tokens that remain."""
    vocab = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, vocab), labels[:, 1:].reshape(-1), ignore_index=-100)


def token_accuracy(logits, labels):
    """Of the answer tokens, how many does the previous position's argmax get right?"""
    predicted = logits[:, :-1].argmax(dim=-1)
    target = labels[:, 1:]
    answer = target != -100
    return (predicted[answer] == target[answer]).float().mean()


if __name__ == "__main__":
    from tutor.exercises import check

    check("completion_labels", completion_labels)
    check("sft_loss", sft_loss)
    check("token_accuracy", token_accuracy)
