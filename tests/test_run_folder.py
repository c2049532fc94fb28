"""The run folder is one you can trust: run.json (schema 2) checked and written atomically, a used
folder refused unless --overwrite, a re-analysis into a new folder complete, a killed run still
readable, and the outputs reading only what the run stored (no import of features or judge)."""
from __future__ import annotations

import ast
import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import synthetic_run as syn
from builders import ear_touch_detector
from conftest import REPO, RULES_YAML
from vision.detect.landmarks import FrameLandmarks
from vision.io.cache import CacheError, LandmarkCacheWriter, load_pixels
from vision.io.frames import SourceInfo
from vision.io.run_folder import RunFolderError, SubjectPoints, load_run
from vision.io.run_meta import (RunMetaError, check_run_json, read_run_json, record_output, upgrade_v1,
                                write_run_json)
from vision.judge.rules import parse_rules
from vision.pipeline import analyze
from vision.reanalysis import reanalyze
from vision.run_record import input_meta, new_run_json, subject_pixels

VISION = REPO / "vision"


def a_run_json(rules) -> dict:
    info = SourceInfo("/data/clip.mp4", "video", 29.97, 300, 640, 480, 10.01, frames_read=300)
    return new_run_json(input_meta("/data/clip.mp4", info, 0.0, None, 10.0), rules, {"customer_side": "camera"}, 0)


# --- run.json ------------------------------------------------------------------------
def test_run_json_round_trip_is_exact_and_leaves_no_temporary_file(tmp_path, rules):
    doc = a_run_json(rules)
    doc["judged"] = {"sit.slouch": {"judged_s": 7.5, "not_judged_s": 2.5, "reasons": {"camera_view": 2.5}}}
    write_run_json(tmp_path, doc)
    assert read_run_json(tmp_path) == json.loads(json.dumps(doc))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]
    back = read_run_json(tmp_path)
    assert back["schema_version"] == 2 and back["input"]["fps"] == 29.97
    assert back["rules"]["catalogue"]["gesture.face_touch"]["message_en"] == "Touching the face"
    assert back["subject"] == {"id": 0, "how": "auto", "reason": "one person tracked"}


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["input"].update(fps="ten"), "run.json: input.fps: expected number, got str"),
    (lambda d: d.pop("judged"), "run.json: judged: missing (expected object of object)"),
    (lambda d: d["subject"].update(id=True), "run.json: subject.id: expected integer or null, got bool"),
    (lambda d: d["rules"]["catalogue"]["sit.slouch"].pop("clause"),
     "run.json: rules.catalogue.sit.slouch.clause: missing (expected string)"),
    (lambda d: d.update(status="done"), "run.json: status: expected one of complete, partial, interrupted, failed"),
    (lambda d: d["outputs"].update(report=3), "run.json: outputs.report: expected string or null, got int"),
])
def test_check_run_json_names_the_key_and_the_expected_type(rules, edit, message):
    doc = a_run_json(rules)
    edit(doc)
    with pytest.raises(RunMetaError) as exc:
        check_run_json(doc)
    assert str(exc.value).startswith(message)


def test_a_bad_run_json_is_never_written(tmp_path, rules):
    doc = a_run_json(rules)
    write_run_json(tmp_path, doc)
    doc["counts"] = {"sit.slouch": "two"}
    with pytest.raises(RunMetaError, match="counts.sit.slouch: expected integer"):
        write_run_json(tmp_path, doc)
    assert read_run_json(tmp_path)["counts"] == {}


def test_a_schema_1_run_json_is_upgraded_on_reading():
    """The old not_judged (camera view) becomes judged reasons; the subject an object."""
    v1 = {"tool": {"name": "conduct-coach-vision", "version": "0.1.0", "python": "3.11", "event_schema": 1},
          "status": "complete", "models": {"backend": "mediapipe"}, "subject": 0,
          "rules": {"path": "rules.yaml", "sha256": "ab", "enabled": ["arms_crossed"], "experimental": []},
          "input": {"path": "/x.mp4", "kind": "video", "fps": 10.0, "frame_count": 10, "width": 4, "height": 4,
                    "duration_s": 1.0, "warnings": []},
          "not_judged": {"arms_crossed": {"wrong_view_s": 1.5, "wrong_view_frames": 15}}}
    doc = check_run_json(upgrade_v1(v1))
    assert doc["judged"]["arms_crossed"]["reasons"] == {"camera_view": 1.5}
    assert doc["subject"]["id"] == 0 and doc["outputs"] == {"annotated": None, "report": None, "clips": None}


def test_outputs_are_recorded_relative_to_the_run_folder(tmp_path, rules):
    write_run_json(tmp_path, a_run_json(rules))
    record_output(tmp_path, "report", tmp_path / "report.html")
    record_output(tmp_path, "annotated", tmp_path.parent / "elsewhere.mp4")
    out = read_run_json(tmp_path)["outputs"]
    assert out["report"] == "report.html" and out["annotated"] == str((tmp_path.parent / "elsewhere.mp4").resolve())


# --- analysing into a folder -----------------------------------------------------------------
TouchEveryFrame = ear_touch_detector((syn.W, syn.H), (96, 120), 120.0)  # a hand at the ear every frame, no models


def test_a_used_folder_is_refused_and_overwrite_clears_only_the_old_runs_files(tmp_path, rules):
    old = syn.make_run(tmp_path / "run")
    (old / "annotated.mp4").write_bytes(b"old video")
    (old / "report.html").write_text("old report", encoding="utf-8")
    (old / "clips").mkdir()
    (old / "clips" / "0001.00s_x.mp4").write_bytes(b"x")
    (old / "notes.txt").write_text("the coach's own notes", encoding="utf-8")
    video = syn.make_video(tmp_path / "other.mp4", 12)
    with pytest.raises(RunFolderError, match=r"already holds a run \(run.json, events.jsonl, landmarks, "
                                             r"annotated.mp4, clips, report.html\); pass --overwrite"):
        analyze(str(video), str(old), rules, progress=False, detector_factory=TouchEveryFrame)
    assert (old / "annotated.mp4").read_bytes() == b"old video"  # nothing touched
    res = analyze(str(video), str(old), rules, progress=False, detector_factory=TouchEveryFrame, overwrite=True)
    assert res.cleared == ["run.json", "events.jsonl", "landmarks", "annotated.mp4", "clips", "report.html"]
    assert not (old / "annotated.mp4").exists() and not (old / "clips").exists()
    assert (old / "notes.txt").exists()
    assert read_run_json(old)["input"]["path"] == str(video.resolve())


def test_overwrite_on_the_command_line_says_what_it_cleared(tmp_path):
    old = syn.make_run(tmp_path / "run")
    (old / "report.html").write_text("old", encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_YAML, encoding="utf-8")
    args = [sys.executable, "-m", "vision", "analyze", "--from-landmarks", old, "--out", tmp_path / "new",
            "--rules", rules]
    assert subprocess.run(args, cwd=REPO, capture_output=True, text=True).returncode == 0
    again = subprocess.run(args, cwd=REPO, capture_output=True, text=True)
    assert again.returncode == 2 and "already holds a run" in again.stderr and "--overwrite" in again.stderr
    forced = subprocess.run(args + ["--overwrite"], cwd=REPO, capture_output=True, text=True)
    assert forced.returncode == 0, forced.stderr
    assert "cleared the previous run" in forced.stderr and "run.json, events.jsonl" in forced.stderr


def test_a_run_json_is_written_as_the_run_goes_with_judged_time_per_rule(tmp_path, rules):
    video = syn.make_video(tmp_path / "v.mp4", 30)
    res = analyze(str(video), str(tmp_path / "run"), rules, sample_fps=0, progress=False,
                  detector_factory=TouchEveryFrame)
    doc = read_run_json(tmp_path / "run")
    assert doc["status"] == "complete" and doc["status_reason"] is None
    assert set(doc["judged"]) == set(doc["rules"]["enabled"])
    span = 29 / syn.FPS  # first to last analysed frame
    for rule, j in doc["judged"].items():
        assert j["judged_s"] + j["not_judged_s"] == pytest.approx(span, abs=1e-3), rule
        assert sum(j["reasons"].values()) == pytest.approx(j["not_judged_s"], abs=2e-3), rule
    assert doc["judged"]["gesture.face_touch"]["judged_s"] == pytest.approx(span, abs=1e-3)
    assert doc["people"] == [{"id": 0, "role": "trainee", "seconds_on_screen": pytest.approx(span, abs=1e-3),
                              "first_s": 0.0, "last_s": pytest.approx(span, abs=1e-3)}]
    assert res.info["counts"] == {"gesture.face_touch": 1}


def test_a_run_killed_with_sigkill_leaves_a_folder_render_and_report_can_read(tmp_path):
    """run.json is written before the first frame and after every landmark chunk: kill -9 in the models' 420th
    frame (the pool reads at most 2 x 64 + 2 frames ahead, so the first 256-frame chunk is written by then)."""
    video = syn.make_video(tmp_path / "long.mp4", 450)
    out = tmp_path / "killed"
    proc = syn.analyze_killed(video, out, "test_run_folder:TouchEveryFrame", at_call=420)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    doc = read_run_json(out)
    assert doc["status"] == "interrupted" and "stopped before it finished" in doc["status_reason"]
    assert doc["timings"]["frames_analysed"] == 256  # the last checkpoint: the first landmark chunk
    run = load_run(out)
    assert len(run.track) == 256 and run.events == []  # the touch was still open when the run was killed
    assert len(SubjectPoints(run.track, run.pixels).frame_index) == 256


# --- --from-landmarks into a new folder ----------------------------------------------------------
def test_reanalysis_into_a_new_folder_is_a_complete_run_folder(tmp_path, rules):
    old = syn.make_run(tmp_path / "run")
    new = tmp_path / "new"
    res = reanalyze(str(old), rules, str(new))
    run = load_run(new)  # what render, clips and report load: no "no landmark cache"
    assert run.source == load_run(old).source and len(run.track) == len(load_run(old).track)
    for k, v in load_run(old).pixels.items():
        np.testing.assert_array_equal(run.pixels[k], v)
    doc = read_run_json(new)
    assert doc["reanalysis"]["from"] == str(old.resolve()) and doc["counts"] == res.info["counts"]
    assert doc["rules"]["catalogue"]["sit.slouch"]["clause"] == "1.3 坐姿: 座立端正"


def test_an_older_run_without_stored_points_is_refused_with_the_fix(tmp_path):
    run = syn.make_run(tmp_path / "run")
    for px in (run / "landmarks").glob("px-*.npz"):  # what a run of the previous version holds
        px.unlink()
    with pytest.raises(RunFolderError, match="made by an older version.*--from-landmarks"):
        load_run(run)
    reanalyze(str(run), parse_rules(RULES_YAML))
    assert load_run(run).pixels


def test_a_missing_points_file_is_named_as_damage(tmp_path):
    run = tmp_path / "run"
    w = LandmarkCacheWriter(run, (syn.W, syn.H), {"source": "x"}, chunk=4, derive=subject_pixels)
    for i in range(10):
        w.append(FrameLandmarks(i, i / 10, [syn.person(i)]))
    w.close()
    assert len(load_pixels(run)["px_pose"]) == 10
    (run / "landmarks" / "px-00001.npz").unlink()
    with pytest.raises(CacheError, match=r"damaged \(px-00001.npz is missing\)"):
        load_pixels(run)


def test_reanalysis_in_place_rewrites_only_the_points(tmp_path, rules):
    run = syn.make_run(tmp_path / "run")
    part = run / "landmarks" / "part-00000.npz"
    before = part.stat().st_mtime_ns, part.read_bytes()
    reanalyze(str(run), rules)
    assert (part.stat().st_mtime_ns, part.read_bytes()) == before
    assert read_run_json(run)["reanalysis"]["frames"] == len(load_run(run).track)


# --- one-way data flow ------------------------------------------------------------------------
def _imports(path: Path) -> list:
    """Every module a file imports, at module level or inside functions."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            out += [f"{base}.{a.name}" if (VISION.parent / f"{base}.{a.name}".replace(".", "/")).with_suffix(".py")
                    .exists() else base for a in node.names]
    return out


def _module(path: Path) -> str:
    rel = path.relative_to(VISION.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_io_and_review_import_nothing_from_features_or_judge():
    """The outputs read what the run stored; they never recompute detection internals."""
    bad = [(str(p.relative_to(REPO)), m) for sub in ("io", "review") for p in sorted((VISION / sub).glob("*.py"))
           for m in _imports(p) if m.startswith(("vision.features", "vision.judge"))]
    assert bad == []


def test_no_import_cycles_in_vision():
    """Imports inside functions count: a cycle there still ties the modules together."""
    graph = {_module(p): {m for m in _imports(p) if m.startswith("vision")} for p in VISION.rglob("*.py")}
    state: dict = {}

    def visit(m, stack):
        state[m] = "open"
        for n in sorted(graph.get(m, ())):
            if n == m or n not in graph:
                continue
            if state.get(n) == "open":
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(n):] + [n]))
            if n not in state:
                visit(n, stack + [n])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_reanalysis_warns_when_the_cached_object_hits_were_made_by_another_pass(tmp_path, rules):
    """A run whose object pass looked at each crop one way (an older version, recorded before passes had numbers)
    is re-judged with a warning naming the fix, kept in run.json; a run made looking both ways (numbered or not),
    or with no object pass, gets none."""
    run = syn.make_run(tmp_path / "run")
    doc = read_run_json(run)
    doc["models"]["files"]["objects"] = {"file": "coco.tflite", "sha256": "0" * 64}
    write_run_json(run, doc)
    res = reanalyze(str(run), rules)
    assert len(res.warnings) == 1 and "version 1 (looking at each crop one way)" in res.warnings[0]
    assert f"backfill_objects.py {run}" in res.warnings[0]
    assert read_run_json(run)["reanalysis"]["warnings"] == res.warnings
    doc["models"]["files"]["objects"]["both_ways"] = True
    write_run_json(run, doc)
    assert reanalyze(str(run), rules).warnings == []
    doc["models"]["files"]["objects"]["pass_version"] = 2
    write_run_json(run, doc)
    assert reanalyze(str(run), rules).warnings == []
    doc["models"]["files"]["objects"]["pass_version"] = 3  # made by a newer pass than this code's
    write_run_json(run, doc)
    assert "version 3 (unknown to this code)" in reanalyze(str(run), rules).warnings[0]
    del doc["models"]["files"]["objects"]
    write_run_json(run, doc)
    assert reanalyze(str(run), rules).warnings == []


def test_reanalysis_warns_when_the_landmarks_were_made_by_another_detection_version(tmp_path, rules, monkeypatch):
    """Runs record the detection version that made their landmarks; once the code's moves on, re-judging the
    older cache says every event may differ and gives the command that analyses the file again (its --fps kept)."""
    import vision.reanalysis as reanalysis
    from vision.detect.models import DETECTION_VERSION

    run = syn.make_run(tmp_path / "run")
    doc = read_run_json(run)
    assert doc["models"]["detection_version"] == DETECTION_VERSION
    assert reanalyze(str(run), rules).warnings == []
    monkeypatch.setattr(reanalysis, "DETECTION_VERSION", DETECTION_VERSION + 1)
    doc["input"]["sample_fps"] = 5.0
    write_run_json(run, doc)
    (warning,) = reanalyze(str(run), rules).warnings
    assert f"detection version {DETECTION_VERSION}, this code's is {DETECTION_VERSION + 1}" in warning
    assert f"analyze {doc['input']['path']} --out {run} --overwrite --fps 5`" in warning
    del doc["models"]["detection_version"]  # a run from before versions were recorded: version 1 or older
    write_run_json(run, doc)
    assert "made by detection version 1," in reanalyze(str(run), rules).warnings[0]
