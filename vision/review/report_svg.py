"""Inline SVG for the report: the events of each rule across a recording, and time-share bars.

Every piece of text that reaches the markup goes through :func:`esc`.
"""
from __future__ import annotations

import html
from typing import Dict, List, Optional, Sequence
from urllib.parse import quote

from vision.io.events import Event
from vision.review.overlay import event_rgb


def esc(text) -> str:
    """Text for HTML or SVG, quotes included: a rule message holding ``<script>`` shows as text."""
    return html.escape("" if text is None else str(text), quote=True)


def href(path: str) -> str:
    """A relative link, percent-encoded and escaped."""
    return esc(quote(path, safe="/._-"))


def rgb_css(rgb) -> str:
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})"


def nice_step(span: float, ticks: int = 8) -> float:
    """A round tick step (1, 2, 5 x 10^k) giving about ``ticks`` ticks over ``span``."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    k = 10 ** int(f"{raw:e}".split("e")[1])
    for m in (1, 2, 5, 10):
        if raw <= m * k:
            return m * k
    return 10 * k


def timeline_svg(rules: Sequence[str], events: List[Event], duration_s: float,
                 links: Optional[Dict[int, str]] = None, width: int = 960, row_h: int = 22,
                 label_w: int = 170, css_class: str = "timeline") -> str:
    """One row per rule, one bar per event (``data-rule`` on each), a seconds axis below.

    ``links`` maps ``id(event)`` to a clip to open from its bar. A zero-length
    recording (a still image) draws each event as a mark at 0.
    """
    links = links or {}
    span = max(duration_s, max((e.end_s for e in events), default=0.0))
    plot_w = width - label_w - 10
    height = len(rules) * row_h + 26

    def x(t: float) -> float:
        return label_w + (t / span * plot_w if span > 0 else 0.0)

    out = [f'<svg class="{esc(css_class)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="100%" role="img" aria-label="events per rule over time">']
    for k, rule in enumerate(rules):
        y = k * row_h
        out.append(f'<rect class="lane" x="{label_w}" y="{y + 2}" width="{plot_w}" height="{row_h - 4}" '
                   f'fill="#f1f1f1"/>')
        out.append(f'<text x="{label_w - 6}" y="{y + row_h * 0.68:.1f}" text-anchor="end" '
                   f'font-size="12">{esc(rule)}</text>')
    for e in events:
        if e.rule not in rules:
            continue
        y = rules.index(e.rule) * row_h
        x0, x1 = x(e.start_s), x(e.end_s)
        w = max(3.0, x1 - x0)
        title = f"{e.rule} {e.start_s:.2f}–{e.end_s:.2f} s: {e.message_zh} · {e.message_en}"
        bar = (f'<rect class="ev" data-rule="{esc(e.rule)}" x="{x0:.1f}" y="{y + 4}" width="{w:.1f}" '
               f'height="{row_h - 8}" rx="2" fill="{rgb_css(event_rgb(e))}"><title>{esc(title)}</title></rect>')
        link = links.get(id(e))
        out.append(f'<a href="{href(link)}">{bar}</a>' if link else bar)
    y = len(rules) * row_h + 4
    out.append(f'<line x1="{label_w}" y1="{y}" x2="{label_w + plot_w}" y2="{y}" stroke="#888"/>')
    if span > 0:
        step = nice_step(span)
        t = 0.0
        while t <= span + 1e-9:
            out.append(f'<line x1="{x(t):.1f}" y1="{y}" x2="{x(t):.1f}" y2="{y + 4}" stroke="#888"/>'
                       f'<text x="{x(t):.1f}" y="{y + 16}" text-anchor="middle" font-size="11">{t:g} s</text>')
            t += step
    else:
        out.append(f'<text x="{label_w}" y="{y + 16}" font-size="11">still image</text>')
    out.append("</svg>")
    return "".join(out)


def share_bars(time_share: Dict[str, Dict], labels: Dict[str, str]) -> str:
    """One bar per desired state: share of the judged time it held (or "not judged")."""
    rows = []
    for rule, d in time_share.items():
        share = d.get("share") if isinstance(d, dict) else None
        label = labels.get(rule, rule)
        if share is None:
            value = '<span class="muted">not judged · 未判定</span>'
            bar = ""
        else:
            pct = max(0.0, min(1.0, float(share))) * 100
            value = (f'{pct:.0f}% <span class="muted">({float(d.get("active_s", 0)):.1f} of '
                     f'{float(d.get("judged_s", 0)):.1f} s)</span>')
            bar = f'<div class="bar" style="width:{pct:.1f}%"></div>'
        rows.append(f'<div class="share" data-rule="{esc(rule)}"><div class="share-label">{esc(label)}</div>'
                    f'<div class="track">{bar}</div><div class="share-value">{value}</div></div>')
    return "".join(rows) or '<p class="muted">no desired states in this run</p>'
