"""Solutions to the exercises of notebook 06 (DPO). Try them yourself first!

Check any of them with `tutor.exercises.check("name", function)`.
"""

import torch
import torch.nn.functional as F


def sequence_logps(logits, labels):
    """Σ over answer tokens of log p(token). Position t predicts token t+1, so shift by one;
    labels of −100 (prompt, padding) are not part of the answer."""
    logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels != -100
    logps = torch.log_softmax(logits.float(), dim=-1)
    token_logps = logps.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (token_logps * mask).sum(-1)


def implicit_reward(logps, ref_logps, beta):
    """β · log(π(y|x) / π_ref(y|x)): how much more the policy likes an answer than the reference did."""
    return beta * (logps - ref_logps)


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    """Mean over pairs of −log σ(r_chosen − r_rejected), with r the implicit reward."""
    chosen = implicit_reward(policy_chosen_logps, ref_chosen_logps, beta)
    rejected = implicit_reward(policy_rejected_logps, ref_rejected_logps, beta)
    return -F.logsigmoid(chosen - rejected).mean()
