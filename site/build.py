"""Build the course site: one HTML page per executed notebook, an index, everything offline.

    python site/build.py --from build/full --out build/site     # `make site` (full-mode execution)
    python site/build.py --from build/fast --out build/site     # CI (the FAST execution it shares)

The builder is nbconvert's `lab` template (installed with JupyterLab, so it works offline and draws
outputs as JupyterLab does), not MyST / Jupyter Book 2: mystmd's HTML build downloads its theme at
build time, which an offline machine cannot. What this script adds to nbconvert's pages:
- plotly.js and MathJax served from the site (`assets/`), never a CDN, and no require.js;
- plotly figures saved as plotly's own mime bundle get the HTML the LivePlot's static figures use;
- widgets need a kernel: a progress bar shows its last state, the labeler of notebook 03 a picture;
- a navigation bar (course map, previous, next) on every page.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tutor.ui.live_plot.bundles import MIME_PLOTLY, frame_html  # noqa: E402

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_PICTURE = ROOT / "docs" / "img" / "labeling-widget.png"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"  # the configuration jupyter-server-mathjax ships
# jupyter-server-mathjax ships the STIX-Web fonts only (as classic Jupyter Notebook configured it).
MATHJAX_FONTS = """<script type="text/x-mathjax-config">MathJax.Hub.Config({"HTML-CSS": {availableFonts: [],
  webFont: "STIX-Web", imageFont: null, preferredFont: null}, SVG: {font: "STIX-Web"}});</script>"""
REMOTE_SCRIPT = re.compile(r'<script[^>]*\ssrc="(?:https?:)?//[^"]*"[^>]*>\s*</script>')
STYLE = """
<style>
.site-nav { position: sticky; top: 0; z-index: 10; display: flex; gap: 1.5em; padding: .6em 1.5em;
  background: #1f3a5f; font: 15px system-ui, sans-serif; }
.site-nav a, .site-nav span { color: #fff; text-decoration: none; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; max-width: 22em; } .site-nav a:hover { text-decoration: underline; }
.site-nav .here { color: #bcd; margin-left: auto; }
.site-widget { border: 1px dashed #999; padding: .6em; font: 14px system-ui, sans-serif; }
.site-widget img { max-width: 100%; display: block; margin-top: .4em; }
.site-progress { font: 13px monospace; padding: .2em 0; } .site-progress progress { width: 14em; }
</style>
"""


def title_of(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def widget_html(model_id: str, state: dict, picture: str | None) -> str:
    """What a static page shows for a widget: a progress bar's last text (tqdm's HBox of HTML,
    progress, HTML), the labeler's picture, or a note that the widget needs a running kernel."""
    seen, texts, progress, stack = set(), [], None, [model_id]
    while stack:  # the widget and its descendants, in order
        mid = stack.pop(0)
        if mid in seen or mid not in state:
            continue
        seen.add(mid)
        model = state[mid]
        name, values = model.get("model_name", ""), model.get("state", {})
        if name in ("FloatProgressModel", "IntProgressModel"):
            progress = values
        elif name == "HTMLModel" and values.get("value"):
            texts.append(values["value"])
        stack += [c.removeprefix("IPY_MODEL_") for c in values.get("children", []) if isinstance(c, str)]
    if progress is not None:
        share = progress.get("value", 0) / (progress.get("max") or 1)
        bar = f'<progress value="{share:.3f}" max="1"></progress>'
        return f'<div class="site-progress">{texts[0] if texts else ""} {bar} {" ".join(texts[1:])}</div>'
    if any("labelled" in text for text in texts):
        shown = f'<img src="{picture}" alt="the labeling widget in JupyterLab">' if picture else ""
        return (
            '<div class="site-widget">The labeling widget: run this notebook in JupyterLab, Binder or '
            f"Colab to label answers yourself.{shown}</div>"
        )
    return '<div class="site-widget">An interactive widget: run this notebook to use it.</div>'


def prepare(nb, picture: str | None) -> None:
    """Rewrite outputs a static page cannot show as they are (see the module docstring)."""
    widgets = nb.metadata.pop("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    state = widgets.get("state", {})
    for index, cell in enumerate(nb.cells):
        for number, output in enumerate(cell.get("outputs", [])):
            data = output.get("data")
            if not data:
                continue
            if MIME_PLOTLY in data and "text/html" not in data:
                data["text/html"] = frame_html(data[MIME_PLOTLY], host=f"site-plot-{index}-{number}")
            if WIDGET_VIEW in data:
                html_text = widget_html(data[WIDGET_VIEW].get("model_id", ""), state, picture)
                data.clear()
                data["text/html"] = html_text


def nav(pages: list[tuple[str, str]], at: int | None) -> str:
    links = ['<a href="index.html">rlhf-tutor: the course</a>']
    if at is not None:
        if at > 0:
            links.append(f'<a href="{pages[at - 1][0]}">← {html.escape(pages[at - 1][1])}</a>')
        if at + 1 < len(pages):
            links.append(f'<a href="{pages[at + 1][0]}">{html.escape(pages[at + 1][1])} →</a>')
        links.append(f'<span class="here">{html.escape(pages[at][1])}</span>')
    return '<nav class="site-nav">' + "".join(links) + "</nav>"


def finish(body: str, navigation: str) -> str:
    """Local scripts instead of remote ones, the site's style and its navigation bar."""
    body = REMOTE_SCRIPT.sub("", body)
    body = body.replace("</head>", STYLE + MATHJAX_FONTS + '<script src="assets/plotly.js"></script>\n</head>', 1)
    body = re.sub(r"(<body[^>]*>)", r"\1" + navigation.replace("\\", "\\\\"), body, count=1)
    return body.replace("</body>", navigation.replace('class="site-nav"', 'class="site-nav bottom"') + "</body>", 1)


def write_assets(out: Path) -> None:
    assets = out / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    from plotly.offline import get_plotlyjs

    # Wrapped as LivePlot's inline copy is (bundles.inline_plotlyjs): window.Plotly under any loader.
    (assets / "plotly.js").write_text(
        f"if (!window.Plotly) {{ (function (module, exports, define) {{\n{get_plotlyjs()}\n}}).call(window); }}\n"
    )
    try:
        import jupyter_server_mathjax
    except ImportError:
        print("jupyter-server-mathjax is not installed: formulas stay as TeX (pip install -e '.[dev]')")
    else:
        shutil.copytree(Path(jupyter_server_mathjax.__file__).parent / "static", assets / "mathjax", dirs_exist_ok=True)
    if WIDGET_PICTURE.exists():
        shutil.copy(WIDGET_PICTURE, assets / WIDGET_PICTURE.name)


def index_page(pages: list[tuple[str, str]], source: Path) -> str:
    run = json.loads((source / "run.json").read_text()) if (source / "run.json").exists() else {}
    mode = run.get("mode", "unknown")
    items = "".join(f'<li><a href="{href}">{html.escape(title)}</a></li>' for href, title in pages)
    note = (
        "These pages were executed in FAST mode (small, quick versions of every step): the numbers are "
        "not the course's full-mode results."
        if mode == "fast"
        else "These pages were executed in full mode, as a learner's notebooks run."
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>rlhf-tutor</title>'
        f"{STYLE}</head><body>{nav(pages, None)}<main style='max-width:60em;margin:2em auto;"
        "font:16px system-ui,sans-serif'><h1>rlhf-tutor: aligning a language model to human preferences</h1>"
        "<p>SFT, preference data, a reward model, PPO and DPO, in notebooks that run on a laptop CPU. "
        f"Each page is one notebook with its outputs: plots, tables and the exercises' checker output. {note}</p>"
        f'<ol class="site-pages">{items}</ol></main></body></html>'
    )


def build(source: Path, out: Path) -> list[Path]:
    notebooks = sorted(source.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise SystemExit(f"no executed notebooks in {source}: run .ci/run_notebooks.py {source} first")
    if out.exists():
        shutil.rmtree(out)
    write_assets(out)
    picture = f"assets/{WIDGET_PICTURE.name}" if WIDGET_PICTURE.exists() else None
    loaded = [nbformat.read(path, as_version=4) for path in notebooks]
    pages = [(f"{path.stem}.html", title_of(nb) or path.stem) for path, nb in zip(notebooks, loaded, strict=True)]
    exporter = HTMLExporter(template_name="lab", mathjax_url=f"assets/mathjax/MathJax.js?config={MATHJAX_CONFIG}")
    written = []
    for at, nb in enumerate(loaded):
        prepare(nb, picture)
        nb.metadata["title"] = pages[at][1]
        body, _ = exporter.from_notebook_node(nb)
        target = out / pages[at][0]
        target.write_text(finish(body, nav(pages, at)), encoding="utf-8")
        written.append(target)
    (out / "index.html").write_text(index_page(pages, source), encoding="utf-8")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, default=ROOT / "build" / "full")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    args = parser.parse_args()
    written = build(args.source, args.out)
    print(f"site: {len(written)} pages and index.html in {args.out}")


if __name__ == "__main__":
    main()
