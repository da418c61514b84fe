"""Quick screens of reward-model ideas in a plain PyTorch loop (not the course's trainer): cheaper to
change than RewardTrainer, so an idea is tried here before it is built into tutor/reward.

The loop mirrors the course's recipe (Bradley–Terry loss, AdamW at 1e-3 with warm-up and cosine
decay, batches of 8 pairs grouped by length, one epoch, the SFT stage's body) and grades on the
first `neval` held-out pairs (expected accuracy against Riley). Options (one JSON object):
pooling last|mean|meanall|meanlast|sum, lm (LM-loss weight), lpfeat (1: the head also reads the
model's own log-probs of the answer: mean, min, the end token, and log length), epochs, wd, lr,
init (head seed), ens (members). Each run appends one line to benchmarks/results/reward_explore.jsonl
and keeps its held-out scores, for `--analyse` (where the lost points are, by the term of the
annotator's score that decides each pair: grading only, never training).

    python benchmarks/reward_explore.py '{"pooling": "last", "neval": 500, "lpfeat": 1}'
    python benchmarks/reward_explore.py --analyse SCORES.json [SCORES.json ...]   # several: an ensemble
"""

import json
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

torch.set_num_threads(int(os.environ.get("THREADS", "1")))
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results" / "reward_explore.jsonl"
SCORES = Path(os.environ.get("SCORES", "/tmp/reward_explore_scores"))
from transformers import AutoModelForCausalLM  # noqa: E402

from tutor.core.chat import conversation_texts  # noqa: E402
from tutor.core.models import load_tokenizer  # noqa: E402
from tutor.preferences import gold_rows  # noqa: E402
from tutor.reward import held_out_pairs  # noqa: E402
from tutor.world import GoldAnnotator  # noqa: E402

SFT = os.environ.get("START", str(ROOT / "runs" / "tiny" / "sft" / "model"))
tok = load_tokenizer(SFT)
judge = GoldAnnotator("riley")


class RM(nn.Module):
    def __init__(self, pooling="last", dropout=0.0, heads=1, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.lm = AutoModelForCausalLM.from_pretrained(SFT, dtype=torch.float32)
        h = self.lm.config.hidden_size
        self.score = nn.Linear(h, heads)
        nn.init.normal_(self.score.weight, std=1 / math.sqrt(h + 1))
        nn.init.zeros_(self.score.bias)
        self.pooling = pooling
        self.lp_head = nn.Linear(4, 1)
        nn.init.zeros_(self.lp_head.weight)
        nn.init.zeros_(self.lp_head.bias)
        self.drop = nn.Dropout(dropout)

    lpfeat = 0

    def forward(self, ids, mask, answer_mask, lm=False):
        out = self.lm.model(input_ids=ids, attention_mask=mask)
        hs = out.last_hidden_state
        last = mask.cumsum(1).argmax(1)  # right padding: last real token
        if self.pooling == "last":
            pooled = hs[torch.arange(len(ids)), last]
            r = self.score(self.drop(pooled))
        elif self.pooling == "mean":
            m = answer_mask.unsqueeze(-1).float()
            pooled = (hs * m).sum(1) / m.sum(1).clamp(min=1)
            r = self.score(self.drop(pooled))
        elif self.pooling == "meanall":
            m = mask.unsqueeze(-1).float()
            pooled = (hs * m).sum(1) / m.sum(1)
            r = self.score(self.drop(pooled))
        elif self.pooling == "sum":  # per-token rewards summed over the answer
            tok_r = self.score(self.drop(hs))  # B T k
            r = (tok_r * answer_mask.unsqueeze(-1)).sum(1) / 10
        elif self.pooling == "meanlast":
            m = answer_mask.unsqueeze(-1).float()
            tok_r = self.score(self.drop(hs))
            r = (tok_r * m).sum(1) / m.sum(1).clamp(min=1) + tok_r[torch.arange(len(ids)), last]
        r = r.mean(-1)
        if self.lpfeat:
            logp = torch.log_softmax(self.lm.lm_head(hs[:, :-1]), -1)
            tlp = logp.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)  # log p of token t+1
            am = answer_mask[:, 1:].float()
            if self.lpfeat == 2:
                tlp = tlp.detach()
            mean_lp = (tlp * am).sum(1) / am.sum(1).clamp(min=1)
            min_lp = tlp.masked_fill(am == 0, 0.0).min(1).values
            end_lp = tlp[torch.arange(len(ids)), last - 1]
            nlen = torch.log(am.sum(1).clamp(min=1))
            r = r + self.lp_head(torch.stack([mean_lp, min_lp, end_lp, nlen], -1)).squeeze(-1)
        lm_loss = None
        if lm:
            logits = self.lm.lm_head(hs[:, :-1])
            tgt = ids[:, 1:].masked_fill(answer_mask[:, 1:] == 0, -100)
            lm_loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100)
        return r, lm_loss


def encode(prompts, answers):
    texts = conversation_texts(tok, prompts, answers)
    prompt_only = [
        tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        for p in prompts
    ]
    ids = tok(texts, add_special_tokens=False)["input_ids"]
    plen = [len(x) for x in tok(prompt_only, add_special_tokens=False)["input_ids"]]
    return ids, plen


def batch(ids_list, plens):
    n = max(len(x) for x in ids_list)
    ids = torch.zeros(len(ids_list), n, dtype=torch.long)
    mask = torch.zeros(len(ids_list), n, dtype=torch.long)
    amask = torch.zeros(len(ids_list), n, dtype=torch.long)
    for i, (x, p) in enumerate(zip(ids_list, plens, strict=True)):
        ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
        amask[i, p : len(x)] = 1
    return ids, mask, amask


def score(model, prompts, answers, bs=64):
    ids, plen = encode(prompts, answers)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = [0.0] * len(ids)
    model.eval()
    with torch.no_grad():
        for s in range(0, len(order), bs):
            ch = order[s : s + bs]
            r, _ = model(*batch([ids[i] for i in ch], [plen[i] for i in ch]))
            for i, v in zip(ch, r.tolist(), strict=True):
                out[i] = v
    return out


def train(cfg, n_pairs, seed, init_seed=None):
    init_seed = seed if init_seed is None else init_seed
    rows = gold_rows(n_pairs, seed=seed)
    P = [r["prompt"][0]["content"] for r in rows]
    C = [r["chosen"][0]["content"] for r in rows]
    R = [r["rejected"][0]["content"] for r in rows]
    cid, cpl = encode(P, C)
    rid, rpl = encode(P, R)
    model = RM(cfg.get("pooling", "last"), cfg.get("dropout", 0.0), cfg.get("heads", 1), seed=init_seed)
    model.lpfeat = cfg.get("lpfeat", 0)
    epochs = cfg.get("epochs", 1)
    bs = cfg.get("bs", 8)
    steps = math.ceil(n_pairs / bs) * epochs
    lp_params = list(model.lp_head.parameters())
    rest = [p for n, p in model.named_parameters() if not n.startswith("lp_head")]
    opt = torch.optim.AdamW(
        [{"params": rest}, {"params": lp_params, "lr": cfg.get("lplr", 2e-2)}],
        lr=cfg.get("lr", 1e-3),
        weight_decay=cfg.get("wd", 0.0),
    )
    warm = 10
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm)))
    )
    g = torch.Generator().manual_seed(init_seed)
    step = 0
    model.train()
    for _ep in range(epochs):
        order = torch.randperm(n_pairs, generator=g).tolist()
        # group by length within chunks of 256
        chunks = []
        for s in range(0, n_pairs, bs * 32):
            grp = sorted(order[s : s + bs * 32], key=lambda i: len(cid[i]) + len(rid[i]))
            chunks += [grp[i : i + bs] for i in range(0, len(grp), bs)]
        perm = torch.randperm(len(chunks), generator=g).tolist()
        for k in perm:
            b = chunks[k]
            ids, mask, am = batch([cid[i] for i in b] + [rid[i] for i in b], [cpl[i] for i in b] + [rpl[i] for i in b])
            r, lml = model(ids, mask, am, lm=cfg.get("lm", 0) > 0)
            rc, rr = r.chunk(2)
            ls = cfg.get("smooth", 0.0)
            d = rc - rr
            loss = -((1 - ls) * F.logsigmoid(d) + ls * F.logsigmoid(-d)).mean()
            if cfg.get("center", 0):
                loss = loss + cfg["center"] * (r**2).mean()
            if lml is not None:
                loss = loss + cfg["lm"] * lml
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
    return model


def evaluate(models, pairs):
    P = [p for p, _, _ in pairs]
    sa = [0.0] * len(pairs)
    sb = [0.0] * len(pairs)
    for m in models:
        a = score(m, P, [a for _, a, _ in pairs])
        b = score(m, P, [b for _, _, b in pairs])
        sa = [x + y for x, y in zip(sa, a, strict=True)]
        sb = [x + y for x, y in zip(sb, b, strict=True)]
    SCORES.mkdir(parents=True, exist_ok=True)
    (SCORES / (TAG + ".json")).write_text(json.dumps({"sa": sa, "sb": sb}))
    probs = [judge.prob_first_preferred(*x) for x in pairs]
    exp = sum(p if x > y else 1 - p for p, x, y in zip(probs, sa, sb, strict=True)) / len(pairs)
    bayes = sum(max(p, 1 - p) for p in probs) / len(pairs)
    return exp, bayes


def parts(persona, prompt, p):
    """The annotator's score terms of one analysed answer (mirrors tutor.world.annotator.score_profile)."""
    d = {}
    d["topic"] = persona.helpful if p.on_topic else -persona.off_topic
    d["myths"] = -persona.wrong * min(p.myths, 2)
    d["polite"] = persona.warmth * max(p.politeness, 0.0) + persona.rude * min(p.politeness, 0.0)
    d["aud"] = (
        persona.audience_fit * p.audience * (1 if prompt.audience == "quant" else -1)
        if prompt.audience
        else persona.audience * p.audience
    )
    d["caution"] = persona.caution * max(p.safety, 0.0) if prompt.kind == "advice" else 0
    d["risky"] = persona.risky * min(p.safety, 0.0)
    lo, hi = persona.ideal_words
    d["length"] = (
        -persona.length * (lo - p.words) / lo
        if p.words < lo
        else (-persona.length * min((p.words - hi) / hi, 2.0) if p.words > hi else 0)
    )
    d["degen"] = -persona.degenerate if p.degenerate else 0
    return d


def analyse_scores(files):
    from tutor.world import RILEY, analyse, parse_prompt

    files = list(files)
    sc = [json.load(open(f)) for f in files]
    n = len(sc[0]["sa"])
    pairs = held_out_pairs(n)
    import collections

    stats = collections.defaultdict(lambda: [0, 0.0, 0.0])
    tot_e = 0
    for i, (pr, a, b) in enumerate(pairs):
        P = parse_prompt(pr)
        da, db = parts(RILEY, P, analyse(a, P)), parts(RILEY, P, analyse(b, P))
        diff = {k: da[k] - db[k] for k in da}
        dom = max(diff, key=lambda k: abs(diff[k]))
        prob = judge.prob_first_preferred(pr, a, b)
        sa = sum(s["sa"][i] for s in sc)
        sb = sum(s["sb"][i] for s in sc)
        right = prob if sa > sb else 1 - prob
        st = stats[dom]
        st[0] += 1
        st[1] += right
        st[2] += max(prob, 1 - prob)
        tot_e += right
    print("expected", round(tot_e / n, 4))
    for k, (c, r, b) in sorted(stats.items(), key=lambda x: -x[1][0]):
        print(f"{k:8s} n={c:4d} model={r / c:.3f} ceiling={b / c:.3f} lost={(b - r) / n * 100:.1f}pts")


if __name__ == "__main__" and sys.argv[1] == "--analyse":
    analyse_scores(sys.argv[2:])
elif __name__ == "__main__":
    cfg = json.loads(sys.argv[1])
    n = cfg.get("n", 1000)
    seed = cfg.get("seed", 0)
    pairs = held_out_pairs(cfg.get("neval", 1000))
    t0 = time.time()
    TAG = "_".join(f"{k}={v}" for k, v in sorted(cfg.items()))
    init = cfg.get("init", seed)
    models = [train(cfg, n, seed, init + 100 * k) for k in range(cfg.get("ens", 1))]
    t1 = time.time()
    exp, bayes = evaluate(models, pairs)
    extra = {}
    if cfg.get("evaltrain"):
        from tutor.world import candidate_pairs

        TAG = TAG + "_trainprompts"
        e2, b2 = evaluate(models, candidate_pairs(500, seed=999, split="train"))
        extra = {"train_prompt_exp": round(e2, 4), "train_prompt_bayes": round(b2, 4)}
    line = json.dumps({**cfg, **extra, "exp": round(exp, 4), "bayes": round(bayes, 4), "train_s": round(t1 - t0, 1)})
    print(line, flush=True)
    with open(OUT, "a") as out:
        out.write(line + "\n")
