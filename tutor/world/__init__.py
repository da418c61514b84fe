"""The toy world: fixed-income questions, answers in many styles, and a simulated human judge.

- `corpus`: seeded pretraining text, SFT pairs and candidate answers;
- `analyser.analyse(text, prompt)`: what any answer is like (politeness, length, audience, ...);
- `annotator.GoldAnnotator`: scores answers and labels pairs like a (noisy) person would.
"""

from tutor.world.analyser import ATTRIBUTES, Profile, analyse, profile_table
from tutor.world.annotator import CASEY, PERSONAS, QUINN, REVIEWERS, RILEY, GoldAnnotator, Persona, get_persona
from tutor.world.answers import Style, compose
from tutor.world.corpus import (
    candidate_pairs,
    completion_prompt,
    pretraining_corpus,
    prompts_for,
    sft_examples,
)
from tutor.world.prompts import Prompt, all_prompts, parse_prompt

__all__ = [
    "ATTRIBUTES",
    "CASEY",
    "PERSONAS",
    "QUINN",
    "REVIEWERS",
    "RILEY",
    "GoldAnnotator",
    "Persona",
    "Profile",
    "Prompt",
    "Style",
    "all_prompts",
    "analyse",
    "candidate_pairs",
    "completion_prompt",
    "compose",
    "get_persona",
    "parse_prompt",
    "pretraining_corpus",
    "profile_table",
    "prompts_for",
    "sft_examples",
]
