"""Notebook 08 · Beyond: the seed's five follow-up questions, each answered by an experiment.

    enumerable.py       a world of K fixed candidates per prompt, where π is computed exactly
    optimal_policy.py   3: why DPO often matches PPO (π* in closed form, distances to it)
"""
