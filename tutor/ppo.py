"""PPO for language models, written out so it can be read in one sitting: maximise E[R] − β·KL.

Four models take part:

- the **policy** π (starts as the SFT model; the only one whose answers we keep),
- the frozen **reference** π_ref (the SFT model; the KL penalty measures the distance to it),
- the frozen **reward** source R (the reward-model stage, or any Python function of the texts),
- the **value model** V (a critic that predicts, at each token, the reward still to come).

The value model is a copy of the reward model's trunk with its scoring head (the InstructGPT
choice), rescaled so that it predicts *normalised* scores: from the first step it already has a
reasonable guess of where an answer is heading, so the advantages are useful sooner. When the reward
is a plain function (no network to copy), the value model is a copy of the SFT trunk with a
zero-initialised head: it starts by predicting 0, the mean of the normalised score.

One PPO step = one **rollout** (sample answers, score them, compute per-token rewards, values and
advantages) followed by several **epochs** of clipped updates over shuffled minibatches of that
rollout. The formulas live in `tutor.ppo_math`; this module is the loop around them.

Everything goes through `accelerate.Accelerator`, so the same code runs under
`accelerate launch --num_processes N` (each process samples its own prompts; metrics are averaged).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from tutor.config import check_choice, check_flag, check_number, check_whole
from tutor.core.chat import encode_prompts, right_pad
from tutor.core.evaluation import Evaluation, evaluate_model
from tutor.core.sampling import sample_tokens
from tutor.course import TINY
from tutor.errors import TutorError
from tutor.ppo_math import (
    KL_ESTIMATORS,
    gae,
    kl_estimate,
    masked_mean,
    masked_var,
    per_token_rewards,
    policy_loss,
    token_entropy,
    token_logprobs,
    value_loss,
    whiten,
)

RewardFn = Callable[[list[str], list[str]], Sequence[float]]

PROFILE_METRICS = ("words", "politeness", "audience", "safety", "correctness", "on_topic", "degenerate")


@dataclass(frozen=True)
class PPOSettings:
    """How PPO trains (`tutor.config`'s convention). Defaults suit the tiny model on a laptop CPU;
    `for_mode` gives FAST mode's."""

    steps: int = 15  # PPO steps: one rollout batch + its updates each
    batch_size: int = 24  # episodes (prompt → sampled answer) per rollout, per process
    mini_batch_size: int = 12  # episodes per gradient step
    ppo_epochs: int = 2  # passes over each rollout (PPO reuses its samples a few times)
    learning_rate: float = 3e-4  # policy and value model (a 1 M-parameter model needs far more than 1e-6)
    anneal_lr: bool = False  # decay the learning rate linearly to 0 over `steps`: the last updates
    # are small, so the final policy is less a matter of which rollout came last
    max_grad_norm: float = 1.0
    max_new_tokens: int = 96  # answers longer than this are cut and count as "no EOS"
    temperature: float = 1.0  # sampling temperature; log-probs are computed at the same one
    beta: float = 0.2  # weight of the per-token KL penalty to the reference (SFT) model
    kl_estimator: str = "k1"  # per-token KL in the reward: "k1" (unbiased) or "k3" (≥ 0 too)
    target_kl: float | None = None  # set (e.g. 3.0) for the adaptive KL controller; None = fixed β
    kl_horizon: int = 1000  # episodes over which the adaptive controller corrects β
    gamma: float = 1.0  # discount: the score at the end counts as much as an early token's KL
    lam: float = 0.95  # GAE λ: bias/variance trade-off of the advantages
    cliprange: float = 0.2  # PPO ε: how far π/π_old may move on one rollout
    cliprange_value: float = 0.2  # ε_v for the clipped value loss
    vf_coef: float = 0.1  # weight of the value loss in the total loss
    whiten_advantages: bool = True
    missing_eos_penalty: float = 1.0  # subtracted from the (normalised) score of answers with no EOS
    normalize_reward: bool = True  # scores → mean 0, std 1 on SFT samples before training
    calibration_samples: int = 64  # SFT answers used for that normalisation
    value_init: str = "auto"  # "reward" (copy the reward model), "sft" (zero head), "auto"
    train_value_trunk: bool = True  # False: only the value head trains, on features computed once
    # per rollout by the frozen trunk — the update then runs one network instead of two
    seed: int = 0

    def __post_init__(self):
        for name in ("steps", "batch_size", "mini_batch_size", "ppo_epochs", "max_new_tokens", "kl_horizon",
                     "calibration_samples"):
            check_whole(self, name)
        check_whole(self, "seed", minimum=0)
        if self.mini_batch_size > self.batch_size:
            raise TutorError(
                f"PPOSettings.mini_batch_size ({self.mini_batch_size}) must not exceed batch_size "
                f"({self.batch_size}): a minibatch is a slice of one rollout."
            )
        check_number(self, "beta", at_least=0)
        for name in ("learning_rate", "temperature", "cliprange", "cliprange_value", "max_grad_norm"):
            check_number(self, name, above=0)
        for name in ("gamma", "lam"):
            check_number(self, name, at_least=0, at_most=1)
        check_number(self, "vf_coef", at_least=0)
        check_number(self, "missing_eos_penalty")
        check_number(self, "target_kl", above=0, optional=True)
        check_choice(self, "kl_estimator", KL_ESTIMATORS)
        check_choice(self, "value_init", ("auto", "reward", "sft"))
        for name in ("anneal_lr", "whiten_advantages", "normalize_reward", "train_value_trunk"):
            check_flag(self, name)

    @classmethod
    def for_mode(cls, fast: bool, model: str = TINY, **changes) -> PPOSettings:
        """FAST mode trains for fewer steps on smaller rollouts."""
        base = dict(steps=4, batch_size=12, mini_batch_size=6, calibration_samples=32) if fast else {}
        return cls(**{**base, **changes})


class AdaptiveKLController:
    """β ← β·(1 + clip(KL/target − 1, −0.2, 0.2)·n/horizon): raise β when KL overshoots, lower it
    when KL stays under target (Ziegler et al. 2019). With target=None, β stays fixed."""

    def __init__(self, beta: float, target: float | None, horizon: int):
        self.value, self.target, self.horizon = beta, target, horizon

    def update(self, kl: float, n_episodes: int) -> None:
        if self.target is None:
            return
        error = max(-0.2, min(0.2, kl / self.target - 1.0))
        self.value *= 1.0 + error * n_episodes / self.horizon


class ValueModel(nn.Module):
    """A transformer trunk with a linear head: one value estimate per token position."""

    def __init__(self, trunk: nn.Module, head: nn.Linear):
        super().__init__()
        self.trunk, self.head = trunk, head

    @classmethod
    def from_causal_lm(cls, lm) -> ValueModel:
        """Copy of the SFT model's trunk with a zero head: predicts 0 (the mean normalised score)."""
        trunk = copy.deepcopy(lm.base_model)
        head = nn.Linear(lm.config.hidden_size, 1)
        nn.init.zeros_(head.weight)
        nn.init.zeros_(head.bias)
        return cls(trunk, head).float()

    @classmethod
    def from_reward_model(cls, rm, mean: float = 0.0, std: float = 1.0) -> ValueModel:
        """Copy of the reward model with its head rescaled to predict (score − mean) / std."""
        old = _score_head(rm)
        trunk = copy.deepcopy(rm.base_model)
        head = nn.Linear(old.in_features, 1)
        with torch.no_grad():
            head.weight.copy_(old.weight[:1] / std)
            bias = old.bias[:1] if old.bias is not None else torch.zeros(1)
            head.bias.copy_((bias - mean) / std)
        return cls(trunk, head).float()

    def features(self, input_ids, attention_mask, position_ids=None):
        """The trunk's last hidden state at every position (what the head reads)."""
        return self.trunk(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                          use_cache=False).last_hidden_state.float()

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, features=None):
        """Values from token ids, or from precomputed `features` (frozen trunk: only the head runs)."""
        if features is None:
            features = self.features(input_ids, attention_mask, position_ids)
        return self.head(features).squeeze(-1)


def _score_head(rm) -> nn.Linear:
    head = getattr(rm, "score", None) or getattr(rm, "classifier", None)
    if not isinstance(head, nn.Linear):
        raise TutorError(
            f"Cannot find the scoring head of {type(rm).__name__} (expected a linear 'score' layer); "
            "use PPOSettings(value_init='sft') for this reward model."
        )
    return head


@dataclass
class Rollout:
    """One batch of episodes, with everything the PPO update needs (tensors are B × T unless noted)."""

    prompts: list[str]
    texts: list[str]
    query_ids: torch.Tensor  # B × P, left-padded prompts
    query_mask: torch.Tensor
    response_ids: torch.Tensor  # B × T, pad after the first EOS
    mask: torch.Tensor  # 1.0 on response tokens up to and including the first EOS
    ended: torch.Tensor  # B, bool: the answer emitted EOS
    logps: torch.Tensor  # log π_old(token), at the sampling temperature
    ref_logps: torch.Tensor
    values: torch.Tensor
    raw_scores: torch.Tensor  # B, from the reward source
    scores: torch.Tensor  # B, normalised, minus the missing-EOS penalty
    kl: torch.Tensor  # per-token KL estimate (config.kl_estimator)
    rewards: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    entropy: torch.Tensor  # B, summed per-token entropy of π
    value_features: torch.Tensor | None = None  # B × T × H from the frozen value trunk, if frozen

    @property
    def lengths(self) -> torch.Tensor:
        return self.mask.sum(1)


def position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions that start at 0 on each row's first real token, so left padding changes nothing."""
    return (attention_mask.long().cumsum(1) - 1).clamp(min=0)


class PPOTrainer:
    """PPO on a causal LM: `step()` does one rollout and its updates, `train()` loops.

    reward: a reward model (sequence classification, num_labels=1) sharing the policy's tokenizer,
        scored directly on the policy's token ids; or any function (prompts, responses) → scores.
    gold: a `GoldAnnotator` whose score of each rollout is logged as `gold/score` (never trained on).
    """

    def __init__(
        self,
        policy,
        ref_policy,
        tokenizer,
        reward,
        config: PPOSettings | None = None,
        *,
        reward_tokenizer=None,
        value_model: nn.Module | None = None,
        gold=None,
        prompts: Sequence[str] | None = None,
        accelerator=None,
        reward_stats: tuple[float, float] | None = None,
    ):
        from accelerate import Accelerator

        self.config = config or PPOSettings()
        cfg = self.config
        self.tokenizer = tokenizer
        self._check_tokenizer(tokenizer)
        device = next(policy.parameters()).device
        self.accelerator = accelerator or Accelerator(cpu=device.type == "cpu")
        acc = self.accelerator
        self.gold = gold
        if prompts is None:
            from tutor.world import prompts_for

            prompts = [p.text for p in prompts_for("train")]
        self.prompts = list(prompts)
        if not self.prompts:
            raise TutorError("PPOTrainer needs at least one training prompt.")
        self._check_prompt_lengths(policy)

        self.reward_model, self.reward_fn = None, None
        if isinstance(reward, nn.Module):
            self._check_reward_model(reward, reward_tokenizer or tokenizer)
            self.reward_model = reward.to(acc.device).eval().requires_grad_(False)
        elif callable(reward):
            self.reward_fn = reward
        else:
            raise TutorError(
                f"reward must be a reward model (num_labels=1) or a function (prompts, responses) → "
                f"scores, got {type(reward).__name__}."
            )
        self.ref_policy = ref_policy.to(acc.device).eval().requires_grad_(False)
        self.step_count = 0
        self.episodes = 0
        self.tokens = 0
        self.history: list[dict] = []
        self.kl_ctl = AdaptiveKLController(cfg.beta, cfg.target_kl, cfg.kl_horizon)
        self._order = torch.Generator().manual_seed(cfg.seed + acc.process_index)
        self._queue: list[int] = []

        # Reward normalisation needs SFT samples: the reference model is the SFT model.
        self.reward_mean, self.reward_std = 0.0, 1.0
        if reward_stats is not None:
            self.reward_mean, self.reward_std = reward_stats
        elif cfg.normalize_reward:
            self.reward_mean, self.reward_std = self.calibrate_reward()

        if value_model is None:
            init = cfg.value_init
            if init == "auto":
                init = "reward" if self.reward_model is not None else "sft"
            if init == "reward":
                if self.reward_model is None:
                    raise TutorError("PPOSettings.value_init='reward' needs a reward model, not a function.")
                value_model = ValueModel.from_reward_model(self.reward_model, self.reward_mean, self.reward_std)
            else:
                value_model = ValueModel.from_causal_lm(policy)
            self.value_init = init
        else:
            self.value_init = "given"
        value_model.requires_grad_(True)
        if not cfg.train_value_trunk:
            value_model.trunk.requires_grad_(False)
        policy.requires_grad_(True)
        # eval() = dropout off: sampling and the update must see the same network.
        policy.eval()
        value_model.eval()
        params = [p for p in list(policy.parameters()) + list(value_model.parameters()) if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=cfg.learning_rate, eps=1e-5)
        self.policy, self.value_model, self.optimizer = acc.prepare(policy, value_model, optimizer)
        self._params = [p for p in list(self.policy.parameters()) + list(self.value_model.parameters()) if p.requires_grad]

    # ------------------------------------------------------------------ checks

    @staticmethod
    def _check_tokenizer(tok) -> None:
        if tok.pad_token_id is None or tok.pad_token_id == tok.eos_token_id:
            raise TutorError(
                "The tokenizer's pad token must exist and differ from EOS (load it with "
                "tutor.core.models.load_tokenizer), or padding would read as 'the answer ended'."
            )

    def _check_prompt_lengths(self, policy) -> None:
        context = getattr(policy.config, "max_position_embeddings", None) or 10**9
        need = self.config.max_new_tokens
        enc = encode_prompts(self.tokenizer, self.prompts, chat=True)
        lengths = enc["attention_mask"].sum(1)
        worst = int(lengths.argmax())
        if int(lengths[worst]) + need > context:
            raise TutorError(
                f"Training prompt {worst} is {int(lengths[worst])} tokens long; with max_new_tokens="
                f"{need} that exceeds the model's context of {context} tokens: shorten the prompt "
                "or lower max_new_tokens."
            )

    def _check_reward_model(self, rm, rm_tok) -> None:
        if getattr(rm.config, "num_labels", 1) != 1:
            raise TutorError(f"The reward model has {rm.config.num_labels} outputs; it must output one score (num_labels=1).")
        if rm_tok.get_vocab() != self.tokenizer.get_vocab():
            raise TutorError(
                "The reward model's tokenizer differs from the policy's; PPO scores the policy's token "
                "ids directly, so train the reward model from the same base (or pass a function "
                "(prompts, responses) → scores as the reward instead)."
            )
        if rm.config.pad_token_id != self.tokenizer.pad_token_id:
            raise TutorError(
                f"The reward model's pad_token_id ({rm.config.pad_token_id}) differs from the "
                f"tokenizer's ({self.tokenizer.pad_token_id}); it would score the wrong token."
            )

    def _finite_or_raise(self, what: str, x: torch.Tensor, fix: str = "lower learning_rate") -> None:
        """Stop with a sentence naming the step and the quantity: never a silent NaN run."""
        bad = ~torch.isfinite(x)
        if bool(bad.any()):
            raise TutorError(
                f"PPO step {self.step_count}: {what} is NaN or infinite ({int(bad.sum())} value(s)), "
                f"so training stopped; {fix}."
            )

    # ------------------------------------------------------------------ model calls

    @property
    def unwrapped_policy(self):
        return self.accelerator.unwrap_model(self.policy)

    def _next_prompts(self, n: int) -> list[str]:
        """Training prompts in a seeded shuffled order, reshuffled after every pass."""
        out = []
        while len(out) < n:
            if not self._queue:
                self._queue = torch.randperm(len(self.prompts), generator=self._order).tolist()
            out.append(self.prompts[self._queue.pop()])
        return out

    @torch.no_grad()
    def generate(self, model, prompts: Sequence[str]):
        """Sample answers (pure sampling at the configured temperature: `tutor.core.sampling.decode`,
        the loop every stage samples with); cut after the first EOS."""
        tok, cfg = self.tokenizer, self.config
        enc = encode_prompts(tok, prompts, chat=True).to(self.accelerator.device)
        try:
            rows, _ = sample_tokens(model, enc["input_ids"], enc["attention_mask"], tok.eos_token_id, cfg.max_new_tokens,
                             cfg.temperature)
        except TutorError as exc:
            raise TutorError(f"PPO step {self.step_count}: {exc} Lower learning_rate.") from None
        response = right_pad(rows, tok.pad_token_id)[0].to(enc["input_ids"].device)
        response, mask, ended = truncate_after_eos(response, tok.eos_token_id, tok.pad_token_id)
        return enc["input_ids"], enc["attention_mask"], response, mask, ended

    def response_logits(self, model, query_ids, query_mask, response_ids, mask):
        """Logits at the positions that predict each response token (B × T × V)."""
        input_ids = torch.cat([query_ids, response_ids], 1)
        attention = torch.cat([query_mask, mask.long()], 1)
        out = model(input_ids=input_ids, attention_mask=attention, position_ids=position_ids(attention), use_cache=False)
        P = query_ids.shape[1]
        return out.logits[:, P - 1 : -1]

    def response_values(self, query_ids, query_mask, response_ids, mask):
        """V at the positions that predict each response token, and, when the value trunk is frozen,
        the features the head read (B × T × H), which the update then reuses."""
        input_ids = torch.cat([query_ids, response_ids], 1)
        attention = torch.cat([query_mask, mask.long()], 1)
        P = query_ids.shape[1]
        if self.config.train_value_trunk:
            return self.value_model(input_ids, attention, position_ids(attention))[:, P - 1 : -1], None
        with torch.no_grad():
            value_model = self.accelerator.unwrap_model(self.value_model)
            features = value_model.features(input_ids, attention, position_ids(attention))[:, P - 1 : -1]
        return self.value_model(features=features), features

    @torch.no_grad()
    def raw_reward(self, prompts, texts, query_ids=None, query_mask=None, response_ids=None, mask=None) -> torch.Tensor:
        """Scores from the reward source: the reward model on token ids, or the function on texts."""
        device = self.accelerator.device
        if self.reward_model is not None:
            input_ids = torch.cat([query_ids, response_ids], 1)
            attention = torch.cat([query_mask, mask.long()], 1)
            # The classifier reads the last non-pad token: EOS, or the last word of a cut answer.
            logits = self.reward_model(input_ids=input_ids, attention_mask=attention,
                                       position_ids=position_ids(attention), use_cache=False).logits
            scores = logits[:, 0].float()
        else:
            values = self.reward_fn(list(prompts), list(texts))
            try:
                scores = torch.tensor([float(v) for v in values], dtype=torch.float32, device=device)
            except (TypeError, ValueError):
                raise TutorError("The reward function must return one number per response.") from None
            if len(scores) != len(texts):
                raise TutorError(f"The reward function returned {len(scores)} scores for {len(texts)} responses; it must return one per response.")
        self._finite_or_raise("the reward (the reward source's score)", scores,
                              "the reward source must return finite numbers for every answer")
        return scores

    def normalised_scores(self, raw: torch.Tensor, ended: torch.Tensor) -> torch.Tensor:
        """(score − SFT mean) / SFT std, minus the penalty for answers that never emitted EOS."""
        cfg = self.config
        scores = (raw - self.reward_mean) / self.reward_std if cfg.normalize_reward else raw.clone()
        return scores - cfg.missing_eos_penalty * (~ended).float()

    def detokenize(self, response_ids, mask) -> list[str]:
        return [self.tokenizer.decode(row[: int(n)], skip_special_tokens=True).strip()
                for row, n in zip(response_ids.tolist(), mask.sum(1).tolist(), strict=True)]

    @torch.no_grad()
    def calibrate_reward(self) -> tuple[float, float]:
        """Mean and std of the reward on SFT (reference-model) answers to training prompts."""
        torch.manual_seed(self.config.seed + 7919)
        prompts = self._calibration_prompts()
        q, qm, r, m, _ended = self.generate(self.ref_policy, prompts)
        scores = self.raw_reward(prompts, self.detokenize(r, m), q, qm, r, m)
        scores = self._gather(scores)
        std = float(scores.std()) if len(scores) > 1 else 1.0
        return float(scores.mean()), max(std, 1e-6)

    def _calibration_prompts(self) -> list[str]:
        g = torch.Generator().manual_seed(self.config.seed + 1 + self.accelerator.process_index)
        idx = torch.randint(len(self.prompts), (self.config.calibration_samples,), generator=g).tolist()
        return [self.prompts[i] for i in idx]

    def _gather(self, x: torch.Tensor) -> torch.Tensor:
        return self.accelerator.gather(x) if self.accelerator.num_processes > 1 else x

    def _mean(self, x: float) -> float:
        if self.accelerator.num_processes == 1:
            return float(x)
        t = torch.tensor([float(x)], device=self.accelerator.device)
        return float(self.accelerator.reduce(t, "mean"))

    # ------------------------------------------------------------------ PPO

    @torch.no_grad()
    def rollout(self, prompts: Sequence[str]) -> Rollout:
        """Sample, score, and turn scores + KL into per-token rewards, values and advantages."""
        cfg = self.config
        prompts = list(prompts)
        q, qm, r, m, ended = self.generate(self.unwrapped_policy, prompts)
        mask = m.float()
        texts = self.detokenize(r, m)
        logits = self.response_logits(self.policy, q, qm, r, mask)
        logps = token_logprobs(logits, r, cfg.temperature)
        entropy = (token_entropy(logits, cfg.temperature) * mask).sum(1)
        del logits
        ref_logps = token_logprobs(self.response_logits(self.ref_policy, q, qm, r, mask), r, cfg.temperature)
        values, features = self.response_values(q, qm, r, mask)
        raw = self.raw_reward(prompts, texts, q, qm, r, m)
        scores = self.normalised_scores(raw, ended)
        kl = kl_estimate(logps, ref_logps, cfg.kl_estimator) * mask
        rewards = per_token_rewards(scores, kl, mask, self.kl_ctl.value)
        advantages, returns = gae(rewards, values, mask, cfg.gamma, cfg.lam)
        if cfg.whiten_advantages:
            advantages = whiten(advantages, mask)
        for name, x in (("the policy log-probabilities", logps), ("the values", values), ("the advantages", advantages)):
            self._finite_or_raise(name, x * mask)
        return Rollout(prompts, texts, q, qm, r, mask, ended, logps, ref_logps, values, raw, scores, kl,
                       rewards, advantages, returns, entropy,
                       value_features=None if cfg.train_value_trunk else features)

    def update(self, ro: Rollout) -> dict:
        """`ppo_epochs` passes of clipped updates over shuffled minibatches of one rollout."""
        cfg = self.config
        acc = self.accelerator
        stats = {k: [] for k in ("pg_loss", "vf_loss", "pg_clipfrac", "vf_clipfrac", "approxkl", "ratio", "grad_norm")}
        shuffle = torch.Generator().manual_seed(cfg.seed * 7 + self.step_count)
        B = len(ro.prompts)
        for _epoch in range(cfg.ppo_epochs):
            order = torch.randperm(B, generator=shuffle)
            for start in range(0, B, cfg.mini_batch_size):
                idx = order[start : start + cfg.mini_batch_size].to(ro.mask.device)
                # Drop the columns that are padding in every row of this minibatch: less to compute.
                q_keep = int((ro.query_mask[idx].sum(0) > 0).nonzero()[0])
                T = int(ro.mask[idx].sum(1).max())
                mask = ro.mask[idx, :T]
                query_ids, query_mask = ro.query_ids[idx, q_keep:], ro.query_mask[idx, q_keep:]
                response_ids = ro.response_ids[idx, :T]
                logits = self.response_logits(self.policy, query_ids, query_mask, response_ids, mask)
                logps = token_logprobs(logits, response_ids, cfg.temperature)
                if ro.value_features is not None:
                    vpred = self.value_model(features=ro.value_features[idx, :T])
                else:
                    vpred = self.response_values(query_ids, query_mask, response_ids, mask)[0]
                pg, pg_clip = policy_loss(logps, ro.logps[idx, :T], ro.advantages[idx, :T], mask, cfg.cliprange)
                vf, vf_clip = value_loss(vpred, ro.values[idx, :T], ro.returns[idx, :T], mask, cfg.cliprange_value)
                loss = pg + cfg.vf_coef * vf
                self._finite_or_raise("the policy loss", pg.detach())
                self._finite_or_raise("the value loss", vf.detach())
                acc.backward(loss)
                norm = acc.clip_grad_norm_(self._params, cfg.max_grad_norm)
                self._finite_or_raise("the gradient norm", torch.as_tensor(norm).detach().float())
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
                with torch.no_grad():
                    log_ratio = logps.detach() - ro.logps[idx, :T]
                    stats["pg_loss"].append(float(pg))
                    stats["vf_loss"].append(float(vf))
                    stats["pg_clipfrac"].append(float(pg_clip))
                    stats["vf_clipfrac"].append(float(vf_clip))
                    stats["approxkl"].append(float(0.5 * masked_mean(log_ratio**2, mask)))
                    stats["ratio"].append(float(masked_mean(log_ratio.exp(), mask)))
                    stats["grad_norm"].append(float(norm))
        return {k: sum(v) / len(v) for k, v in stats.items()}

    def step(self) -> dict:
        """One PPO step: rollout, update, metrics (named as TRL's PPO trainer named them)."""
        cfg = self.config
        start = time.perf_counter()
        torch.manual_seed(cfg.seed * 100_003 + self.step_count * self.accelerator.num_processes + self.accelerator.process_index)
        prompts = self._next_prompts(cfg.batch_size)
        if cfg.anneal_lr:
            for group in self.optimizer.param_groups:
                group["lr"] = cfg.learning_rate * max(0.0, 1.0 - self.step_count / cfg.steps)
        ro = self.rollout(prompts)
        rollout_seconds = time.perf_counter() - start
        upd = self.update(ro)
        beta = self.kl_ctl.value
        mask = ro.mask
        seq_kl = ro.kl.sum(1)
        seq_k3 = (kl_estimate(ro.logps, ro.ref_logps, "k3") * mask).sum(1)
        non_score = -beta * seq_kl
        var_returns = masked_var(ro.returns, mask)
        metrics = {
            "objective/kl": seq_kl.mean(),
            "objective/kl_k3": seq_k3.mean(),
            "objective/entropy": ro.entropy.mean(),
            "objective/non_score_reward": non_score.mean(),
            "objective/rlhf_reward": (ro.scores + non_score).mean(),
            "objective/scores": ro.scores.mean(),
            "objective/raw_scores": ro.raw_scores.mean(),
            "policy/approxkl_avg": upd["approxkl"],
            "policy/clipfrac_avg": upd["pg_clipfrac"],
            "loss/policy_avg": upd["pg_loss"],
            "loss/value_avg": upd["vf_loss"],
            "val/clipfrac_avg": upd["vf_clipfrac"],
            "val/ratio": upd["ratio"],
            "val/var_explained": 1 - masked_var(ro.returns - ro.values, mask) / var_returns.clamp(min=1e-8),
            "val/num_eos_tokens": ro.ended.float().sum(),
            "val/grad_norm": upd["grad_norm"],
            "episode/length": ro.lengths.mean(),
            "episode/eos_rate": ro.ended.float().mean(),
            "objective/beta": beta,
        }
        metrics = {k: self._mean(float(v)) for k, v in metrics.items()}
        if self.gold is not None:
            metrics.update({k: self._mean(v) for k, v in gold_metrics(self.gold, ro.prompts, ro.texts).items()})
        n = len(prompts) * self.accelerator.num_processes
        self.kl_ctl.update(metrics["objective/kl"], n)
        self.episodes += n
        self.tokens += int(self._mean(float(ro.mask.sum()))) * self.accelerator.num_processes
        seconds = time.perf_counter() - start
        self.step_count += 1
        metrics.update({"step": self.step_count, "episodes": self.episodes, "time/step_seconds": seconds,
                        "time/rollout_seconds": rollout_seconds})
        self.last_rollout = ro
        self.history.append(metrics)
        return metrics

    def train(self, steps: int | None = None, callback: Callable[[int, dict], None] | None = None,
              progress: bool = True) -> list[dict]:
        """Run `steps` PPO steps (default: config.steps); `callback(step, metrics)` after each one,
        e.g. a LivePlot's `log`. Returns the history of metrics."""
        steps = self.config.steps if steps is None else steps
        bar = None
        if progress and self.accelerator.is_main_process:
            from tqdm.auto import tqdm

            bar = tqdm(total=steps, desc="PPO", leave=False)
        start = time.perf_counter()
        try:
            for _ in range(steps):
                metrics = self.step()
                if callback is not None:
                    callback(metrics["step"], metrics)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(score=f"{metrics['objective/scores']:.2f}", kl=f"{metrics['objective/kl']:.2f}")
        finally:
            if bar is not None:
                bar.close()
        self.train_seconds = getattr(self, "train_seconds", 0.0) + time.perf_counter() - start
        return self.history

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, prompts: Sequence[str] | None = None, baseline=None, seed: int = 1234,
                 max_new_tokens: int = 160) -> Evaluation:
        """The policy on held-out prompts, measured like every stage (`tutor.core.evaluation`): gold
        score, win-rate over `baseline` samples (on the baseline's prompts when `prompts` is None)
        and the exact KL to the reference."""
        from tutor.world import GoldAnnotator

        if prompts is None:
            if baseline is None:
                raise TutorError("evaluate() needs prompts, or baseline samples whose prompts it reuses.")
            prompts = baseline.prompts
        return evaluate_model(self.unwrapped_policy, self.tokenizer, prompts, self.gold or GoldAnnotator("riley"),
                              baseline=baseline, ref_model=self.ref_policy, seed=seed, max_new_tokens=max_new_tokens)


def truncate_after_eos(response: torch.Tensor, eos_id: int, pad_id: int):
    """Keep each answer up to and including its first EOS; pad the rest. Returns (ids, mask, ended)."""
    is_eos = response == eos_id
    ended = is_eos.any(1)
    first = torch.where(ended, is_eos.float().argmax(1), torch.full_like(ended, response.shape[1], dtype=torch.long))
    positions = torch.arange(response.shape[1], device=response.device)
    mask = positions.unsqueeze(0) <= first.unsqueeze(1)
    return response.masked_fill(~mask, pad_id), mask, ended


def gold_metrics(gold, prompts: Sequence[str], texts: Sequence[str]) -> dict:
    """The gold annotator's mean score and the attribute profile of a batch (analysed once)."""
    from tutor.world import analyse, parse_prompt
    from tutor.world.annotator import score_profile

    parsed = [parse_prompt(p) for p in prompts]
    profiles = [analyse(t, p) for t, p in zip(texts, parsed, strict=True)]
    out = {"gold/score": sum(score_profile(gold.persona, p, a) for p, a in zip(parsed, profiles, strict=True)) / len(texts)}
    for key in PROFILE_METRICS:
        out[f"profile/{key}"] = sum(float(getattr(a, key)) for a in profiles) / len(profiles)
    return out


# ---------------------------------------------------------------------- the stage


@dataclass
class StageModels:
    """What PPO takes from earlier stages: the SFT model (policy start and frozen reference), the
    reward model and the tokenizer. `policy()` loads a fresh copy of the SFT model for each run."""

    sft: Path
    reward: Path
    tokenizer: object
    reward_tokenizer: object
    ref_policy: nn.Module
    reward_model: nn.Module
    device: str = "cpu"

    def policy(self):
        from tutor.core.models import load_causal_lm

        return load_causal_lm(self.sft, self.device)


def load_models(course) -> StageModels:
    """Load the `sft` and `reward` stages (building them first if they are missing)."""
    from tutor import stages
    from tutor.core.models import load_causal_lm, load_reward_model, load_tokenizer

    sft = stages.ensure(course, "sft")
    reward = stages.ensure(course, "reward")
    return StageModels(sft, reward, load_tokenizer(sft), load_tokenizer(reward), load_causal_lm(sft, course.device),
                       load_reward_model(reward, course.device), course.device)


def make_trainer(models: StageModels, config: PPOSettings | None = None, *, reward=None, gold=None, **options) -> PPOTrainer:
    """A PPOTrainer on a fresh copy of the SFT model, against the reward model (or `reward`), with
    the gold annotator (Riley, the persona the reward model learned from) watching."""
    from tutor.world import GoldAnnotator

    return PPOTrainer(models.policy(), models.ref_policy, models.tokenizer,
                      models.reward_model if reward is None else reward, config,
                      reward_tokenizer=models.reward_tokenizer if reward is None else None,
                      gold=gold or GoldAnnotator("riley"), **options)


def build_stage(course, where: Path, config: PPOSettings | None = None, callback=None) -> dict:
    """The `ppo` stage: PPO against the reward model, then gold win-rate and KL on held-out prompts."""
    from tutor import stages

    cfg = config or PPOSettings.for_mode(course.fast, seed=course.seed)
    models = load_models(course)
    trainer = make_trainer(models, cfg)
    history = trainer.train(callback=callback, progress=False)
    result = trainer.evaluate(baseline=stages.load_samples(course, "sft"))  # the SFT stage's held-out prompts
    return _stage_metrics(where, trainer, models, history, result)


def save_stage(course, trainer: PPOTrainer, models: StageModels, history: list[dict], result: Evaluation) -> Path:
    """Save a run trained and evaluated elsewhere (notebook 05's) as the course's `ppo` stage, the
    same record `build_stage` writes, so that notebook 07 and `rlhf-tutor run` reuse it instead of
    training PPO again. `result` is `trainer.evaluate(baseline=<the SFT stage's samples>)`."""
    from tutor import stages

    if not isinstance(result, Evaluation) or result.gold_win_rate_vs_sft is None:
        raise TutorError("save_stage() needs trainer.evaluate(baseline=...)'s result, with its win-rate over SFT.")
    if list(result.samples.prompts) != list(stages.load_samples(course, "sft").prompts):
        raise TutorError("save_stage() needs the run evaluated on the SFT stage's held-out prompts (baseline=stages.load_samples(course, 'sft')).")
    where = stages.folder(course, "ppo")
    where.mkdir(parents=True, exist_ok=True)
    metrics = _stage_metrics(where, trainer, models, history, result)
    seconds = trainer.train_seconds + result.eval_seconds  # as `stages.build` counts a stage: training + measuring
    stages.save_record(course, "ppo", metrics, seconds)
    return where


def _stage_metrics(where: Path, trainer: PPOTrainer, models: StageModels, history: list[dict], result: Evaluation) -> dict:
    """Write the trained policy and its held-out answers into `where`; return the stage's metrics."""
    from tutor import stages
    from tutor.core.models import count_parameters, save

    model = trainer.unwrapped_policy
    trainer.accelerator.wait_for_everyone()
    if trainer.accelerator.is_main_process:  # under `accelerate launch`, one process writes
        save(model, models.tokenizer, Path(where) / "model")
    stages.save_samples(Path(where), result.samples)
    return {
        **result.metrics(),
        "train_seconds": round(trainer.train_seconds, 2),
        "episodes": trainer.episodes,
        "episodes_per_second": trainer.episodes / trainer.train_seconds,
        "tokens_per_second": trainer.tokens / trainer.train_seconds,
        "final": {k: v for k, v in history[-1].items() if "/" in k},
        "reward_stats": {"mean": trainer.reward_mean, "std": trainer.reward_std},
        "value_init": trainer.value_init,
        "parameters": {
            "policy": count_parameters(model),
            "reference": count_parameters(models.ref_policy),
            "reward": count_parameters(models.reward_model),
            "value": count_parameters(trainer.accelerator.unwrap_model(trainer.value_model)),
        },
        "config": asdict(trainer.config),
    }
