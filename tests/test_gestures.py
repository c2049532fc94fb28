"""Hands in service: hand features, the guiding-gesture scorer and hand-overs.

Synthetic people are built in metres in the camera frame (x right, y down,
z away; origin between the hips) facing the camera, then projected
orthographically like ``builders.py``. An arm is given in its own body frame
(out from its shoulder, forward, down) and the hand by its palm normal,
finger spread, curl and thumb bend, so every feature's right answer is known
by construction. The hand model's depth is compressed in MediaPipe, so hand
``z`` is emitted divided by ``HAND_Z_GAIN`` (what ``hands.py`` undoes).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import pytest

from vision.io.events import Event
from vision.judge.gestures import GuideGestureDetector
from vision.judge.handover import HandoverDetector
from vision.judge.gesture_registry import detect_hand_events as _detect
from vision.judge.rules import load_rules
from vision.features.hands import HAND_FEATURES, HAND_Z_GAIN, hand_features, log_dimensionless_jerk
from vision.detect.landmarks import N_FACE, N_HAND, N_POSE, FrameLandmarks, LandmarkTrack, PersonLandmarks

SW, TORSO, UPPER, FOREARM = 0.38, 0.57, 0.28, 0.26  # metres
IMAGE_WH, HIP_PX, PX_PER_M = (640, 480), (320, 400), 300.0
LEFT, UP, FWD = np.array([1.0, 0, 0]), np.array([0, -1.0, 0]), np.array([0, 0, -1.0])  # the person's axes
FPS = 10.0
#: The detectors as the repo's rules.yaml configures them (thresholds and texts live only there).
DETECTORS = load_rules(Path(__file__).resolve().parents[1] / "rules.yaml").detectors
GUIDE, HANDOVER = DETECTORS["hand.guide_form"], DETECTORS["hand.two_hand_give"]


def detect_hand_events(tr: LandmarkTrack, mirrored: bool = False, **guide_overrides) -> List[Event]:
    """The repo's gesture detectors over a track; ``guide_overrides`` change guide thresholds by name."""
    if not guide_overrides:
        return _detect(tr, DETECTORS, mirrored)
    det, events = GuideGestureDetector(GUIDE, tr.person_id, mirrored, **guide_overrides), []
    for i, row in enumerate(_rows(tr)):
        events += det.push(float(tr.timestamp_s[i]), int(tr.frame_index[i]), row)
    return events + det.finish()


def _rows(tr: LandmarkTrack):
    values = hand_features(tr)
    return [{k: float(v[i]) for k, v in values.items()} for i in range(len(tr))]


@dataclass
class Hand:
    palm: str = "up"  # "up", "down" or "in" (facing the body's midline)
    spread_deg: float = 0.0  # between neighbouring fingers
    curled: bool = False
    thumb_deg: float = 35.0  # total bend of the thumb


@dataclass
class Arm:
    """Elbow (out, forward, down from its shoulder, metres); forearm direction; hand (None: unseen)."""

    elbow: Tuple[float, float, float] = (0.03, 0.03, UPPER)
    azimuth_deg: float = -40.0  # 0 ahead, + out to this side
    drop_deg: float = 0.0  # below level
    hand: Optional[Hand] = None


def _hand_points(side: str, wrist: np.ndarray, d: np.ndarray, h: Hand) -> np.ndarray:
    n = {"up": UP, "down": -UP, "in": LEFT if side == "right" else -LEFT}[h.palm]
    n = n - np.dot(n, d) * d
    n /= np.linalg.norm(n)
    s = np.cross(d, n) if side == "right" else np.cross(n, d)  # toward the thumb (see hands.palm_normal)
    pts = np.zeros((N_HAND, 3))
    pts[0] = wrist
    for f in range(4):
        a = np.radians(h.spread_deg * (1.5 - f))
        direction = np.cos(a) * d + np.sin(a) * s
        base = wrist + 0.09 * d + (0.03 - 0.02 * f) * s
        pts[5 + 4 * f] = base
        pts[6 + 4 * f] = base + 0.03 * direction
        if h.curled:  # folded down toward the palm side and back
            pts[7 + 4 * f] = pts[6 + 4 * f] + 0.02 * n
            pts[8 + 4 * f] = pts[7 + 4 * f] + 0.015 * n - 0.015 * direction
        else:
            pts[7 + 4 * f] = base + 0.055 * direction
            pts[8 + 4 * f] = base + 0.075 * direction
    angle, step = np.radians(45.0), np.radians(h.thumb_deg) / 2  # thumb out at 45 deg, bending toward the fingers
    pts[1] = wrist + 0.02 * d + 0.02 * s
    for j, length in ((2, 0.035), (3, 0.03), (4, 0.025)):
        pts[j] = pts[j - 1] + length * (np.cos(angle) * d + np.sin(angle) * s)
        angle -= step  # the MCP and IP joints each bend by half
    return pts


def person(right: Arm = Arm(), left: Arm = Arm(), mirrored: bool = False) -> PersonLandmarks:
    """One person facing the camera; ``mirrored``: as a selfie camera shows them (MediaPipe's sides swap)."""
    world = np.full((N_POSE, 3), np.nan)
    vis = np.full(N_POSE, np.nan)
    sh_mid = TORSO * UP
    world[[11, 12]] = sh_mid + SW / 2 * LEFT, sh_mid - SW / 2 * LEFT
    world[[23, 24]] = 0.15 * LEFT, -0.15 * LEFT
    world[0] = sh_mid + 0.25 * UP + 0.08 * FWD
    hands = {}
    for side, arm, (sh, el, wr, pinky, index, thumb) in (("left", left, (11, 13, 15, 17, 19, 21)),
                                                           ("right", right, (12, 14, 16, 18, 20, 22))):
        out, fwd, down = (LEFT if side == "left" else -LEFT), FWD, -UP
        elbow = world[sh] + arm.elbow[0] * out + arm.elbow[1] * fwd + arm.elbow[2] * down
        az, dr = np.radians(arm.azimuth_deg), np.radians(arm.drop_deg)
        d = np.cos(dr) * (np.cos(az) * fwd + np.sin(az) * out) + np.sin(dr) * down
        wrist = elbow + FOREARM * d
        world[el], world[wr] = elbow, wrist
        world[[pinky, index, thumb]] = wrist + 0.08 * d
        hands[side] = _hand_points(side, wrist, d, arm.hand) if arm.hand else None
    vis[~np.isnan(world[:, 0])] = 0.99
    wh = np.array(IMAGE_WH, float)

    def image(p: np.ndarray, z_gain: float = 1.0) -> np.ndarray:
        xy = (np.asarray(HIP_PX) + PX_PER_M * p[..., :2]) / wh
        return np.concatenate([xy, PX_PER_M * p[..., 2:] / wh[0] / z_gain], axis=-1)

    nan_hand = np.full((N_HAND, 3), np.nan)
    arrays = dict(pose_xyz=image(world), pose_visibility=vis, pose_world_xyz=world,
                  face_xyz=np.full((N_FACE, 3), np.nan),
                  left_hand_xyz=image(hands["left"], HAND_Z_GAIN) if hands["left"] is not None else nan_hand,
                  right_hand_xyz=image(hands["right"], HAND_Z_GAIN) if hands["right"] is not None else nan_hand)
    if mirrored:  # the image flips; MediaPipe names each arm by how it looks, so the sides swap
        swap = np.arange(N_POSE)
        for a, b in ((11, 12), (13, 14), (15, 16), (17, 18), (19, 20), (21, 22), (23, 24)):
            swap[[a, b]] = b, a
        for k in ("pose_xyz", "pose_visibility", "pose_world_xyz"):
            arrays[k] = arrays[k][swap]
        arrays["pose_xyz"][:, 0] = 1.0 - arrays["pose_xyz"][:, 0]
        arrays["pose_world_xyz"][:, 0] *= -1
        lh, rh = arrays["right_hand_xyz"].copy(), arrays["left_hand_xyz"].copy()
        lh[:, 0], rh[:, 0] = 1.0 - lh[:, 0], 1.0 - rh[:, 0]
        arrays["left_hand_xyz"], arrays["right_hand_xyz"] = lh, rh
    return PersonLandmarks(0, **arrays)


def track(people: List[Optional[PersonLandmarks]], fps: float = FPS) -> LandmarkTrack:
    frames = [FrameLandmarks(i, i / fps, [p] if p is not None else []) for i, p in enumerate(people)]
    return LandmarkTrack.from_frames(frames, 0, IMAGE_WH)


def min_jerk(a: float, b: float, n: int) -> np.ndarray:
    s = np.linspace(0.0, 1.0, n)
    return a + (b - a) * (10 * s ** 3 - 15 * s ** 4 + 6 * s ** 5)


def guide(side: str = "right", hand: Optional[Hand] = Hand(), elbow_swing: float = 0.0, jerky: bool = False,
          mirrored: bool = False, rest_s: float = 1.0) -> LandmarkTrack:
    return track(guide_people(side, hand, elbow_swing, jerky, mirrored, rest_s))


def guide_people(side: str = "right", hand: Optional[Hand] = Hand(), elbow_swing: float = 0.0, jerky: bool = False,
                 mirrored: bool = False, rest_s: float = 1.0) -> List[PersonLandmarks]:
    """Rest, then the forearm sweeps -40 -> 60 deg about a still elbow (0.8 s), holds (0.6 s) and returns (0.8 s).

    ``elbow_swing`` (m): the elbow travels round with the forearm (the whole arm swings).
    ``jerky``: the sweep goes in three quick steps with a halt after each (1.2 s).
    """
    rest, n = int(rest_s * FPS), int(0.8 * FPS)
    if jerky:
        step = 100 / 3
        starts = (-40, -40 + step, -40 + 2 * step)
        steps = [np.concatenate([min_jerk(a, a + step, 3)[1:], np.full(2, a + step)]) for a in starts]
        sweep = np.concatenate([[-40.0]] + steps)
    else:
        sweep = min_jerk(-40, 60, n)
    az = np.concatenate([np.full(rest, -40.0), sweep, np.full(6, 60.0), min_jerk(60, -40, n), np.full(rest, -40.0)])
    people = []
    for a in az:
        r = np.radians(a)
        elbow = (0.03 + elbow_swing * np.sin(r), 0.03 + elbow_swing * (np.cos(r) - 1), UPPER)
        moving = Arm(elbow=elbow, azimuth_deg=a, hand=hand)
        still = Arm(hand=Hand())
        pair = {"right": moving, "left": still} if side == "right" else {"right": still, "left": moving}
        people.append(person(mirrored=mirrored, **pair))
    return people


REST = Arm()  # hand in front of the abdomen, forearm pointing across the body
HANGING = Arm(elbow=(0.03, 0.0, UPPER), azimuth_deg=0.0, drop_deg=90.0, hand=Hand(palm="in"))
REACH = Arm(elbow=(0.0, 0.22, 0.18), azimuth_deg=-20.0, drop_deg=-5.0, hand=Hand(palm="in"))


def _blend(a: Arm, b: Arm, w: float) -> Arm:
    return Arm(elbow=tuple((1 - w) * np.array(a.elbow) + w * np.array(b.elbow)),
               azimuth_deg=(1 - w) * a.azimuth_deg + w * b.azimuth_deg, drop_deg=(1 - w) * a.drop_deg + w * b.drop_deg,
               hand=b.hand or a.hand)


def handover(two_hands: bool = True, hold_s: float = 1.0, moves: bool = True, lag_s: float = 0.0) -> LandmarkTrack:
    return track(handover_people(two_hands, hold_s, moves, lag_s))


def handover_people(two_hands: bool = True, hold_s: float = 1.0, moves: bool = True,
                    lag_s: float = 0.0) -> List[PersonLandmarks]:
    """Rest 1 s, reach out (0.5 s), hold ``hold_s``, come back (0.5 s), rest 1 s; ``moves=False``: held throughout.

    ``lag_s``: the left hand sets off that much later (and comes back as much earlier).
    """
    w = np.concatenate([np.zeros(10), min_jerk(0, 1, 6), np.ones(int(hold_s * FPS)), min_jerk(1, 0, 6), np.zeros(10)])
    lag = int(lag_s * FPS)
    w_left = np.minimum(np.r_[np.zeros(lag), w[:len(w) - lag]], np.r_[w[lag:], np.zeros(lag)])
    if not moves:
        w = w_left = np.ones_like(w)
    return [person(right=_blend(REST, REACH, x), left=_blend(REST, REACH, y) if two_hands else HANGING)
            for x, y in zip(w, w_left)]


def guide_events(tr: LandmarkTrack, **kw) -> List[Event]:
    return [e for e in detect_hand_events(tr, **kw) if e.rule == "hand.guide_form"]


def failed(ev: Event) -> List[str]:
    return sorted(k for k, c in ev.evidence.items() if c["pass"] is False)


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
