"""rlhf-tutor: learn how language models are aligned to human preferences by doing it.

The public API is small on purpose:

- `setup(FAST, MODEL)`: the first call of every notebook (FAST mode, model, runs folder, seeds);
- `tutor.world`: the fixed-income toy world, its attribute analyser and gold annotator personas;
- `TutorError`: the one exception a learner sees, always a single clear sentence.

Stage modules (`tutor.sft`, `tutor.reward`, `tutor.ppo`, `tutor.dpo`, ...) are imported by name.
"""

from tutor.course import Course, setup
from tutor.errors import TutorError

__version__ = "0.1.0"

__all__ = ["Course", "TutorError", "__version__", "setup"]
