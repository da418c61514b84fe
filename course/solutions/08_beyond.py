"""Solutions to the exercises of notebook 08 (Beyond). Try them yourself first!

Check any of them with `tutor.exercises.check("name", function)`.
"""


def optimal_policy(ref_probs, rewards, beta):
    """π*(y|x) = π_ref(y|x)·exp(r(x,y)/β) / Z(x), each prompt's row normalised."""
    weights = ref_probs * (rewards / beta).exp()
    return weights / weights.sum(-1, keepdim=True)


def kl_divergence(p, q):
    """KL(p ‖ q) per prompt, in nats: the expectation under p of log p − log q."""
    return (p * (p.log() - q.log())).sum(-1)


def distinct_n(texts, n):
    """Distinct n-grams over all n-grams, pooled over the texts."""
    grams = []
    for text in texts:
        words = text.lower().split()
        grams += [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def best_of_n_kl(n):
    """KL(best-of-n ‖ SFT) = log n − (n − 1)/n nats (Stiennon et al. 2020; Gao et al. 2022)."""
    import math

    return math.log(n) - (n - 1) / n
