"""PPO vs DPO, measured (notebook 07): the seed's comparison table filled with numbers from this
course's runs, what each method changed in the answers, and one SFT model aligned to two people.

- `runs`: the runs' records and their cache; missing runs train in one child process (`__main__`);
- `table`: the seed's table (`comparison_table`) and the cells `rlhf-tutor run` prints too;
- `budget`: the fair fight, PPO and DPO on the very same labels (offline and online), whose runs
  `benchmarks/comparison.py` trains and 07 reads (`budget.equal_budget`);
- `changes`: what RL fine-tuning changes in the answers, and where each model still loses;
- `personas`: one round of DPO for Riley and for Quinn on the same answers.
"""

from tutor.labs.comparison.changes import (
    CHANGE_AXES,
    SEED_ATTRIBUTES,
    changes,
    changes_by_model,
    changes_figure,
    shift_lines,
    shifts,
    where_each_loses,
)
from tutor.labs.comparison.personas import (
    persona_folder,
    persona_runs,
    persona_table,
    same_choices,
    stage_round_win_rates,
)
from tutor.labs.comparison.runs import METHODS, all_runs, run_folder, run_samples, runs_for
from tutor.labs.comparison.table import (
    code_lines,
    comparison_table,
    describe_run,
    dpo_labels,
    dpo_loop,
    implementation_lines,
    models_in_memory,
    summarise,
)

__all__ = [
    "CHANGE_AXES",
    "METHODS",
    "SEED_ATTRIBUTES",
    "all_runs",
    "changes",
    "changes_by_model",
    "changes_figure",
    "code_lines",
    "comparison_table",
    "describe_run",
    "dpo_labels",
    "dpo_loop",
    "implementation_lines",
    "models_in_memory",
    "persona_folder",
    "persona_runs",
    "persona_table",
    "run_folder",
    "run_samples",
    "runs_for",
    "same_choices",
    "shift_lines",
    "shifts",
    "stage_round_win_rates",
    "summarise",
    "where_each_loses",
]
