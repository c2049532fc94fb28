"""report.html in a real headless browser (Debian's chromium), offline.

Checks what a coach would see: the page loads with no console error (a
Content-Security-Policy violation would be one), the timeline and the
thumbnails are laid out with a size, hostile text stays text, and the
element counts match events.jsonl. Skipped, with the reason, when
/usr/bin/chromium is absent (``apt-get install -y chromium``).
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

import synthetic_run as syn
from vision.review.clips import ClipOptions, make_clips
from vision.io.events import read_events
from vision.review.report import CSP, ReportOptions, build_report
from vision.review.text import CANDIDATES

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="/usr/bin/chromium absent: apt-get install -y chromium"),
    pytest.mark.skipif(not any(Path(p).is_file() for p in CANDIDATES),
                       reason="no CJK font for the clips: apt-get install -y fonts-wqy-microhei"),
]
PWN = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
WINDOW = (1200, 1800)

CHECK = """<pre id="check"></pre><script>
window.addEventListener("load", () => {
  const box = el => { const r = el.getBoundingClientRect(); return [r.width, r.height]; };
  const thumbs = [...document.querySelectorAll("img.thumb")];
  const bars = [...document.querySelectorAll("svg.timeline rect.ev")];
  document.getElementById("check").textContent = JSON.stringify({
    thumbs: thumbs.length,
    thumbs_loaded: thumbs.filter(i => i.complete && i.naturalWidth > 0).length,
    thumbs_shown: thumbs.filter(i => box(i)[0] > 50 && box(i)[1] > 20).length,
    timeline: box(document.querySelector("svg.timeline")),
    bars: bars.length,
    bars_shown: bars.filter(b => box(b)[0] > 0 && box(b)[1] > 0).length,
    clip_links: document.querySelectorAll("a.clip").length,
    people: [...document.querySelectorAll("img.person-thumb")].filter(i => i.complete && i.naturalWidth > 0
                                                                       && box(i)[0] > 20 && box(i)[1] > 100).length,
    pwned: window.__pwned || 0,
  });
});
</script>"""


def chromium(url: str, *flags: str, tmp: Path) -> subprocess.CompletedProcess:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *flags, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


def console_errors(stderr: str) -> list:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Refused to" in line]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A synthetic run with a hostile rule message, its clips and its report."""
    tmp = tmp_path_factory.mktemp("browser")
    events = syn.default_events() + [syn.event("gesture.eating", 24, 30, severity="high", message_zh=PWN,
                                               message_en=PWN, clause=PWN, region="mouth")]
    d = syn.make_run(tmp / "run", events)
    make_clips(d, ClipOptions(privacy="off", pre_s=0.5, post_s=0.5, kinds=()))
    build_report(d, ReportOptions(privacy="off"))
    return d, tmp


def test_report_loads_without_console_errors_and_counts_match(run):
    """The page as written: no console error or CSP refusal; bars, thumbnails and counts match events.jsonl."""
    d, tmp = run
    res = chromium((d / "report.html").as_uri(), "--dump-dom", tmp=tmp)
    assert res.returncode == 0, res.stderr[-2000:]
    assert console_errors(res.stderr) == []
    dom = res.stdout
    events = read_events(d / "events.jsonl")
    assert dom.count('class="ev"') == len(events)
    assert dom.count('class="thumb"') == len(events)
    assert dom.count('class="clip"') == len(list((d / "clips").glob("*.mp4"))) == len(events)
    counts = {m[0]: int(m[1]) for m in re.findall(r'<td class="num count" data-rule="([^"]*)">(\d+)</td>', dom)}
    expected = {}
    for e in events:
        expected[e.rule] = expected.get(e.rule, 0) + 1
    assert counts == expected


def layout_check(d: Path, tmp: Path) -> dict:
    """What the browser laid out, measured by a script run from a copy of the page whose policy also allows
    this one inline script (so a hostile message that escaped escaping would run too)."""
    page = (d / "report.html").read_text(encoding="utf-8")
    relaxed = CSP.replace("default-src 'none'", "default-src 'none'; script-src 'unsafe-inline'")
    assert CSP in page.replace("&#x27;", "'")
    page = page.replace(CSP.replace("'", "&#x27;"), relaxed.replace("'", "&#x27;"))
    page = page.replace("</body>", CHECK + "</body>")
    probe = d / "report_check.html"
    probe.write_text(page, encoding="utf-8")
    res = chromium(probe.as_uri(), "--dump-dom", "--virtual-time-budget=5000", tmp=tmp)
    m = re.search(r'<pre id="check">(.*?)</pre>', res.stdout, re.S)
    assert m and m.group(1), res.stderr[-2000:]
    return json.loads(m.group(1).replace("&quot;", '"'))


def test_timeline_and_thumbnails_are_visible_and_hostile_text_inert(run):
    """Laid out by the browser: every thumbnail decoded and shown, every bar with a size, no injected script ran."""
    d, tmp = run
    got = layout_check(d, tmp)
    n = len(read_events(d / "events.jsonl"))
    assert got["thumbs"] == got["thumbs_loaded"] == got["thumbs_shown"] == n
    assert got["bars"] == got["bars_shown"] == n
    assert got["timeline"][0] > 400 and got["timeline"][1] > 40
    assert got["clip_links"] == n
    assert got["pwned"] == 0


def test_screenshot_shows_the_page(run):
    """A screenshot of the report has the window's size and shows the events' colours."""
    d, tmp = run
    shot = tmp / "report.png"
    res = chromium((d / "report.html").as_uri(), f"--screenshot={shot}",
                   f"--window-size={WINDOW[0]},{WINDOW[1]}", "--hide-scrollbars", tmp=tmp)
    assert shot.is_file(), res.stderr[-2000:]
    img = cv2.imread(str(shot))
    assert img.shape[1::-1] == WINDOW
    near = lambda bgr: int((np.abs(img.astype(int) - np.array(bgr)).sum(axis=2) < 30).sum())  # noqa: E731
    assert near((36, 146, 240)) > 500  # medium-severity bars (face touch), orange
    assert near((59, 59, 226)) > 200  # high severity (eating), red
    assert near((100, 180, 70)) > 500  # desired state (smile) bars and share, green


def test_roleplay_report_shows_a_thumbnail_per_person_and_the_rerun_commands(tmp_path):
    """A report of three tracked people: no console error, three person thumbnails decoded and laid out,
    the re-run commands shown as text."""
    d = syn.make_people_run(tmp_path / "people")
    build_report(d, ReportOptions(privacy="off"))
    res = chromium((d / "report.html").as_uri(), "--dump-dom", tmp=tmp_path)
    assert res.returncode == 0 and console_errors(res.stderr) == [], res.stderr[-2000:]
    assert res.stdout.count('class="cmd"') == 2 and f"--from-landmarks {d}" in res.stdout
    assert layout_check(d, tmp_path)["people"] == 3
