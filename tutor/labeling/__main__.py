"""``python -m tutor.labeling FOLDER --out DIR``: the instructor's merge, from a terminal."""

from tutor.labeling.classroom import main

raise SystemExit(main())
