"""Browser-test harness: a real JupyterLab 4 server and headless Debian Chromium via Playwright.

Every test in this folder gets the ``browser`` marker and is SKIPPED (with the reason) when
Chromium (/usr/bin/chromium, or $TUTOR_CHROMIUM) or Playwright is missing. Never run
``playwright install``: tests drive the system Chromium.

Fixtures
--------
``jupyter_server`` (session) -> ``jlab.JupyterServer``
    One ``jupyter lab`` on 127.0.0.1, a free port and a random token, started with this checkout
    first on PYTHONPATH (kernels import this ``tutor``), isolated config/settings/runtime dirs,
    TUTOR_RUNS in a temporary folder (``server.runs``), TUTOR_FAST=1 and TUTOR_PLOTS unset (so plot-mode
    detection is exercised).
    Fields: ``url`` (base, ends with "/"), ``token``, ``root`` (the notebook dir: write notebooks
    there), ``log`` (server output), ``process``. Methods: ``lab_url(path="")``,
    ``api(path, method="GET", body=None)`` (REST, token sent), ``log_tail(chars=4000)``.
    Teardown deletes kernels, calls /api/shutdown, then kills the server's process group.
``browser_context`` (session) -> Playwright ``BrowserContext`` on a fresh user-data-dir.
``page`` (function) -> Playwright ``Page`` (viewport 1400×1000, default timeout 60 s). Console
    messages are collected in ``page.console_lines`` (a list of str). On failure a screenshot and
    the server log tail are written to the test's tmp_path and their paths printed.

Helpers (plain functions: ``from jlab import ...``)
---------------------------------------------------
``write_notebook(path, cells, kernel="python3") -> Path``   code cells; ("markdown", text) too
``open_notebook(page, server, name, timeout=120_000)``      open; wait until the server's kernel,
                                                            the toolbar and the status bar are idle
``run_all(page)``                                           Run ▸ Run All Cells
``run_cell(page, index)``                                   select cell and Ctrl+Enter
``run_command(page, command_id)``                           via the command palette
``cell(page, index)`` / ``outputs(page, index)``            locators (scrolled into view)
``wait_for_output(page, index, selector="", timeout=60_000)`` -> Locator
``prompt(page, index)`` / ``is_running(page, index)``       "[*]:" while the cell runs
``wait_until_done(page, index, timeout=120.0) -> str``      the final prompt, e.g. "[1]:"
``wait_for_kernel(page, status="idle", timeout=120_000)``
``save_notebook(page)``                                     Ctrl+S, wait until saved
``start_jupyter(root, home, env=None)`` / ``stop_jupyter(server)`` for a server of your own.

JupyterLab 4 may skip rendering cells outside the viewport: the helpers scroll cells into view,
and outputs are selected with ``.jp-OutputArea-output`` (never by text, which also matches source).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jlab  # noqa: E402

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    reason = jlab.chromium_missing_reason()
    for item in items:
        if HERE not in Path(item.path).resolve().parents:
            continue
        item.add_marker(pytest.mark.browser)
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"browser test skipped: {reason}"))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("jupyter")
    server = jlab.start_jupyter(
        root=base / "notebooks",
        home=base / "home",
        env={"TUTOR_RUNS": str(base / "runs"), "HF_HUB_OFFLINE": "1", "TUTOR_PLOTS": "", "TUTOR_FAST": "1"},
    )
    server.runs = base / "runs"
    try:
        yield server
    finally:
        jlab.stop_jupyter(server)


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(jlab.CHROMIUM),
            headless=True,
            args=jlab.CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context, request, tmp_path):
    page = browser_context.new_page()
    page.set_default_timeout(60_000)
    page.console_lines = []
    page.on("console", lambda msg: page.console_lines.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda err: page.console_lines.append(f"pageerror: {err}"))
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        shot = tmp_path / "failure.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
        except Exception:  # noqa: BLE001 - best effort only
            pass
        (tmp_path / "console.txt").write_text("\n".join(page.console_lines))
        print(f"\nbrowser artifacts: {shot} and {tmp_path / 'console.txt'}")
        server = request.node.funcargs.get("jupyter_server")
        if server is not None:
            print(f"jupyter lab log tail:\n{server.log_tail()}")
    page.close()
