"""Exercises for notebook 06 (DPO): an answer's log-probability, the implicit reward, the DPO loss.

Each reference is the course's own implementation (`tutor.dpo`), so what the learner matches is what
trains the model; each mistake is one we expect learners to make, with a hint that names it. Inputs
hold one extreme case each (a pair whose margin is −150 in float32, a token whose logit is 120 below
the best), where log(sigmoid(·)) and log(softmax(·)) underflow to −inf; labels include token id 0.
"""

from __future__ import annotations

from tutor.exercises import Exercise, register


def _pair_logps(gen, n: int = 8):
    """Plausible summed log-probs of answers (negative, tens of nats) for policy and reference, in
    float32 as a model computes them, with one pair the policy ranks far the wrong way (margin −150)."""
    import torch

    ref_chosen = -torch.rand(n, generator=gen) * 40 - 5
    ref_rejected = -torch.rand(n, generator=gen) * 40 - 5
    policy_chosen = ref_chosen + torch.randn(n, generator=gen) * 3
    policy_rejected = ref_rejected + torch.randn(n, generator=gen) * 3
    beta = float(torch.empty(1).uniform_(0.05, 0.5, generator=gen))
    i = int(torch.randint(0, n, (1,), generator=gen))
    policy_chosen[i] = ref_chosen[i] - 150.0 / beta  # an extreme pair: β·margin = −150
    return dict(
        policy_chosen_logps=policy_chosen,
        policy_rejected_logps=policy_rejected,
        ref_chosen_logps=ref_chosen,
        ref_rejected_logps=ref_rejected,
        beta=beta,
    )


# --- implicit reward -------------------------------------------------------------------------------


def _implicit_reward(logps, ref_logps, beta):
    from tutor.dpo import implicit_reward

    return implicit_reward(logps, ref_logps, beta)


def _reward_inputs(gen):
    d = _pair_logps(gen)
    return dict(logps=d["policy_chosen_logps"], ref_logps=d["ref_chosen_logps"], beta=d["beta"])


register(
    Exercise(
        name="implicit_reward",
        summary=(
            "implicit_reward(logps, ref_logps, beta) -> tensor: DPO's reward of each answer, β·(log π − log π_ref)."
        ),
        reference=_implicit_reward,
        make_inputs=_reward_inputs,
        mistakes={
            "β is missing: the reward is β times the log-ratio.": lambda logps, ref_logps, beta: logps - ref_logps,
            (
                "the log-ratio is upside down: it is log π − log π_ref (policy minus reference)."
            ): lambda logps, ref_logps, beta: beta * (ref_logps - logps),
            "that is a probability ratio; DPO's reward uses the *log* ratio, no exp.": lambda logps, ref_logps, beta: (
                beta * (logps - ref_logps).exp()
            ),
            "the reference is missing: β·log π alone is not the implicit reward.": lambda logps, ref_logps, beta: (
                beta * logps
            ),
            "multiply by β, do not divide.": lambda logps, ref_logps, beta: (logps - ref_logps) / beta,
        },
    )
)


# --- the DPO loss ----------------------------------------------------------------------------------


def _dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
    from tutor.dpo import dpo_loss

    return dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta)[0]


def _wrong(margin_fn, reduce="mean", outer=None):
    """A wrong loss built from a wrong margin and/or a wrong outer function (for the hints)."""
    import torch.nn.functional as F

    def fn(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta):
        z = margin_fn(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta)
        per = outer(z) if outer else -F.logsigmoid(z)
        return per.sum() if reduce == "sum" else per.mean()

    return fn


def _logsigmoid(z):
    import torch.nn.functional as F

    return F.logsigmoid(z)


def _full(pc, pr, rc, rr, b):
    return b * ((pc - rc) - (pr - rr))


register(
    Exercise(
        name="dpo_loss",
        summary=(
            "dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta) "
            "-> scalar: the batch mean of −log σ(β·[(log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l))])."
        ),
        reference=_dpo_loss,
        make_inputs=_pair_logps,
        mistakes={
            (
                "the reference terms are missing (the seed's shortened formula): subtract log π_ref from each log π."
            ): _wrong(lambda pc, pr, rc, rr, b: b * (pc - pr)),
            "chosen and rejected are swapped: the margin is chosen minus rejected.": _wrong(
                lambda pc, pr, rc, rr, b: -_full(pc, pr, rc, rr, b)
            ),
            "β is missing: scale the margin by β before the sigmoid.": _wrong(
                lambda pc, pr, rc, rr, b: (pc - rc) - (pr - rr)
            ),
            "the reference enters with the wrong sign: use (log π − log π_ref), not (log π + log π_ref).": _wrong(
                lambda pc, pr, rc, rr, b: b * ((pc + rc) - (pr + rr))
            ),
            "that is log σ(...): the loss is its negative, −log σ(...), which training minimises.": _wrong(
                _full, outer=_logsigmoid
            ),
            "use the log of the sigmoid: −log σ(z), not −σ(z) or 1 − σ(z).": _wrong(
                _full, outer=lambda z: 1 - z.sigmoid()
            ),
            "average over the pairs of the batch (mean), do not sum.": _wrong(_full, reduce="sum"),
            "log(sigmoid(z)) underflows: σ(−150) rounds to 0 in float32 and log(0) = −inf. Use F.logsigmoid(z), "
            "the same number computed stably.": _wrong(_full, outer=lambda z: -z.sigmoid().log()),
        },
    )
)


# --- an answer's log-probability ----------------------------------------------------------------------


def _sequence_logps(logits, labels):
    """Σ over answer tokens of log p(token): position t predicts token t+1; labels −100 are prompt."""
    import torch

    logits = logits[:, :-1].float()
    labels = labels[:, 1:]
    mask = labels != -100
    logps = torch.log_softmax(logits, dim=-1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (logps * mask).sum(-1)


def _logits_inputs(gen):
    """Labels with token id 0 among the answer tokens, junk logits on prompt and padding, and one
    answer token whose logit is 120 below the best (log(softmax(·)) gives −inf there)."""
    import torch

    batch, length, vocab = 3, 9, 11
    logits = torch.randn(batch, length, vocab, generator=gen) * 2
    labels = torch.randint(0, vocab, (batch, length), generator=gen)
    for i in range(batch):
        start = int(torch.randint(2, 5, (1,), generator=gen))
        end = int(torch.randint(start + 2, length + 1, (1,), generator=gen))
        labels[i, int(torch.randint(start, end, (1,), generator=gen))] = 0  # a real token with id 0
        labels[i, :start] = -100  # the prompt
        labels[i, end:] = -100  # padding
    t = int((labels[0] != -100).nonzero()[-1])
    logits[0, t - 1] = 0.0
    logits[0, t - 1, int(labels[0, t])] = -60.0
    logits[0, t - 1, (int(labels[0, t]) + 1) % vocab] = 60.0
    return dict(logits=logits, labels=labels)


def _log_of_softmax(logits, labels):
    import torch

    logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels != -100
    picked = torch.log(torch.softmax(logits, dim=-1)).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(-1)


def _zero_is_ignored(logits, labels):
    import torch

    logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels > 0
    picked = torch.log_softmax(logits, dim=-1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(-1)


def _no_shift(logits, labels):
    import torch

    mask = labels != -100
    logps = torch.log_softmax(logits.float(), dim=-1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (logps * mask).sum(-1)


def _mean_not_sum(logits, labels):
    import torch

    logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels != -100
    logps = torch.log_softmax(logits.float(), dim=-1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (logps * mask).sum(-1) / mask.sum(-1)


def _raw_logits(logits, labels):
    logits, labels = logits[:, :-1], labels[:, 1:]
    mask = labels != -100
    picked = logits.float().gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(-1)


register(
    Exercise(
        name="sequence_logps",
        summary=(
            "sequence_logps(logits, labels) -> tensor of shape (batch,): Σ over answer tokens of log p(token); "
            "logits (batch, length, vocab) at position t predict token t+1; labels are −100 on prompt and padding."
        ),
        reference=_sequence_logps,
        make_inputs=_logits_inputs,
        mistakes={
            (
                "the logits at position t predict token t+1: drop the last logit and the first label before gathering."
            ): _no_shift,
            "DPO sums log-probs over the answer's tokens; this is the per-token mean.": _mean_not_sum,
            (
                "take log_softmax over the vocabulary before picking the label's entry; raw logits are not log-probs."
            ): _raw_logits,
            "log(softmax(x)) underflows to log(0) = −inf for a token whose logit is far below the best: use "
            "log_softmax, which subtracts the max first.": _log_of_softmax,
            "only the label −100 marks prompt and padding: a label of 0 is a real answer token.": _zero_is_ignored,
        },
    )
)
