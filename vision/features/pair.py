"""Two-person features: where the customer is, relative to the subject.

The customer comes as a :class:`~vision.detect.landmarks.LandmarkTrack`
aligned row by row with the subject's (NaN where the customer was not seen);
without one, every feature here is NaN except the gaze target, which then is
the fixed ``customer_side`` exactly as before tracking. Positions are the
pose's (visibility-gated, ``skeleton.pose_points``), so a customer seen only
by the multi-person pose pass (no face mesh, no hands) still counts.
Distances are in the *subject's* shoulder widths. Units and meanings are in
:data:`PAIR_FEATURES` and :data:`PAIR_TEMPORAL_FEATURES`.
"""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from vision.detect.landmarks import LandmarkTrack
from vision.features import geometry as g
from vision.features.face import CUSTOMER_SIDES
from vision.features.hands import hand_features
from vision.features.skeleton import L_HIP, R_HIP, body_scale, pose_points

#: Pose points of the head (nose, eyes, ears, mouth corners): the head is where any of them is seen.
HEAD_POINTS = list(range(11))
#: The gaze target toward a tracked customer uses the yaw convention of :data:`CUSTOMER_SIDES`: a customer
#: clearly to one side of the subject is that side's +-40 deg, one in line with the camera (in front of or
#: behind the subject) is the camera's 0. Between, linear in the lateral offset, reaching the side's value
#: at one metre aside (geometry: 1 m / 0.38 m shoulder width = 2.6 shoulder widths; people talking across
#: a desk or side by side sit about a metre or more apart).
SIDE_DEG = CUSTOMER_SIDES["right"]
FULL_SIDE_SW = 2.6
#: Walking, per person, over :data:`PACE_STEP_S` (about one step): across the image at >= 1 shoulder width
#: a second (walk.steady's gate: a third of the 1.2-1.4 m/s comfortable adult pace, Bohannon 1997), or
#: toward / away from the camera, growing or shrinking by >= 10 % a second (geometry: 0.4 m/s, the same
#: third of the pace, at 4 m from the camera changes the apparent size by 0.4 / 4 = 10 % a second).
WALK_ACROSS_SW_S = 1.0
WALK_DEPTH_PER_S = 0.10
PACE_STEP_S = 0.5

PAIR_FEATURES: Dict[str, tuple] = {  # one (unit, description) line a feature, the same table shape in every feature module: data, not logic
    "gaze_target_deg": ("deg", "where the customer is, in gaze_yaw_deg's convention (+ toward the image's right): "
                        f"from the tracked customer's head ({SIDE_DEG:g} deg at {FULL_SIDE_SW} shoulder widths or "
                        "more aside, linear below), else the customer side given; NaN: a tracked customer not "
                        "seen in this frame and no side given"),
    "customer_dx": ("shoulder widths", "customer's head across the image from the subject's (+ image right)"),
    "customer_hip_x": ("image heights", "customer's hip centre across the image, from the left edge"),
    "customer_scale": ("image heights", "customer's shoulder-width equivalent (body_scale of the customer)"),
    "customer_reach": ("shoulder widths", "the customer's wrist farther ahead of its shoulder (world landmarks, "
                       "the customer's own shoulder widths; ahead of someone facing the subject is toward them)"),
}
PAIR_TEMPORAL_FEATURES: Dict[str, tuple] = {
    "pair_walking": ("0/1", f"both walk the same way over the trailing {PACE_STEP_S} s: across the image (hips at "
                     f">= {WALK_ACROSS_SW_S} shoulder widths/s each, same direction) or toward / away from the "
                     f"camera (size changing >= {WALK_DEPTH_PER_S:.0%}/s each, same sign); NaN: either unseen"),
    "escort_ahead": ("shoulder widths", "subject's hip centre ahead of the customer's along the walking direction; "
                     "only while both walk across the image (NaN otherwise: depth is not measured)"),
    "escort_left": ("shoulder widths", "subject's hip centre toward the customer's left of the customer's; only "
                    "while both walk toward or away from the camera (NaN otherwise: walking across, the lateral "
                    "offset is depth)"),
}


def _head(pose: np.ndarray) -> np.ndarray:
    """(T, 2) mean of the head points seen; NaN where none is."""
    pts = pose[:, HEAD_POINTS]
    seen = ~np.isnan(pts[..., 0])
    with np.errstate(all="ignore"):
        out = np.nansum(np.nan_to_num(pts), axis=1) / seen.sum(axis=1)[:, None]
    out[seen.sum(axis=1) == 0] = np.nan
    return out


def gaze_target(pose: np.ndarray, scale: np.ndarray, customer_pose: Optional[np.ndarray],
                customer_side: Optional[str]) -> np.ndarray:
    """Per row, the gaze target in degrees (see :data:`PAIR_FEATURES`); NaN where the subject is not seen."""
    side = np.nan if customer_side is None else CUSTOMER_SIDES[customer_side]
    if customer_pose is None:
        return np.where(np.isnan(scale), np.nan, CUSTOMER_SIDES[customer_side or "camera"])
    dx = (_head(customer_pose)[:, 0] - _head(pose)[:, 0]) / scale
    target = SIDE_DEG * np.clip(dx / FULL_SIDE_SW, -1.0, 1.0)
    # A tracked customer not seen in a frame: the side the user gave, if any. Without it, "camera" would be
    # a guess (in a roleplay the customer is rarely the camera), so the frame is not judged (NaN).
    return np.where(np.isnan(target) & ~np.isnan(scale), side, target)


def pair_features(track: LandmarkTrack, pose: np.ndarray, scale: np.ndarray, customer: Optional[LandmarkTrack],
                  customer_side: Optional[str]) -> Dict[str, np.ndarray]:
    """The features of :data:`PAIR_FEATURES` (row-wise)."""
    n = len(track)
    if customer is None:
        nan = np.full(n, np.nan)
        return {"gaze_target_deg": gaze_target(pose, scale, None, customer_side), "customer_dx": nan,
                "customer_hip_x": nan, "customer_scale": nan, "customer_reach": nan}
    if len(customer) != n or not np.array_equal(customer.frame_index, track.frame_index):
        raise ValueError(f"customer track: expected the subject's {n} frames, row by row, got {len(customer)} "
                         f"(frames {customer.frame_index[:3].tolist()}... vs {track.frame_index[:3].tolist()}...)")
    c_pose = pose_points(customer)
    hands = hand_features(customer)
    return {
        "gaze_target_deg": gaze_target(pose, scale, c_pose, customer_side),
        "customer_dx": (_head(c_pose)[:, 0] - _head(pose)[:, 0]) / scale,
        "customer_hip_x": g.mid(c_pose[:, L_HIP, 0], c_pose[:, R_HIP, 0]),
        "customer_scale": body_scale(customer, c_pose),
        "customer_reach": np.fmax(hands["left_wrist_forward"], hands["right_wrist_forward"]),
    }


def _rate(v: np.ndarray, t: np.ndarray, from_index: int) -> np.ndarray:
    """(v now - v a step back) per second for rows ``from_index`` on; NaN where either is unseen."""
    j = np.searchsorted(t, t - PACE_STEP_S - 1e-9, side="left")[from_index:]
    dt = t[from_index:] - t[j]
    with np.errstate(all="ignore"):
        return np.where(dt > 0, (v[from_index:] - v[j]) / dt, np.nan)


def _way(hip_x: np.ndarray, scale: np.ndarray, t: np.ndarray, from_index: int) -> np.ndarray:
    """Per row: +1/-1 walking across to the image's right/left, +2/-2 toward/away from the camera, 0 not walking,
    NaN unseen."""
    with np.errstate(all="ignore"):
        across = _rate(hip_x, t, from_index) / scale[from_index:]
        depth = _rate(np.log(scale), t, from_index)
        way = np.where(np.abs(across) >= WALK_ACROSS_SW_S, np.sign(across),
                       np.where(np.abs(depth) >= WALK_DEPTH_PER_S, 2.0 * np.sign(depth), 0.0))
    return np.where(np.isnan(across) | np.isnan(depth), np.nan, way)


def pair_temporal(values: Dict[str, np.ndarray], t: np.ndarray, from_index: int = 0) -> Dict[str, np.ndarray]:
    """The features of :data:`PAIR_TEMPORAL_FEATURES` for rows ``from_index`` on (trailing, so streaming agrees)."""
    scale = values["body_scale"]
    mine = _way(values["hip_x"], scale, t, from_index)
    theirs = _way(values["customer_hip_x"], values["customer_scale"], t, from_index)
    both = np.where(np.isnan(mine) | np.isnan(theirs), np.nan, ((mine == theirs) & (mine != 0)).astype(float))
    with np.errstate(all="ignore"):
        apart = (values["hip_x"] - values["customer_hip_x"])[from_index:] / scale[from_index:]
    walking = both == 1.0
    # across: ahead is along the direction of travel; toward the camera the customer faces it, so their left is
    # the image's right, and away from it the image's left (an unmirrored image)
    ahead = np.where(walking & (np.abs(mine) == 1), apart * mine, np.nan)
    left = np.where(walking & (np.abs(mine) == 2), apart * np.sign(mine), np.nan)
    return {"pair_walking": both, "escort_ahead": ahead, "escort_left": left}
