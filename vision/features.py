"""Stage 4: named, body-scaled features over time, as pure numpy functions.

``compute_features(track)`` turns a :class:`~vision.landmarks.LandmarkTrack`
into a :class:`FeatureTable`: one float array of length T per feature, NaN
wherever what the feature needs was not seen. Distances are in *shoulder
widths* (``body_scale``), never pixels. Temporal features look only at the
past (trailing windows), so a live caller that feeds the last few seconds
gets exactly the value an offline run computes. :data:`FEATURES` documents
every name with its unit.
"""
from __future__ import annotations

from dataclasses import dataclass
import warnings
from typing import Dict, List

import numpy as np

from vision import geometry as g
from vision.landmarks import LandmarkTrack

#: Pose landmarks below this visibility are treated as not seen (the pose
#: model invents out-of-frame legs and hands with low visibility).
MIN_VISIBILITY = 0.5
#: The pose model rates its own hand points low exactly when a hand is at the
#: face (measured on the chin-on-hands clip: 0.2-0.6), so hands get a lower bar.
MIN_HAND_VISIBILITY = 0.2

# MediaPipe Pose indices (the person's own left/right).
NOSE, L_EYE, R_EYE, L_EAR, R_EAR, MOUTH_L, MOUTH_R = 0, 2, 5, 7, 8, 9, 10
L_SH, R_SH, L_EL, R_EL, L_WR, R_WR = 11, 12, 13, 14, 15, 16
L_HAND_POSE, R_HAND_POSE = [15, 17, 19, 21], [16, 18, 20, 22]
L_HIP, R_HIP, L_KNEE, R_KNEE = 23, 24, 25, 26

# Face-mesh regions (canonical 468/478-point topology).
FACE_REGIONS: Dict[str, List[int]] = {
    "nose": [1, 2, 4, 5, 19, 94, 98, 327, 195, 129, 358],
    "mouth": [0, 13, 14, 17, 37, 267, 61, 291, 84, 314, 78, 308],
    "eyes": [33, 133, 159, 145, 362, 263, 386, 374, 468, 473],
    "chin": [152, 148, 377, 176, 400, 199, 175],
    "cheek": [50, 280, 205, 425, 187, 411, 123, 352],
    "forehead": [10, 67, 297, 109, 338, 151, 108, 337, 69, 299],
    "ear": [234, 454, 93, 323, 132, 361, 127, 356],
}
REGIONS = list(FACE_REGIONS) + ["hair"]
NEAR_FACE = 0.75  # shoulder widths, see _hands
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
# Fingertips and finger pads first; wrist and knuckles add the palm.
HAND_POINTS = [4, 8, 12, 16, 20, 3, 7, 11, 15, 19, 0, 5, 9, 13, 17]

# Typical proportions in a frontal view, in shoulder widths, measured on
# ../shared/media (scripts/measure_proportions.py): used to estimate the body
# scale from whatever is visible.
FACE_HEIGHT_PER_SW = 0.60  # face-mesh 10 -> 152
EYE_MOUTH_PER_SW = 0.23  # pose eyes mid -> mouth mid
TORSO_PER_SW = 1.50  # shoulder mid -> hip mid

#: name -> (unit, description). Every feature computed below is listed here.
FEATURES: Dict[str, tuple] = {
    "body_scale": ("image heights", "shoulder-width equivalent: median of the shoulder width, face height, eye-mouth and torso estimates"),
    "profile": ("0..1", "how side-on the torso is: 1 - shoulder width / body_scale (0 front, 1 profile)"),
    "facing": ("-1..1", "which image side the person faces: + right, - left (nose ahead of the ears)"),
    "trunk_pitch_deg": ("deg", "trunk (hip mid -> shoulder mid) from vertical in the sagittal plane, + forward, - backward, seen from the side (profile > 0.6; NaN in other views)"),
    "trunk_pitch_world_deg": ("deg", "the same angle from MediaPipe's 3-D world landmarks, for front and three-quarter views (biased forward when seated: compare it relative to the person's baseline)"),
    "head_height": ("shoulder widths", "ears above the shoulder line, front and three-quarter views (drops when the head sinks forward)"),
    "nose_below_ears": ("shoulder widths", "nose below the ears (grows when the head bows; pose landmarks, works on small faces)"),
    "trunk_side_deg": ("deg", "trunk from vertical in the image plane, unsigned (sideways lean in a front view)"),
    "neck_flexion_deg": ("deg", "head (shoulder mid -> ear mid) relative to the trunk, + forward/down"),
    "head_forward": ("shoulder widths", "ears ahead of the shoulders along the facing direction (side view)"),
    "shoulder_tilt_deg": ("deg", "shoulder line from horizontal, unsigned"),
    "torso_yaw_deg": ("deg", "torso turned away from the camera (world landmarks), unsigned"),
    "head_yaw_deg": ("deg", "head turned away from the camera, unsigned (face mesh, else pose)"),
    "head_pitch_deg": ("deg", "head tilted down (+) or up (-) from the face mesh"),
    "hand_face_dist": ("shoulder widths", "closest hand point to any face or hair point (beyond 0.75: a lower bound)"),
    **{f"hand_{r}_dist": ("shoulder widths", f"closest hand point to the {r} region (beyond 0.75: a lower bound)")
       for r in REGIONS},
    "mouth_open": ("face heights", "inner-lip gap"),
    "mouth_motion_2s": ("face heights", "std of mouth_open over the trailing 2 s (chewing, talking)"),
    "hand_mouth_trips_10s": ("count", "hand arrivals at the mouth (< 0.12 after > 0.3) in the trailing 10 s"),
    "hand_mouth_time_3s": ("s", "time a hand was at the mouth (< 0.12 until > 0.3) in the trailing 3 s"),
    "smile": ("mouth widths", "mouth-corner lift above the lip centre line plus widening; > 0 smiling"),
    "mouth_width": ("face widths", "mouth corner to corner over cheek to cheek"),
    "hand_y_below_chin": ("shoulder widths", "highest visible hand below the chin (+) or above it (-)"),
    "hands_in_front": ("0/1", "a hand is between the shoulders horizontally, below the chin, above the hips"),
    "hand_mouth_margin": ("shoulder widths", "how much closer the hand is to the mouth than to any other face region (> 0: the mouth is what it touches)"),
    "hand_nose_margin": ("shoulder widths", "how much closer the hand is to the nose than to any other face region"),
    "hand_ear_margin": ("shoulder widths", "how much closer the hand is to the ear than to any other face region (the cheek aside)"),
    "call_sign": ("0/1", "a hand makes the mimed 'call' sign: thumb and little finger out, middle fingers curled (NaN: no hand seen)"),
    "upper_body_only": ("0/1", "shoulders seen but hips not (head-and-shoulders framing)"),
}


@dataclass
class FeatureTable:
    """Feature values over time; every array has the length of ``timestamp_s``."""

    timestamp_s: np.ndarray
    frame_index: np.ndarray
    values: Dict[str, np.ndarray]

    def __post_init__(self) -> None:
        n = len(self.timestamp_s)
        for k, v in self.values.items():
            if v.shape != (n,):
                raise ValueError(f"feature {k}: expected shape {(n,)}, got {v.shape}")

    def __len__(self) -> int:
        return len(self.timestamp_s)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    def row(self, i: int) -> Dict[str, float]:
        return {k: float(v[i]) for k, v in self.values.items()}


def _pose(track: LandmarkTrack) -> np.ndarray:
    """Pose points in image heights; NaN where not visible enough or outside the frame."""
    p = track.to_square(track.pose_xyz)
    vis = np.nan_to_num(track.pose_visibility, nan=-1.0)
    bar = np.full(vis.shape[1], MIN_VISIBILITY)
    bar[L_HAND_POSE + R_HAND_POSE] = MIN_HAND_VISIBILITY
    xy = track.pose_xyz[..., :2]
    outside = np.any((xy < -0.02) | (xy > 1.02), axis=-1)
    p[(vis < bar) | outside] = np.nan
    return p


def _face_region_points(track: LandmarkTrack, pose: np.ndarray) -> Dict[str, np.ndarray]:
    """Region -> (T, N, 2) points; from the face mesh where seen, else from the pose."""
    face = track.to_square(track.face_xyz)
    has_mesh = ~np.isnan(face[:, 1, 0])
    eyes = g.mid(pose[:, L_EYE], pose[:, R_EYE])
    mouth = g.mid(pose[:, MOUTH_L], pose[:, MOUTH_R])
    up = eyes - mouth  # eye-to-mouth vector, pointing up the face
    fallback = {
        "nose": pose[:, [NOSE]],
        "mouth": pose[:, [MOUTH_L, MOUTH_R]],
        "eyes": pose[:, [1, 2, 3, 4, 5, 6]],
        "chin": (mouth - 0.9 * up)[:, None],
        "cheek": np.stack([g.mid(pose[:, NOSE], pose[:, L_EAR]), g.mid(pose[:, NOSE], pose[:, R_EAR])], 1),
        "forehead": (eyes + 1.0 * up)[:, None],
        "ear": pose[:, [L_EAR, R_EAR]],
    }
    out = {}
    for name, idx in FACE_REGIONS.items():
        mesh = face[:, idx]
        fb = fallback[name]
        n = max(mesh.shape[1], fb.shape[1])
        fb = np.concatenate([fb, np.repeat(fb[:, -1:], n - fb.shape[1], 1)], 1)
        out[name] = np.where(has_mesh[:, None, None], mesh, fb)
    # Hair: above the forehead, from the crown down to the temples.
    top_mesh = face[:, 10] + 0.35 * (face[:, 10] - face[:, 152])
    temple_l = face[:, 54] + 0.25 * (face[:, 10] - face[:, 152])
    temple_r = face[:, 284] + 0.25 * (face[:, 10] - face[:, 152])
    top_fb = eyes + 2.2 * up
    hair_mesh = np.stack([top_mesh, temple_l, temple_r, g.mid(top_mesh, temple_l), g.mid(top_mesh, temple_r)], 1)
    side_l, side_r = pose[:, L_EAR] + 1.3 * up, pose[:, R_EAR] + 1.3 * up
    hair_fb = np.stack([top_fb, side_l, side_r, g.mid(top_fb, side_l), g.mid(top_fb, side_r)], 1)
    out["hair"] = np.where(has_mesh[:, None, None], hair_mesh, hair_fb)
    return out


def _hand_points(track: LandmarkTrack, pose: np.ndarray) -> List[np.ndarray]:
    """Per hand, (T, 15, 2) points: the hand model where it saw the hand, else the pose's hand points."""
    out = []
    for hand_xyz, pose_idx in ((track.left_hand_xyz, L_HAND_POSE), (track.right_hand_xyz, R_HAND_POSE)):
        mesh = track.to_square(hand_xyz)[:, HAND_POINTS]
        fb = pose[:, pose_idx]
        fb = np.concatenate([fb, np.repeat(fb[:, -1:], len(HAND_POINTS) - len(pose_idx), 1)], 1)
        has = ~np.isnan(mesh[:, 0, 0])
        out.append(np.where(has[:, None, None], mesh, fb))
    return out


def _body_scale(track: LandmarkTrack, pose: np.ndarray) -> np.ndarray:
    face = track.to_square(track.face_xyz)
    estimates = np.stack([
        g.dist(pose[:, L_SH], pose[:, R_SH]),
        g.dist(face[:, 10], face[:, 152]) / FACE_HEIGHT_PER_SW,
        g.dist(g.mid(pose[:, L_EYE], pose[:, R_EYE]), g.mid(pose[:, MOUTH_L], pose[:, MOUTH_R])) / EYE_MOUTH_PER_SW,
        g.dist(g.mid(pose[:, L_SH], pose[:, R_SH]), g.mid(pose[:, L_HIP], pose[:, R_HIP])) / TORSO_PER_SW,
    ], axis=1)
    return g.row_nanmedian(estimates)


def _posture(track: LandmarkTrack, pose: np.ndarray, scale: np.ndarray) -> Dict[str, np.ndarray]:
    sh = g.mid(pose[:, L_SH], pose[:, R_SH])
    hip = g.mid(pose[:, L_HIP], pose[:, R_HIP])
    ears = g.mid(pose[:, L_EAR], pose[:, R_EAR])
    ear_any = np.where(np.isnan(ears), np.where(np.isnan(pose[:, L_EAR]), pose[:, R_EAR], pose[:, L_EAR]), ears)
    trunk = sh - hip
    profile = np.clip(1.0 - g.dist(pose[:, L_SH], pose[:, R_SH]) / scale, 0.0, 1.0)
    # Facing: the nose is ahead of the ears in a side view.
    facing = np.clip((pose[:, NOSE, 0] - ear_any[:, 0]) / (0.25 * scale), -1.0, 1.0)
    side_sign = np.sign(facing)
    image_angle = g.angle_from_vertical_deg(trunk)
    pitch_2d = image_angle * side_sign
    # World landmarks: forward = lateral x up (person's left x up points ahead).
    w = track.pose_world_xyz
    vis = track.pose_visibility
    w_ok = (vis[:, [L_SH, R_SH, L_HIP, R_HIP]] >= MIN_VISIBILITY).all(axis=1)
    wsh, whip = g.mid(w[:, L_SH], w[:, R_SH]), g.mid(w[:, L_HIP], w[:, R_HIP])
    up = wsh - whip
    lateral = (w[:, L_SH] - w[:, R_SH]) + (w[:, L_HIP] - w[:, R_HIP])
    fwd = np.cross(lateral, up)
    fwd[:, 1] = 0.0  # horizontal part
    fwd /= g.norm(fwd)[:, None]
    pitch_world = np.degrees(np.arctan2(np.sum(up * fwd, axis=1), -up[:, 1]))
    pitch_world[~w_ok] = np.nan
    trunk_pitch = np.where(profile > 0.6, pitch_2d, np.nan)
    pitch_world = np.where(profile > 0.6, np.nan, pitch_world)
    head = ear_any - sh
    cross = trunk[:, 0] * head[:, 1] - trunk[:, 1] * head[:, 0]
    neck = g.angle_between_deg(head, trunk) * np.sign(cross) * side_sign
    head_fwd = (ear_any[:, 0] - sh[:, 0]) * side_sign / scale
    shoulder_line = pose[:, L_SH] - pose[:, R_SH]
    tilt = np.degrees(np.abs(np.arctan2(shoulder_line[:, 1], np.abs(shoulder_line[:, 0]))))
    wl = w[:, L_SH] - w[:, R_SH]
    torso_yaw = np.degrees(np.abs(np.arctan2(wl[:, 2], np.abs(wl[:, 0]))))
    torso_yaw[~w_ok] = np.nan
    shoulders_seen = ~np.isnan(pose[:, L_SH, 0]) & ~np.isnan(pose[:, R_SH, 0])
    hips_seen = ~np.isnan(pose[:, L_HIP, 0]) | ~np.isnan(pose[:, R_HIP, 0])
    upper_only = np.where(shoulders_seen, (~hips_seen).astype(float), np.nan)
    return {
        "upper_body_only": upper_only,
        "profile": profile, "facing": facing, "trunk_pitch_deg": trunk_pitch, "trunk_pitch_world_deg": pitch_world,
        "head_height": np.where(profile > 0.6, np.nan, (sh[:, 1] - ear_any[:, 1]) / scale),
        "nose_below_ears": (pose[:, NOSE, 1] - ear_any[:, 1]) / scale,
        "trunk_side_deg": np.abs(image_angle) * (1.0 - profile),
        "neck_flexion_deg": np.where(profile > 0.6, neck, np.nan),
        "head_forward": np.where(profile > 0.6, head_fwd, np.nan),
        "shoulder_tilt_deg": tilt, "torso_yaw_deg": torso_yaw,
    }


def _head(track: LandmarkTrack, pose: np.ndarray) -> Dict[str, np.ndarray]:
    face = track.to_square(track.face_xyz)
    z = track.face_xyz[..., 2] * track.aspect  # mesh depth is in image widths
    mid_x = g.mid(face[:, 234, 0], face[:, 454, 0])
    half_w = np.abs(face[:, 454, 0] - face[:, 234, 0]) / 2.0
    yaw_mesh = np.degrees(np.arcsin(np.clip(np.abs(face[:, 1, 0] - mid_x) / half_w, 0.0, 1.0)))
    ear_mid = g.mid(pose[:, L_EAR], pose[:, R_EAR])
    ear_half = np.abs(pose[:, L_EAR, 0] - pose[:, R_EAR, 0]) / 2.0
    yaw_pose = np.degrees(np.arcsin(np.clip(np.abs(pose[:, NOSE, 0] - ear_mid[:, 0]) / ear_half, 0.0, 1.0)))
    one_ear = np.isnan(pose[:, L_EAR, 0]) ^ np.isnan(pose[:, R_EAR, 0])
    yaw_pose[one_ear & ~np.isnan(pose[:, NOSE, 0])] = 90.0
    head_yaw = np.where(np.isnan(yaw_mesh), yaw_pose, yaw_mesh)
    dy = face[:, 152, 1] - face[:, 10, 1]
    dz = z[:, 152] - z[:, 10]
    head_pitch = np.degrees(np.arctan2(dz, dy))
    face_h = g.dist(face[:, 10], face[:, 152])
    mouth_open = g.dist(face[:, 13], face[:, 14]) / face_h
    # Smile: corners above the line through the lip centre, in the face's own frame.
    eye_vec = face[:, 263] - face[:, 33]
    roll = np.arctan2(eye_vec[:, 1], eye_vec[:, 0])
    c, s = np.cos(-roll), np.sin(-roll)

    def rot_y(p: np.ndarray) -> np.ndarray:
        return p[:, 0] * s + p[:, 1] * c

    centre_y = (rot_y(face[:, 13]) + rot_y(face[:, 14])) / 2.0
    corners_y = (rot_y(face[:, 61]) + rot_y(face[:, 291])) / 2.0
    mouth_w = g.dist(face[:, 61], face[:, 291])
    lift = (centre_y - corners_y) / mouth_w
    width = mouth_w / g.dist(face[:, 234], face[:, 454])
    return {"head_yaw_deg": head_yaw, "head_pitch_deg": head_pitch, "mouth_open": mouth_open,
            "smile": lift + 1.5 * (width - 0.42), "mouth_width": width}


def _hands(track: LandmarkTrack, pose: np.ndarray, scale: np.ndarray) -> Dict[str, np.ndarray]:
    regions = _face_region_points(track, pose)
    hands = _hand_points(track, pose)
    both = np.concatenate(hands, axis=1)
    out: Dict[str, np.ndarray] = {}
    face = track.to_square(track.face_xyz)
    # One distance matrix against every face point; regions are column ranges of it.
    # Exact only where a hand is near the face (bounding boxes within NEAR_FACE
    # shoulder widths); elsewhere each distance is the bounding-box gap, a lower
    # bound that is already far beyond every rule's threshold.
    names = list(regions)
    sizes = [regions[n].shape[1] for n in names]
    targets = np.concatenate([*(regions[n] for n in names), face[:, FACE_OVAL]], axis=1)
    edges = np.cumsum([0] + sizes + [len(FACE_OVAL)])
    near = ~(g.bbox_gap(both, targets) > NEAR_FACE * scale)
    d = g.pairwise_dist(both[near], targets[near])
    cols = [slice(lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]
    for name, col in zip(names + ["face"], cols[:-1] + [slice(None)]):
        value = g.bbox_gap(both, targets[:, col])
        value[near] = g.min_over(d, col)
        out[f"hand_{name}_dist"] = value / scale
    chin_y = regions["chin"][:, 0, 1]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        top_y = np.nanmin(both[..., 1], axis=1)
        out["hand_y_below_chin"] = (top_y - chin_y) / scale
        l_sh, r_sh = pose[:, L_SH], pose[:, R_SH]
        lo, hi = np.fmin(l_sh[:, 0], r_sh[:, 0]), np.fmax(l_sh[:, 0], r_sh[:, 0])
        hip_y = g.mid(pose[:, L_HIP], pose[:, R_HIP])[:, 1]
        in_front = np.zeros(len(pose), dtype=bool)
        for h in hands:
            hc = np.nanmean(h, axis=1)
            in_front |= (hc[:, 0] > lo) & (hc[:, 0] < hi) & (hc[:, 1] > chin_y) & ~(hc[:, 1] > hip_y)
    known = ~np.isnan(chin_y) & ~np.isnan(lo)
    out["hands_in_front"] = np.where(known, in_front.astype(float), np.nan)
    out["call_sign"] = _call_sign(track)
    # The chin is not a rival of the mouth: a hand at the lips is always near the chin too.
    for target, not_rivals in (("mouth", {"mouth", "chin"}), ("nose", {"nose"}), ("ear", {"ear", "cheek"})):
        others = np.stack([out[f"hand_{r}_dist"] for r in FACE_REGIONS if r not in not_rivals])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[f"hand_{target}_margin"] = np.nanmin(others, axis=0) - out[f"hand_{target}_dist"]
    return out


def _finger_extended(hand: np.ndarray, tip: int, pip: int) -> np.ndarray:
    """A finger is out when its tip is farther from the wrist than its middle joint by 20 %."""
    return g.dist(hand[:, tip], hand[:, 0]) > 1.2 * g.dist(hand[:, pip], hand[:, 0])


def _call_sign(track: LandmarkTrack) -> np.ndarray:
    out = np.full(len(track), np.nan)
    for xyz in (track.left_hand_xyz, track.right_hand_xyz):
        h = track.to_square(xyz)
        seen = ~np.isnan(h[:, 0, 0])
        thumb_out = g.dist(h[:, 4], h[:, 17]) > 1.2 * g.dist(h[:, 2], h[:, 17])
        pinky = _finger_extended(h, 20, 18)
        curled = ~_finger_extended(h, 12, 10) & ~_finger_extended(h, 16, 14)
        y = (thumb_out & pinky & curled).astype(float)
        out = np.where(seen, np.fmax(np.nan_to_num(out, nan=0.0), y), out)
    return out


#: Features computed over a trailing window, and the longest window (s).
TEMPORAL = ("mouth_motion_2s", "hand_mouth_trips_10s", "hand_mouth_time_3s")
MAX_WINDOW_S = 10.0
# A trip to the mouth: the hand comes within AT_MOUTH of it after having been
# farther than AWAY_FROM_MOUTH (hysteresis, so jitter is not a trip).
AT_MOUTH, AWAY_FROM_MOUTH = 0.12, 0.3


def temporal_features(values: Dict[str, np.ndarray], t: np.ndarray, from_index: int = 0) -> Dict[str, np.ndarray]:
    """Trailing-window features over instantaneous ones, for rows ``from_index`` on.

    Causal: each row sees only the past, so a streaming caller that holds the
    last :data:`MAX_WINDOW_S` seconds gets the offline value.
    """
    d = values["hand_mouth_dist"]
    with np.errstate(invalid="ignore"):
        at_mouth = g.hysteresis(d < AT_MOUTH, ~(d <= AWAY_FROM_MOUTH))
    dt = np.clip(np.diff(t, prepend=t[0]), 0.0, 0.5)
    return {
        "mouth_motion_2s": g.trailing_std(values["mouth_open"], t, 2.0, from_index),
        "hand_mouth_trips_10s": g.count_entries(at_mouth, t, 10.0)[from_index:],
        "hand_mouth_time_3s": g.trailing_sum((at_mouth * dt).astype(float), t, 3.0, from_index),
    }


def instant_features(track: LandmarkTrack) -> Dict[str, np.ndarray]:
    """Every feature that depends on one frame only (row-wise)."""
    pose = _pose(track)
    scale = _body_scale(track, pose)
    values: Dict[str, np.ndarray] = {"body_scale": scale}
    values.update(_posture(track, pose, scale))
    values.update(_head(track, pose))
    values.update(_hands(track, pose, scale))
    return {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}


def compute_features(track: LandmarkTrack) -> FeatureTable:
    """All features of :data:`FEATURES` for one person's track."""
    values = instant_features(track)
    values.update(temporal_features(values, track.timestamp_s))
    missing = set(FEATURES) - set(values)
    assert not missing, f"features documented but not computed: {sorted(missing)}"
    return FeatureTable(track.timestamp_s.copy(), track.frame_index.copy(), values)
