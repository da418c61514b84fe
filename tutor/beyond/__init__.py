"""Notebook 08 · Beyond: the seed's follow-up questions, each answered by an experiment.

enumerable.py       a world of K fixed candidate answers per prompt, where π is computed exactly
optimal_policy.py   why DPO often matches PPO: π* in closed form, each method's distance to it
collapse.py         how the KL penalty prevents collapse: diversity measures and a PPO β sweep
knowledge.py        alignment vs capability: fact recall, truth over myths, perplexity
overoptimisation.py why reward hacking happens: Gao et al.'s two forms, fitted
proxies.py          proxies on more or fewer labels and an ensemble, best-of-n on one pool, PPO against each
"""
