"""The batch runner with a fake ``analyze`` (tests/batch_fakes.py, no models): resume, failure isolation, the index.

The pool is the real one (spawned worker processes), so these also check
that tasks and outcomes travel between processes.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batch_fakes import expected_counts, fake_analyze
from conftest import REPO, TESTS
from vision.batch.index import INDEX_CSV, TIMING_COLUMNS, read_csv
from vision.batch.plan import make_plan
from vision.batch.runner import Settings, run_batch
from vision.batch.state import read_batch_json


@pytest.fixture
def archive(tmp_path):
    """Five small recordings in two trainees' folders, each with its own bytes (so its own counts)."""
    root = tmp_path / "archive"
    for i, name in enumerate(["alice/2024-05-01.mp4", "alice/2024-05-08.mp4", "alice/2024-05-15.mp4",
                              "bob/2024-05-01.mp4", "bob/2024-05-09.mp4"]):
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(bytes([7 * i + 1]) * (10 + 3 * i))
    return root


@pytest.fixture
def settings(rules_file):
    from vision.judge.rules import load_rules

    return Settings(str(rules_file), load_rules(rules_file).sha256, workers=2)


@pytest.fixture
def rules_file(tmp_path):
    from conftest import RULES_YAML

    p = tmp_path / "rules.yaml"
    p.write_text(RULES_YAML, encoding="utf-8")
    return p


def _run(archive, out, settings, **kw):
    return run_batch(make_plan([str(archive)], trainee_folders=True), out, settings, analyze_fn=fake_analyze, **kw)


def _index_without_timings(out: Path) -> list:
    return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in read_csv(out / INDEX_CSV)]


def test_each_recording_gets_one_run_folder_with_one_event_log(archive, tmp_path, settings):
    res = _run(archive, tmp_path / "out", settings)
    assert sorted(o.status for o in res.outcomes) == ["complete"] * 5
    runs = sorted(d for d in (tmp_path / "out").iterdir() if d.is_dir())
    assert [d.name for d in runs] == ["alice__2024-05-01.mp4", "alice__2024-05-08.mp4", "alice__2024-05-15.mp4",
                                      "bob__2024-05-01.mp4", "bob__2024-05-09.mp4"]
    for d in runs:
        assert list(d.glob("**/events.jsonl")) == [d / "events.jsonl"]
        assert read_batch_json(d)["status"] == "done"


def test_a_rerun_skips_finished_runs_and_redoes_changed_or_unfinished_ones(archive, tmp_path, settings,
                                                                           monkeypatch):
    """Same input (path, size, mtime) and rules: skipped. A changed input, a run killed mid-way
    (run.json still 'interrupted') and a run with no run.json are analysed again."""
    out = tmp_path / "out"
    _run(archive, out, settings)
    log = tmp_path / "log.txt"
    monkeypatch.setenv("FAKE_ANALYZE_LOG", str(log))  # inherited by the spawned workers
    res = _run(archive, out, settings)
    assert sorted(o.status for o in res.outcomes) == ["skipped"] * 5 and not log.exists()

    (archive / "alice" / "2024-05-08.mp4").write_bytes(b"\x05" * 99)  # re-recorded
    killed = out / "bob__2024-05-01.mp4"
    doc = json.loads((killed / "run.json").read_text())
    (killed / "run.json").write_text(json.dumps(dict(doc, status="interrupted")))
    (out / "bob__2024-05-09.mp4" / "run.json").unlink()  # killed before its first checkpoint
    res = _run(archive, out, settings)
    redone = sorted(Path(p).relative_to(archive).as_posix() for p in log.read_text().split())
    assert redone == ["alice/2024-05-08.mp4", "bob/2024-05-01.mp4", "bob/2024-05-09.mp4"]
    assert sorted(o.status for o in res.outcomes) == ["complete"] * 3 + ["skipped"] * 2
    assert json.loads((killed / "run.json").read_text())["status"] == "complete"


def test_other_rules_redo_every_run(archive, tmp_path, settings):
    out = tmp_path / "out"
    _run(archive, out, settings)
    res = _run(archive, out, Settings(settings.rules_path, "another-sha256", workers=2))
    assert sorted(o.status for o in res.outcomes) == ["complete"] * 5


def test_every_frame_reaches_analyze_and_a_change_of_it_redoes_every_run(archive, tmp_path, settings, monkeypatch):
    """--every-frame (analyze's) goes to every run; a batch asked again without it analyses every run again, since
    its landmarks would differ (still frames interpolated), and asked again with it skips them all."""
    import dataclasses

    log = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_ANALYZE_LOG", str(log))
    out, every = tmp_path / "out", dataclasses.replace(settings, every_frame=True)
    _run(archive, out, every)
    first = log.read_text().splitlines()
    assert len(first) == 5 and all(line.endswith(" every_frame") for line in first)
    assert all(read_batch_json(d)["every_frame"] is True for d in out.iterdir() if d.is_dir())
    assert sorted(o.status for o in _run(archive, out, every).outcomes) == ["skipped"] * 5
    res = _run(archive, out, settings)
    assert sorted(o.status for o in res.outcomes) == ["complete"] * 5
    assert not any(line.endswith(" every_frame") for line in log.read_text().splitlines()[5:])


def test_a_run_the_batch_did_not_make_is_kept_unless_overwrite(archive, tmp_path, settings):
    out = tmp_path / "out"
    mine = out / "alice__2024-05-01.mp4"
    mine.mkdir(parents=True)
    (mine / "events.jsonl").write_text("precious\n")
    res = _run(archive, out, settings)
    (refused,) = res.of("failed")
    assert refused.name == mine.name and "--overwrite" in refused.reason
    assert (mine / "events.jsonl").read_text() == "precious\n"
    res = _run(archive, out, Settings(settings.rules_path, settings.rules_sha256, workers=2, overwrite=True))
    assert not res.of("failed") and (mine / "events.jsonl").read_text() != "precious\n"


def test_one_corrupt_recording_fails_alone_with_a_one_line_reason(archive, tmp_path, settings):
    (archive / "alice" / "broken.mp4").write_bytes(b"garbage")
    res = _run(archive, tmp_path / "out", settings)
    (bad,) = res.of("failed")
    assert bad.name == "alice__broken.mp4" and "\n" not in bad.reason and "not a video" in bad.reason
    assert len(res.of("complete")) == 5
    rows = {r["name"]: r for r in read_csv(tmp_path / "out" / INDEX_CSV)}
    assert rows["alice__broken.mp4"]["status"] == "failed" and "not a video" in rows["alice__broken.mp4"]["reason"]


def test_index_round_trip_one_row_per_run_with_counts_shares_and_links(archive, tmp_path, settings):
    """index.csv holds, per run, what its run.json says: trainee, status, counts per rule, desired shares, link."""
    out = tmp_path / "out"
    _run(archive, out, settings)
    (out / "bob__2024-05-09.mp4" / "report.html").write_text("<html></html>")
    _run(archive, out, settings)  # everything skipped; the index now links that report
    rows = read_csv(out / INDEX_CSV)
    assert [r["name"] for r in rows] == sorted(d.name for d in out.iterdir() if d.is_dir())
    for r in rows:
        src = r["input"]
        want = expected_counts(src)
        assert r["trainee"] == Path(src).parent.name and r["status"] == "complete"
        assert {k: int(r[f"count:{k}"]) for k in want} == want
        assert float(r["share:face.smile"]) == pytest.approx(want["sit.slouch"] / 4)
        assert float(r["analysis_s"]) >= 0
    links = {r["name"]: r["link"] for r in rows}
    assert links["bob__2024-05-09.mp4"] == "bob__2024-05-09.mp4/report.html"
    assert links["alice__2024-05-01.mp4"] == "alice__2024-05-01.mp4/"
    html = (out / "index.html").read_text()
    assert html.count("<svg") == 4  # two trainees x (counts, shares)
    assert "<script" not in html and "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_a_batch_killed_mid_way_and_run_again_gives_the_index_of_an_uninterrupted_one(archive, tmp_path, rules_file,
                                                                                      settings):
    """SIGKILL to the whole batch (parent and workers) once some runs are done; the re-run's index.csv equals,
    timings aside, that of a batch that was never stopped."""
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    _run(archive, straight, settings)
    code = ("import sys; sys.path[:0] = [%r, %r]\n"
            "from batch_fakes import fake_analyze\n"
            "from vision.batch.plan import make_plan\nfrom vision.batch.runner import Settings, run_batch\n"
            "run_batch(make_plan([%r], trainee_folders=True), %r, Settings(%r, %r, workers=2), "
            "analyze_fn=fake_analyze)\n" % (str(REPO), str(TESTS), str(archive), str(killed), settings.rules_path,
                                            settings.rules_sha256))
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, start_new_session=True,
                            env=dict(os.environ, FAKE_ANALYZE_SLEEP="1.0"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = [d for d in killed.glob("*") if (read_batch_json(d) or {}).get("status") == "done"]
        if len(done) >= 1:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    states = [(read_batch_json(d) or {}).get("status") for d in killed.glob("*") if d.is_dir()]
    assert "done" in states and len([s for s in states if s == "done"]) < 5, states  # really stopped mid-way
    res = _run(archive, killed, settings)
    assert res.of("skipped") and not res.of("failed")
    assert _index_without_timings(killed) == _index_without_timings(straight)
