"""The run report: one self-contained HTML page (inline CSS and SVG, no network needed).

``render(sections)`` draws, for each pool or manager of a run, its summary (tasks done and
failed, workers, duration, rate), its failures by cause with example tracebacks, a
per-worker task timeline (one lane per worker, tasks as bars, deaths and replacements
marked) and its throughput over time. A section is ``{"title", "stats", "timeline"}``:
``stats`` is a ``stats()`` snapshot, ``timeline`` a ``Runtime.timeline()`` one (or None).

Every number the summary and the failure table show carries ``data-stat="totals.done"``
(its path in ``stats``), so that a test, or a script, can check the page against
``stats()``. What the page holds and how its memory is capped: docs/observability.md.
The page runs no script unless ``live`` is given (the dashboard's refresh, which fetches
only its own address).
"""

from __future__ import annotations

import html
import re
import time
from typing import Any, Optional

__all__ = ["render", "write"]

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
h3{font-size:1em;margin:1.2em 0 .4em}table{border-collapse:collapse;margin:.3em 0}
td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}td.n{text-align:right}
th{background:#f4f4f4}.meta{color:#666}pre{background:#f8f8f8;padding:.5em;overflow:auto;
max-height:20em;font-size:12px}details{margin:.2em 0 .6em}.none{color:#666}
svg text{font:11px system-ui,sans-serif;fill:#333}svg .lane{fill:#f6f6f6}
svg .ok{fill:#4a9d5b}svg .failed{fill:#d04040}svg .lost{fill:#222}
svg .died{stroke:#d00;stroke-width:2}svg .replacement{fill:#2a62c9}svg .joined{fill:#4a9d5b}
svg .launched{stroke:#999}svg .stopped{stroke:#888;stroke-dasharray:2,2}
svg .tp{fill:#4a7fd0}svg .tpbad{fill:#d04040}.key span{display:inline-block;width:.9em;
height:.9em;margin:0 .3em 0 1em;vertical-align:middle}
"""

_LIVE_JS = """
(function(){
  var every = 2000;
  function again(){ setTimeout(tick, every); }
  function tick(){
    var url = location.pathname + location.search + '&part=main';
    fetch(url, {cache: 'no-store'}).then(function(r){
      if (!r.ok) { document.getElementById('state').textContent = 'dashboard stopped'; return; }
      return r.text().then(function(t){
        document.getElementById('main').innerHTML = t; again();
      });
    }).catch(function(){ document.getElementById('state').textContent = 'dashboard stopped'; });
  }
  again();
})();
"""

_W = 1000          # drawing width of the plots, in SVG units
_LEFT = 190        # room for the lane labels
_LANE_MAX = 18     # lane height when there are few workers


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _num(path: str, value: Any) -> str:
    return f'<td class="n" data-stat="{_e(path)}">{_e(value)}</td>'


def _secs(s: float) -> str:
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"


def summary(stats: dict, tl: Optional[dict]) -> str:
    t = stats["totals"]
    seen = len(stats["workers"]) + t["workers_departed"]
    elapsed = tl["elapsed"] if tl else None
    finished = t["done"] + t["failed"]
    rate = f"{finished / elapsed:.1f} tasks/s" if elapsed else "-"
    rows = [
        ("tasks submitted", _num("totals.submitted", t["submitted"])),
        ("tasks done", _num("totals.done", t["done"])),
        ("tasks failed", _num("totals.failed", t["failed"])),
        ("tasks pending", _num("totals.pending", t["pending"])),
        ("tasks running", _num("totals.running", t["running"])),
        ("workers live now", _num("totals.workers_live", t["workers_live"])),
        ("workers starting or draining", _num("totals.workers_starting", t["workers_starting"])),
        ("workers departed", _num("totals.workers_departed", t["workers_departed"])),
        ("workers in all", f'<td class="n" id="workers-seen">{seen}</td>'),
        ("duration", f'<td class="n" id="duration">{_secs(elapsed) if elapsed else "-"}</td>'),
        ("rate (done and failed)", f'<td class="n" id="rate">{rate}</td>'),
    ]
    return "<table>" + "".join(f"<tr><th>{k}</th>{v}</tr>" for k, v in rows) + "</table>"


def _examples(tl: Optional[dict], cause: str) -> str:
    out = []
    for ex in (tl or {}).get("examples", {}).get(cause, []):
        where = f"task {ex['task']}" + (f" on {ex['worker']}" if ex.get("worker") else "")
        out.append(f"<details><summary>example: {_e(where)}</summary>"
                   f"<pre>{_e(ex['text'] or '(no traceback)')}</pre></details>")
    return "".join(out)


def failures(stats: dict, tl: Optional[dict]) -> str:
    f = stats["failures"]
    rows = []
    for name, n in sorted(f["raised"].items(), key=lambda kv: -kv[1]):
        rows.append((f"raised {name}", _num(f"failures.raised.{name}", n),
                     _examples(tl, f"raised: {name}")))
    if f["unencodable"]:
        rows.append(("result could not be pickled",
                     _num("failures.unencodable", f["unencodable"]), ""))
    if f["poison"]:
        rows.append(("poison (killed a worker each attempt)", _num("failures.poison", f["poison"]),
                     _examples(tl, "poison")))
    for name, n in sorted(f["manager"].items()):
        rows.append((f"failed by the manager: {name}", _num(f"failures.manager.{name}", n),
                     _examples(tl, f"manager: {name}")))
    deaths = "".join(f"<tr><th>{_e(how)}</th>{_num(f'failures.worker_deaths.{how}', n)}</tr>"
                     for how, n in sorted(f["worker_deaths"].items()))
    out = "<h3>Failed tasks by cause</h3>"
    if rows:
        out += ("<table><tr><th>cause</th><th>tasks</th><th>examples</th></tr>" + "".join(
            f"<tr><th>{_e(c)}</th>{n}<td>{x}</td></tr>" for c, n, x in rows) + "</table>")
    else:
        out += '<p class="none">No task failed.</p>'
    out += "<h3>Workers lost unexpectedly</h3>"
    out += f"<table>{deaths}</table>" if deaths else '<p class="none">None.</p>'
    return out


def timeline_svg(tl: dict) -> str:
    lanes = sorted({b[0] for b in tl["bars"]} | {e[1] for e in tl["events"]})
    if not lanes:
        return '<p class="none">No worker recorded.</p>'
    span = max(tl["elapsed"], 1e-3)
    lane_h = max(3.0, min(_LANE_MAX, 1200 / len(lanes)))
    row = {w: i for i, w in enumerate(lanes)}
    height = lane_h * len(lanes) + 24
    x = lambda t: _LEFT + (_W - _LEFT) * min(max(t, 0.0), span) / span  # noqa: E731
    y = lambda w: row[w] * lane_h  # noqa: E731
    parts = [f'<svg id="timeline" viewBox="0 0 {_W} {height:.0f}" width="100%" '
             f'role="img" aria-label="task timeline">']
    labels = tl.get("lanes", {})
    for w in lanes:
        parts.append(f'<rect class="lane" x="{_LEFT}" y="{y(w):.1f}" width="{_W - _LEFT}" '
                     f'height="{lane_h - 1:.1f}"/>')
        if lane_h >= 9:
            name = labels.get(str(w), f"worker {w}")
            short = re.sub(r" <[^>]*>", "", name)  # the launcher's repr: in the tooltip
            short = short if len(short) <= 30 else short[:29] + "…"
            parts.append(f'<text x="2" y="{y(w) + lane_h - 5:.1f}">{_e(short)}'
                         f'<title>{_e(name)}</title></text>')
    cls = ("ok", "failed", "lost")
    for w, start, end, n, bad, how in tl["bars"]:
        x0 = x(start)
        what = f"{n} task{'s' if n != 1 else ''}" + (f", {bad} failed" if bad else "")
        if how == 2:
            what += ", its worker was lost"
        # A bar of many tasks is red if most of them failed, else green with a red stripe.
        kind = cls[how] if how != 1 or 2 * bad >= n else "ok"
        tip = f"<title>worker {w}: {what}, {start:.3f}-{end:.3f} s</title>"
        width = max(x(end) - x0, 0.6)
        parts.append(f'<rect class="bar {kind}" x="{x0:.1f}" y="{y(w):.1f}" '
                     f'width="{width:.1f}" height="{lane_h - 1:.1f}">{tip}</rect>')
        if bad and kind == "ok":
            parts.append(f'<rect class="failed" x="{x0:.1f}" y="{y(w) + (lane_h - 1) * 0.7:.1f}" '
                         f'width="{width:.1f}" height="{(lane_h - 1) * 0.3:.1f}">{tip}</rect>')
    for t, w, kind, text in tl["events"]:
        cx, top, mid = x(t), y(w), y(w) + lane_h / 2
        tip = f"<title>{_e(f'{t:.3f} s: worker {w} {kind}: {text}')}</title>"
        if kind == "died":
            d = lane_h / 2 - 1
            parts.append(f'<path class="ev died" d="M{cx - d:.1f} {mid - d:.1f}L{cx + d:.1f} '
                         f'{mid + d:.1f}M{cx - d:.1f} {mid + d:.1f}L{cx + d:.1f} {mid - d:.1f}">'
                         f'{tip}</path>')
        elif kind == "replacement":
            parts.append(f'<path class="ev replacement" d="M{cx:.1f} {top:.1f}l{lane_h / 3:.1f} '
                         f'{lane_h - 1:.1f}h{-2 * lane_h / 3:.1f}z">{tip}</path>')
        elif kind == "joined":
            parts.append(f'<circle class="ev joined" cx="{cx:.1f}" cy="{mid:.1f}" '
                         f'r="{max(lane_h / 5, 1):.1f}">{tip}</circle>')
        else:  # launched, stopped, start failed
            parts.append(f'<line class="ev {"stopped" if kind == "stopped" else "launched"}" '
                         f'x1="{cx:.1f}" x2="{cx:.1f}" y1="{top:.1f}" y2="{top + lane_h - 1:.1f}">'
                         f'{tip}</line>')
    parts.append(_axis(span, height - 20, height - 6))
    parts.append("</svg>")
    note = ""
    if tl["unplotted"] or len(tl["bars"]) >= tl["max_bars"]:
        note = (f'<p class="meta">Past the first {tl["max_bars"]} bars, each task extends its '
                f'worker\'s last bar (the bar says how many tasks it holds); '
                f'{tl["unplotted"]} task(s) on workers with no bar yet are not drawn.</p>')
    if tl["events_dropped"]:
        note += f'<p class="meta">{tl["events_dropped"]} later worker events are not drawn.</p>'
    key = ('<p class="key"><span class="k" style="background:#4a9d5b"></span>task returned'
           '<span style="background:#d04040"></span>task raised'
           '<span style="background:#222"></span>worker lost while running it'
           '<span style="background:#fff;color:#d00">✕</span>worker died'
           '<span style="background:#2a62c9"></span>replacement launched'
           '<span style="background:#fff;border-left:1px solid #999"></span>launched</p>')
    return "".join(parts) + key + note


def _axis(span: float, y0: float, ytext: float) -> str:
    out = [f'<line x1="{_LEFT}" x2="{_W}" y1="{y0:.1f}" y2="{y0:.1f}" stroke="#999"/>']
    for i in range(6):
        t = span * i / 5
        xx = _LEFT + (_W - _LEFT) * i / 5
        anchor = ("start", "middle", "middle", "middle", "middle", "end")[i]
        out.append(f'<text x="{xx:.1f}" y="{ytext:.1f}" text-anchor="{anchor}">{t:.1f} s</text>')
    return "".join(out)


def throughput_svg(tl: dict) -> str:
    ok, bad, width = tl["ok"], tl["bad"], tl["bucket"]
    if not ok:
        return '<p class="none">No task finished.</p>'
    span = max(tl["elapsed"], 1e-3)  # the timeline's scale, so the two plots line up
    top = max(a + b for a, b in zip(ok, bad)) / width
    h = 140
    parts = [f'<svg id="throughput" viewBox="0 0 {_W} {h + 24}" width="100%" role="img" '
             f'aria-label="throughput">',
             f'<text x="2" y="12">{top:.1f} tasks/s</text><text x="2" y="{h}">0</text>']
    scale = (_W - _LEFT) / span
    for i, (a, b) in enumerate(zip(ok, bad)):
        if not a + b:
            continue
        x0 = _LEFT + min(i * width, span) * scale
        bw = max(min((i + 1) * width, span) * scale + _LEFT - x0 - 0.5, 0.5)
        ha, hb = h * a / width / top, h * b / width / top
        tip = f"<title>{i * width:.2f}-{(i + 1) * width:.2f} s: {a} done, {b} failed</title>"
        parts.append(f'<rect class="tp" x="{x0:.1f}" y="{h - ha:.1f}" width="{bw:.1f}" '
                     f'height="{ha:.1f}">{tip}</rect>')
        if b:
            parts.append(f'<rect class="tpbad" x="{x0:.1f}" y="{h - ha - hb:.1f}" '
                         f'width="{bw:.1f}" height="{hb:.1f}">{tip}</rect>')
    parts.append(_axis(span, h + 2, h + 16))
    parts.append("</svg>")
    return "".join(parts) + f'<p class="meta">Tasks finished per second, in buckets of ' \
                            f'{width:g} s.</p>'


def workers_table(stats: dict) -> str:
    ws = stats["workers"]
    if not ws:
        return '<p class="none">No worker in the table now.</p>'
    head = ("id", "host", "pid", "state", "done", "failed", "tasks on it", "heartbeat age")
    rows = "".join(
        f"<tr><td>{w['id']}</td><td>{_e(w['host'])}</td><td>{_e(w['pid'])}</td>"
        f"<td>{_e(w['state'])}</td><td class='n'>{w['tasks_done']}</td>"
        f"<td class='n'>{w['tasks_failed']}</td><td class='n'>{len(w['tasks'])}</td>"
        f"<td class='n'>{_e(w['heartbeat_age'])}</td></tr>" for w in ws)
    return ("<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + rows
            + "</table>")


def section(sec: dict) -> str:
    stats, tl = sec["stats"], sec.get("timeline")
    out = [f'<section class="run"><h2>{_e(sec["title"])}</h2>']
    if tl:
        began = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(tl["started"]))
        out.append(f'<p class="meta">started {began}</p>')
    out += ["<h3>Summary</h3>", summary(stats, tl), failures(stats, tl)]
    if tl:
        out += ["<h3>Tasks on each worker</h3>", timeline_svg(tl),
                "<h3>Throughput</h3>", throughput_svg(tl)]
    out += ["<h3>Workers now</h3>", workers_table(stats), "</section>"]
    return "".join(out)


def main_part(sections: list[dict], dropped: int = 0) -> str:
    """The page's ``<main>`` content (the dashboard refreshes only this)."""
    out = "".join(section(s) for s in sections) or '<p class="none">Nothing ran.</p>'
    if dropped:
        out += f'<p class="meta">{dropped} earlier pool(s) of this run are not shown.</p>'
    return out


def render(sections: list[dict], title: str = "netpool run report", live: bool = False,
           dropped: int = 0) -> str:
    """The whole page. ``live``: the dashboard's version, which refreshes itself."""
    made = time.strftime("%Y-%m-%d %H:%M:%S")
    script = f"<script>{_LIVE_JS}</script>" if live else ""
    csp = ("default-src 'none'; style-src 'unsafe-inline'; "
           + ("script-src 'unsafe-inline'; connect-src 'self'" if live else "script-src 'none'"))
    state = "live, refreshing every 2 s" if live else f"written {made}"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
            f'<h1>{_e(title)}</h1><p class="meta" id="state">{state}</p>'
            f'<main id="main">{main_part(sections, dropped)}</main>{script}</body></html>')


def write(path: str, sections: list[dict], title: str = "netpool run report",
          dropped: int = 0) -> None:
    """Write the page to ``path`` atomically (a temporary file renamed); raises ``OSError``."""
    import os
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(render(sections, title, dropped=dropped))
    os.replace(tmp, path)
