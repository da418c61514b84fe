"""PPOTrainer: maximise E[R] − β·KL with one rollout and a few epochs of clipped updates per step.

Read `rollout()` and `step()` top to bottom: they are the numbered steps of one PPO step, as in
lm-human-preference-details' train_policy. The formulas are in `tutor.ppo.math`, the model calls
that make a rollout in `tutor.ppo.rollout`, the input checks in `tutor.ppo.checks` and the
multi-process plumbing in `tutor.ppo.distributed`: everything goes through
`accelerate.Accelerator`, so the same code runs under `accelerate launch --num_processes N` (each
process samples its share of every rollout; metrics are averaged).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch
from accelerate import Accelerator
from torch import nn
from tqdm.auto import tqdm

from tutor.core.chat import encode_prompts
from tutor.core.evaluation import Evaluation, evaluate_model
from tutor.errors import TutorError
from tutor.ppo.checks import (
    check_prompt_lengths,
    check_reward,
    check_reward_model,
    check_tokenizer,
    finite_or_raise,
)
from tutor.ppo.config import PPOSettings
from tutor.ppo.distributed import (
    check_engine,
    gather,
    mean_across_processes,
    per_process_settings,
    rank_seed,
    step_seed,
)
from tutor.ppo.kl_controller import AdaptiveKLController
from tutor.ppo.math import (
    advantage_signal,
    explained_variance,
    gae,
    kl_estimate,
    leave_one_out_baseline,
    masked_mean,
    masked_var,
    per_token_rewards,
    policy_loss,
    prompt_share_of_variance,
    token_entropy,
    token_logprobs,
    value_loss,
    whiten,
)
from tutor.ppo.rollout import (
    Answers,
    Rollout,
    detokenize,
    normalised_scores,
    response_logits,
    response_values,
    reward_function_scores,
    reward_model_scores,
    sample_answers,
)
from tutor.ppo.value import ValueModel
from tutor.world import GoldAnnotator, analyse, parse_prompt, prompts_for
from tutor.world.annotator import score_profile

PROFILE_METRICS = ("words", "politeness", "audience", "safety", "correctness", "on_topic", "degenerate")


class PPOTrainer:
    """PPO on a causal LM: `step()` does one rollout and its updates, `train()` loops.

    reward: a reward model (sequence classification, num_labels=1) sharing the policy's tokenizer,
        scored directly on the policy's token ids; or any function (prompts, responses) → scores.
    gold: a `GoldAnnotator` whose score of each rollout is logged as `gold/score` (never trained on).
    reward_stats: (mean, std) of the reward on SFT answers, to reuse another run's normalisation.
    """

    def __init__(
        self,
        policy,
        ref_policy,
        tokenizer,
        reward,
        settings: PPOSettings | None = None,
        *,
        reward_tokenizer=None,
        value_model: nn.Module | None = None,
        gold=None,
        prompts: Sequence[str] | None = None,
        accelerator=None,
        reward_stats: tuple[float, float] | None = None,
    ):
        self.settings = s = per_process_settings(settings or PPOSettings())  # this process's share
        self.tokenizer = tokenizer
        check_tokenizer(tokenizer)
        device = next(policy.parameters()).device
        self.accelerator = acc = accelerator or Accelerator(cpu=device.type == "cpu")
        check_engine(acc)
        self.gold = gold
        self.prompts = list(prompts) if prompts is not None else [p.text for p in prompts_for("train")]
        if not self.prompts:
            raise TutorError("PPOTrainer needs at least one training prompt.")
        check_prompt_lengths(policy, tokenizer, self.prompts, s.max_new_tokens)

        check_reward(reward)
        self.reward_model, self.reward_fn = None, None
        if isinstance(reward, nn.Module):
            check_reward_model(reward, reward_tokenizer or tokenizer, tokenizer)
            self.reward_model = reward.to(acc.device).eval().requires_grad_(False)
        else:
            self.reward_fn = reward
        self.ref_policy = ref_policy.to(acc.device).eval().requires_grad_(False)
        self.step_count, self.episodes, self.tokens, self.train_seconds = 0, 0, 0, 0.0
        self.trained_tokens = 0  # prompt + answer tokens through the policy's updates, every epoch (TRL's num_tokens)
        self.history: list[dict] = []
        self.kl_ctl = AdaptiveKLController(s.beta, s.target_kl, s.kl_horizon)
        self._prompt_order = torch.Generator().manual_seed(rank_seed(s.seed, acc))
        self._queue: list[int] = []

        # Reward normalisation needs SFT samples: the reference model is the SFT model.
        self.reward_mean, self.reward_std = 0.0, 1.0
        if reward_stats is not None:
            self.reward_mean, self.reward_std = reward_stats
        elif s.normalize_reward:
            self.reward_mean, self.reward_std = self.calibrate_reward()

        if value_model is None:
            value_model = self._initial_value_model(policy)
        else:
            self.value_init = "given"
        value_model.requires_grad_(True)
        if not s.train_value_trunk:
            value_model.trunk.requires_grad_(False)
        policy.requires_grad_(True)
        # eval() = dropout off: sampling and the update must see the same network.
        policy.eval()
        value_model.eval()
        params = [p for p in list(policy.parameters()) + list(value_model.parameters()) if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=s.learning_rate, eps=1e-5)
        self.policy, self.value_model, self.optimizer = acc.prepare(policy, value_model, optimizer)
        self._params = [
            p for p in list(self.policy.parameters()) + list(self.value_model.parameters()) if p.requires_grad
        ]

    def _initial_value_model(self, policy) -> ValueModel:
        """The critic PPOSettings.value_init asks for ("auto": the reward model's, when there is one)."""
        init = self.settings.value_init
        if init == "auto":
            init = "reward" if self.reward_model is not None else "sft"
        self.value_init = init
        if init == "sft":
            return ValueModel.from_causal_lm(policy)
        if self.reward_model is None:
            raise TutorError("PPOSettings.value_init='reward' needs a reward model, not a function.")
        return ValueModel.from_reward_model(self.reward_model, self.reward_mean, self.reward_std)

    # ------------------------------------------------------------------ model calls

    @property
    def unwrapped_policy(self):
        return self.accelerator.unwrap_model(self.policy)

    def sample(self, model, prompts: Sequence[str]) -> Answers:
        """`model`'s answers to `prompts` at the trainer's temperature, cut after the first EOS."""
        s = self.settings
        enc = encode_prompts(self.tokenizer, prompts, chat=True).to(self.accelerator.device)
        try:
            return sample_answers(
                model, self.tokenizer, enc["input_ids"], enc["attention_mask"], s.max_new_tokens, s.temperature
            )
        except TutorError as exc:
            raise TutorError(f"PPO step {self.step_count}: {exc} Lower learning_rate.") from None

    @torch.no_grad()
    def reward_scores(self, prompts: Sequence[str], texts: Sequence[str], answers: Answers) -> torch.Tensor:
        """Scores from the reward source: the reward model on token ids, or the function on texts."""
        if self.reward_model is not None:
            scores = reward_model_scores(
                self.reward_model, answers.query_ids, answers.query_mask, answers.response_ids, answers.response_mask
            )
        else:
            scores = reward_function_scores(self.reward_fn, prompts, texts, self.accelerator.device)
        finite_or_raise(
            self.step_count,
            "the reward (the reward source's score)",
            scores,
            "the reward source must return finite numbers for every answer",
        )
        return scores

    def normalised_scores(self, raw_scores: torch.Tensor, ended: torch.Tensor) -> torch.Tensor:
        """What PPO maximises: the normalised score, minus the missing-EOS penalty."""
        return normalised_scores(raw_scores, ended, self.reward_mean, self.reward_std, self.settings)

    @torch.no_grad()
    def calibrate_reward(self) -> tuple[float, float]:
        """Mean and std of the reward on SFT (reference-model) answers to training prompts."""
        torch.manual_seed(self.settings.seed + 7919)
        prompts = self.calibration_prompts()
        answers = self.sample(self.ref_policy, prompts)
        scores = self.reward_scores(
            prompts, detokenize(self.tokenizer, answers.response_ids, answers.response_mask), answers
        )
        scores = gather(self.accelerator, scores)
        std = float(scores.std()) if len(scores) > 1 else 1.0
        return float(scores.mean()), max(std, 1e-6)

    def calibration_prompts(self) -> list[str]:
        """The training prompts (drawn with replacement, per process) whose SFT answers calibrate."""
        g = torch.Generator().manual_seed(rank_seed(self.settings.seed + 1, self.accelerator))
        idx = torch.randint(len(self.prompts), (self.settings.calibration_samples,), generator=g).tolist()
        return [self.prompts[i] for i in idx]

    def _next_prompts(self, n: int) -> list[str]:
        """Training prompts in a seeded shuffled order, reshuffled after every pass."""
        out = []
        while len(out) < n:
            if not self._queue:
                self._queue = torch.randperm(len(self.prompts), generator=self._prompt_order).tolist()
            out.append(self.prompts[self._queue.pop()])
        return out

    def _mean(self, x: float) -> float:
        return mean_across_processes(self.accelerator, x)

    # ------------------------------------------------------------------ PPO

    @torch.no_grad()
    def rollout(self, prompts: Sequence[str]) -> Rollout:
        """Steps 1–4 of a PPO step: sample answers, score them, charge the KL, compute advantages."""
        s = self.settings
        prompts = list(prompts)

        # 1. Rollout: the policy answers the prompts; log π and log π_ref of every answer token.
        answers = self.sample(self.unwrapped_policy, prompts)
        query_ids, query_mask, response_ids = answers.query_ids, answers.query_mask, answers.response_ids
        response_mask = answers.response_mask.float()
        texts = detokenize(self.tokenizer, response_ids, response_mask)
        logits = response_logits(self.policy, query_ids, query_mask, response_ids, response_mask)
        logps = token_logprobs(logits, response_ids, s.temperature)
        entropy = (token_entropy(logits, s.temperature) * response_mask).sum(1)
        del logits
        ref_logits = response_logits(self.ref_policy, query_ids, query_mask, response_ids, response_mask)
        ref_logps = token_logprobs(ref_logits, response_ids, s.temperature)

        # 2. Score: the reward model's score, normalised on SFT answers, minus the missing-EOS penalty;
        #    with group_baseline, minus the mean score of the other answers to the same prompt.
        raw_scores = self.reward_scores(prompts, texts, answers)
        scores = self.normalised_scores(raw_scores, answers.ended)
        paid = leave_one_out_baseline(scores, s.answers_per_prompt) if s.group_baseline else scores

        # 3. Per-token KL penalty: rewards = −β·kl on every token, the score added on the last one.
        kl = kl_estimate(logps, ref_logps, s.kl_estimator) * response_mask
        rewards = per_token_rewards(paid, kl, response_mask, self.kl_ctl.value)

        # 4. Advantages: the value model's predictions, GAE, whitening.
        frozen_trunk = None if s.train_value_trunk else self.accelerator.unwrap_model(self.value_model)
        values, features = response_values(
            self.value_model, query_ids, query_mask, response_ids, response_mask, frozen_trunk
        )
        advantages, returns = gae(rewards, values, response_mask, s.gamma, s.lam)
        if s.whiten_advantages:
            advantages = whiten(advantages, response_mask)
        for name, x in (
            ("the policy log-probabilities", logps),
            ("the values", values),
            ("the advantages", advantages),
        ):
            finite_or_raise(self.step_count, name, x * response_mask)
        return Rollout(
            prompts,
            texts,
            query_ids,
            query_mask,
            response_ids,
            response_mask,
            answers.ended,
            logps,
            ref_logps,
            values,
            raw_scores,
            scores,
            kl,
            rewards,
            advantages,
            returns,
            entropy,
            value_features=features,
        )

    def step(self) -> dict:
        """One PPO step: rollout, epochs of updates, metrics (named as TRL's PPO trainer named them)."""
        s, acc = self.settings, self.accelerator
        start = time.perf_counter()
        torch.manual_seed(step_seed(s.seed, self.step_count, acc))
        k = s.answers_per_prompt  # each prompt answered k times, in consecutive rows
        prompts = [p for p in self._next_prompts(s.batch_size // k) for _ in range(k)]
        if s.anneal_lr:
            for group in self.optimizer.param_groups:
                group["lr"] = s.learning_rate * max(0.0, 1.0 - self.step_count / s.steps)

        # 1–4. The rollout: answers, scores, per-token rewards and advantages, without gradients.
        rollout = self.rollout(prompts)
        rollout_seconds = time.perf_counter() - start

        # 5. Epochs of clipped updates over shuffled minibatches of the rollout.
        stats = {k: [] for k in ("pg_loss", "vf_loss", "pg_clipfrac", "vf_clipfrac", "approxkl", "ratio", "grad_norm")}
        shuffle = torch.Generator().manual_seed(s.seed * 7 + self.step_count)
        B = len(rollout.prompts)
        for _epoch in range(s.ppo_epochs):
            order = torch.randperm(B, generator=shuffle)
            for start_row in range(0, B, s.mini_batch_size):
                idx = order[start_row : start_row + s.mini_batch_size].to(rollout.response_mask.device)
                # Drop the columns that are padding in every row of this minibatch: less to compute.
                first_column = int((rollout.query_mask[idx].sum(0) > 0).nonzero()[0])
                T = int(rollout.response_mask[idx].sum(1).max())
                response_mask = rollout.response_mask[idx, :T]
                query_ids, query_mask = rollout.query_ids[idx, first_column:], rollout.query_mask[idx, first_column:]
                response_ids = rollout.response_ids[idx, :T]
                old_logps = rollout.logps[idx, :T]
                logits = response_logits(self.policy, query_ids, query_mask, response_ids, response_mask)
                logps = token_logprobs(logits, response_ids, s.temperature)
                if rollout.value_features is not None:
                    values = self.value_model(features=rollout.value_features[idx, :T])
                else:
                    values = response_values(self.value_model, query_ids, query_mask, response_ids, response_mask)[0]
                pg_loss, pg_clipfrac = policy_loss(
                    logps, old_logps, rollout.advantages[idx, :T], response_mask, s.cliprange
                )
                vf_loss, vf_clipfrac = value_loss(
                    values, rollout.values[idx, :T], rollout.returns[idx, :T], response_mask, s.cliprange_value
                )
                loss = pg_loss + s.vf_coef * vf_loss
                finite_or_raise(self.step_count, "the policy loss", pg_loss.detach())
                finite_or_raise(self.step_count, "the value loss", vf_loss.detach())
                acc.backward(loss)
                grad_norm = acc.clip_grad_norm_(self._params, s.max_grad_norm)
                finite_or_raise(self.step_count, "the gradient norm", torch.as_tensor(grad_norm).detach().float())
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
                with torch.no_grad():
                    log_ratio = logps.detach() - old_logps
                    stats["pg_loss"].append(float(pg_loss))
                    stats["vf_loss"].append(float(vf_loss))
                    stats["pg_clipfrac"].append(float(pg_clipfrac))
                    stats["vf_clipfrac"].append(float(vf_clipfrac))
                    stats["approxkl"].append(float(0.5 * masked_mean(log_ratio**2, response_mask)))
                    stats["ratio"].append(float(masked_mean(log_ratio.exp(), response_mask)))
                    stats["grad_norm"].append(float(grad_norm))
        update = {k: sum(v) / len(v) for k, v in stats.items()}

        # 6. Metrics (TRL's names, averaged over processes), then the adaptive β.
        beta = self.kl_ctl.value
        mask = rollout.response_mask
        seq_kl = rollout.kl.sum(1)
        seq_k3 = (kl_estimate(rollout.logps, rollout.ref_logps, "k3") * mask).sum(1)
        non_score = -beta * seq_kl
        var_returns = masked_var(rollout.returns, mask)
        metrics = {
            "objective/kl": seq_kl.mean(),
            "objective/kl_k3": seq_k3.mean(),
            "objective/entropy": rollout.entropy.mean(),
            "objective/non_score_reward": non_score.mean(),
            "objective/rlhf_reward": (rollout.scores + non_score).mean(),
            "objective/scores": rollout.scores.mean(),
            "objective/raw_scores": rollout.raw_scores.mean(),
            "policy/approxkl_avg": update["approxkl"],
            "policy/clipfrac_avg": update["pg_clipfrac"],
            "loss/policy_avg": update["pg_loss"],
            "loss/value_avg": update["vf_loss"],
            "val/clipfrac_avg": update["vf_clipfrac"],
            "val/ratio": update["ratio"],
            "val/var_explained": 1 - masked_var(rollout.returns - rollout.values, mask) / var_returns.clamp(min=1e-8),
            # Diagnosis: how well V at the first answer token predicts the answer's return, how
            # much of the score is the prompt's (a group baseline removes it), how much the advantage is signal.
            "diag/var_explained_first_token": explained_variance(rollout.values[:, 0], rollout.returns[:, 0]),
            "diag/prompt_share_of_score_var": prompt_share_of_variance(rollout.scores, s.answers_per_prompt),
            "diag/advantage_signal": advantage_signal(rollout.advantages[:, 0], rollout.scores, s.answers_per_prompt),
            "val/num_eos_tokens": rollout.ended.float().sum(),
            "val/grad_norm": update["grad_norm"],
            "episode/length": rollout.lengths.mean(),
            "episode/eos_rate": rollout.ended.float().mean(),
            "objective/beta": beta,
        }
        metrics = {k: self._mean(float(v)) for k, v in metrics.items()}
        if self.gold is not None:
            metrics.update(
                {k: self._mean(v) for k, v in gold_metrics(self.gold, rollout.prompts, rollout.texts).items()}
            )
        n = len(prompts) * acc.num_processes
        self.kl_ctl.update(metrics["objective/kl"], n)
        self.episodes += n
        self.tokens += int(self._mean(float(mask.sum()))) * acc.num_processes
        read = float(rollout.query_mask.sum() + mask.sum()) * s.ppo_epochs
        self.trained_tokens += int(self._mean(read)) * acc.num_processes
        seconds = time.perf_counter() - start
        self.step_count += 1
        metrics.update(
            {
                "step": self.step_count,
                "episodes": self.episodes,
                "time/step_seconds": seconds,
                "time/rollout_seconds": rollout_seconds,
            }
        )
        self.history.append(metrics)
        return metrics

    def train(
        self,
        steps: int | None = None,
        callbacks: Sequence[Callable[[int, dict], None]] | None = None,
        progress: bool = True,
    ) -> list[dict]:
        """Run `steps` PPO steps (default: settings.steps), calling each `callback(step, metrics)`
        after each one (e.g. `tutor.ui.dashboards.shown_on(plot)`). Returns the history of metrics."""
        steps = self.settings.steps if steps is None else steps
        bar = tqdm(total=steps, desc="PPO", leave=False) if progress and self.accelerator.is_main_process else None
        start = time.perf_counter()
        try:
            for _ in range(steps):
                metrics = self.step()
                for callback in callbacks or ():
                    callback(metrics["step"], metrics)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(score=f"{metrics['objective/scores']:.2f}", kl=f"{metrics['objective/kl']:.2f}")
        finally:
            if bar is not None:
                bar.close()
        self.train_seconds += time.perf_counter() - start
        return self.history

    # ------------------------------------------------------------------ evaluation

    def evaluate(
        self, prompts: Sequence[str] | None = None, baseline=None, seed: int = 1234, max_new_tokens: int = 160
    ) -> Evaluation:
        """The policy on held-out prompts, measured like every stage (`tutor.core.evaluation`): gold
        score, win-rate over `baseline` samples (on the baseline's prompts when `prompts` is None)
        and the exact KL to the reference."""
        if prompts is None:
            if baseline is None:
                raise TutorError("evaluate() needs prompts, or baseline samples whose prompts it reuses.")
            prompts = baseline.prompts
        return evaluate_model(
            self.unwrapped_policy,
            self.tokenizer,
            prompts,
            self.gold or GoldAnnotator("riley"),
            baseline=baseline,
            ref_model=self.ref_policy,
            seed=seed,
            max_new_tokens=max_new_tokens,
        )


def gold_metrics(gold, prompts: Sequence[str], texts: Sequence[str]) -> dict:
    """The gold annotator's mean score and the attribute profile of a batch (analysed once)."""
    parsed = [parse_prompt(p) for p in prompts]
    profiles = [analyse(t, p) for t, p in zip(texts, parsed, strict=True)]
    scores = [score_profile(gold.persona, p, a) for p, a in zip(parsed, profiles, strict=True)]
    mean = sum(scores) / len(scores)
    # The spread across answers: what a noise floor for the mean needs (tutor.core.noise).
    sd = (sum((x - mean) ** 2 for x in scores) / (len(scores) - 1)) ** 0.5 if len(scores) > 1 else 0.0
    out = {"gold/score": mean, "gold/score_sd": sd, "gold/answers": len(scores)}
    for key in PROFILE_METRICS:
        out[f"profile/{key}"] = sum(float(getattr(a, key)) for a in profiles) / len(profiles)
    return out
