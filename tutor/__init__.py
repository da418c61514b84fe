"""rlhf-tutor: learn how language models are aligned to human preferences by doing it.

The public API is small on purpose:

- `setup(FAST, MODEL)`: the first call of every notebook (FAST mode, model, runs folder, seeds);
- `Course`: what `setup` returns (where and how the notebook runs);
- `TutorError`: the one exception a learner sees, always a single clear sentence.

Everything else is imported by name, one package or module per stage of the course (`tutor.sft`,
`tutor.reward`, `tutor.ppo`, `tutor.dpo`), with what they share in `tutor.core`, the toy world in
`tutor.world`, the notebooks' analyses in `tutor.labs` and what the learner sees in `tutor.ui`
(README's "How it is organised" has the map).
"""

from tutor.course import Course, offline_defaults, setup
from tutor.errors import TutorError

offline_defaults()  # before any library reads them: HF_HUB_OFFLINE=1, HF_HUB_DISABLE_TELEMETRY=1 unless set

__version__ = "0.1.0"

__all__ = ["Course", "TutorError", "__version__", "setup"]
