"""Synthetic hands for the hand-feature, guiding-gesture and hand-over tests (``test_gestures.py``).

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

from vision.io.events import Event
from vision.judge.gestures import GuideGestureDetector
from vision.judge.gesture_registry import detect_hand_events as _detect
from vision.judge.rules import load_rules
from vision.features.hands import HAND_Z_GAIN, hand_features
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
