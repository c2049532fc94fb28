"""Several people through the whole pipeline, with stand-in detectors (no models).

A generated 8 s video (10 frames/s) stands for a two-person roleplay
(``builders.roleplay``): the trainee, large on the left, smiles from 2 s; the
customer, smaller on the right, slouches from 5 s. ``FakeMultiPose`` stands in
for the multi-person pose model (everyone's pose, face and hands NaN);
``FakeHolistic`` for Holistic: on the whole frame it finds the first person,
on a person's crop it gives that person's face and hands in crop coordinates
(as :func:`vision.detect.crops.face_and_hands` expects).
"""
from __future__ import annotations

import json
import time
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pytest

from people_builders import roleplay
from synthetic_run import make_video
from vision.cli import main
from vision.detect.crops import crop_box
from vision.detect.landmarks import PersonLandmarks
from vision.io.cache import load_meta, load_tracks
from vision.io.events import read_events
from vision.io.run_meta import RunMetaError, check_run_json, read_run_json
from vision.people_run import PROBE_FRAMES, ChoiceError
from vision.pipeline import analyze
from vision.reanalysis import reanalyze
from vision import run_record as record

W, H, FPS, SECONDS = 640, 480, 10.0, 8.0
TRAINEE_X, CUSTOMER_X = 200 / W, 470 / W  # hip centres, in image widths


class _Fake:
    model_names = {"backend": "holistic", "models_dir": None, "files": {}}

    def __init__(self, scene, still_images: bool = False):
        self.scene, self.still_images, self.calls = scene, still_images, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        pass

    def people(self, t: float):
        self.calls.append(t)
        return self.scene(int(round(t * FPS)))


class FakeMultiPose(_Fake):
    """Everyone's pose, face and hands NaN, in the scene's order."""

    opened = []

    def __init__(self, scene, still_images: bool = False):
        super().__init__(scene, still_images)
        FakeMultiPose.opened.append(self)

    def detect(self, image_bgr, timestamp_s=0.0):
        return [PersonLandmarks(k, p.pose_xyz, p.pose_visibility, p.pose_world_xyz)
                for k, p in enumerate(self.people(timestamp_s))]


def _to_crop(xyz: np.ndarray, box) -> np.ndarray:
    x0, y0, x1, y1 = box
    out = np.array(xyz, np.float32, copy=True)
    out[:, 0] = (xyz[:, 0] * W - x0) / (x1 - x0)
    out[:, 1] = (xyz[:, 1] * H - y0) / (y1 - y0)
    out[:, 2] = xyz[:, 2] * W / (x1 - x0)
    return out


class FakeHolistic(_Fake):
    """One person: the first of the scene on the whole frame; on a crop, the person whose crop it is."""

    def detect(self, image_bgr, timestamp_s):
        people = self.people(timestamp_s)
        if image_bgr.shape[:2] == (H, W):
            return people[:1]
        for p in people:
            box = crop_box(p, (W, H))
            if box is not None and image_bgr.shape[:2] == (box[3] - box[1], box[2] - box[0]):
                return [PersonLandmarks(0, face_xyz=_to_crop(p.face_xyz, box),
                                        left_hand_xyz=_to_crop(p.left_hand_xyz, box),
                                        right_hand_xyz=_to_crop(p.right_hand_xyz, box))]
        return []


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("v") / "roleplay.mp4", int(SECONDS * FPS), (W, H), FPS)


def _run(video, out, rules, scene=roleplay, **kw):
    FakeMultiPose.opened.clear()
    return analyze(str(video), str(out), rules, progress=False, appearance=None,
                   detector_factory=partial(FakeHolistic, scene), people_factory=partial(FakeMultiPose, scene), **kw)


def _hips_x(track, i=None) -> float:
    return float(np.nanmean(track.pose_xyz[:, [23, 24], 0]))


def _ids_by_place(run_dir) -> dict:
    """'trainee' / 'customer' -> the track id the run gave them, told apart by where they stand."""
    tracks = load_tracks(run_dir)
    return {("trainee" if abs(_hips_x(t) - TRAINEE_X) < 0.05 else "customer"): pid for pid, t in tracks.items()}


def test_one_body_in_the_probe_takes_the_single_person_path(video, tmp_path, rules):
    """One person in view: the probe looks at a few sparse frames, then the run is the single-person path
    (one pass, subject 0, one person listed) with the same events as the path forced without a probe."""
    alone = partial(roleplay, customer=False)
    res = _run(video, tmp_path / "probed", rules, scene=alone)
    probe = FakeMultiPose.opened
    assert len(probe) == 1 and 1 <= len(probe[0].calls) <= min(PROBE_FRAMES, SECONDS / 2 + 1)
    forced = analyze(str(video), str(tmp_path / "forced"), rules, progress=False, appearance=None,
                     detector_factory=partial(FakeHolistic, alone))
    assert res.info["timings"]["passes"] == 1 and res.info["timings"]["probe"]["most_people"] == 1
    # the body's size in pixels, for the still-frame gate's cells: the median over the frames the probe saw
    from vision.track.tracker import person_size
    sizes = [person_size(alone(int(round(t * FPS)))[0], (W, H)) for t in probe[0].calls]
    assert res.info["timings"]["probe"]["body_px"] == round(float(np.median(sizes)), 1) > 50
    assert res.info["subject"]["id"] == 0 and [p["id"] for p in res.info["people"]] == [0]
    assert "multipose" not in res.info["models"]["files"]
    assert any(e.rule == "face.smile" for e in res.events)
    assert [e.to_json() for e in res.events] == [e.to_json() for e in forced.events]


def test_two_people_the_subject_is_judged_and_named_and_every_event_carries_its_id(video, tmp_path, rules):
    """Two people: auto picks the larger trainee (run.json says why), the other is the customer; every event
    carries the trainee's track id; the smile (face from the trainee's crop) is found and the customer's
    slouch is not (only the trainee is judged); the cache holds both poses and the trainee's face only."""
    res = _run(video, tmp_path / "run", rules)
    ids = _ids_by_place(tmp_path / "run")
    doc = read_run_json(tmp_path / "run")
    assert doc["subject"]["id"] == ids["trainee"] and doc["subject"]["how"] == "auto" and doc["subject"]["reason"]
    assert doc["customer"]["id"] == ids["customer"]
    assert {p["id"]: p["role"] for p in doc["people"]} == {ids["trainee"]: "trainee", ids["customer"]: "customer"}
    assert doc["timings"]["passes"] == 2 and "multipose" in doc["models"]["files"]
    assert res.events and {e.person for e in res.events} == {ids["trainee"]}
    assert {e.person for e in read_events(tmp_path / "run" / "events.jsonl")} == {ids["trainee"]}
    assert "face.smile" in {e.rule for e in res.events} and "sit.slouch" not in {e.rule for e in res.events}
    tracks = load_tracks(tmp_path / "run")
    assert np.isfinite(tracks[ids["customer"]].pose_xyz).any() and np.isnan(tracks[ids["customer"]].face_xyz).all()
    assert np.isfinite(tracks[ids["trainee"]].face_xyz).any()
    assert load_meta(tmp_path / "run")["face_hands_of"] == [ids["trainee"]]


def test_subject_right_judges_the_customer_and_events_follow(video, tmp_path, rules):
    """--subject right: the person on the right is judged; their slouch is found, under their id."""
    res = _run(video, tmp_path / "run", rules, subject="right")
    ids = _ids_by_place(tmp_path / "run")
    assert res.info["subject"] == {"id": ids["customer"], "how": "right", "reason": res.info["subject"]["reason"]}
    assert "rightmost" in res.info["subject"]["reason"]
    assert "sit.slouch" in {e.rule for e in res.events} and {e.person for e in res.events} == {ids["customer"]}


def test_judge_all_judges_the_others_from_their_pose_and_says_what_was_not_judged(video, tmp_path, rules):
    """--judge all: the customer's slouch is an event under the customer's id; the face rules are not judged
    for them (run.json judged: pose_only) and none of their events is a face or hand rule."""
    res = _run(video, tmp_path / "run", rules, judge="all")
    ids = _ids_by_place(tmp_path / "run")
    theirs = [e for e in res.events if e.person == ids["customer"]]
    assert "sit.slouch" in {e.rule for e in theirs}
    assert not {e.rule for e in theirs} & set(record.face_hand_rules(rules))
    assert "face.smile" in {e.rule for e in res.events if e.person == ids["trainee"]}
    smile = res.info["judged"]["face.smile"]
    assert smile["judged_s"] > 0  # the trainee's
    other = smile["people"][str(ids["customer"])]
    assert other["judged_s"] == 0 and set(other["reasons"]) == {record.POSE_ONLY}
    assert res.info["judged"]["sit.slouch"]["people"][str(ids["customer"])]["judged_s"] > 0


def test_from_landmarks_the_same_subject_gives_the_same_events(video, tmp_path, rules):
    """The two-pass run's cache re-judged offline gives exactly the events written while decoding."""
    live = _run(video, tmp_path / "run", rules).events
    again = reanalyze(str(tmp_path / "run"), rules, out_dir=str(tmp_path / "again"))
    assert [e.to_json() for e in again.events] == [e.to_json() for e in live]
    assert again.info["subject"] == read_run_json(tmp_path / "run")["subject"] and not again.warnings


def test_from_landmarks_another_subject_is_judged_from_pose_and_says_how_to_get_the_rest(video, tmp_path, rules):
    """Re-judging the customer from the cache: their slouch is found under their id; the face and hand rules
    are not judged (pose_only, no event), and one line says which and the command to run the models again."""
    _run(video, tmp_path / "run", rules)
    cid = _ids_by_place(tmp_path / "run")["customer"]
    res = reanalyze(str(tmp_path / "run"), rules, out_dir=str(tmp_path / "other"), subject=cid)
    assert {e.person for e in res.events} == {cid} and "sit.slouch" in {e.rule for e in res.events}
    assert len(res.warnings) == 1 and "\n" not in res.warnings[0]
    assert "face.smile" in res.warnings[0] and f"--subject {cid}" in res.warnings[0]
    assert set(res.info["judged"]["face.smile"]["reasons"]) == {record.POSE_ONLY}
    doc = read_run_json(tmp_path / "other")
    assert doc["subject"]["id"] == cid and doc["subject"]["how"] == str(cid)
    assert {p["id"]: p["role"] for p in doc["people"]}[cid] == "trainee"
    with pytest.raises(ChoiceError, match=r"the people tracked are \[0, 1\]"):
        reanalyze(str(tmp_path / "run"), rules, out_dir=str(tmp_path / "none"), subject=7)


def test_calibration_counts_from_the_subjects_arrival(video, tmp_path, rules):
    """The trainee walks in at 3 s, upright, while the customer slouches from the start: the trainee's
    baseline is their own (about 0 deg), taken from their arrival, and no slouch is reported for them."""
    late = partial(roleplay, trainee_from_s=3.0, slouch_from_s=0.0, smile_from_s=99.0)
    res = _run(video, tmp_path / "late", rules, scene=late, subject="largest")
    ids = _ids_by_place(tmp_path / "late")
    assert res.info["subject"]["id"] == ids["trainee"]
    assert abs(res.info["baseline"]["trunk_pitch_deg"]) < 3.0
    assert not [e for e in res.events if e.rule.startswith("sit.")]
    first = next(p for p in res.info["people"] if p["id"] == ids["trainee"])["first_s"]
    assert first == pytest.approx(3.0, abs=0.11)


def test_a_still_with_two_people_names_the_subject_asked_for(tmp_path, rules):
    """A photo of two: one frame, two passes; --subject left picks the trainee on the left (still ids run
    left to right), the events carry that id."""
    still = tmp_path / "two.png"
    cv2.imwrite(str(still), np.full((H, W, 3), 120, np.uint8))
    scene = partial(roleplay, smile_from_s=0.0)
    res = _run(still, tmp_path / "run", rules, scene=scene, subject="left")
    assert res.info["subject"]["id"] == 0 and "leftmost" in res.info["subject"]["reason"]
    assert [p["role"] for p in res.info["people"]] == ["trainee", "customer"]
    assert res.events and {e.person for e in res.events} == {0}


def test_run_json_accepts_a_subject_nobody_was_found_for(video, tmp_path, rules):
    """subject.id null (nobody to judge) fits the schema; a string id does not."""
    _run(video, tmp_path / "run", rules)
    doc = json.loads((tmp_path / "run" / "run.json").read_text())
    doc["subject"] = {"id": None, "how": "auto", "reason": "nobody tracked"}
    check_run_json(doc)
    doc["subject"]["id"] = "0"
    with pytest.raises(RunMetaError, match="subject.id: expected integer or null"):
        check_run_json(doc)


@pytest.mark.parametrize("argv, says", [
    (["--subject", "middle"], "--subject: expected auto, left, right, largest or a person id"),
    (["--customer", "left"], "--customer: expected auto or a person id"),
    (["--judge", "everyone"], "--judge: invalid choice"),
])
def test_bad_choices_are_one_line_with_the_valid_ones(video, tmp_path, capsys, argv, says):
    """A --subject, --customer or --judge value that is not offered: exit 2, one line naming the choices."""
    with pytest.raises(SystemExit) as exit_:
        main(["analyze", str(video), "--out", str(tmp_path / "x"), *argv])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and says in err and err.count("\n") == 1


def test_cli_from_landmarks_another_subject_prints_the_note(video, tmp_path, rules, capsys):
    """analyze --from-landmarks RUN --subject ID: the note line goes to stderr; an unknown id is one line."""
    _run(video, tmp_path / "run", rules)
    cid = _ids_by_place(tmp_path / "run")["customer"]
    assert main(["analyze", "--from-landmarks", str(tmp_path / "run"), "--out", str(tmp_path / "b"),
                 "--subject", str(cid)]) == 0
    err = capsys.readouterr().err
    assert f"note: person {cid}" in err and f"--subject {cid}" in err
    assert main(["analyze", "--from-landmarks", str(tmp_path / "run"), "--out", str(tmp_path / "c"),
                 "--subject", "9"]) == 2
    err = capsys.readouterr().err
    assert "the people tracked are [0, 1]" in err and err.count("\n") == 1


def test_every_feature_pose_alone_cannot_give_is_counted_as_a_face_or_hand_feature():
    """A feature measured on a full person but NaN on the same person's pose alone (face and hands unseen)
    needs the face or hands: the rules reading it are the ones not judged for a pose-only person."""
    from builders import make_track
    from vision.features.table import compute_features

    full = make_track([dict(smile=0.05, hand_at="cheek")] * 40)
    pose = make_track([dict(smile=0.05, hand_at="cheek", face=False, hand_model=False)] * 40)
    a, b = compute_features(full).values, compute_features(pose).values
    needs = {k for k in a if np.isfinite(a[k]).any() and not np.isfinite(b[k]).any()}
    assert needs and needs <= record.FACE_HAND_FEATURES, needs - record.FACE_HAND_FEATURES


class _CountingHolistic(FakeHolistic):
    """FakeHolistic remembering, over every instance, the timestamps it landmarked a crop at."""

    crops: list = []

    def detect(self, image_bgr, timestamp_s):
        if image_bgr.shape[:2] != (H, W):
            _CountingHolistic.crops.append(timestamp_s)
        return super().detect(image_bgr, timestamp_s)


def test_a_killed_two_person_run_resumes_landmarking_only_the_crops_its_cache_lacks(tmp_path, rules):
    """A two-person run cut back to what kill -9 leaves (its first landmark chunk) and run again with --resume:
    pass 1 tracks everyone again, pass 2 takes the cached frames from the cache (no crop landmarked there), and
    the events, people and landmarks equal those of an uninterrupted run."""
    from synthetic_run import as_if_killed
    from vision.io.cache import CHUNK

    n = CHUNK + 64  # one complete chunk, then 64 frames the cache lacks
    long_video = make_video(tmp_path / "long.mp4", n, (W, H), FPS)

    def run(out, **kw):
        _CountingHolistic.crops = []
        return analyze(str(long_video), str(out), rules, progress=False, appearance=None, sample_fps=0,
                       detector_factory=partial(_CountingHolistic, roleplay),
                       people_factory=partial(FakeMultiPose, roleplay), **kw)

    straight = run(tmp_path / "straight")
    assert straight.info["timings"]["passes"] == 2 and len(_CountingHolistic.crops) == n
    out = tmp_path / "resumed"
    run(out)
    as_if_killed(out)
    last_cached = float(load_tracks(out)[0].timestamp_s[-1])
    resumed = run(out, resume=True)
    assert len(_CountingHolistic.crops) == n - CHUNK and min(_CountingHolistic.crops) > last_cached
    doc = read_run_json(out)
    assert doc["status"] == "complete" and doc["timings"]["resumed_frames"] == CHUNK
    assert doc["timings"]["passes"] == 2 and doc["subject"] == straight.info["subject"]
    assert [e.to_json() for e in resumed.events] == [e.to_json() for e in straight.events] and straight.events
    for k in ("people", "counts", "judged"):
        assert doc[k] == straight.info[k], k
    a, b = load_tracks(out), load_tracks(tmp_path / "straight")
    assert set(a) == set(b) == {0, 1}
    for pid in a:
        for name in ("pose_xyz", "face_xyz", "right_hand_xyz"):
            np.testing.assert_array_equal(getattr(a[pid], name), getattr(b[pid], name), err_msg=f"{pid} {name}")


class _SlowCropHolistic(FakeHolistic):
    """FakeHolistic taking 20 ms a crop (far more than the stand-in pose model's few ms a frame), as a detector
    that waits for each crop (no detect_async) would."""

    def detect(self, image_bgr, timestamp_s):
        if image_bgr.shape[:2] != (H, W):
            time.sleep(0.02)
        return super().detect(image_bgr, timestamp_s)


def test_the_crops_time_of_a_detector_that_waits_counts_in_models_s(video, tmp_path, rules):
    """run.json timings.models_s holds pass 2's crop time too when the crop detector waits for each crop."""
    res = analyze(str(video), str(tmp_path / "run"), rules, progress=False, appearance=None,
                  detector_factory=partial(_SlowCropHolistic, roleplay), people_factory=partial(FakeMultiPose, roleplay))
    frames = res.info["timings"]["frames_analysed"]
    assert res.info["timings"]["passes"] == 2 and frames > 40
    assert res.info["timings"]["models_s"] >= 0.02 * frames
