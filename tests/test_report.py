"""The report of a run folder (report.html) and the comparison page, on synthetic run folders whose answers are
known by construction (``synthetic_run.py``)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import synthetic_run as syn
from vision.io.events import read_events
from vision.io.run_meta import read_run_json, write_run_json
from vision.review.clips import ClipOptions, make_clips
from vision.review.report import ReportOptions, build_comparison, build_report


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return syn.make_run(tmp_path_factory.mktemp("runs") / "run")


# --- report -----------------------------------------------------------------------------------------
HOSTILE = '<script>alert("x")</script>'


def _counts(page: str) -> dict:
    return {m.group(1): int(m.group(2)) for m in
            re.finditer(r'<td class="num count" data-rule="([^"]*)">(\d+)</td>', page)}


def test_report_counts_match_events_and_it_is_self_contained(run_dir):
    """Counts per rule equal events.jsonl; every image is embedded; nothing is loaded from the network."""
    page = build_report(run_dir, ReportOptions(privacy="off")).read_text(encoding="utf-8")
    events = read_events(run_dir / "events.jsonl")
    expected = {}
    for e in events:
        expected[e.rule] = expected.get(e.rule, 0) + 1
    assert _counts(page) == expected
    assert page.count('class="ev"') == len(events) and page.count('class="thumb"') == len(events)
    assert all(src.startswith("data:image/") for src in re.findall(r'<img[^>]* src="([^"]*)"', page))
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "Content-Security-Policy" in page
    assert read_run_json(run_dir)["outputs"]["report"] == "report.html"


def test_report_escapes_hostile_text(tmp_path):
    """A rule id, message or clause holding markup shows as text, never as markup."""
    bad = syn.event('x"><img src=y onerror=alert(1)>', 3, 12, message_zh=HOSTILE, message_en=HOSTILE,
                    clause=HOSTILE, region="<b>cheek</b>")
    d = syn.make_run(tmp_path / "hostile", [bad])
    page = build_report(d, ReportOptions(privacy="off")).read_text("utf-8")
    assert "<script>" not in page and "onerror=alert(1)>" not in page and "<b>cheek" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert _counts(page) == {'x&quot;&gt;&lt;img src=y onerror=alert(1)&gt;': 1}


def test_report_links_thumbnails_to_clips(run_dir, tmp_path):
    """After `clips`, each event's thumbnail opens its clip (a relative link inside the run folder)."""
    d = tmp_path / "r"
    shutil.copytree(run_dir, d)
    make_clips(d, ClipOptions(privacy="off", pre_s=0.2, post_s=0.2))
    page = build_report(d, ReportOptions(privacy="off")).read_text(encoding="utf-8")
    links = re.findall(r'<a class="clip" href="([^"]*)">', page)
    assert sorted(links) == sorted(f"clips/{p.name}" for p in (d / "clips").glob("*.mp4"))
    assert all((d / link).is_file() for link in links)


def test_comparison_page_has_a_column_per_run(tmp_path):
    a = syn.make_run(tmp_path / "a")
    b = syn.make_run(tmp_path / "b", [syn.event("gesture.eating", 3, 20, severity="high")])
    page = build_comparison([a, b], tmp_path / "compare.html").read_text(encoding="utf-8")
    cells = dict(((m[0], m[1]), int(m[2])) for m in
                 re.findall(r'data-run="(\d)" data-rule="([^"]*)">(\d+)', page))
    assert cells[("0", "gesture.face_touch")] == 2 and cells[("1", "gesture.face_touch")] == 0
    assert cells[("1", "gesture.eating")] == 1
    assert 'href="a/report.html"' in page and 'href="b/report.html"' in page


def test_report_marks_experimental_rules(tmp_path):
    """An event flagged experimental (appearance, nails, lip bite) is tagged so in the rule table and its card."""
    sure = syn.event("gesture.face_touch", 3, 12)
    shaky = syn.event("look.fringe", 5, 5, kind="desired", severity="low")
    shaky.evidence["experimental"] = True
    d = syn.make_run(tmp_path / "exp", [sure, shaky])
    page = build_report(d, ReportOptions(privacy="off")).read_text("utf-8")
    row = re.search(r'<tr data-rule="look.fringe">.*?</tr>', page).group(0)
    assert "experimental" in row
    assert "experimental" not in re.search(r'<tr data-rule="gesture.face_touch">.*?</tr>', page).group(0)


def test_the_report_describes_rules_from_the_runs_catalogue_not_todays_rules_file(tmp_path):
    """A rule with no event is described with the texts the run stored, even if rules.yaml changed since."""
    run = syn.make_run(tmp_path / "run")
    doc = read_run_json(run)
    doc["rules"]["enabled"].append("sit.slouch")
    doc["rules"]["catalogue"]["sit.slouch"] = {"kind": "violation", "severity": "high", "clause": "旧条款 old clause",
                                               "message_zh": "驼背", "message_en": "Slouching (as judged)",
                                               "experimental": False}
    doc["rules"]["path"] = str(tmp_path / "rules.yaml")
    (tmp_path / "rules.yaml").write_text("rules: []\n", encoding="utf-8")  # today's file knows nothing of it
    write_run_json(run, doc)
    page = build_report(run, ReportOptions(privacy="off", thumbnails=False)).read_text(encoding="utf-8")
    assert "Slouching (as judged)" in page and "旧条款 old clause" in page


def test_a_passed_appearance_check_is_not_counted_as_a_violation(tmp_path):
    """look.* logs a desired event when the check passes: its violation row counts 0 and says it passed."""
    passed = syn.event("look.hair_colour", 5, 5, kind="desired", severity="low")
    touch = syn.event("gesture.face_touch", 3, 12)
    run = syn.make_run(tmp_path / "run", [touch, passed])
    doc = read_run_json(run)
    doc["rules"]["catalogue"]["look.hair_colour"]["kind"] = "violation"  # as rules.yaml declares it
    write_run_json(run, doc)
    page = build_report(run, ReportOptions(privacy="off", thumbnails=False)).read_text(encoding="utf-8")
    row = re.search(r'<tr data-rule="look.hair_colour">.*?</tr>', page, re.S).group(0)
    assert re.search(r'class="num count"[^>]*>0 <span class="muted">\(passed', row)
    touch_row = re.search(r'<tr data-rule="gesture.face_touch">.*?</tr>', page, re.S).group(0)
    assert re.search(r'class="num count"[^>]*>1</td>', touch_row)
