"""Resuming a killed run from its landmark cache (vision/resume.py): the models see only the frames the cache
lacks, the events are those of an uninterrupted run, and run.json says the run resumed. A stand-in detector
(no models) counts its calls; a kill is made real (SIGKILL in a child process) or simulated by cutting a
finished run back to what a kill leaves (complete landmark chunks, a provisional run.json)."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path
from textwrap import dedent

import numpy as np
import pytest

import synthetic_run as syn
from builders import make_person, with_object
from conftest import REPO, RULES_YAML
from vision.io.cache import CHUNK, load_tracks
from vision.io.events import read_events
from vision.io.run_meta import read_run_json, write_run_json
from vision.pipeline import analyze
from vision.resume import Prior, _ObjectsAfterCache

N = 450  # frames, all analysed (sample_fps 0): one complete chunk of 256, then 194 the cache lacks
KEPT = CHUNK


def _person(hand_at: str):
    p = make_person(hand_at=hand_at, image_wh=(syn.W, syn.H), hip_px=(96, 120), px_per_m=120.0)
    return with_object(p, "phone" if hand_at == "ear" else None)  # object hits, as the object pass stores them


EAR, LAP = _person("ear"), _person("lap")


def scripted(t: float):
    """Who the stand-in models see at ``t`` s: a hand at the ear over 2-5 s, 15-19 s (across the end of the first
    chunk, 17.07 s) and 22-24 s; nobody over 10-11 s; else hands in the lap."""
    if 10 <= t < 11:
        return []
    ear = 2 <= t < 5 or 15 <= t < 19 or 22 <= t < 24
    return [EAR if ear else LAP]


class Scripted:
    """A stand-in for the landmark models (``analyze``'s ``detector_factory``); ``calls`` lists the timestamps
    it was asked about, over every instance (reset it before a run)."""

    calls: list = []

    def __init__(self, still_images=False):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def detect(self, image_bgr, timestamp_s):
        Scripted.calls.append(timestamp_s)
        return [dataclasses.replace(p) for p in scripted(timestamp_s)]  # fresh objects, as the models give


class ScriptedAsync(Scripted):
    """The stand-in fed without waiting, as Holistic is (``detect_async``: a pending result)."""

    def detect_async(self, image_bgr, timestamp_s):
        people = self.detect(image_bgr, timestamp_s)

        class Pending:
            span = (0.0, 0.0)

            def result(self):
                return people
        return Pending()


def _analyze(video, out, rules, detector=Scripted, **kw):
    Scripted.calls = []
    return analyze(str(video), str(out), rules, sample_fps=0, progress=False, detector_factory=detector,
                   appearance=None, **kw)


def _events(run: Path) -> list:
    return [e.to_dict() if hasattr(e, "to_dict") else vars(e) for e in read_events(run / "events.jsonl")]


@pytest.fixture
def video(tmp_path):
    return syn.make_video(tmp_path / "clip.mp4", N)


@pytest.fixture
def straight(video, tmp_path, rules):
    """The same input analysed without a stop."""
    res = _analyze(video, tmp_path / "straight", rules)
    assert res.status == "complete" and len(Scripted.calls) == N
    return tmp_path / "straight"


def _same_run(resumed: Path, straight: Path) -> None:
    assert _events(resumed) == _events(straight) and _events(straight)
    assert list(resumed.glob("**/events.jsonl")) == [resumed / "events.jsonl"]
    assert (resumed / "events.csv").read_text() == (straight / "events.csv").read_text()
    a, b = read_run_json(resumed), read_run_json(straight)
    for k in ("counts", "judged", "time_share", "people"):
        assert a[k] == b[k], k
    ta, tb = load_tracks(resumed), load_tracks(straight)
    assert set(ta) == set(tb)
    for name in ("timestamp_s", "pose_xyz", "face_xyz", "right_hand_xyz", "objects"):
        np.testing.assert_array_equal(getattr(ta[0], name), getattr(tb[0], name), err_msg=name)


@pytest.mark.parametrize("detector", [Scripted, ScriptedAsync], ids=["waits", "without_waiting"])
def test_a_cut_run_resumes_running_the_models_only_on_the_frames_its_cache_lacks(video, straight, tmp_path, rules,
                                                                                  detector):
    """(a) the stand-in models are asked only about frames after the cached chunk, whether they wait for each
    frame or are fed without waiting (Holistic), (b) the events, judged time, people and landmark cache (object
    hits included) equal the uninterrupted run's, (c) run.json: complete, resumed_frames = the cached frames."""
    run = tmp_path / "run"
    _analyze(video, run, rules, detector)
    syn.as_if_killed(run)
    last_cached = float(load_tracks(run)[0].timestamp_s[-1])
    res = _analyze(video, run, rules, detector, resume=True)
    assert len(Scripted.calls) == N - KEPT and min(Scripted.calls) > last_cached
    _same_run(run, straight)
    doc = read_run_json(run)
    assert res.status == doc["status"] == "complete" and doc["status_reason"] is None
    assert doc["timings"]["resumed_frames"] == KEPT and "resume_note" not in doc["timings"]
    assert doc["timings"]["frames_analysed"] == N


def test_a_run_killed_with_sigkill_resumes_to_the_events_of_an_uninterrupted_run(video, straight, tmp_path, rules):
    """A real kill -9 at the 400th model call (the pool reads at most 2 x 64 + 2 frames ahead, so the first
    chunk's checkpoint is written by then), then analyze --resume."""
    run = tmp_path / "killed"
    proc = syn.analyze_killed(video, run, "test_resume:Scripted", at_call=400)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert read_run_json(run)["status"] == "interrupted"
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES_YAML, encoding="utf-8")
    script = dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO / 'tests')!r})
        import test_resume
        from vision import cli, pipeline
        from functools import partial
        pipeline_analyze = pipeline.analyze
        pipeline.analyze = partial(pipeline_analyze, detector_factory=test_resume.Scripted)
        code = cli.main(["analyze", {str(video)!r}, "--out", {str(run)!r}, "--rules", {str(rules_file)!r},
                         "--fps", "0", "--no-appearance", "--resume", "--quiet"])
        print("calls", len(test_resume.Scripted.calls))
        sys.exit(code)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"calls {N - KEPT}" in proc.stdout and f"--resume: {KEPT} frames from the landmark cache" in proc.stderr
    _same_run(run, straight)
    assert read_run_json(run)["timings"]["resumed_frames"] == KEPT


def test_a_run_with_still_frames_resumes_to_the_uninterrupted_run(tmp_path, rules):
    """A video in which nothing moves at 25 frames a second: two of every three frames are interpolated
    (vision.detect.still); killed after the first chunk and resumed, the models see only the landmarked frames
    after the cache, and events and landmarks equal the uninterrupted run's (the gate decides from the pictures
    alone, so the same frames are still on both runs)."""
    import cv2

    video = tmp_path / "still.mp4"
    vw = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (syn.W, syn.H))
    image = np.random.default_rng(3).integers(0, 255, (syn.H, syn.W, 3), dtype=np.uint8)
    for _ in range(N):
        vw.write(image)
    vw.release()
    straight = _analyze(video, tmp_path / "straight", rules, ScriptedAsync)
    interpolated = straight.info["timings"]["frames_interpolated"]
    assert len(Scripted.calls) == N - interpolated and interpolated > N // 2
    run = tmp_path / "run"
    _analyze(video, run, rules, ScriptedAsync)
    syn.as_if_killed(run)
    last_cached = float(load_tracks(run)[0].timestamp_s[-1])
    res = _analyze(video, run, rules, ScriptedAsync, resume=True)
    assert Scripted.calls and min(Scripted.calls) > last_cached
    assert len(Scripted.calls) < (N - KEPT) / 2  # only the frames the gate sends to the models
    assert res.info["timings"]["frames_interpolated"] == interpolated
    _same_run(run, tmp_path / "straight")


@pytest.mark.parametrize("edit, note", [
    (lambda doc, run: doc["input"].update(frame_count=N + 1), "input.frame_count"),
    (lambda doc, run: doc["rules"].update(sha256="another"), "other rules"),
    (lambda doc, run: (doc["options"].update(subject="left"), (run / "landmarks" / "meta.json").write_text(json.dumps(
        dict(json.loads((run / "landmarks" / "meta.json").read_text()), face_hands_of=[2])))), "--subject left"),
    (lambda doc, run: doc["options"].update(every_frame=True), "ran with --every-frame, now without it"),
    (lambda doc, run: doc["models"].update(detection_version=0), "detection version 0, now 1"),
    (lambda doc, run: doc["models"]["files"].update(objects={"file": "coco.tflite", "sha256": "0" * 64}),
     "object pass version 1, now 2"),
])
def test_a_run_of_another_input_rules_or_people_choice_starts_over_saying_why(video, straight, tmp_path,
                                                                                      rules, edit, note):
    run = tmp_path / "run"
    _analyze(video, run, rules)
    syn.as_if_killed(run)
    doc = read_run_json(run)
    edit(doc, run)
    write_run_json(run, doc)
    _analyze(video, run, rules, resume=True, overwrite=True)
    assert len(Scripted.calls) == N  # every frame through the models again
    timings = read_run_json(run)["timings"]
    assert timings["resumed_frames"] == 0 and note in timings["resume_note"]
    _same_run(run, straight)


def test_resume_leaves_a_finished_run_alone(video, straight, rules):
    """A complete run is no run to go on with: refused like any used folder (without --overwrite)."""
    from vision.io.run_folder import RunFolderError

    before = (straight / "events.jsonl").read_bytes()
    with pytest.raises(RunFolderError, match="pass --overwrite"):
        _analyze(video, straight, rules, resume=True)
    assert (straight / "events.jsonl").read_bytes() == before and not Scripted.calls


def test_the_object_pass_skips_the_cached_frames_and_keeps_its_time_grid():
    """Cached frames keep their stored hits (no detector call) but move the pass's 2 Hz grid on: the first frame
    after the cache (0.3 s, same half second as the cached 0.2 s) is not a run; 0.5 s, a new half second, is."""
    from vision.object_run import ObjectPass

    class Spy:
        def __init__(self):
            self.calls = []

        def detect_calls(self, image, calls):
            self.calls.append(len(calls))
            return []

    inner = ObjectPass(Path("unused.tflite"), (640, 480), still=False)
    inner._det = spy = Spy()
    objects = _ObjectsAfterCache(inner, {0.0, 0.1, 0.2})
    image = np.zeros((480, 640, 3), np.uint8)
    for t, p in [(0.0, EAR), (0.1, make_person()), (0.2, None), (0.3, LAP)]:
        objects.offer(image, t, p)
    assert spy.calls == [] and inner.runs == 0  # 0.0-0.2 cached, 0.3 off the grid
    objects.offer(image, 0.5, LAP)
    assert len(spy.calls) == 1 and inner.runs == 1
    assert Prior().objects(inner) is inner and Prior().wrap(Scripted, None) == (Scripted, None)


def test_a_batch_resumes_its_killed_run_and_says_how_many_frames_it_reused(video, tmp_path, rules):
    """The batch meets its own run of the same input, rules and rate, killed mid-way: it resumes it (batch.json
    and run.json give the frames reused) and the events equal the first run's."""
    from vision.batch.plan import make_plan
    from vision.batch.runner import Settings, run_batch
    from vision.batch.state import read_batch_json

    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES_YAML, encoding="utf-8")
    settings = Settings(str(rules_file), rules.sha256, fps=0, workers=1)
    fn = partial(analyze, detector_factory=Scripted, appearance=None)
    out = tmp_path / "out"
    run_batch(make_plan([str(video)]), out, settings, analyze_fn=fn)
    run = out / video.name
    first = _events(run)
    syn.as_if_killed(run)
    batch = read_batch_json(run)
    (run / "batch.json").write_text(json.dumps(dict(batch, status="running")))
    res = run_batch(make_plan([str(video)]), out, settings, analyze_fn=fn)
    assert [o.status for o in res.outcomes] == ["complete"]
    assert _events(run) == first
    assert read_batch_json(run)["resumed_frames"] == KEPT == read_run_json(run)["timings"]["resumed_frames"]
    assert os.path.exists(run / "events.csv")
