"""Live preference labeling: the learner is the human in RLHF.

- `PreferenceLabeler(pairs, path)`: the widget; every click is fsynced to a JSONL label file;
- `LabelStore(path)`: that file, read back (resume, undo, export to a TRL preference data set);
- `LivePairs(prompts, sample)`: pairs sampled live from a model, `PairList(pairs)`: fixed pairs;
- `merge_labels(folder)`: a class's files → majority labels, Cohen's / Fleiss' κ, one data set.
"""

from tutor.labeling.classroom import (
    Agreement,
    Classroom,
    cohen_kappa,
    fleiss_kappa,
    majority,
    merge_labels,
    persona_agreement,
    personas_agree,
)
from tutor.labeling.store import (
    LABELS,
    ExportReport,
    LabelStore,
    LivePairs,
    Pair,
    PairList,
    label_for_click,
    pair_id,
)
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
    "cohen_kappa",
    "fleiss_kappa",
    "label_for_click",
    "majority",
    "merge_labels",
    "pair_id",
    "persona_agreement",
    "personas_agree",
]
