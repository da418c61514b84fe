"""The rendered course site (site/build.py) in a real browser: every page opens, every plot draws,
formulas are typeset, the exercises show their checker's verdict, no link is broken, and nothing is
fetched from outside the site.

Uses build/site when a build left it there (`make site`, or .ci/learners.sh from its shared FAST
execution), else builds it from the executed notebooks in build/fast; skipped when neither exists
(a FAST execution takes minutes: `python .ci/run_notebooks.py build/fast`).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("TUTOR_BUILD", ROOT / "build"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PLOTS = ".tutor-liveplot"  # every figure's host element (LivePlot's, and plotly's mime bundles')


@pytest.fixture(scope="module")
def site() -> Path:
    folder = BUILD / "site"
    if not (folder / "index.html").exists():
        executed = BUILD / "fast"
        if not (executed / "run.json").exists():
            pytest.skip(f"no site in {folder} and no executed notebooks in {executed} (make site, or .ci/learners.sh)")
        subprocess.run(
            [sys.executable, str(ROOT / "site" / "build.py"), "--from", str(executed), "--out", str(folder)], check=True
        )
    return folder


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def pages(site: Path) -> list[str]:
    return sorted(p.name for p in site.glob("*.html"))


def code_calls(notebook: Path, pattern: str) -> int:
    cells = json.loads(notebook.read_text())["cells"]
    return sum(1 for c in cells if c["cell_type"] == "code" and re.search(pattern, "".join(c["source"])))


def test_a_page_per_notebook_and_an_index(site):
    assert pages(site) == sorted(["index.html", *(f"{p.stem}.html" for p in NOTEBOOKS)])


def test_every_page_draws_its_plots_offline_with_no_broken_link(site, server, page):
    outside: list[str] = []

    def only_the_site(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_site)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    links: dict[str, set[str]] = {}
    for name in pages(site):
        page.goto(server + name, wait_until="load")
        hosts = page.locator(PLOTS)
        for i in range(hosts.count()):  # each figure drew at least one trace with plotly.js
            hosts.nth(i).locator(".main-svg").first.wait_for(timeout=30_000)
        assert "could not load" not in page.locator("body").inner_text(), name
        errors = [line for line in page.console_lines if line.startswith("pageerror")]
        assert not errors, (name, errors)
        assert not failed, (name, failed)
        links[name] = set(page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"))
        anchors = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
        for href in links[name]:
            if href.startswith("#"):
                assert href[1:] in anchors, f"{name}: no element for the link {href}"
    assert not outside, f"the site fetched from outside itself: {sorted(set(outside))[:5]}"

    internal = {
        urljoin(server + name, href).split("#")[0]
        for name, hrefs in links.items()
        for href in hrefs
        if not href.startswith(("#", "http:", "https:", "mailto:"))
    }
    for url in sorted(internal):
        response = page.request.get(url)
        assert response.ok, f"broken link: {url} ({response.status})"
    assert {server + p for p in pages(site) if p != "index.html"} <= internal  # the pages link each other


def test_plots_formulas_and_exercise_verdicts_are_on_the_pages(site, server, page):
    for notebook in NOTEBOOKS:
        page.goto(server + f"{notebook.stem}.html", wait_until="load")
        checks = code_calls(notebook, r"\bcheck\(")
        verdicts = page.locator(".jp-OutputArea-output").filter(has_text=re.compile("[✅❌]"))
        assert verdicts.count() >= checks, f"{notebook.name}: {checks} exercises, {verdicts.count()} verdicts shown"
        if "$" in "".join(
            "".join(c["source"]) for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "markdown"
        ):
            page.locator(".MathJax_CHTML, .MathJax, .MathJax_SVG").first.wait_for(timeout=30_000)
    page.goto(server + "05_ppo.html", wait_until="load")
    assert page.locator(PLOTS).count() >= 3  # the dashboard, the β sweep, reward hacking
