"""Drive a real JupyterLab 4 from Playwright: start/stop a server, open notebooks, run cells.

Plain functions, so any browser test can `from jlab import open_notebook, run_all, ...` (the
conftest beside this file puts this folder on sys.path). The fixtures live in conftest.py, whose
docstring lists everything with signatures.

JupyterLab facts these helpers rely on (checked against 4.6 in headless Chromium):
- cells outside the viewport may not be rendered: helpers scroll a cell into view before reading it,
  and outputs are found by `.jp-OutputArea-output`, never by text (text also matches the source);
- a running cell's prompt reads ``[*]:``; the notebook toolbar's execution indicator carries
  ``data-status`` (idle/busy/...);
- kernels started by the server inherit its environment (PYTHONPATH included).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

CHROMIUM = Path(os.environ.get("TUTOR_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
RUNNING_PROMPT = "[*]:"


@dataclass
class JupyterServer:
    """A running `jupyter lab`: write notebooks into `root`, open them with `open_notebook`."""

    url: str  # base URL ending in "/", e.g. http://127.0.0.1:8891/
    token: str
    root: Path  # the server's notebook directory
    log: Path  # the server's stdout+stderr
    process: subprocess.Popen = field(repr=False)
    runs: Path | None = None  # TUTOR_RUNS of the server's kernels, when the fixture sets it

    def lab_url(self, path: str = "") -> str:
        """The JupyterLab URL that opens `path` (relative to root), token included."""
        where = f"lab/tree/{quote(path)}" if path else "lab"
        return f"{self.url}{where}?token={self.token}"

    def api(self, path: str, method: str = "GET", body: dict | None = None):
        """Call the REST API (e.g. api("api/kernels")) and return the decoded JSON, or None."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path.lstrip("/"),
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
        return json.loads(text) if text.strip() else None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _quiet_lab_settings(settings: Path) -> None:
    """No news/update requests (no internet here) and no news toast covering the notebook."""
    target = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


def start_jupyter(
    root: Path,
    home: Path,
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> JupyterServer:
    """Start `jupyter lab` on a free port with a random token; return once /api/status answers.

    root: the notebook directory; home: a scratch folder for the server's config, settings,
    runtime and IPython dirs (isolated from the user's); env: extra variables for the server and
    its kernels. The repository is put first on PYTHONPATH so kernels import this checkout.
    """
    root.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    token, port = secrets.token_hex(16), free_port()
    environ = dict(os.environ)
    environ["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO), environ.get("PYTHONPATH", "")] if p)
    for name, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
    ]:
        environ[name] = str(home / sub)
    _quiet_lab_settings(home / "lab-settings")
    environ.update(env or {})
    log = home / "jupyter-lab.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environ,
            cwd=root,
            start_new_session=True,  # our signals never reach pytest; teardown kills the group
        )
    server = JupyterServer(f"http://127.0.0.1:{port}/", token, root, log, process)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {process.returncode}:\n{server.log_tail()}")
        try:
            server.api("api/status")
            return server
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() > deadline:
            stop_jupyter(server)
            raise RuntimeError(f"jupyter lab did not answer in {timeout:.0f} s:\n{server.log_tail()}")
        time.sleep(0.3)


def stop_jupyter(server: JupyterServer, timeout: float = 20.0) -> None:
    """Shut the server down (it stops its kernels), then make sure its process group is gone."""
    process = server.process
    if process.poll() is None:
        try:
            for kernel in server.api("api/kernels") or []:
                server.api(f"api/kernels/{kernel['id']}", method="DELETE")
            server.api("api/shutdown", method="POST")
        except (urllib.error.URLError, OSError, ValueError):
            pass
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)  # the group we created with start_new_session
        except (ProcessLookupError, PermissionError):
            break
        try:
            process.wait(5)
            break
        except subprocess.TimeoutExpired:
            continue


def write_notebook(path: Path, cells: list[str | tuple[str, str]], kernel: str = "python3") -> Path:
    """Write a notebook of code cells (a ("markdown", text) tuple makes a markdown cell)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for cell in cells:
        if isinstance(cell, tuple) and cell[0] == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(cell[1]))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(cell))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def open_notebook(page, server: JupyterServer, name: str, timeout: float = 120_000) -> None:
    """Open `name` (relative to server.root) in JupyterLab and wait until its kernel is idle."""
    page.goto(server.lab_url(name), wait_until="domcontentloaded", timeout=timeout)
    # the shown notebook's cells: JupyterLab may restore notebooks an earlier test opened, hidden behind it
    page.locator(f"{_PANEL} .jp-Notebook .jp-Cell").first.wait_for(timeout=timeout)
    deadline = time.monotonic() + timeout / 1000
    while time.monotonic() < deadline:  # the kernel exists on the server and the UI shows idle
        sessions = [s for s in server.api("api/sessions") or [] if s.get("path") == name]
        started = any((s.get("kernel") or {}).get("execution_state") == "idle" for s in sessions)
        if started and _indicator(page) == "idle" and page.evaluate(_STATUS_BAR_IDLE):
            return
        page.wait_for_timeout(250)
    raise TimeoutError(f"the kernel of {name} was not idle after {timeout / 1000:.0f} s")


# Right after opening, the status bar can read "No Kernel | Initializing" while the toolbar is
# already idle; running a cell then opens a "Select Kernel" dialog instead of executing.
_STATUS_BAR_IDLE = """() => [...document.querySelectorAll('.jp-StatusBar-Item')].some(e => {
    const t = e.textContent.trim(); return t.endsWith('| Idle') && !t.startsWith('No Kernel'); })"""


def _indicator(page) -> str | None:
    return page.locator(_PANEL + " .jp-Notebook-ExecutionIndicator").first.get_attribute("data-status", timeout=5_000)


_PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"


def wait_for_kernel(page, status: str = "idle", timeout: float = 120_000) -> None:
    """Wait until the open notebook's execution indicator shows `status` (idle, busy, ...)."""
    page.locator(f'{_PANEL} .jp-Notebook-ExecutionIndicator[data-status="{status}"]').first.wait_for(
        state="attached", timeout=timeout
    )


def run_command(page, command: str) -> None:
    """Run a JupyterLab command by id through the command palette (e.g. "notebook:run-all-cells")."""
    page.locator(_PANEL + " .jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+Shift+C")
    search = page.locator(".lm-CommandPalette-input")
    search.wait_for()
    label = _COMMAND_LABELS.get(command, command)
    search.fill(label)
    page.locator(f'.lm-CommandPalette-item[data-command="{command}"]').first.click()


_COMMAND_LABELS = {
    "notebook:run-all-cells": "Run All Cells",
    "notebook:run-cell": "Run Selected Cell",
    "notebook:restart-run-all": "Restart Kernel and Run All Cells",
    "notebook:interrupt-kernel": "Interrupt Kernel",
}


def run_all(page) -> None:
    """Run every cell of the open notebook (Run ▸ Run All Cells)."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').first.click()


def cell(page, index: int):
    """The index-th cell (0-based) of the open notebook, scrolled into view."""
    locator = page.locator(_PANEL + " .jp-Notebook .jp-Cell").nth(index)
    locator.scroll_into_view_if_needed()
    return locator


def run_cell(page, index: int) -> None:
    """Select cell `index` and run it (Ctrl+Enter: the selection stays on that cell)."""
    target = cell(page, index)
    target.locator(".jp-InputPrompt").first.click()
    page.keyboard.press("Control+Enter")


def outputs(page, index: int):
    """Locator of the outputs of cell `index` (`.jp-OutputArea-output`)."""
    return cell(page, index).locator(".jp-OutputArea-output")


def wait_for_output(page, index: int, selector: str = "", timeout: float = 60_000):
    """Wait until cell `index` has an output (matching `selector` inside it, if given); return it."""
    target = outputs(page, index)
    if selector:
        target = target.locator(selector)
    target.first.wait_for(timeout=timeout)
    return target


def prompt(page, index: int) -> str:
    """The cell's execution prompt text, e.g. "[*]:" while running, "[3]:" after."""
    return cell(page, index).locator(".jp-InputPrompt").first.inner_text().strip()


def is_running(page, index: int) -> bool:
    return prompt(page, index) == RUNNING_PROMPT


def wait_until_done(page, index: int, timeout: float = 120.0) -> str:
    """Wait until cell `index` has run (its prompt holds a number); return the prompt."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = prompt(page, index)
        if text.startswith("[") and text[1:-2].strip().isdigit():
            return text
        page.wait_for_timeout(250)
    raise TimeoutError(f"cell {index} still shows {prompt(page, index)!r} after {timeout:.0f} s")


def save_notebook(page, timeout: float = 30_000) -> None:
    """Save the open notebook (File ▸ Save) and wait until its tab is no longer marked dirty."""
    page.locator(".lm-MenuBar-item", has_text="File").first.click()
    page.locator('.lm-Menu-item[data-command="docmanager:save"]').first.click()
    page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").wait_for(state="detached", timeout=timeout)


def chromium_missing_reason() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TUTOR_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if shutil.which("jupyter-lab") is None and not (Path(sys.prefix) / "bin" / "jupyter-lab").exists():
        try:
            import jupyterlab  # noqa: F401
        except ImportError:
            return "jupyterlab is not installed"
    return None


def screenshot(locator, name: str, fallback: Path) -> Path:
    """Save a PNG of `locator` as `name`: into $TUTOR_SCREENSHOTS when set (`make screenshots`
    points it at docs/img, the README's pictures), else into `fallback` (a test's tmp_path)."""
    folder = Path(os.environ.get("TUTOR_SCREENSHOTS") or fallback)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    locator.screenshot(path=str(path), animations="disabled")
    return path
