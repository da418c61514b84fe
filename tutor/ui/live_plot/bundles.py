"""What a frame sends to the front end: HTML whose one script finds its output, gets plotly.js (from
the page, else the CDN) and draws; for a static figure also plotly's own mime bundle, which
JupyterLab's and VS Code's plotly renderers draw offline.

A live frame keeps ONE plot element per LivePlot and moves it into each new output, so a redraw is
a Plotly.react (no flicker, zoom kept) rather than a fresh plot. The first live frame a cell draws
carries plotly.js inline, because JupyterLab may have no internet.
"""

from __future__ import annotations

import json
from typing import Any

from tutor.ui.live_plot.data import Curves

MIME_PLOTLY = "application/vnd.plotly.v1+json"
CONFIG = {"responsive": True, "displaylogo": False}  # plotly's config of every figure

# One script template for every frame: find the host, get plotly.js (page, else CDN), draw.
FRAME_JS = """<script>(function () {
  var id = "@HOST@", host = document.getElementById(id), me = document.currentScript;
  if (!host && me && me.parentNode) { host = me.parentNode.querySelector("#" + id); }
  if (!host) { return; }
  var fig = @FIG@, cdn = "@CDN@", w = window;
  function draw(P) { @DRAW@ }
  if (w.Plotly) { draw(w.Plotly); return; }
  if (!w.__tutorPlotlyCdn) {
    w.__tutorPlotlyCdn = new Promise(function (ok, fail) {
      var s = document.createElement("script");
      s.src = cdn;
      s.onload = function () { if (w.Plotly) { ok(w.Plotly); } else { fail(); } };
      s.onerror = fail;
      document.head.appendChild(s);
    });
  }
  w.__tutorPlotlyCdn.then(draw, function () {
    host.textContent = "This plot needs plotly.js, which this page could not load from " + cdn + ".";
  });
})();</script>"""

LIVE_DRAW = (
    'var reg = w.__tutorLive || (w.__tutorLive = {}), gd = reg["@UID@"];'
    ' if (!gd) { gd = reg["@UID@"] = document.createElement("div"); }'
    " if (gd.parentNode !== host) { host.appendChild(gd); }"
    " P.react(gd, fig.data, fig.layout, fig.config);"
)
STATIC_DRAW = "P.newPlot(host, fig.data, fig.layout, fig.config);"

_PLOTLYJS: str | None = None


def script_json(obj: Any) -> str:
    """Compact JSON that is safe inside a <script> element."""
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


def cdn_url() -> str:
    from plotly.offline import get_plotlyjs_version

    return f"https://cdn.plot.ly/plotly-{get_plotlyjs_version()}.min.js"


def inline_plotlyjs() -> str:
    """plotly.js as a script that defines window.Plotly once, whatever module loader the page has."""
    global _PLOTLYJS
    if _PLOTLYJS is None:
        from plotly.offline import get_plotlyjs

        source = get_plotlyjs().replace("</", "<\\/")
        _PLOTLYJS = (
            "<script>if (!window.Plotly) { (function (module, exports, define) {\n"
            f"{source}\n}}).call(window); }}</script>"
        )
    return _PLOTLYJS


def frame_html(fig: dict, host: str, live_uid: str | None = None) -> str:
    """The element `host` and the script that draws `fig` into it: a static figure, or with
    `live_uid` (the LivePlot's id) a redraw of that plot's one live element."""
    height = fig["layout"].get("height", 400)
    draw = STATIC_DRAW if live_uid is None else LIVE_DRAW.replace("@UID@", live_uid)
    script = (
        FRAME_JS.replace("@HOST@", host)
        .replace("@CDN@", cdn_url())
        .replace("@DRAW@", draw)
        .replace("@FIG@", script_json({**fig, "config": dict(CONFIG)}))
    )
    return f'<div id="{host}" class="tutor-liveplot" style="width:100%;min-height:{height}px"></div>{script}'


def live_bundle(fig: dict, host: str, uid: str, summary: str, carry_plotlyjs: bool) -> dict:
    body = frame_html(fig, host, live_uid=uid)
    if carry_plotlyjs:
        body = inline_plotlyjs() + body
    return {"text/html": body, "text/plain": summary}


def static_bundle(fig: dict, host: str, summary: str) -> dict:
    return {
        MIME_PLOTLY: {**fig, "config": dict(CONFIG)},
        "text/html": frame_html(fig, host),
        "text/plain": summary,
    }


def summary(title: str, curves: Curves) -> str:
    """The bundles' text/plain: one line for terminals, logs and front ends without HTML."""
    parts = [f"LivePlot {title!r}" if title else "LivePlot"]
    if curves.named or len(curves.runs) > 1:
        parts.append(f"run {curves.run!r}")
    last = [(s.steps[-1], k, s.values[-1]) for k, s in curves.current.items() if s.values]
    if last:
        parts.append(f"step {max(step for step, _, _ in last)}")
        parts += [f"{k}={v:.4g}" for _, k, v in last[:12]]
    else:
        parts.append("nothing logged yet")
    return " · ".join(parts)
