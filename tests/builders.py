"""Synthetic landmarks whose right answer is known by construction.

A person is built in metres in a body frame, rotated by the requested trunk
pitch / side lean / neck flexion / facing, then projected orthographically
into the image (``px_per_m`` pixels per metre, hips at ``hip_px``) and
normalised by the image size, exactly as MediaPipe reports them:

* pose: 33 points, normalised ``x, y`` (+ relative ``z``), visibility, and
  world coordinates in metres (origin between the hips, y down, camera axes);
* face mesh: every index :mod:`vision.features.table` reads is placed on purpose;
  the rest of the 478 points sit on an ellipse inside the face;
* hands: 21 points, the index fingertip at the target, the rest of the hand
  extending away from it.

Proportions match ``features.py``'s constants, so ``body_scale`` is exactly
one shoulder width (``SW`` metres) in a front or side view. Anything not seen
is NaN, never zero.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from vision.features import skeleton as S
from vision.features.table import FeatureTable
from vision.detect.landmarks import N_FACE, N_HAND, N_POSE, FrameLandmarks, LandmarkTrack, PersonLandmarks

SW = 0.38  # shoulder width, metres
TORSO = S.TORSO_PER_SW * SW  # shoulder mid above hip mid
NECK = 0.20  # shoulder mid -> head centre (between the ears)
FACE_H = S.FACE_HEIGHT_PER_SW * SW  # mesh 10 -> 152
EYE_B = 0.03  # eye line above the head centre
MOUTH_B = EYE_B - S.EYE_MOUTH_PER_SW * SW  # mouth line
CHEEK_W = 0.14  # mesh 234 -> 454
MOUTH_W = 0.42 * CHEEK_W  # neutral mouth width: ``smile`` is 0 there
IMAGE_WH = (640, 480)
VISIBLE, HIDDEN = 0.99, 0.05

# Face-mesh points in the head frame (a: person's left, b: up, c: forward), metres. 234/454 sit
# 0.07 m (their half distance) behind the nose tip, so head_yaw_deg is exact for small turns.
_FACE: Dict[int, Tuple[float, float, float]] = {
    # forehead, temples
    10: (0, FACE_H / 2 + 0.006, 0.08), 151: (0, 0.095, 0.09), 67: (-0.04, 0.11, 0.07), 297: (0.04, 0.11, 0.07),
    109: (-0.02, 0.115, 0.075), 338: (0.02, 0.115, 0.075), 108: (-0.02, 0.09, 0.085), 337: (0.02, 0.09, 0.085),
    69: (-0.045, 0.09, 0.075), 299: (0.045, 0.09, 0.075), 54: (-0.06, 0.10, 0.05), 284: (0.06, 0.10, 0.05),
    # eyes (33/133 the person's right eye, 263/362 the left), irises
    33: (-0.05, EYE_B, 0.08), 133: (-0.015, EYE_B, 0.08), 159: (-0.032, EYE_B + 0.006, 0.08),
    145: (-0.032, EYE_B - 0.006, 0.08), 468: (-0.032, EYE_B, 0.08), 263: (0.05, EYE_B, 0.08),
    362: (0.015, EYE_B, 0.08), 386: (0.032, EYE_B + 0.006, 0.08), 374: (0.032, EYE_B - 0.006, 0.08),
    473: (0.032, EYE_B, 0.08),
    # nose (1 = tip)
    1: (0, -0.02, 0.12), 2: (0, -0.03, 0.105), 4: (0, -0.01, 0.115), 5: (0, 0.0, 0.11), 19: (0, -0.022, 0.115),
    94: (0, -0.028, 0.105), 98: (-0.015, -0.025, 0.10), 327: (0.015, -0.025, 0.10), 195: (0, 0.015, 0.10),
    129: (-0.018, -0.018, 0.10), 358: (0.018, -0.018, 0.10),
    # chin (152 = bottom)
    152: (0, -FACE_H / 2 + 0.006, 0.08), 148: (-0.025, -0.10, 0.075), 377: (0.025, -0.10, 0.075),
    176: (-0.015, -0.105, 0.078), 400: (0.015, -0.105, 0.078), 199: (0, -0.095, 0.085), 175: (0, -0.10, 0.083),
    # cheeks (cheekbones, above the nose tip)
    50: (-0.045, 0.0, 0.075), 280: (0.045, 0.0, 0.075), 205: (-0.04, 0.005, 0.08), 425: (0.04, 0.005, 0.08),
    187: (-0.055, 0.0, 0.06), 411: (0.055, 0.0, 0.06), 123: (-0.055, 0.01, 0.06), 352: (0.055, 0.01, 0.06),
    # face sides by the ears (234 the person's right)
    234: (-CHEEK_W / 2, 0.0, 0.05), 454: (CHEEK_W / 2, 0.0, 0.05), 93: (-0.07, -0.02, 0.02), 323: (0.07, -0.02, 0.02),
    132: (-0.065, -0.05, 0.03), 361: (0.065, -0.05, 0.03), 127: (-0.072, 0.02, 0.015), 356: (0.072, 0.02, 0.015),
}
#: Where ``hand_at=<region>`` puts the fingertip, and where the hand comes from (a, b).
ANCHORS = {"nose": (1, (-1, 0)), "mouth": (17, (0, -1)), "eyes": (33, (-1, 0)), "chin": (152, (0, -1)),
           "cheek": (50, (-1, 0)), "forehead": (69, (-1, 0)), "ear": (234, (-1, 0)), "hair": ("hair", (0, 1))}
# Body anchors in the (unrotated) body frame: (a, b, c) from the hip mid.
BODY = {"lap": (-0.10, 0.05, 0.30), "hip": (-0.25, 0.05, 0.0), "chest": (0.0, TORSO - 0.25, 0.20)}


def _mouth(mouth_open: float, smile: float) -> Dict[int, Tuple[float, float, float]]:
    gap, lift, w = mouth_open * FACE_H, smile * MOUTH_W, MOUTH_W / 2
    b = MOUTH_B
    return {13: (0, b + gap / 2, 0.10), 14: (0, b - gap / 2, 0.10), 0: (0, b + gap / 2 + 0.012, 0.10),
            17: (0, b - gap / 2 - 0.013, 0.095), 61: (-w, b + lift, 0.09), 291: (w, b + lift, 0.09),
            78: (-w + 0.005, b + lift, 0.095), 308: (w - 0.005, b + lift, 0.095), 37: (-0.012, b + 0.011, 0.10),
            267: (0.012, b + 0.011, 0.10), 84: (-0.012, b - 0.011, 0.095), 314: (0.012, b - 0.011, 0.095)}


def _frame(yaw: float, pitch: float, roll: float):
    """Orthonormal (left, up, forward) in camera axes (x right, y down, z away)."""
    f = np.array([np.sin(yaw), 0.0, -np.cos(yaw)])
    u = np.array([0.0, -1.0, 0.0])
    left = np.cross(u, f)
    u, f = u * np.cos(pitch) + f * np.sin(pitch), f * np.cos(pitch) - u * np.sin(pitch)
    u, left = u * np.cos(roll) + left * np.sin(roll), left * np.cos(roll) - u * np.sin(roll)
    return left, u, f


def _hand(tip: np.ndarray, away: np.ndarray, shape: str) -> np.ndarray:
    """21 hand points (metres, camera axes): index tip at ``tip``, wrist 0.18 m along ``away``."""
    d = away / np.linalg.norm(away)
    p = np.array([-d[1], d[0], 0.0])  # perpendicular, in the image plane
    wrist = tip + 0.18 * d
    pts = np.zeros((N_HAND, 3))
    pts[0] = wrist
    for finger, side in enumerate((0.0, 0.02, 0.04, 0.06)):  # index, middle, ring, little
        base = 5 + 4 * finger
        curled = (shape == "call" and finger in (0, 1, 2)) or (shape == "point" and finger > 0)
        for j, r in enumerate((0.09, 0.12, 0.15, 0.18)):  # MCP, PIP, DIP, tip
            r = 0.10 - 0.01 * j if curled and j > 0 else r  # folded back into the palm
            pts[base + j] = wrist - r * d + side * p
    thumb_out = 0.11 if shape == "call" else 0.07
    for j, r in enumerate((0.03, 0.05, 0.07, 0.09)):
        pts[1 + j] = wrist - r * d - (0.02 + thumb_out * (j + 1) / 4) * p
    return pts


def make_person(trunk_pitch_deg: float = 0.0, facing: Union[str, float] = "front", side_lean_deg: float = 0.0,
                neck_flexion_deg: float = 0.0, head_yaw_deg: float = 0.0, hand_at: Union[None, str, Tuple[float, float]] = "lap",
                hand_dist: float = 0.0, hand_model: bool = True, hand_shape: str = "point",
                other_hand: Optional[str] = None, mouth_open: float = 0.0, smile: float = 0.0,
                face: bool = True, hips_visible: bool = True, image_wh: Tuple[int, int] = IMAGE_WH,
                hip_px: Tuple[float, float] = (320, 360), px_per_m: float = 300.0,
                person_id: int = 0) -> PersonLandmarks:
    """One person in one frame.

    ``facing``: 'front', 'right' / 'left' (side view, facing that image side) or a yaw in degrees.
    ``head_yaw_deg``: the head turned this far about the neck's axis, + toward the person's left, the trunk
    unmoved.
    ``hand_at``: the person's right hand at a face region (``ANCHORS``), a body place
    (``BODY``), normalised image ``(x, y)``, or None (not seen). ``hand_dist`` (shoulder widths)
    moves the fingertip that far from the target, in the direction the hand comes from.
    ``hand_model=False``: only the pose model saw the hand. ``other_hand``: a ``BODY`` place or None.
    """
    yaw = np.radians({"front": 0.0, "right": 90.0, "left": -90.0}.get(facing, facing))
    L0, U0, F0 = _frame(yaw, 0.0, 0.0)
    L, U, _ = _frame(yaw, np.radians(trunk_pitch_deg), np.radians(side_lean_deg))
    Lh, Uh, Fh = _frame(yaw, np.radians(trunk_pitch_deg + neck_flexion_deg), np.radians(side_lean_deg))
    turn = np.radians(head_yaw_deg)  # about the neck's own axis Uh: the head centre stays, the face turns
    Lh, Fh = Lh * np.cos(turn) - Fh * np.sin(turn), Fh * np.cos(turn) + Lh * np.sin(turn)
    sh_mid = TORSO * U
    head = sh_mid + NECK * Uh

    def hp(a, b, c):  # head frame -> world
        return head + a * Lh + b * Uh + c * Fh

    world = np.zeros((N_POSE, 3))
    vis = np.full(N_POSE, VISIBLE)
    mouth = _mouth(mouth_open, smile)
    for i, (a, b, c) in {0: _FACE[1], 1: (0.015, EYE_B, 0.09), 2: (0.032, EYE_B, 0.09), 3: (0.05, EYE_B, 0.09),
                         4: (-0.015, EYE_B, 0.09), 5: (-0.032, EYE_B, 0.09), 6: (-0.05, EYE_B, 0.09),
                         7: (0.075, 0.01, 0.0), 8: (-0.075, 0.01, 0.0),
                         9: (MOUTH_W / 2, MOUTH_B, 0.09), 10: (-MOUTH_W / 2, MOUTH_B, 0.09)}.items():
        world[i] = hp(a, b, c)
    world[11], world[12] = sh_mid + SW / 2 * L, sh_mid - SW / 2 * L
    for i, (a, b, c) in {23: (0.15, 0, 0), 24: (-0.15, 0, 0), 25: (0.12, 0.05, 0.45), 26: (-0.12, 0.05, 0.45),
                         27: (0.12, -0.35, 0.45), 28: (-0.12, -0.35, 0.45), 29: (0.12, -0.37, 0.42),
                         30: (-0.12, -0.37, 0.42), 31: (0.12, -0.38, 0.55), 32: (-0.12, -0.38, 0.55)}.items():
        world[i] = a * L0 + b * U0 + c * F0
    if not hips_visible:
        vis[23:] = HIDDEN

    # face mesh
    mesh = np.full((N_FACE, 3), np.nan)
    placed = {**_FACE, **mouth}
    k = np.arange(N_FACE) * 2 * np.pi / N_FACE
    for i in range(N_FACE):  # filler: an ellipse inside the face
        a, b, c = placed.get(i, (0.05 * np.cos(k[i]), 0.08 * np.sin(k[i]), 0.07))
        mesh[i] = hp(a, b, c)
    crown = mesh[10] + 0.35 * (mesh[10] - mesh[152])  # features.py's hair top

    # hands: (person's right, left) as MediaPipe's (right_hand_xyz, left_hand_xyz)
    hands: List[Optional[np.ndarray]] = []
    for where, mirror in ((hand_at, 1), (other_hand, -1)):  # BODY places are for the right hand
        if where is None:
            hands.append(None)
            continue
        if isinstance(where, str) and where in ANCHORS:
            idx, (da, db) = ANCHORS[where]
            target = crown if idx == "hair" else mesh[idx]
            away = da * Lh + db * Uh
            if np.hypot(away[0], away[1]) < 0.3:  # comes from the side but we see the side: from the front
                away = Fh
        elif isinstance(where, str):
            a, b, c = BODY[where]
            target = mirror * a * L0 + b * U0 + c * F0
            away = -U0
        else:  # normalised image point, hand hanging below it
            x, y = where
            target = np.array([(x * image_wh[0] - hip_px[0]) / px_per_m, (y * image_wh[1] - hip_px[1]) / px_per_m, 0])
            away = -U0
        away = np.array([away[0], away[1], 0.0])
        away /= np.linalg.norm(away)
        hands.append(_hand(target + hand_dist * SW * away, away, hand_shape))
    for (pose_idx, pts) in (((16, 18, 20, 22), hands[0]), ((15, 17, 19, 21), hands[1])):
        if pts is None:
            world[list(pose_idx)] = world[11] + (0, 0.3, 0.1)
            vis[list(pose_idx)] = HIDDEN
        else:
            world[list(pose_idx)] = pts[[0, 17, 5, 2]]
    world[13], world[14] = world[11] + (0, 0.25, 0.05), world[12] + (0, 0.25, 0.05)  # elbows

    wh = np.array(image_wh, float)

    def to_image(p):
        xy = (np.asarray(hip_px) + px_per_m * p[..., :2]) / wh
        return np.concatenate([xy, px_per_m * p[..., 2:] / wh[0]], axis=-1)

    nan_hand = np.full((N_HAND, 3), np.nan)
    return PersonLandmarks(
        person_id, pose_xyz=to_image(world), pose_visibility=vis, pose_world_xyz=world,
        face_xyz=to_image(mesh) if face else np.full((N_FACE, 3), np.nan),
        right_hand_xyz=to_image(hands[0]) if hands[0] is not None and hand_model else nan_hand,
        left_hand_xyz=to_image(hands[1]) if hands[1] is not None and hand_model else nan_hand)


Spec = Union[None, dict, PersonLandmarks]


def make_frames(specs: Sequence[Spec], fps: float = 10.0, image_wh: Tuple[int, int] = IMAGE_WH,
                t0: float = 0.0) -> List[FrameLandmarks]:
    """Frames ``i / fps`` apart; a spec is make_person kwargs, a PersonLandmarks, or None (nobody)."""
    out, cache = [], {}
    for i, spec in enumerate(specs):
        if spec is None:
            people = []
        elif isinstance(spec, PersonLandmarks):
            people = [spec]
        else:
            key = repr(sorted(spec.items()))
            if key not in cache:
                cache[key] = make_person(image_wh=image_wh, **spec)
            people = [cache[key]]
        out.append(FrameLandmarks(i, t0 + i / fps, people))
    return out


def make_track(specs: Sequence[Spec], fps: float = 10.0, image_wh: Tuple[int, int] = IMAGE_WH,
               t0: float = 0.0) -> LandmarkTrack:
    """A LandmarkTrack of person 0; ``None`` specs are frames where nobody was seen (all NaN)."""
    return LandmarkTrack.from_frames(make_frames(specs, fps, image_wh, t0), 0, image_wh)


def segments(*parts: Tuple[float, Spec], fps: float = 10.0) -> List[Spec]:
    """``segments((3.0, upright), (2.0, slouch))`` -> one spec per frame."""
    return [spec for seconds, spec in parts for _ in range(int(round(seconds * fps)))]


def feature_table(fps: float = 10.0, **columns: Sequence[float]) -> FeatureTable:
    """A FeatureTable straight from feature columns (for engine tests), times ``i / fps``."""
    n = len(next(iter(columns.values())))
    return FeatureTable(np.arange(n) / fps, np.arange(n),
                        {k: np.asarray(v, dtype=np.float64) for k, v in columns.items()})


# --- object evidence: what the object detector would have stored ---------------------------------------------
def with_object(person: PersonLandmarks, group: Optional[str] = None, crop: str = "right_hand", score: float = 0.8,
                box: Optional[Tuple[float, float, float, float]] = None, looked: Sequence[str] = (
                    "left_hand", "right_hand", "mouth")) -> PersonLandmarks:
    """A copy of ``person`` as if the object detector ran on the ``looked`` crops (score 0: nothing there) and found
    a ``group`` object (or nothing, None) in ``crop``; ``box`` in normalised image coordinates (default: a small
    box on the person's mouth for crop ``mouth``, else on the right wrist)."""
    from vision.detect.objects import CROP_NAMES, GROUP_NAMES

    objects = np.full(person.objects.shape, np.nan, np.float32)
    for c in looked:
        objects[:, CROP_NAMES.index(c), 0] = 0.0
    if group is not None:
        if box is None:
            x, y = (person.pose_xyz[[9, 10], :2].mean(axis=0) if crop == "mouth" else person.pose_xyz[16, :2])
            box = (x - 0.02, y - 0.02, x + 0.02, y + 0.02)
        objects[GROUP_NAMES.index(group), CROP_NAMES.index(crop)] = (score, *box)
    return dataclasses.replace(person, objects=objects)


def object_runs(specs: Sequence[PersonLandmarks], fps: float = 10.0, rate_hz: float = 2.0) -> List[PersonLandmarks]:
    """The object evidence kept only on the frames the detector runs on (``rate_hz``), NaN (not run) elsewhere."""
    every = max(1, int(round(fps / rate_hz)))
    return [p if i % every == 0 else dataclasses.replace(p, objects=np.full(p.objects.shape, np.nan, np.float32))
            for i, p in enumerate(specs)]


# --- movements: a nod, sitting down, a walk ---------------------------------------------------------------------
THIGH = SHANK = 0.45  # metres


def min_jerk(tau: np.ndarray) -> np.ndarray:
    """The minimum-jerk profile 0 -> 1 over tau in [0, 1] (smooth human point-to-point movement)."""
    tau = np.clip(tau, 0.0, 1.0)
    return 10 * tau ** 3 - 15 * tau ** 4 + 6 * tau ** 5


def nodding(amplitude_deg: float, period_s: float, seconds: float, fps: float = 10.0, **kw) -> List[dict]:
    """Specs of a head nodding down and back up (neck flexion 0 -> amplitude -> 0, a raised cosine) each period."""
    t = np.arange(int(round(seconds * fps))) / fps
    flex = amplitude_deg * (1 - np.cos(2 * np.pi * t / period_s)) / 2
    return [dict(neck_flexion_deg=round(float(f), 3), **kw) for f in flex]


def with_legs(person: PersonLandmarks, thigh_deg: float, px_per_m: float, forward: float = 1.0) -> PersonLandmarks:
    """Knees and feet of someone whose shanks stand vertical on the floor and whose thighs are ``thigh_deg`` from
    vertical (0 standing, 90 seated), toward image x ``forward`` (+1: the person faces the image's right)."""
    from dataclasses import replace

    pose, world = person.pose_xyz.copy(), person.pose_world_xyz.copy()
    th = np.radians(thigh_deg)
    for hip, knee, ankle, heel, toe in ((23, 25, 27, 29, 31), (24, 26, 28, 30, 32)):
        offsets = {knee: (forward * THIGH * np.sin(th), THIGH * np.cos(th))}
        offsets[ankle] = (offsets[knee][0], offsets[knee][1] + SHANK)
        offsets[heel] = (offsets[ankle][0] - forward * 0.03, offsets[ankle][1] + 0.02)
        offsets[toe] = (offsets[ankle][0] + forward * 0.12, offsets[ankle][1] + 0.02)
        for i, (dx, dy) in offsets.items():
            pose[i, 0] = pose[hip, 0] + dx * px_per_m / IMAGE_WH[0]
            pose[i, 1] = pose[hip, 1] + dy * px_per_m / IMAGE_WH[1]
            world[i] = world[hip] + (dx, dy, 0.0)
    return replace(person, pose_xyz=pose, pose_world_xyz=world)


def sitting_down(descent_s: float, before_s: float = 2.0, after_s: float = 3.0, fps: float = 10.0,
                 px_per_m: float = 200.0, **kw) -> List[PersonLandmarks]:
    """Side view: standing, then the thighs turn 0 -> 90 deg (minimum-jerk, over ``descent_s``) with the feet
    on the floor, so the hips drop a thigh length onto a seat; then seated. The hip drop is
    THIGH * (1 - cos(thigh angle)) by construction."""
    n = int(round((before_s + descent_s + after_s) * fps))
    t = np.arange(n) / fps
    out = []
    for ti in t:
        deg = 90.0 * float(min_jerk(np.array((ti - before_s) / descent_s)))
        drop_m = THIGH * (1 - np.cos(np.radians(deg)))
        p = make_person(facing="right", px_per_m=px_per_m, hip_px=(300, 150 + drop_m * px_per_m), **kw)
        out.append(with_legs(p, deg, px_per_m))
    return out


def walking(speeds_m_s: Sequence[float], phase_s: float, seconds: float, fps: float = 10.0,
            px_per_m: float = 100.0, x0_px: float = 150.0, **kw) -> List[PersonLandmarks]:
    """Side view, legs straight under the hips, the whole person crossing the image to the right at
    ``speeds_m_s[k]`` during phase k (each ``phase_s`` long, cycling): one speed is a steady pace."""
    n = int(round(seconds * fps))
    x, out = x0_px, []
    for i in range(n):
        p = make_person(facing="right", px_per_m=px_per_m, hip_px=(x, 240), **kw)
        out.append(with_legs(p, 0.0, px_per_m))
        x += speeds_m_s[int(i / fps / phase_s) % len(speeds_m_s)] * px_per_m / fps
    return out


def jittered(specs: Sequence[Spec], sigma: float, seed: int = 0, image_wh: Tuple[int, int] = IMAGE_WH) -> List[Spec]:
    """The same frames with Gaussian noise of std ``sigma`` (image units) on every seen image and world point,
    the way a landmark model jitters on a still person; None stays None (nobody)."""
    rng = np.random.default_rng(seed)
    out: List[Spec] = []
    for frame in make_frames(specs, image_wh=image_wh):
        if not frame.people:
            out.append(None)
            continue
        p = frame.people[0]
        noisy = {n: getattr(p, n) + rng.normal(0, sigma, getattr(p, n).shape).astype(np.float32)
                 for n in ("pose_xyz", "pose_world_xyz", "face_xyz", "left_hand_xyz", "right_hand_xyz")}
        out.append(dataclasses.replace(p, **noisy))
    return out


def ear_touch_detector(image_wh: Tuple[int, int], hip_px: Tuple[float, float], px_per_m: float):
    """A stand-in for the MediaPipe detector (``pipeline.analyze``'s ``detector_factory``): one person inside the
    picture with a hand at the ear, on every frame. A class, so tests can subclass it."""

    class EarTouchEveryFrame:
        def __init__(self, still_images=False):
            self.person = make_person(hand_at="ear", image_wh=image_wh, hip_px=hip_px, px_per_m=px_per_m)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def detect(self, image_bgr, timestamp_s):
            return [self.person]

    return EarTouchEveryFrame
