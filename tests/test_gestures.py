"""Hands in service: hand features, the guiding-gesture scorer and hand-overs.

The synthetic people, arms and hands are built in ``hand_builders.py`` (every feature's right answer is known by
construction); the last tests run on the real media's cached runs.
"""
from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np
import pytest

from hand_builders import (FOREARM, GUIDE, HANDOVER, SW, UPPER, Arm, Hand, detect_hand_events, failed, guide,
                           guide_events, guide_people, handover, handover_people, min_jerk, person, track)
from vision.io.events import Event
from vision.judge.gestures import GuideGestureDetector
from vision.judge.handover import HandoverDetector
from vision.features.hands import HAND_FEATURES, hand_features, log_dimensionless_jerk
from vision.detect.landmarks import N_POSE, PersonLandmarks


# --- hand features -------------------------------------------------------------------------------------------

def test_palm_up_follows_the_person_for_either_hand():
    """Palm up is +1 and palm down -1 for the left and the right hand alike (the left is the mirror image)."""
    for palm, want in (("up", 1.0), ("down", -1.0), ("in", 0.0)):
        f = hand_features(track([person(right=Arm(hand=Hand(palm=palm)), left=Arm(hand=Hand(palm=palm)))]))
        assert f["right_palm_up"][0] == pytest.approx(want, abs=1e-3)
        assert f["left_palm_up"][0] == pytest.approx(want, abs=1e-3)


def test_finger_and_thumb_features_measure_what_was_built():
    """Straight closed fingers: 1 and ~1; spread: > 1.3; curled: 0; the thumb bend is the one built."""
    def row(**hand):
        return hand_features(track([person(right=Arm(hand=Hand(**hand)))]))

    f = row(thumb_deg=40.0)
    assert f["right_fingers_extended"][0] == 1.0
    assert f["right_fingers_together"][0] == pytest.approx(1.0, abs=0.01)
    assert f["right_thumb_bent"][0] == pytest.approx(40.0, abs=0.5)
    assert row(spread_deg=12.0)["right_fingers_together"][0] > 1.3
    assert row(curled=True)["right_fingers_extended"][0] == 0.0


def test_arm_position_in_shoulder_widths():
    """Wrist and elbow offsets from the shoulder, forearm direction and elbow angle of a built arm."""
    arm = Arm(elbow=(0.05, 0.10, UPPER), azimuth_deg=30.0, drop_deg=0.0)
    f = hand_features(track([person(right=arm)]))
    az = np.radians(30.0)
    assert f["right_wrist_out"][0] == pytest.approx((0.05 + FOREARM * np.sin(az)) / SW, abs=1e-3)
    assert f["right_wrist_forward"][0] == pytest.approx((0.10 + FOREARM * np.cos(az)) / SW, abs=1e-3)
    assert f["right_wrist_down"][0] == pytest.approx(UPPER / SW, abs=1e-3)
    assert f["right_elbow_out"][0] == pytest.approx(0.05 / SW, abs=1e-3)
    assert f["right_forearm_deg"][0] == pytest.approx(30.0, abs=0.1)
    assert f["right_forearm_drop_deg"][0] == pytest.approx(0.0, abs=0.1)
    upper, fore = np.array(arm.elbow), FOREARM * np.array([np.sin(az), np.cos(az), 0.0])
    want = np.degrees(np.arccos(-upper @ fore / (np.linalg.norm(upper) * FOREARM)))
    assert f["right_elbow_deg"][0] == pytest.approx(want, abs=0.1)


def test_unseen_is_nan_never_zero():
    """No hand model: hand-shape features NaN; nobody in the frame: every feature NaN."""
    f = hand_features(track([person(right=Arm(hand=None)), None]))
    assert set(f) == set(HAND_FEATURES)
    assert np.isnan(f["right_palm_up"][0]) and np.isnan(f["right_thumb_bent"][0])
    assert not np.isnan(f["right_wrist_out"][0])
    assert all(np.isnan(v[1]) for v in f.values())


def test_jerk_of_a_smooth_stroke_is_low_whatever_the_frame_rate_and_size():
    """One minimum-jerk stroke: 4-6 at 10 or 30 fps and at any scale; three halting steps: above 8."""
    for fps in (10.0, 30.0):
        t = np.arange(int(0.8 * fps) + 1) / fps
        path = np.stack([min_jerk(0.0, 1.0, len(t)), np.zeros(len(t))], axis=1)
        assert 4.0 < log_dimensionless_jerk(t, path) < 6.0
        assert log_dimensionless_jerk(t, 3.0 * path) == pytest.approx(log_dimensionless_jerk(t, path))
    steps = np.concatenate([np.concatenate([min_jerk(a, a + 1, 3)[1:], [a + 1, a + 1]]) for a in range(3)])
    t = np.arange(len(steps) + 1) / 10.0
    assert log_dimensionless_jerk(t, np.stack([np.r_[0.0, steps], np.zeros(len(t))], axis=1)) > 8.0
    assert np.isnan(log_dimensionless_jerk(t[:3], np.zeros((3, 2))))


# --- the guiding gesture ---------------------------------------------------------------------------------------

def test_textbook_guide_passes_every_criterion():
    """Palm up, fingers straight and together, thumb bent, still elbow, smooth arc to the right front: desired."""
    (ev,) = guide_events(guide())
    assert ev.kind == "desired" and failed(ev) == []
    assert set(ev.evidence) == {"palm_up", "fingers_straight", "fingers_together", "thumb_bent", "elbow_pivot",
                                "smooth_arc", "right_front"}
    assert all(set(c) >= {"pass", "value", "threshold"} for c in ev.evidence.values())
    assert ev.start_s == pytest.approx(1.0, abs=0.11) and ev.end_s > 2.4  # from setting off to being back


def test_textbook_guide_survives_landmark_jitter():
    """3 mm of noise on every world landmark (more than MediaPipe's, measured on still arms): still desired."""
    rng = np.random.default_rng(7)
    noisy = [PersonLandmarks(0, **{**{k: getattr(p, k) for k in ("pose_xyz", "pose_visibility", "face_xyz",
                                                                   "left_hand_xyz", "right_hand_xyz")},
                                   "pose_world_xyz": p.pose_world_xyz + rng.normal(0, 0.003, (N_POSE, 3))})
             for p in guide_people()]
    (ev,) = guide_events(track(noisy))
    assert ev.kind == "desired", ev.evidence


@pytest.mark.parametrize("variant, only", [
    (dict(hand=Hand(spread_deg=12.0)), "fingers_together"),
    (dict(elbow_swing=0.25), "elbow_pivot"),
    (dict(hand=Hand(palm="down")), "palm_up"),
    (dict(hand=Hand(curled=True)), "fingers_straight"),
    (dict(hand=Hand(thumb_deg=0.0)), "thumb_bent"),
    (dict(hand=Hand(thumb_deg=100.0)), "thumb_bent"),
    (dict(jerky=True), "smooth_arc"),
    (dict(side="left"), "right_front"),
])
def test_one_fault_fails_exactly_its_criterion(variant, only):
    """Each deviation from the textbook gesture is a violation naming that criterion and no other."""
    (ev,) = guide_events(guide(**variant))
    assert ev.kind == "violation" and failed(ev) == [only]


def test_left_hand_gesture_says_which_hand():
    """A guide with the left hand is scored and told apart: right_front fails and names the hand."""
    (ev,) = guide_events(guide(side="left"))
    assert ev.evidence["right_front"]["hand"] == "left" and ev.evidence["right_front"]["value"] < 0
    assert "left hand" in ev.message_en and "左手" in ev.message_zh


def test_mirrored_input_follows_the_person():
    """In a mirror image MediaPipe calls the right arm left: ``mirrored=True`` scores it as the right hand."""
    tr = guide(mirrored=True)
    (plain,) = guide_events(tr)
    (fixed,) = guide_events(tr, mirrored=True)
    assert failed(plain) == ["right_front"]
    assert fixed.kind == "desired" and fixed.evidence["right_front"]["hand"] == "right"


def test_streaming_equals_offline():
    """Rows computed frame by frame and pushed one at a time give exactly the offline events."""
    tr = track([None] * 3 + [person(right=Arm(hand=Hand()))] * 2 + [None] + guide_people(hand=Hand(spread_deg=12.0))
               + handover_people(two_hands=False))
    guide_det, hand_det = GuideGestureDetector(GUIDE), HandoverDetector(HANDOVER)
    live: List[Event] = []
    for i in range(len(tr)):
        one = hand_features(tr.slice(i, i + 1))
        row = {k: float(v[0]) for k, v in one.items()}
        for det in (guide_det, hand_det):
            live += det.push(float(tr.timestamp_s[i]), int(tr.frame_index[i]), row)
    live += guide_det.finish() + hand_det.finish()
    offline = detect_hand_events(tr)
    assert [e.to_json() for e in sorted(live, key=lambda e: (e.start_s, e.rule, e.kind))] == \
        [e.to_json() for e in offline]
    assert [(e.rule, e.kind) for e in offline] == [("hand.guide_form", "violation"),
                                                   ("hand.two_hand_give", "violation")]


def test_still_arm_makes_no_gesture():
    """Ten seconds with the arm held out to the right front (a pose, not a gesture), or at rest: nothing."""
    out = Arm(azimuth_deg=60.0, hand=Hand())
    assert guide_events(track([person(right=out)] * 100)) == []
    assert guide_events(track([person(right=Arm(hand=Hand()))] * 100)) == []


def test_unseen_hand_never_makes_a_gesture():
    """The arm sweeps but the hand model never saw the hand: no verdict; nobody in frame: nothing."""
    assert guide_events(guide(hand=None)) == []
    assert detect_hand_events(track([None] * 50)) == []


def test_gesture_held_too_long_is_not_a_guide():
    """Out for longer than max_duration_s before coming back: a pose, not a guiding gesture."""
    assert guide_events(guide(), max_duration_s=1.0) == []


def test_unknown_threshold_suggests_the_name():
    """A misspelt threshold is an error that names the right one."""
    with pytest.raises(TypeError, match="did you mean 'palm_up_min'"):
        GuideGestureDetector(GUIDE, palm_upmin=0.3)


# --- hand-overs -------------------------------------------------------------------------------------------------

def test_two_hands_forward_together_is_desired():
    """Both hands brought out forward together in front of the body and held: hand.two_hand_give desired."""
    (ev,) = detect_hand_events(handover())
    assert (ev.rule, ev.kind) == ("hand.two_hand_give", "desired")
    assert all(c["pass"] for c in ev.evidence.values())


def test_second_hand_joining_late_is_still_two_handed():
    """The left hand joins 1 s after the right and leaves 1 s before it: one desired event, no violation."""
    events = detect_hand_events(handover(hold_s=3.0, lag_s=1.0))
    assert [(e.rule, e.kind) for e in events] == [("hand.two_hand_give", "desired")]


def test_one_handed_handover_is_a_violation():
    """One arm stretched out forward while the other hangs: hand.two_hand_give violation naming the hand."""
    (ev,) = detect_hand_events(handover(two_hands=False))
    assert (ev.rule, ev.kind) == ("hand.two_hand_give", "violation")
    assert ev.evidence["two_hands"]["pass"] is False and ev.evidence["two_hands"]["reaching_hand"] == "right"


def test_held_pose_or_brief_reach_is_no_handover():
    """Hands that never moved out (a held pose), or out for less than min_duration_s: no event."""
    assert detect_hand_events(handover(moves=False)) == []
    assert detect_hand_events(handover(hold_s=0.0)) == []


# --- real landmarks (../shared/media, cached runs) ---------------------------------------------------------------

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"


def _clips_without(rule: str) -> List[str]:
    if not (MEDIA / "labels.yaml").exists():
        return []
    from vision.evaluate import load_labels

    return [c["file"] for c in load_labels(MEDIA / "labels.yaml")["clips"] if rule in (c.get("absent") or [])]


def _cached_events(media_runs: Path, clip: str) -> List[Event]:
    """The gesture detectors over the landmarks cached by the session's analysis of ../shared/media."""
    from vision.io.cache import load_tracks

    tracks = load_tracks(media_runs / clip.replace("/", "__"))
    return detect_hand_events(tracks.get(0) or next(iter(tracks.values())))


@pytest.mark.real
@pytest.mark.parametrize("clip", _clips_without("hand.guide_form"))
def test_no_guide_form_where_labels_say_absent(media_runs, clip):
    """Speech gestures, a clicker held out, smoking, dancing, a hug, a cashier: none is a guiding gesture."""
    assert [e.start_s for e in _cached_events(media_runs, clip) if e.rule == "hand.guide_form"] == []


@pytest.mark.real
@pytest.mark.parametrize("clip", _clips_without("hand.two_hand_give"))
def test_no_handover_where_labels_say_absent(media_runs, clip):
    """No hand.two_hand_give of either kind (the hug's two-armed reach, the cashier dropping items in a cart)."""
    assert [e.start_s for e in _cached_events(media_runs, clip) if e.rule == "hand.two_hand_give"] == []


@pytest.mark.real
@pytest.mark.skipif(not (MEDIA / "two_person" / "ntu_two_men_hugging.mp4").exists(), reason="no ../shared/media")
def test_hug_is_no_handover_from_the_real_media(tmp_path, repo_rules_path):
    """The real models on the hugging clip (about 10 s): reaching out to hug is not a hand-over."""
    from vision.io.cache import load_tracks
    from vision.pipeline import analyze
    from vision.judge.rules import load_rules

    analyze(str(MEDIA / "two_person" / "ntu_two_men_hugging.mp4"), str(tmp_path), load_rules(repo_rules_path),
            sample_fps=10.0, progress=False)
    events = detect_hand_events(load_tracks(tmp_path)[0])
    assert [e for e in events if e.rule in ("hand.two_hand_give", "hand.guide_form")] == []
