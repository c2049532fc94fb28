"""``index.html``: the batch's runs, and each trainee's progress over sessions as small inline SVG charts.

One self-contained page: no script, no stylesheet or font from the network.
Per trainee (``--trainee`` or ``--trainee-folders``; runs without one are
grouped as "no trainee"), sessions are taken in run-folder name order (name
the recordings by date, ``2024-05-01.mp4``, to read the charts as time) and
drawn twice: events per rule (the rules that fired at least once for that
trainee) and the share of judged time each desired state held.
"""
from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from vision.batch.index import Row, rule_columns

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 520, 170, 40, 12, 10, 24
NO_TRAINEE = "no trainee"

CSS = """body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
td.t,th.t{text-align:left}.failed,.interrupted{background:#fdd}.partial{background:#ffd}
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:10px;height:10px;
margin-right:4px}svg{background:#fafafa;border:1px solid #ddd}h2{margin-top:1.5em}"""


def _fmt(v, pct: bool = False) -> str:
    if v is None:
        return ""
    if pct:
        return f"{100 * v:.0f}%"
    return f"{v:.1f}" if isinstance(v, float) else str(v)


def chart(series: Dict[str, Sequence[Optional[float]]], labels: Sequence[str], y_max: float,
          pct: bool = False) -> str:
    """An SVG line chart: one polyline per series over the sessions; None leaves a gap. Hover a point for its value."""
    n = len(labels)
    x = [PAD_L + (W - PAD_L - PAD_R) * (i + 0.5) / n for i in range(n)]
    y_max = y_max or 1.0

    def y(v: float) -> float:
        return PAD_T + (H - PAD_T - PAD_B) * (1.0 - v / y_max)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">']
    for frac in (0.0, 0.5, 1.0):
        yy = y(frac * y_max)
        parts.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd"/>'
                     f'<text x="{PAD_L - 4}" y="{yy + 4:.1f}" font-size="10" text-anchor="end">'
                     f'{f"{100 * frac:.0f}%" if pct else f"{frac * y_max:g}"}</text>')
    for i, label in enumerate(labels):
        parts.append(f'<text x="{x[i]:.1f}" y="{H - 8}" font-size="10" text-anchor="middle">{i + 1}'
                     f'<title>{escape(label)}</title></text>')
    for k, (name, values) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        runs, current = [], []
        for i, v in enumerate(values):
            if v is None:
                runs, current = runs + [current] if current else runs, []
            else:
                current.append((x[i], y(v), v, labels[i]))
        runs += [current] if current else []
        for run in runs:
            if len(run) > 1:
                pts = " ".join(f"{a:.1f},{b:.1f}" for a, b, _, _ in run)
                parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
            for a, b, v, label in run:
                parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colour}"><title>'
                             f'{escape(name)}, {escape(label)}: {escape(_fmt(v, pct))}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def _legend(names: Sequence[str]) -> str:
    return '<div class="legend">' + "".join(
        f'<span><i style="background:{PALETTE[k % len(PALETTE)]}"></i>{escape(n)}</span>'
        for k, n in enumerate(names)) + "</div>"


def trainee_section(trainee: str, rows: List[Row]) -> str:
    """One trainee's sessions: counts and desired time shares over sessions, then the session list."""
    done = [r for r in rows if r.counts]
    labels = [r.name for r in done]
    fired = sorted({rule for r in done for rule, c in r.counts.items() if c > 0 and r.kinds.get(rule) != "desired"})
    shared = sorted({rule for r in done for rule, s in r.shares.items() if s is not None})
    out = [f"<h2>{escape(trainee)}</h2>", f"<p>{len(rows)} session(s), {len(done)} analysed.</p>"]
    if done and fired:
        counts = {rule: [float(r.counts.get(rule, 0)) for r in done] for rule in fired}
        out += ["<h3>Events per session (rules to avoid)</h3>",
                chart(counts, labels, max(max(v) for v in counts.values())), _legend(fired)]
    elif done:
        out.append("<p>No event of a rule to avoid in any session.</p>")
    if done and shared:
        shares = {rule: [r.shares.get(rule) for r in done] for rule in shared}
        out += ["<h3>Share of judged time in each desired state</h3>", chart(shares, labels, 1.0, pct=True),
                _legend(shared)]
    out.append("<p>Sessions: " + ", ".join(f'{i + 1}. <a href="{escape(r.link)}">{escape(r.name)}</a>'
                                            for i, r in enumerate(done)) + "</p>")
    return "\n".join(out)


def runs_table(rows: List[Row]) -> str:
    counted, shared = rule_columns(rows)
    counted = [c for c in counted if any(r.counts.get(c) for r in rows)]
    head = ["run", "trainee", "status", "duration s", "analysis s"] + counted + [f"{s} %" for s in shared]
    out = ["<table><tr>" + "".join(f'<th class="t">{escape(h)}</th>' if i < 3 else f"<th>{escape(h)}</th>"
                                   for i, h in enumerate(head)) + "</tr>"]
    for r in rows:
        status = escape(r.status) + (f" ({escape(r.reason)})" if r.reason else "")
        cells = [f'<td class="t"><a href="{escape(r.link)}">{escape(r.name)}</a></td>',
                 f'<td class="t">{escape(r.trainee or "")}</td>', f'<td class="t">{status}</td>',
                 f"<td>{_fmt(r.duration_s)}</td>", f"<td>{_fmt(r.analysis_s)}</td>"]
        cells += [f"<td>{_fmt(r.counts.get(c))}</td>" for c in counted]
        cells += [f"<td>{_fmt(r.shares.get(s), pct=True)}</td>" for s in shared]
        out.append(f'<tr class="{escape(r.status)}">' + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def write_html(rows: List[Row], path: Path) -> Path:
    groups: Dict[str, List[Row]] = {}
    for r in rows:
        groups.setdefault(r.trainee or NO_TRAINEE, []).append(r)
    failed = sum(r.status in ("failed", "interrupted", "running") for r in rows)
    body = [f"<h1>Conduct coach: {len(rows)} runs</h1>",
            f"<p>{len(rows) - failed} analysed, {failed} failed or unfinished. Hover a point for its value; "
            "click a run for its report (or its folder, until <code>report</code> has been run on it).</p>"]
    if any(r.trainee for r in rows):
        body += [trainee_section(t, groups[t]) for t in sorted(groups)]
    body += ["<h2>All runs</h2>", runs_table(rows)]
    html = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Conduct coach: batch index</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
    Path(path).write_text(html, encoding="utf-8")
    return Path(path)
