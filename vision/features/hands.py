"""Hand and arm features for "hands in service" (conduct clause 1.3: 指引, 递送物品, 接取物品).

``hand_features(track)`` returns one float array of length T per name of
:data:`HAND_FEATURES`, NaN wherever what it needs was not seen (never 0).
Every feature depends on one frame only, so a streaming caller gets a row by
calling it on a one-frame track (see :mod:`vision.judge.gestures`).

Two sources, each used where it is strong:

* **hand shape** (palm, fingers, thumb) from the 21 hand landmarks in 3-D:
  ``x`` and ``z`` scaled to image heights like ``y``; the hand model's depth
  is compressed, so ``z`` is stretched by :data:`HAND_Z_GAIN`.
* **arm position** (wrist, elbow, forearm) from MediaPipe's world landmarks,
  in a body frame that stands upright with gravity: *out* is away from the
  body on that arm's side (horizontal, along the shoulder line), *forward* is
  horizontal and ahead of the chest, *down* is down. Distances are in
  shoulder widths (the world shoulder-to-shoulder distance). A pose point
  the 2-D pose model rates too low (``skeleton.pose_points``) is NaN here too.

``left``/``right`` are MediaPipe's, i.e. the person's own sides in an
unmirrored image; :mod:`vision.judge.gestures` swaps them for mirrored input.
:func:`log_dimensionless_jerk` measures how smooth a path over time is.
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from vision.features import geometry as g
from vision.detect.landmarks import LandmarkTrack
from vision.features.skeleton import L_EL, L_SH, L_WR, R_EL, R_SH, R_WR, pose_points

#: The hand model's ``z`` is flatter than its ``x``/``y``: stretching it by
#: this factor makes the ratios of finger-bone lengths most constant over
#: time on the cached runs (best factor 2-3 on all five measured clips).
HAND_Z_GAIN = 2.5
#: A finger counts as straight when its tip is at least this share of its
#: bone lengths away from its knuckle (1.0 = perfectly straight).
STRAIGHT_FINGER = 0.9
#: A forearm closer than this share of its length to vertical has no
#: meaningful direction in the horizontal plane: ``*_forearm_deg`` is NaN.
MIN_FOREARM_HORIZONTAL = 0.3
#: ``both_hands_forward`` defaults (``gestures.HandoverDetector`` takes its own).
#: Hands clasped in front of the abdomen measure 0.7-0.8 forward on the cached
#: runs and open-palm speech gestures 0.9-1.0, so a hand-over starts beyond them.
FORWARD_REACH = 1.1  # shoulder widths ahead of the shoulder
HANDS_APART_MAX = 1.0  # shoulder widths between the wrists
HANDS_OFF_CENTRE_MAX = 0.5  # wrists' mid point from the body's midline, shoulder widths
HEIGHT_BAND = (0.2, 1.5)  # wrist below the shoulder (chest to hips), shoulder widths

FINGERS = ((5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))  # index..little
SIDES = ("left", "right")

_hand_doc = {
    "palm_up": ("cos", "cosine of the angle between the palm normal (out of the palm) and straight up in the "
                "image (an upright camera): 1 palm up, 0 palm vertical, -1 palm down"),
    "fingers_extended": ("0..1", "share of index..little finger that are straight "
                         f"(tip >= {STRAIGHT_FINGER} of the bone lengths from the knuckle)"),
    "fingers_together": ("knuckle widths", "spread of the four fingertips: summed gaps between neighbouring tips "
                         "over summed gaps between neighbouring knuckles (about 1 together, 1.5+ spread)"),
    "thumb_bent": ("deg", "thumb flexion: bend at the thumb's MCP plus IP joints (0 straight)"),
}
_arm_doc = {  # one (unit, description) line a feature, the same table shape in every feature module: data, not logic
    "wrist_out": ("shoulder widths", "wrist away from the body on this side, from its shoulder (+ out, - across)"),
    "wrist_forward": ("shoulder widths", "wrist ahead of its shoulder, horizontal (world landmarks: noisier)"),
    "wrist_down": ("shoulder widths", "wrist below its shoulder (- above)"),
    "elbow_out": ("shoulder widths", "elbow away from the body, from its shoulder"),
    "elbow_forward": ("shoulder widths", "elbow ahead of its shoulder"),
    "elbow_down": ("shoulder widths", "elbow below its shoulder"),
    "forearm_deg": ("deg", "direction of elbow -> wrist in the horizontal plane: 0 straight ahead, +90 out to this "
                    "side, -90 across the body (NaN while the forearm is near vertical)"),
    "forearm_drop_deg": ("deg", "forearm (elbow -> wrist) below the horizontal: 0 level, 90 hanging, - raised"),
    "elbow_deg": ("deg", "elbow angle shoulder-elbow-wrist: 180 straight arm"),
}

#: name -> (unit, description). Every feature computed below is listed here.
HAND_FEATURES: Dict[str, tuple] = {
    **{f"{side}_{k}": (u, f"{side} hand: {d}") for side in SIDES for k, (u, d) in _hand_doc.items()},
    **{f"{side}_{k}": (u, f"{side} arm: {d}") for side in SIDES for k, (u, d) in _arm_doc.items()},
    "wrists_distance": ("shoulder widths", "wrist to wrist (world landmarks)"),
    "wrists_mid_offset": ("shoulder widths", "mid point of the wrists from the body's midline, + person's left"),
    "both_hands_forward": ("0/1", f"hand-over posture: both wrists at least {FORWARD_REACH} ahead of their shoulders "
                           f"and {HEIGHT_BAND[0]}-{HEIGHT_BAND[1]} below them, at most {HANDS_APART_MAX} apart, "
                           f"their mid point within {HANDS_OFF_CENTRE_MAX} of the midline (see two_hands_forward)"),
}


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / g.norm(v)[..., None]


def hand_points(track: LandmarkTrack, side: str) -> np.ndarray:
    """(T, 21, 3) hand landmarks with every axis in image heights (z stretched by HAND_Z_GAIN)."""
    xyz = np.array(getattr(track, f"{side}_hand_xyz"), dtype=np.float64)
    xyz[..., 0] *= track.aspect
    xyz[..., 2] *= track.aspect * HAND_Z_GAIN
    return xyz


def palm_normal(h: np.ndarray, side: str) -> np.ndarray:
    """Unit normal out of the palm (not the back of the hand), camera axes (x right, y down, z away).

    (index knuckle - wrist) x (little knuckle - wrist) leaves the palm of a
    right hand; a left hand is its mirror image, so its normal is negated.
    """
    n = np.cross(h[..., 5, :] - h[..., 0, :], h[..., 17, :] - h[..., 0, :])
    return _unit(n if side == "right" else -n)


def _hand_shape(h: np.ndarray, side: str) -> Dict[str, np.ndarray]:
    palm_up = -palm_normal(h, side)[..., 1]  # image y points down
    straight = []
    for mcp, pip, dip, tip in FINGERS:
        bones = g.dist(h[:, pip], h[:, mcp]) + g.dist(h[:, dip], h[:, pip]) + g.dist(h[:, tip], h[:, dip])
        ratio = g.dist(h[:, tip], h[:, mcp]) / bones
        straight.append(np.where(np.isnan(ratio), np.nan, (ratio >= STRAIGHT_FINGER).astype(float)))
    tips = sum(g.dist(h[:, FINGERS[i][3]], h[:, FINGERS[i + 1][3]]) for i in range(3))
    knuckles = sum(g.dist(h[:, FINGERS[i][0]], h[:, FINGERS[i + 1][0]]) for i in range(3))
    thumb = (g.angle_between_deg(h[:, 2] - h[:, 1], h[:, 3] - h[:, 2])
             + g.angle_between_deg(h[:, 3] - h[:, 2], h[:, 4] - h[:, 3]))
    return {"palm_up": palm_up, "fingers_extended": np.mean(straight, axis=0),
            "fingers_together": tips / knuckles, "thumb_bent": thumb}


def _world(track: LandmarkTrack) -> np.ndarray:
    """World landmarks (metres), NaN wherever the 2-D pose point is not trusted (``skeleton.pose_points``)."""
    w = np.array(track.pose_world_xyz, dtype=np.float64)
    w[np.isnan(pose_points(track)[..., 0])] = np.nan
    return w


def _arms(track: LandmarkTrack) -> Dict[str, np.ndarray]:
    w = _world(track)
    across = w[:, L_SH] - w[:, R_SH]  # toward the person's left
    sw = g.norm(across)
    lateral = across.copy()
    lateral[:, 1] = 0.0  # horizontal
    lateral = _unit(lateral)
    up = np.array([0.0, -1.0, 0.0])
    forward = np.cross(lateral, up)  # a person facing the camera: forward points at it
    out: Dict[str, np.ndarray] = {}
    wrists = {}
    for side, sign, sh, el, wr in (("left", 1.0, L_SH, L_EL, L_WR), ("right", -1.0, R_SH, R_EL, R_WR)):
        out_axis = sign * lateral
        wrists[side] = w[:, wr]
        for part, idx in (("wrist", wr), ("elbow", el)):
            d = w[:, idx] - w[:, sh]
            out[f"{side}_{part}_out"] = _dot(d, out_axis) / sw
            out[f"{side}_{part}_forward"] = _dot(d, forward) / sw
            out[f"{side}_{part}_down"] = d[:, 1] / sw
        fa = w[:, wr] - w[:, el]
        f_out, f_fwd = _dot(fa, out_axis), _dot(fa, forward)
        deg = np.degrees(np.arctan2(f_out, f_fwd))
        flat = np.hypot(f_out, f_fwd) >= MIN_FOREARM_HORIZONTAL * g.norm(fa)
        out[f"{side}_forearm_deg"] = np.where(flat, deg, np.nan)
        out[f"{side}_forearm_drop_deg"] = np.degrees(np.arctan2(fa[:, 1], np.hypot(f_out, f_fwd)))
        out[f"{side}_elbow_deg"] = g.angle_between_deg(w[:, sh] - w[:, el], fa)
    out["wrists_distance"] = g.dist(wrists["left"], wrists["right"]) / sw
    centre = g.mid(w[:, L_SH], w[:, R_SH])
    out["wrists_mid_offset"] = _dot(g.mid(wrists["left"], wrists["right"]) - centre, lateral) / sw
    out["both_hands_forward"] = two_hands_forward(out)
    return out


def two_hands_forward(values: Dict[str, np.ndarray], forward_min: float = FORWARD_REACH,
                      height_band: Tuple[float, float] = HEIGHT_BAND, apart_max: float = HANDS_APART_MAX,
                      off_centre_max: float = HANDS_OFF_CENTRE_MAX) -> np.ndarray:
    """1 where both hands are held out forward together in front of the body, 0 where not, NaN where unseen.

    ``values`` holds the arm features of :data:`HAND_FEATURES` (arrays or one row of floats).
    """
    lo, hi = height_band
    names = [f"{s}_wrist_{k}" for s in SIDES for k in ("forward", "down")] + ["wrists_distance", "wrists_mid_offset"]
    v = {k: np.asarray(values[k], dtype=np.float64) for k in names}
    with np.errstate(invalid="ignore"):
        ok = (v["wrists_distance"] <= apart_max) & (np.abs(v["wrists_mid_offset"]) <= off_centre_max)
        for side in SIDES:
            down = v[f"{side}_wrist_down"]
            ok &= (v[f"{side}_wrist_forward"] >= forward_min) & (down >= lo) & (down <= hi)
    seen = ~np.isnan(sum(v.values()))
    return np.where(seen, ok.astype(np.float64), np.nan)


def hand_features(track: LandmarkTrack) -> Dict[str, np.ndarray]:
    """Every feature of :data:`HAND_FEATURES` for one person's track (row-wise, float64)."""
    values: Dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for side in SIDES:
            for k, v in _hand_shape(hand_points(track, side), side).items():
                values[f"{side}_{k}"] = v
        values.update(_arms(track))
    missing = set(HAND_FEATURES) ^ set(values)
    assert not missing, f"hand features documented but not computed (or the reverse): {sorted(missing)}"
    return {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}


#: The wrist path is resampled at this rate before its jerk is taken, so the
#: value does not depend on the input's frame rate (differentiating three
#: times amplifies landmark jitter by 1/dt^3).
JERK_RATE_HZ = 10.0


def log_dimensionless_jerk(t: np.ndarray, p: np.ndarray) -> float:
    """ln(D^3 / v_peak^2 * integral |jerk|^2 dt) of a path ``p`` (N, k) sampled at times ``t``.

    Scale-free; higher is jerkier (one minimum-jerk stroke: 4.4-5.5 at
    :data:`JERK_RATE_HZ`). The path is resampled at that rate; NaN rows are
    interpolated when at most a third are missing. NaN when fewer than 5
    samples span the path or nothing moved.
    """
    seen = ~np.isnan(p).any(axis=1)
    dt = 1.0 / JERK_RATE_HZ
    grid = t[0] + dt * np.arange(int(np.floor((t[-1] - t[0]) / dt + 1e-6)) + 1)
    if len(grid) < 5 or seen.sum() < max(2, len(t) * 2 / 3):
        return float("nan")
    q = np.stack([np.interp(grid, t[seen], p[seen, k]) for k in range(p.shape[1])], axis=1)
    v_peak = float(np.max(np.linalg.norm(np.diff(q, axis=0), axis=1))) / dt
    jerk = np.diff(q, 3, axis=0) / dt ** 3
    if v_peak <= 0:
        return float("nan")
    return float(np.log((grid[-1] - grid[0]) ** 3 / v_peak ** 2 * np.sum(jerk * jerk) * dt))
