"""Multi-person pose (vision.detect.multipose), its cached bundle (pose_bundle) and per-person crops (crops).

The first tests need no model: where the cache lives, how a crop is cut and
mapped back, and which of Holistic's findings on a crop are kept (a fake
detector stands in for Holistic). The ``real`` tests run MediaPipe.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from builders import make_person
from vision.detect.crops import crop_box, face_and_hands, to_frame
from vision.detect.landmarks import N_FACE, N_HAND, PersonLandmarks
from vision.detect.pose_bundle import CACHE_ENV, cache_dir

MEDIA = Path(__file__).resolve().parent.parent.parent / "shared" / "media"
WH = (640, 480)


def test_cache_folder_env_then_xdg_then_home(monkeypatch, tmp_path):
    """$CONDUCT_COACH_CACHE wins, then $XDG_CACHE_HOME/conduct-coach, then ~/.cache/conduct-coach."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(CACHE_ENV)
    assert cache_dir() == tmp_path / "xdg" / "conduct-coach"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "conduct-coach"


def test_crop_box_pads_the_seen_points_and_stays_in_the_image():
    """The box holds every seen keypoint plus a margin, clipped to the image; nothing seen: no box."""
    p = make_person(hip_px=(320, 360))
    box = crop_box(p, WH)
    xy = p.pose_xyz[:, :2] * WH
    assert box[0] < xy[:, 0].min() and box[2] > xy[:, 0].max() and box[1] < xy[:, 1].min()
    assert 0 <= box[0] and 0 <= box[1] and box[2] <= WH[0] and box[3] <= WH[1]
    assert crop_box(PersonLandmarks(0), WH) is None


def test_to_frame_maps_crop_corners_to_the_box():
    """Crop (0, 0) and (1, 1) land on the box corners in whole-image fractions."""
    out = to_frame(np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 0.1]]), (64, 48, 320, 240), WH)
    np.testing.assert_allclose(out[:, :2], [[0.1, 0.1], [0.5, 0.5]], atol=1e-6)
    assert out[1, 2] == pytest.approx(0.1 * 256 / 640)


class _FakeHolistic:
    """Returns, for any crop, a face and a right hand at given crop fractions (like Holistic's output)."""

    def __init__(self, face_at, hand_at):
        self.face_at, self.hand_at, self.crops = np.array(face_at), np.array(hand_at), []

    def detect(self, image_bgr, timestamp_s):
        self.crops.append(image_bgr.shape)
        face = np.tile([*self.face_at, 0.0], (N_FACE, 1)) + np.random.default_rng(0).normal(0, 0.01, (N_FACE, 3))
        hand = np.tile([*self.hand_at, 0.0], (N_HAND, 1))
        return [PersonLandmarks(0, face_xyz=face, right_hand_xyz=hand)]


def test_face_and_hands_from_the_crop_land_on_the_person():
    """A face found at the crop's head position comes back at the pose's nose in whole-image coordinates;
    the crop given to the detector is the crop box; the pose is left as tracked."""
    p = make_person(hip_px=(320, 380))
    box = crop_box(p, WH)
    nose = (p.pose_xyz[0, :2] * WH - box[:2]) / (np.asarray(box[2:]) - box[:2])
    wrist = (p.pose_xyz[16, :2] * WH - box[:2]) / (np.asarray(box[2:]) - box[:2])
    fake = _FakeHolistic(nose, wrist)
    out = face_and_hands(fake, np.zeros((WH[1], WH[0], 3), np.uint8), p, 0.0)
    assert fake.crops == [(box[3] - box[1], box[2] - box[0], 3)]
    np.testing.assert_allclose(np.nanmean(out.face_xyz[:, :2], axis=0), p.pose_xyz[0, :2], atol=0.01)
    np.testing.assert_allclose(out.right_hand_xyz[0, :2], p.pose_xyz[16, :2], atol=1e-3)
    assert np.isnan(out.left_hand_xyz).all()
    np.testing.assert_array_equal(out.pose_xyz, p.pose_xyz)


def test_a_face_far_from_the_persons_head_is_not_taken():
    """Holistic locking on to a neighbour's face at the crop's edge: the person's face stays NaN."""
    p = make_person(hip_px=(320, 380))
    out = face_and_hands(_FakeHolistic((0.98, 0.95), (0.98, 0.98)), np.zeros((WH[1], WH[0], 3), np.uint8), p, 0.0)
    assert np.isnan(out.face_xyz).all() and np.isnan(out.right_hand_xyz).all()


# ---------------------------------------------------------------- real MediaPipe

@pytest.mark.real
def test_bundle_is_built_once_atomically_and_reused(tmp_path):
    """The first call writes the bundle (no temporary file left behind); the second reuses the same file."""
    from vision.detect.pose_bundle import pose_bundle

    first = pose_bundle(tmp_path)
    stamp = first.stat().st_mtime_ns
    assert first.suffix == ".task" and first.stat().st_size > 1_000_000
    assert [p.name for p in tmp_path.iterdir()] == [first.name]
    assert pose_bundle(tmp_path) == first and first.stat().st_mtime_ns == stamp


@pytest.mark.real
def test_three_people_in_a_still_pose_only(tmp_path, monkeypatch):
    """Three business people: three bodies, pose and visibility filled, face and hands NaN; a blank image: nobody."""
    from vision.detect.multipose import MultiPoseDetector
    from vision.io.frames import read_image

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))  # a fresh cache: built on first use, no flag needed
    image = read_image(MEDIA / "standing" / "three_business_people_standing.jpg")
    with MultiPoseDetector(still_images=True) as det:
        people = det.detect(image)
        assert det.detect(np.full_like(image, 128)) == []
    assert len(people) == 3
    for p in people:
        assert np.isfinite(p.pose_xyz).all() and np.isfinite(p.pose_visibility).all()
        assert np.isnan(p.face_xyz).all() and np.isnan(p.left_hand_xyz).all()
    assert len(list(tmp_path.glob("*.task"))) == 1


@pytest.mark.real
def test_holistic_on_each_persons_crop_puts_the_face_inside_that_persons_body_box():
    """Two men side by side (the hug clip, first frame with both found in its first second): each man's crop
    gives a face inside his own box, nearer his own nose than the other man's."""
    from vision.detect.holistic import HolisticDetector
    from vision.detect.multipose import MultiPoseDetector
    from vision.io.frames import FrameSource

    with FrameSource(MEDIA / "two_person" / "ntu_two_men_hugging.mp4", sample_fps=10.0, end_s=1.0) as src, \
            MultiPoseDetector(still_images=True) as det:
        image, people = next(((f.image_bgr, found) for f in src
                              if len(found := det.detect(f.image_bgr)) == 2), (None, []))
    assert len(people) == 2, "both men are in view: the detector should find them in some frame"
    h, w = image.shape[:2]
    faces = 0
    for p in people:
        with HolisticDetector(still_images=True) as hol:
            out = face_and_hands(hol, image, p, 0.0)
        if np.isnan(out.face_xyz).all():
            continue
        faces += 1
        centre = np.nanmean(out.face_xyz[:, :2], axis=0) * (w, h)
        own = crop_box(p, (w, h), pad=0.0)  # the box around this man's own seen keypoints
        other = next(q for q in people if q is not p)
        assert own[0] <= centre[0] <= own[2] and own[1] <= centre[1] <= own[3]
        assert np.linalg.norm(centre - p.pose_xyz[0, :2] * (w, h)) < np.linalg.norm(
            centre - other.pose_xyz[0, :2] * (w, h))  # nearer his own nose than the other man's
    assert faces == 2
