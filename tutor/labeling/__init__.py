"""Live preference labeling: the learner is the human in RLHF.

- `pairs`: what is labelled: `PairList(pairs)` (fixed pairs) or `LivePairs(prompts, sample)` /
  `LivePairs.from_model(prompts, model, tokenizer)` (two answers sampled as each pair is shown);
- `store`: `LabelStore(path)`, the append-only, fsynced JSONL label file (resume, undo, refresh);
- `lock`: `file_lock(path)`, one writer at a time on a label file (flock, or a lock file);
- `export`: label records → TRL preference rows (`preference_rows`, `ExportReport`);
- `widget`: `PreferenceLabeler(pairs, path)`, the widget; `clicks`: what a click means;
- `agreement`: Cohen's / Fleiss' κ, majority labels, agreement with the personas;
- `classroom`: `merge_labels(folder)`, a class's files → majority labels, κ, one data set.
"""

from tutor.labeling.agreement import (
    Agreement,
    agreement_table,
    cohen_kappa,
    fleiss_kappa,
    majority,
    persona_agreement,
    personas_agree,
)
from tutor.labeling.classroom import Classroom, merge_labels
from tutor.labeling.clicks import label_for_click
from tutor.labeling.export import ExportReport, preference_rows
from tutor.labeling.pairs import LivePairs, Pair, PairList, pair_id, prompts_to_label
from tutor.labeling.store import LABELS, LabelStore
from tutor.labeling.widget import PreferenceLabeler

__all__ = [
    "LABELS",
    "Agreement",
    "Classroom",
    "ExportReport",
    "LabelStore",
    "LivePairs",
    "Pair",
    "PairList",
    "PreferenceLabeler",
    "agreement_table",
    "cohen_kappa",
    "fleiss_kappa",
    "label_for_click",
    "majority",
    "merge_labels",
    "pair_id",
    "persona_agreement",
    "personas_agree",
    "preference_rows",
    "prompts_to_label",
]
