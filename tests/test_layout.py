"""README's map of the package matches the package: every file and folder of tutor/ is on it, and
everything on it exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _map_entries() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## How it is organised") :]
    block = section[section.index("```") + 3 :]
    block = block[: block.index("```")]
    names = []
    for line in block.splitlines():
        match = re.match(r"^  (\S+)", line)  # an entry starts two spaces in; descriptions run deeper
        if match:
            names.append(match.group(1))
    return names


def test_every_part_of_the_package_is_on_readmes_map():
    entries = _map_entries()
    assert entries, "README's 'How it is organised' has no map of tutor/"
    on_map = {e.split("/")[0] + ("/" if "/" in e else "") for e in entries}
    for child in sorted((ROOT / "tutor").iterdir()):
        if child.name.startswith("__") or child.name in ("doctor.py",):  # doctor.py is named beside cli.py
            continue
        name = child.name + ("/" if child.is_dir() else "")
        assert name in on_map, f"tutor/{name} is missing from README's map"


def test_everything_on_readmes_map_exists():
    for entry in _map_entries():
        assert (ROOT / "tutor" / entry.rstrip("/")).exists(), f"README's map names tutor/{entry}, which does not exist"


def test_no_benchmark_script_shadows_an_installed_package():
    """`python benchmarks/x.py` puts benchmarks/ first on sys.path: a script named like a package
    (benchmarks/multiprocess.py once hid the `multiprocess` that `datasets` imports) breaks every
    benchmark that trains."""
    import importlib.util

    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        spec = importlib.util.find_spec(script.stem)
        origin = Path(spec.origin) if spec is not None and spec.has_location else None  # not a namespace folder
        assert origin is None or origin == script, (
            f"benchmarks/{script.name} has the name of the installed module {script.stem!r} ({origin}); rename it"
        )
