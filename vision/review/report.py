"""``report``: ``report.html`` in a run folder, and a side-by-side page for several runs.

The page is one self-contained file: thumbnails are embedded as data URIs,
the timeline is inline SVG, there is no script, and a Content-Security-Policy
forbids loading anything from the network. Thumbnails (the peak frame of each
event, faces blurred as in the clips) open the event's clip when ``clips``
made one (``clips/clips.json``). Everything taken from files, rules or
labels is escaped.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import cv2

from vision.review.clips import INDEX_NAME
from vision.io.events import Event
from vision.review.overlay import draw_focus, draw_subject, event_rgb, focus_of
from vision.review.privacy import FaceBlurrer, TrackedFaces
from vision.review.report_people import ROLE_LABEL, people_section
from vision.review.report_people import STYLE as PEOPLE_STYLE
from vision.review.report_svg import esc, href, rgb_css, share_bars, timeline_svg
from vision.io.run_folder import RunFolder, SubjectPoints, load_run
from vision.io.run_meta import record_output
from vision.io.video_in import iter_frames

THUMB_W = 240
CSP = ("default-src 'none'; img-src data: 'self'; style-src 'unsafe-inline'; media-src 'self'; "
       "base-uri 'none'; form-action 'none'")
STYLE = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",system-ui,sans-serif;margin:24px;color:#222;max-width:1280px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.muted{color:#777} table{border-collapse:collapse;font-size:13px} td,th{border-bottom:1px solid #e4e4e4;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f6f6} td.num{text-align:right;font-variant-numeric:tabular-nums}
.chip{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.events{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:12px}
.event{border:1px solid #ddd;border-radius:6px;padding:6px;font-size:13px;background:#fff}
.event img{width:100%;display:block;border-radius:4px} .noimg{height:60px;background:#eee;display:flex;align-items:center;justify-content:center}
.share{display:grid;grid-template-columns:260px 1fr 200px;gap:8px;align-items:center;margin:4px 0;font-size:13px}
.track{background:#eee;height:14px;border-radius:3px} .bar{background:rgb(70,180,100);height:14px;border-radius:3px}
dl{display:grid;grid-template-columns:180px 1fr;gap:2px 12px;font-size:13px} dt{color:#666} dd{margin:0;word-break:break-all}
.runs{display:grid;gap:16px} .run{border:1px solid #ddd;border-radius:6px;padding:10px}
"""


@dataclass
class ReportOptions:
    video: Optional[Path] = None
    privacy: str = "auto"
    thumbnails: bool = True
    max_thumbnails: int = 300


# --- data ---------------------------------------------------------------------------
def rule_texts(run: RunFolder) -> Dict[str, Dict[str, str]]:
    """Rule id -> kind, severity, clause and messages, as the run judged them: the run's own
    catalogue (``run.json`` ``rules.catalogue``), and for a rule it does not list, its events."""
    out: Dict[str, Dict[str, str]] = {k: dict(v) for k, v in run.catalogue.items()}
    for e in run.events:
        out.setdefault(e.rule, {"kind": e.kind, "severity": e.severity, "clause": e.clause,
                                "message_zh": e.message_zh, "message_en": e.message_en})
    return out


def rule_order(run: RunFolder) -> List[str]:
    """Enabled rules (as the run listed them), then any others that have events."""
    ids = list(run.info.get("rules", {}).get("enabled", []))
    return ids + [r for r in dict.fromkeys(e.rule for e in run.events) if r not in ids]


def clip_links(run: RunFolder, page_dir: Path) -> Dict[int, str]:
    """``id(event)`` -> link to its clip (relative to the page), from ``clips/clips.json``."""
    index = run.dir / "clips" / INDEX_NAME
    if not index.is_file():
        return {}
    try:
        items = json.loads(index.read_text(encoding="utf-8")).get("clips", [])
    except (ValueError, OSError):
        return {}
    by_key = {(c.get("rule"), c.get("person"), c.get("start_frame"), c.get("end_frame")): c.get("file")
              for c in items}
    out = {}
    for e in run.events:
        name = by_key.get((e.rule, e.person, e.start_frame, e.end_frame))
        if name and (index.parent / Path(name).name).is_file():
            out[id(e)] = os.path.relpath(index.parent / Path(name).name, page_dir).replace(os.sep, "/")
    return out


def thumbnails(run: RunFolder, events: List[Event], privacy: str, width: int = THUMB_W) -> Dict[int, str]:
    """``id(event)`` -> JPEG data URI of its peak frame, landmarks and the offending region drawn."""
    if not events or not run.source.exists():
        return {}
    points = SubjectPoints(run.track, run.pixels)
    frame_of = {id(e): int((e.peak or {}).get("frame", e.start_frame)) for e in events}
    wanted = set(frame_of.values())
    out: Dict[int, str] = {}
    with FaceBlurrer(privacy, tracked=TrackedFaces.of_run(run)) as blurrer:
        for idx, image in iter_frames(run.source, run.kind, wanted.__contains__, max(wanted)):
            pts = points.at_video_frame(idx)
            blurrer.apply(image, pts)
            scale = width / image.shape[1]
            small = cv2.resize(image, (width, max(1, int(round(image.shape[0] * scale)))),
                               interpolation=cv2.INTER_AREA)
            draw_subject(small, pts, scale)
            for e in events:
                if frame_of[id(e)] != idx:
                    continue
                img = small.copy()
                draw_focus(img, pts, focus_of(e, points.region_names), scale, event_rgb(e))
                ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
                if ok:
                    out[id(e)] = "data:image/jpeg;base64," + base64.b64encode(jpg.tobytes()).decode("ascii")
    return out


def summary(run: RunFolder) -> Dict[str, Dict[str, float]]:
    """Rule id -> count and total seconds of its events of the rule's own kind, and ``passed``: the desired
    events of a violation rule (an appearance check that passed), which are not violations to count."""
    out: Dict[str, Dict[str, float]] = {}
    for e in run.events:
        s = out.setdefault(e.rule, {"count": 0, "total_s": 0.0, "passed": 0})
        if run.catalogue.get(e.rule, {}).get("kind") == "violation" and e.kind == "desired":
            s["passed"] += 1
            continue
        s["count"] += 1
        s["total_s"] += e.duration_s
    return out


# --- the page ----------------------------------------------------------------------------
def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{esc(title)}</title><style>{STYLE}{PEOPLE_STYLE}</style></head><body>{body}</body></html>')


def _experimental(run: RunFolder) -> set:
    """Rules shipped as experimental: listed so in run.json, or marked on their events."""
    out = set(run.info.get("rules", {}).get("experimental", []))
    out |= {k for k, v in run.catalogue.items() if v.get("experimental")}
    return out | {e.rule for e in run.events if e.evidence.get("experimental")}


EXPERIMENTAL_TAG = ' <span class="muted">(实验 experimental)</span>'


def _rules_table(run: RunFolder, texts: Dict[str, Dict[str, str]], order: List[str]) -> str:
    stats = summary(run)
    experimental = _experimental(run)
    rows = []
    for rule in order:
        t = texts.get(rule, {})
        s = stats.get(rule, {"count": 0, "total_s": 0.0})
        colour = rgb_css(event_rgb(Event(rule, t.get("kind", "violation"), 0, 0, 0, 0, 0,
                                         t.get("severity", "medium"), "", "", "")))
        rows.append(
            f'<tr data-rule="{esc(rule)}"><td><span class="chip" style="background:{colour}"></span>{esc(rule)}'
            + (EXPERIMENTAL_TAG if rule in experimental else "") + '</td>'
            f'<td>{esc(t.get("kind", ""))}</td><td>{esc(t.get("severity", ""))}</td>'
            f'<td class="num count" data-rule="{esc(rule)}">{int(s["count"])}'
            + (' <span class="muted">(passed 通过)</span>' if s.get("passed") and not s["count"] else "") + '</td>'
            f'<td class="num total">{s["total_s"]:.1f} s</td>'
            f'<td>{esc(t.get("message_zh", ""))}<br><span class="muted">{esc(t.get("message_en", ""))}</span></td>'
            f'<td class="clause">{esc(t.get("clause", ""))}</td></tr>')
    return ('<table class="rules"><thead><tr><th>rule 规则</th><th>kind</th><th>severity</th><th>count 次数</th>'
            '<th>total 总时长</th><th>message 提示</th><th>clause 条款</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def _event_cards(run: RunFolder, thumbs: Dict[int, str], links: Dict[int, str], note: str) -> str:
    """One card per event; each names its person when more than one person was judged."""
    cards = []
    several = len({e.person for e in run.events}) > 1
    for e in run.events:
        img = thumbs.get(id(e))
        pic = (f'<img class="thumb" alt="{esc(e.rule)} at {e.start_s:.2f} s" src="{img}">' if img
               else f'<div class="noimg muted">{esc(note)}</div>')
        link = links.get(id(e))
        if link:
            pic = f'<a class="clip" href="{href(link)}">{pic}</a>'
        region = e.evidence.get("region")
        cards.append(
            f'<div class="event" data-rule="{esc(e.rule)}">{pic}'
            f'<div><span class="chip" style="background:{rgb_css(event_rgb(e))}"></span><b>{esc(e.rule)}</b>'
            + (EXPERIMENTAL_TAG if e.evidence.get("experimental") else "") + ' '
            f'<span class="muted">{e.start_s:.2f}–{e.end_s:.2f} s ({e.duration_s:.1f} s)</span></div>'
            + (f'<div class="who" data-person="{e.person}">person 人物 {e.person} · '
               f'{esc(ROLE_LABEL.get(run.role_of(e.person), "other"))}</div>' if several else "")
            + f'<div>{esc(e.message_zh)} · {esc(e.message_en)}'
            + (f' <span class="muted">({esc(region)})</span>' if region else "")
            + f'</div><div class="muted">{esc(e.clause)}</div></div>')
    return f'<div class="events">{"".join(cards)}</div>' if cards else '<p class="muted">no events 无事件</p>'


def _metadata(run: RunFolder) -> str:
    info = run.info
    inp, t, rules = info.get("input", {}), info.get("timings", {}), info.get("rules", {})
    items = [
        ("source 视频", inp.get("path")), ("kind", inp.get("kind")),
        ("size", f'{inp.get("width")}×{inp.get("height")}'), ("fps", inp.get("fps")),
        ("duration", f'{float(inp.get("duration_s") or 0):.2f} s'), ("status", info.get("status")),
        ("status reason", info.get("status_reason")),
        ("rules sha256", rules.get("sha256")), ("rules file", rules.get("path")),
        ("tool", " ".join(str(v) for v in info.get("tool", {}).values())),
        ("frames analysed", t.get("frames_analysed")), ("ms per frame", t.get("ms_per_frame")),
        ("realtime factor", t.get("realtime_factor")), ("total time", f'{t.get("total_s")} s'),
    ]
    models = info.get("models") or {}
    items += [("models", models.get("backend"))]
    items += [(f"model: {k}", v) for k, v in (models.get("names") or {}).items()]
    items += [(f"model file: {role}", f'{f.get("file")} (sha256 {f.get("sha256")})')
              for role, f in (models.get("files") or {}).items() if isinstance(f, dict)]
    items += [(f"not judged: {rule}", ", ".join(f"{why} {s:.1f} s" for why, s in j["reasons"].items()))
              for rule, j in (info.get("judged") or {}).items() if j.get("reasons")]
    items += [("warning", w) for w in inp.get("warnings", [])]
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items) + "</dl>"


def build_report(run_dir: str | Path, options: Optional[ReportOptions] = None) -> Path:
    """Write ``RUN_DIR/report.html``; returns its path."""
    opt = options or ReportOptions()
    run = load_run(run_dir, opt.video, need_source=False)
    page_dir = run.dir
    texts, order = rule_texts(run), rule_order(run)
    links = clip_links(run, page_dir)
    note = "no thumbnail"
    thumbs: Dict[int, str] = {}
    if not opt.thumbnails:
        note = "thumbnails off"
    elif not run.source.exists():
        note = "source video not found"
    else:
        thumbs = thumbnails(run, run.events[:opt.max_thumbnails], opt.privacy)
    rows = [r for r in order if r in {e.rule for e in run.events} or texts.get(r, {}).get("kind") == "desired"]
    labels = {r: " · ".join(v for v in (texts.get(r, {}).get("message_zh"), texts.get(r, {}).get("message_en"))
                            if v) or r for r in order}
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    body = (f'<h1>{esc(run.name)}</h1><p class="muted">conduct coach report 行为规范报告 · {len(run.events)} events · '
            f'{run.duration_s:.1f} s · made {when}</p>'
            f'<h2>People 人物</h2>{people_section(run, opt.privacy, opt.thumbnails and run.source.exists())}'
            f'<h2>Rules 规则</h2>{_rules_table(run, texts, order)}'
            f'<h2>Timeline 时间轴</h2>{timeline_svg(rows, run.events, run.duration_s, links)}'
            f'<h2>Desired states 良好状态 (time share)</h2>{share_bars(run.info.get("time_share") or {}, labels)}'
            f'<h2>Events 事件</h2>{_event_cards(run, thumbs, links, note)}'
            f'<h2>Run 运行信息</h2>{_metadata(run)}')
    out = run.dir / "report.html"
    _write(out, _page(f"{run.name} · conduct coach", body))
    record_output(run.dir, "report", out)
    return out


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def build_comparison(run_dirs: Sequence[str | Path], out: str | Path) -> Path:
    """Several runs side by side: counts and total time per rule, time shares, each run's timeline."""
    runs = [load_run(d, landmarks=False, need_source=False) for d in run_dirs]
    out = Path(out)
    order: List[str] = []
    for run in runs:
        order += [r for r in rule_order(run) if r not in order]
    stats = [summary(run) for run in runs]
    head = "".join(f'<th><a href="{href(os.path.relpath(run.dir / "report.html", out.parent))}">'
                   f'{esc(run.name)}</a><br><span class="muted">{run.duration_s:.1f} s</span></th>' for run in runs)
    rows = []
    for rule in order:
        cells = "".join(f'<td class="num count" data-run="{k}" data-rule="{esc(rule)}">'
                        f'{int(s.get(rule, {}).get("count", 0))} <span class="muted">'
                        f'({s.get(rule, {}).get("total_s", 0.0):.1f} s)</span></td>' for k, s in enumerate(stats))
        rows.append(f"<tr><td>{esc(rule)}</td>{cells}</tr>")
    shares = []
    for rule in dict.fromkeys(r for run in runs for r in (run.info.get("time_share") or {})):
        cells = []
        for run in runs:
            v = ((run.info.get("time_share") or {}).get(rule) or {}).get("share")
            cells.append(f'<td class="num">{"—" if v is None else f"{100 * float(v):.0f}%"}</td>')
        shares.append(f"<tr><td>{esc(rule)} (time share)</td>{''.join(cells)}</tr>")
    lanes = "".join(
        f'<div class="run"><b>{esc(run.name)}</b> <span class="muted">{esc(run.dir)}</span>'
        f'{timeline_svg([r for r in order if r in {e.rule for e in run.events}], run.events, run.duration_s)}</div>'
        for run in runs)
    body = (f'<h1>Runs side by side 多次对比</h1><p class="muted">{len(runs)} runs</p>'
            f'<table class="compare"><thead><tr><th>rule 规则</th>{head}</tr></thead><tbody>{"".join(rows)}'
            f'{"".join(shares)}</tbody></table><h2>Timelines 时间轴</h2><div class="runs">{lanes}</div>')
    out.parent.mkdir(parents=True, exist_ok=True)
    _write(out, _page("conduct coach: runs side by side", body))
    return out


__all__ = ["build_report", "build_comparison", "ReportOptions"]
