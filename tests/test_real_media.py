"""The real MediaPipe models on the real footage of ../shared/media, against its labels.

One analysis of every labelled file is shared by the tests of this module
(about two minutes on two cores). The minimum scores asserted here are the
ones the pipeline reaches on this media (see the README's accuracy table),
less a small margin for run-to-run noise in the models' tracking.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.evaluate import evaluate, load_labels
from vision.io.events import read_events
from vision.pipeline import analyze
from vision.reanalysis import reanalyze
from vision.judge.rules import load_rules

REPO = Path(__file__).resolve().parent.parent
MEDIA = REPO.parent / "shared" / "media"
LABELS = MEDIA / "labels.yaml"

pytestmark = [pytest.mark.real,
              pytest.mark.skipif(not LABELS.exists(), reason="../shared/media is not checked out beside the repo")]

# Minimum F1 per split, rule or family on ../shared/media (measured: see README).
# `tune`: the entries the thresholds were set on. `check`: measured only, never tuned on; its floors are the
# scores measured when the split appeared (2026-11-29), less a margin: they guard against regressions and are
# not targets.
MIN_F1_CHECK = {
    "bad posture (lean back, slouch)": 0.8,
    "face-touch family": 0.15,
    # gesture.phone: none. Phones are judged on object evidence since issue 7 and the check split's phones (on a
    # sofa, in a car, on a kitchen table) score 0.34-0.55 with the detector: 0 found, 0 false (0.25 before: one
    # found by the head-down branch, one hair brushing called a call); test_objects.py checks it raises no false one
}
MIN_F1_TUNE = {
    # 0.80 measured since the mesh must agree with the pose's face (features/touch.py MESH_POSE_APART: the
    # arm-wrestling chimera's false touch gone; 0.76 before). A face the mesh has not seen for 2 s is not judged
    # from the pose alone (MESH_GAP_S): the CCTV smoker's second touch is not judged (0.82 before that)
    "face-touch family": 0.78,
    "bad posture (lean back, slouch)": 0.85,
    "sit.upright": 0.85,
    "sit.lean_back": 0.85,
    "sit.slouch": 0.8,
    "gesture.face_touch": 0.85,  # 0.88 measured (0.82 before the mesh had to agree with the pose's face)
    "face.smile": 0.4,
    # 0.67 measured (the NTU drink found, the mukbang frames missed), and held at the lips it is found in every copy
    # through another camera (scripts/rejudge_versions.py): the hand model losing the hand round the cup is the
    # evidence of something held; no false one (below)
    "gesture.eating": 0.6,
    "gesture.phone": 0.65,  # 0.67 measured (P 1.00, R 0.50) with the object evidence
    "face.attention": 0.8,
    "stand.feet": 0.8,
    "stand.upright": 0.6,
}


def test_landmarks_on_a_still_match_golden_values():
    """The pose and face of the centre man of a real photo land where they did when the goldens were taken."""
    from vision.detect.holistic import HolisticDetector

    gold = json.loads((REPO / "tests" / "data" / "golden_landmarks.json").read_text())
    image = cv2.imread(str(MEDIA / gold["file"]))
    with HolisticDetector(still_images=True) as det:
        people = det.detect(image, 0.0)
    assert len(people) == 1
    p = people[0]
    idx = {"nose": 0, "left_shoulder": 11, "right_shoulder": 12, "left_wrist": 15, "right_wrist": 16,
           "left_hip": 23, "right_hip": 24}
    for name, i in idx.items():
        np.testing.assert_allclose(p.pose_xyz[i, :2], gold["pose_xy"][name], atol=gold["tolerance"], err_msg=name)
    np.testing.assert_allclose(p.face_xyz[1, :2], gold["face_xy"]["nose_tip_1"], atol=gold["tolerance"])
    np.testing.assert_allclose(p.face_xyz[152, :2], gold["face_xy"]["chin_152"], atol=gold["tolerance"])
    assert p.face_xyz.shape == (478, 3) and not np.isnan(p.face_xyz).any()
    assert (p.pose_visibility[[0, 11, 12]] > 0.9).all()


def test_no_person_in_an_empty_image():
    """A plain grey frame and a noise frame give no people, not zeros."""
    from vision.detect.holistic import HolisticDetector

    rng = np.random.default_rng(0)
    with HolisticDetector(still_images=True) as det:
        assert det.detect(np.full((480, 640, 3), 127, np.uint8), 0.0) == []
        assert det.detect(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), 0.0) == []


def test_every_labelled_file_was_analysed(media_runs):
    runs = sorted(p.parent.name for p in media_runs.glob("*/run.json"))
    assert len(runs) == len(load_labels(LABELS)["clips"])
    for run in media_runs.glob("*/run.json"):
        meta = json.loads(run.read_text())
        assert meta["status"] in ("complete", "partial")
        assert meta["rules"]["sha256"]


@pytest.mark.parametrize("split,minimum", [("tune", MIN_F1_TUNE), ("check", MIN_F1_CHECK)])
def test_scores_reach_the_stated_minimum(media_runs, split, minimum):
    """Per split, rule and family, F1 on the shared media is at least the figure stated in the README."""
    report = evaluate(LABELS, media_runs, split=split)
    assert report["clips_scored"] == sum(c.get("split") == split for c in load_labels(LABELS)["clips"])
    scores = {**report["rules"], **report["families"]}
    low = {k: scores.get(k, {}).get("f1") for k, v in minimum.items()
           if (scores.get(k, {}).get("f1") or 0.0) < v}
    assert not low, f"{split}: below the stated minimum F1: {low}\n" + "\n".join(report["errors"])


def test_no_false_eating_or_phone_on_tune(media_runs):
    """No eating or phone event on a tune clip that must have none (39 and 36 clips list them absent)."""
    rules = evaluate(LABELS, media_runs, split="tune")["rules"]
    assert rules["gesture.eating"]["absent_clips"] >= 30 and rules["gesture.phone"]["absent_clips"] >= 30
    assert rules["gesture.eating"]["fp"] == 0 and rules["gesture.phone"]["fp"] == 0


def test_neutral_clips_have_no_forbidden_gestures(media_runs):
    """Clips whose labels list the face-touch family as absent get no face-touch event at all."""
    clean = ["hands_gesture__seated_man_raising_waving_hands_overlay.gif",
             "gesture__ted_woman_expansive_arm_sweeps_pointing_up.mp4",
             "hands_gesture__woman_seated_talking_hands_clasped_gesturing.mp4",
             "two_person__woman_seated_videoconference_talking.mp4",
             "standing__three_business_people_standing.jpg"]
    for name in clean:
        rules = {e.rule for e in read_events(media_runs / name / "events.jsonl")}
        assert not rules & {"gesture.face_touch", "gesture.nose_pick", "gesture.hair", "gesture.phone"}, name


def test_streaming_equals_offline_on_real_footage(media_runs, tmp_path):
    """Events written live while decoding equal those re-computed offline from the landmark cache."""
    rules = load_rules(REPO / "rules.yaml")
    for run in sorted(media_runs.glob("*/run.json")):
        live = read_events(run.parent / "events.jsonl")
        again = reanalyze(str(run.parent), rules, out_dir=str(tmp_path / run.parent.name)).events
        key = lambda e: (round(e.start_s, 4), e.rule)  # noqa: E731  (the log's precision: ties sort by rule)
        assert [e.to_json() for e in sorted(live, key=key)] == [e.to_json() for e in sorted(again, key=key)], \
            run.parent.name


def test_truncated_real_video_keeps_what_was_readable(tmp_path):
    """Half of a real mp4: the readable part is analysed, a warning says so, status is partial."""
    src = MEDIA / "sitting" / "sideview_man_posture_sequence.mp4"
    data = src.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    rules = load_rules(REPO / "rules.yaml")
    try:
        res = analyze(str(cut), str(tmp_path / "run"), rules, sample_fps=5.0, progress=False)
    except Exception as exc:  # some truncations lose the index: then a clear InputError is the right answer
        from vision.io.frames import InputError

        assert isinstance(exc, InputError)
        return
    assert res.status == "partial"
    assert any("truncated" in w for w in res.warnings)
    assert (tmp_path / "run" / "events.jsonl").exists()


def test_interrupted_run_keeps_its_events(tmp_path):
    """Ctrl-C in the middle of a run: exit 130, run.json says interrupted, the log and cache are on disk."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    # 764 frames at --fps 0 (about 40 s of models on this CPU): Ctrl-C 3 s after the models load is far from the
    # end however busy the machine is (the 180-frame clip used before could finish first under load)
    proc = subprocess.Popen([sys.executable, "-m", "vision", "analyze",
                             str(MEDIA / "eating_drinking" / "girl_front_cam_peels_orange_then_eats_it_vertical.mp4"),
                             "--out", str(out), "--fps", "0", "--quiet"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # as from a terminal: a test runner started in the background (nohup, `&`) passes
                            # SIGINT on as ignored, and the run would rightly go on
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while not (out / "landmarks" / "meta.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(3.0)  # some frames in, far from the end
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=180)  # closing the run is quick; a loaded CI machine is not
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"the run went on after Ctrl-C; run.json: {(out / 'run.json').read_text()[:400]}\n{err}")
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    meta = json.loads((out / "run.json").read_text())
    assert meta["status"] == "interrupted"
    analysed = meta["timings"]["frames_analysed"]
    assert 0 < analysed < meta["input"]["frame_count"]
    assert (out / "events.jsonl").exists()
    events = read_events(out / "events.jsonl")
    assert all(e.end_frame < analysed for e in events)  # nothing past the last analysed frame
