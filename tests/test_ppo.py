"""PPOTrainer on the tiny model: masking, log-probs, reward plumbing, bad input, determinism, learning.

The models come from a FAST-mode SFT stage built once for this module in a temporary runs folder.
"""

import math

import pytest
import torch

from tutor import TutorError
from tutor.ppo import PPOSettings, PPOTrainer, ValueModel
from tutor.ppo.math import token_logprobs
from tutor.ppo.rollout import detokenize, position_ids, response_logits, truncate_after_eos
from tutor.world import GoldAnnotator, prompts_for

TRAIN = [p.text for p in prompts_for("train")]
SMALL = dict(steps=2, batch_size=8, mini_batch_size=4, ppo_epochs=2, max_new_tokens=48, calibration_samples=8)


@pytest.fixture(scope="module")
def sft_dir(fast_course):
    from tutor import stages

    return stages.ensure(fast_course, "sft", quiet=True)


@pytest.fixture(scope="module")
def tokenizer(sft_dir):
    from tutor.core.models import load_tokenizer

    return load_tokenizer(sft_dir)


def load_lm(folder):
    from tutor.core.models import load_causal_lm

    return load_causal_lm(folder, "cpu")


@pytest.fixture(scope="module")
def reward_model(sft_dir, tokenizer):
    """An (untrained) reward model built the way the reward stage builds one: from the SFT model."""
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    rm = AutoModelForSequenceClassification.from_pretrained(str(sft_dir), num_labels=1, dtype=torch.float32)
    rm.config.pad_token_id = tokenizer.pad_token_id
    with torch.no_grad():
        rm.score.weight.normal_(0, 0.5)
    return rm.eval()


def gold_reward(prompts, responses):
    return GoldAnnotator("riley").scores(prompts, responses)


def trainer_for(sft_dir, tokenizer, reward=gold_reward, **overrides):
    settings = PPOSettings(**{**SMALL, **overrides})
    return PPOTrainer(
        load_lm(sft_dir), load_lm(sft_dir), tokenizer, reward, settings, gold=GoldAnnotator("riley"), prompts=TRAIN
    )


# ---------------------------------------------------------------- masking and log-probs


def test_rollout_masks_everything_after_the_first_eos(sft_dir, tokenizer):
    trainer = trainer_for(sft_dir, tokenizer, max_new_tokens=64)
    torch.manual_seed(0)
    rollout = trainer.rollout(TRAIN[:12])
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    rows = zip(rollout.response_ids.tolist(), rollout.response_mask.tolist(), rollout.ended.tolist(), strict=True)
    for ids, mask, ended in rows:
        n = int(sum(mask))
        assert mask == [1.0] * n + [0.0] * (len(mask) - n)  # a prefix
        if ended:
            assert ids[n - 1] == eos and eos not in ids[: n - 1]
        else:
            assert n == len(ids) and eos not in ids
        assert all(t == pad for t in ids[n:])
    # Nothing is charged, and no score is paid, after the answer ended.
    assert (rollout.rewards[rollout.response_mask == 0] == 0).all()
    assert (rollout.advantages[rollout.response_mask == 0] == 0).all()
    assert rollout.ended.any(), "the SFT model should end most answers with EOS"


def test_logprobs_match_the_sampler_at_the_sampling_temperature(sft_dir, tokenizer):
    """The log-probs PPO trains with are those of the distribution the answers were sampled from."""
    from transformers import GenerationConfig

    from tutor.core.chat import encode_prompts

    trainer = trainer_for(sft_dir, tokenizer, temperature=0.7)
    model = trainer.unwrapped_policy
    enc = encode_prompts(tokenizer, TRAIN[:6], chat=True)  # different lengths: real left padding
    assert (enc["attention_mask"] == 0).any()
    gen = GenerationConfig(
        do_sample=True,
        temperature=0.7,
        top_k=0,
        top_p=1.0,
        max_new_tokens=24,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    out = model.generate(**enc, generation_config=gen, output_scores=True, return_dict_in_generate=True)
    response = out.sequences[:, enc["input_ids"].shape[1] :]
    response, mask, _ = truncate_after_eos(response, tokenizer.eos_token_id, tokenizer.pad_token_id)
    sampler = torch.log_softmax(torch.stack(out.scores, 1), -1)  # scores = logits / T (top_k=0)
    sampler = sampler.gather(-1, response.unsqueeze(-1)).squeeze(-1)
    with torch.no_grad():
        logits = response_logits(model, enc["input_ids"], enc["attention_mask"], response, mask.float())
    ours = token_logprobs(logits, response, 0.7)
    assert torch.allclose(ours[mask], sampler[mask], atol=1e-4)
    assert not torch.allclose(token_logprobs(logits, response, 1.0)[mask], sampler[mask], atol=1e-2)


def test_at_the_start_policy_equals_reference_so_kl_is_zero(sft_dir, tokenizer):
    trainer = trainer_for(sft_dir, tokenizer)
    torch.manual_seed(1)
    rollout = trainer.rollout(TRAIN[:8])
    assert torch.allclose(rollout.logps, rollout.ref_logps, atol=1e-5)
    assert float(rollout.kl.abs().max()) < 1e-5


# ---------------------------------------------------------------- the reward source


def test_reward_model_on_token_ids_matches_score_texts(sft_dir, tokenizer, reward_model):
    """PPO scores the policy's own token ids; that must agree with scoring the decoded texts."""
    from tutor.reward import score_texts

    # Room for whole answers: only answers that ended with EOS are compared.
    trainer = trainer_for(sft_dir, tokenizer, reward=reward_model, normalize_reward=False, max_new_tokens=128)
    torch.manual_seed(2)
    rollout = trainer.rollout(TRAIN[:16])
    by_text = torch.tensor(score_texts(reward_model, tokenizer, rollout.prompts, rollout.texts))
    same = []
    for i in range(len(rollout.texts)):
        ids = rollout.response_ids[i, : int(rollout.response_mask[i].sum())].tolist()
        canonical = tokenizer(rollout.texts[i], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        if rollout.ended[i] and ids == canonical:
            same.append(i)
    assert len(same) >= 8, "most sampled answers should round-trip through the tokenizer"
    assert torch.allclose(rollout.raw_scores[same], by_text[same], atol=1e-4)


def test_value_model_from_the_reward_model_predicts_the_normalised_score(sft_dir, tokenizer, reward_model):
    """Read at an answer's last token, the critic copied from the reward model gives exactly the
    normalised score (during PPO, V_t is read one position earlier: before token t is chosen)."""
    trainer = trainer_for(sft_dir, tokenizer, reward=reward_model, value_init="reward")
    assert trainer.value_init == "reward"
    torch.manual_seed(3)
    rollout = trainer.rollout(TRAIN[:8])
    value_model = ValueModel.from_reward_model(reward_model, trainer.reward_mean, trainer.reward_std)
    input_ids = torch.cat([rollout.query_ids, rollout.response_ids], 1)
    attention = torch.cat([rollout.query_mask, rollout.response_mask.long()], 1)
    with torch.no_grad():
        values = value_model(input_ids, attention, position_ids(attention))
    last = rollout.query_ids.shape[1] + rollout.response_mask.sum(1).long() - 1
    expected = (rollout.raw_scores - trainer.reward_mean) / trainer.reward_std
    assert torch.allclose(values[torch.arange(8), last], expected, atol=1e-4)
    # ... and the rollout's values are that critic's reading one position before each token.
    assert torch.allclose(rollout.values, values[:, rollout.query_ids.shape[1] - 1 : -1], atol=1e-5)


def test_value_model_from_sft_starts_at_zero(sft_dir, tokenizer):
    trainer = trainer_for(sft_dir, tokenizer)
    assert trainer.value_init == "sft"
    torch.manual_seed(3)
    rollout = trainer.rollout(TRAIN[:4])
    assert float(rollout.values.abs().max()) == 0.0


def test_reward_normalisation_uses_sft_samples(sft_dir, tokenizer):
    trainer = trainer_for(sft_dir, tokenizer, calibration_samples=24)
    prompts = trainer.calibration_prompts()
    torch.manual_seed(trainer.settings.seed + 7919)
    answers = trainer.sample(trainer.ref_policy, prompts)
    raw = torch.tensor(gold_reward(prompts, detokenize(tokenizer, answers.response_ids, answers.response_mask)))
    assert trainer.reward_mean == pytest.approx(float(raw.mean()), abs=1e-5)
    assert trainer.reward_std == pytest.approx(float(raw.std()), abs=1e-5)


# ---------------------------------------------------------------- bad input


def test_reward_model_with_a_different_tokenizer_is_refused(sft_dir, tokenizer, reward_model):
    from tutor.core.models import load_tokenizer

    other = load_tokenizer(sft_dir)
    other.add_tokens(["convexityish"])
    with pytest.raises(TutorError, match="tokenizer differs"):
        PPOTrainer(
            load_lm(sft_dir),
            load_lm(sft_dir),
            tokenizer,
            reward_model,
            PPOSettings(**SMALL),
            reward_tokenizer=other,
            prompts=TRAIN,
        )


@pytest.mark.parametrize(
    "setting, value, words",
    [
        ("beta", -0.1, "beta"),
        ("beta", math.nan, "beta"),
        ("learning_rate", 0.0, "learning_rate"),
        ("mini_batch_size", 64, "mini_batch_size"),
        ("lam", 1.5, "lam"),
        ("kl_estimator", "k9", "kl_estimator"),
        ("target_kl", -1.0, "target_kl"),
        ("steps", 0, "steps"),
        ("value_init", "random", "value_init"),
    ],
)
def test_bad_settings_are_named(setting, value, words):
    with pytest.raises(TutorError, match=words):
        PPOSettings(**{setting: value})


def test_negative_beta_is_refused_by_the_trainer(sft_dir, tokenizer):
    with pytest.raises(TutorError, match="beta"):
        trainer_for(sft_dir, tokenizer, beta=-0.05)


def test_prompts_longer_than_the_context_are_refused(sft_dir, tokenizer):
    long_prompt = "Explain convexity. " + "Please be thorough about duration and yield. " * 80
    with pytest.raises(TutorError, match="context"):
        PPOTrainer(
            load_lm(sft_dir), load_lm(sft_dir), tokenizer, gold_reward, PPOSettings(**SMALL), prompts=[long_prompt]
        )


def test_reward_that_returns_nan_stops_training_naming_step_and_reward(sft_dir, tokenizer):
    calls = {"n": 0}

    def flaky(prompts, responses):
        calls["n"] += 1
        scores = gold_reward(prompts, responses)
        return scores if calls["n"] <= 2 else [math.nan] + scores[1:]  # calibration, step 0, then NaN

    trainer = trainer_for(sft_dir, tokenizer, reward=flaky)
    trainer.step()
    with pytest.raises(TutorError, match=r"PPO step 1: the reward"):
        trainer.step()


def test_wrong_number_of_rewards_is_refused(sft_dir, tokenizer):
    with pytest.raises(TutorError, match="one per response"):
        trainer_for(sft_dir, tokenizer, reward=lambda prompts, responses: [1.0])


def test_diverged_weights_stop_training_with_a_clear_error(sft_dir, tokenizer):
    trainer = trainer_for(sft_dir, tokenizer)
    trainer.step()
    with torch.no_grad():
        next(trainer.unwrapped_policy.parameters()).fill_(math.inf)
    with pytest.raises(TutorError, match=r"PPO step 1: .*NaN or infinite"):
        trainer.step()


# ---------------------------------------------------------------- controller, determinism, learning


def test_same_seed_same_run(sft_dir, tokenizer):
    runs = []
    for _ in range(2):
        trainer = trainer_for(sft_dir, tokenizer, steps=2)
        runs.append(trainer.train(progress=False))
    keys = [k for k in runs[0][0] if not k.startswith("time/")]
    for a, b in zip(*runs, strict=True):
        assert {k: a[k] for k in keys} == {k: b[k] for k in keys}
    other = trainer_for(sft_dir, tokenizer, steps=2, seed=1).train(progress=False)
    assert other[0]["objective/scores"] != runs[0][0]["objective/scores"]


def test_metrics_use_trl_names(sft_dir, tokenizer):
    metrics = trainer_for(sft_dir, tokenizer).step()
    for name in (
        "objective/kl",
        "objective/scores",
        "objective/rlhf_reward",
        "objective/entropy",
        "objective/non_score_reward",
        "policy/approxkl_avg",
        "policy/clipfrac_avg",
        "loss/policy_avg",
        "loss/value_avg",
        "val/ratio",
        "val/var_explained",
        "gold/score",
        "profile/words",
        "profile/politeness",
    ):
        assert name in metrics and math.isfinite(metrics[name]), name
    # rlhf_reward = score − β·KL, term by term
    assert metrics["objective/rlhf_reward"] == pytest.approx(
        metrics["objective/scores"] + metrics["objective/non_score_reward"], abs=1e-5
    )
    assert metrics["val/ratio"] == pytest.approx(1.0, abs=0.2)


def test_ppo_raises_the_gold_score_over_the_sft_model(fast_course, sft_dir, tokenizer):
    """A short run against the gold annotator's own score beats the SFT model on held-out prompts."""
    from tutor import stages

    trainer = trainer_for(
        sft_dir,
        tokenizer,
        steps=10,
        batch_size=16,
        mini_batch_size=8,
        ppo_epochs=2,
        max_new_tokens=96,
        calibration_samples=16,
        beta=0.05,
    )
    history = trainer.train(progress=False)
    baseline = stages.load_samples(fast_course, "sft")
    result = trainer.evaluate(baseline=baseline)
    sft_gold = sum(GoldAnnotator("riley").scores(baseline.prompts, baseline.texts)) / len(baseline.texts)
    assert result.gold > sft_gold + 0.2
    assert result.gold_win_rate_vs_sft > 0.6
    assert result.kl > 0
    assert history[-1]["gold/score"] > history[0]["gold/score"]


def test_value_model_copies_are_independent(sft_dir):
    lm = load_lm(sft_dir)
    value = ValueModel.from_causal_lm(lm)
    with torch.no_grad():
        next(value.trunk.parameters()).add_(1.0)
    assert not torch.equal(next(value.trunk.parameters()), next(lm.base_model.parameters()))


def test_anneal_lr_decays_the_learning_rate_linearly_over_the_steps(sft_dir, tokenizer):
    trainer = trainer_for(
        sft_dir, tokenizer, steps=4, batch_size=4, mini_batch_size=4, ppo_epochs=1, max_new_tokens=16, anneal_lr=True
    )
    seen = []
    trainer.train(callbacks=[lambda step, m: seen.append(trainer.optimizer.param_groups[0]["lr"])], progress=False)
    lr = trainer.settings.learning_rate
    assert seen == pytest.approx([lr, 0.75 * lr, 0.5 * lr, 0.25 * lr])
    fixed = trainer_for(
        sft_dir, tokenizer, steps=2, batch_size=4, mini_batch_size=4, ppo_epochs=1, max_new_tokens=16, anneal_lr=False
    )
    fixed.train(progress=False)
    assert fixed.optimizer.param_groups[0]["lr"] == lr


def test_trained_tokens_count_prompt_and_answer_tokens_every_epoch(sft_dir, tokenizer):
    """The seed table's "tokens trained on": what one update pass reads (prompt + answer, padding
    not counted), times the passes, as TRL's num_tokens counts it for DPO."""
    trainer = trainer_for(sft_dir, tokenizer, ppo_epochs=2)
    seen = []
    original = trainer.rollout

    def recording(prompts):
        rollout = original(prompts)
        seen.append(int(rollout.query_mask.sum() + rollout.response_mask.sum()))
        return rollout

    trainer.rollout = recording
    trainer.step()
    assert trainer.trained_tokens == 2 * seen[0]
    assert seen[0] > trainer.tokens  # the prompts count too
