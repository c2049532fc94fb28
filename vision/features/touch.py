"""Hand-to-face features: which face region a hand is at, and how close.

Face regions come from the face mesh where it was seen, else from the pose's
own face points; hand points from the hand model where it saw the hand, else
from the pose's wrist, index, pinky and thumb. So a face touch is still seen
when the hand and face models drop out, which they do exactly then. Units and
meanings are in :data:`TOUCH_FEATURES`.
"""
from __future__ import annotations

import warnings
from typing import Dict, List, Optional, Tuple

import numpy as np

from vision.features import geometry as g
from vision.detect.landmarks import LandmarkTrack
from vision.features.skeleton import (L_EAR, L_EYE, L_HAND_POSE, L_HIP, L_SH, MOUTH_L, MOUTH_R, NOSE, R_EAR, R_EYE,
                             R_HAND_POSE, R_HIP, R_SH)

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
NEAR_FACE = 0.75  # shoulder widths, see touch_features
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
# Fingertips and finger pads first; wrist and knuckles add the palm.
HAND_POINTS = [4, 8, 12, 16, 20, 3, 7, 11, 15, 19, 0, 5, 9, 13, 17]
#: Chewing, seen as the lips opening and closing while no hand is at the mouth (see :func:`chew_cycles`).
#: Lips closed below CHEW_CLOSED, open from CHEW_OPEN face heights of inner-lip gap: on the tune split closed
#: lips read 0.001-0.009 (the drinking clip before the mug, the make-up clip), so 0.015 clears the mesh's
#: jitter; a bite or a chewing stroke parts the lips by a few hundredths (CHEW_OPEN 0.03, twice the gap).
CHEW_CLOSED, CHEW_OPEN = 0.015, 0.03
#: Habitual chewing runs at about 1-2 strokes a second (the published masticatory rates, e.g. Po et al. 2011,
#: J. Dent. Res., chewing in daily life about 1.5 Hz): an opening counts when the lips were closed within the
#: last 2 s (0.5 Hz) and the previous opening is at least 1/3 s before it (3 Hz: faster flutter, as in
#: quick speech, counts not at all).
CHEW_HZ = (0.5, 3.0)


#: The pose's own face points stand in for the face mesh only this long after the mesh last saw the face (s).
#: The mesh loses a face behind a hand, which is what the pose's face is there for: on the tune split every
#: mesh-less frame inside a labelled touch in a video came 1.8 s or less after a mesh frame. With the head out of
#: the picture the pose model puts an invented face on the torso (at or below the shoulders, visibility ~1.0), and
#: the hands there read as touches: the tune videos with the head cut off (scripts/augment_eval.py --aug nohead)
#: had a mesh frame within 2 s on 14 % of their invented-face frames (both: scripts/measure_head.py). A still photo
#: has no before: its pose face is taken as it is.
MESH_GAP_S = 2.0
#: The mesh vouches for the pose's face only where the two agree: their noses at most this far apart (shoulder
#: widths). On the tune split and its 4 copies the two noses are 0.06 apart at the median and 0.28 at the 99th
#: percentile of 5525 mesh frames; a pose skeleton pieced together from two people (the arm-wrestling close-up: its
#: face on a boy in the background, the mesh on another face) reads 0.45-0.47 at the median
#: (``scripts/measure_head.py --runs RUNS --copies DIR ...``).
MESH_POSE_APART = 0.3
#: The middle of the face: nose, mouth and eyes (``hand_centre_dist``; the chin is no rival of the mouth).
CENTRE = ("nose", "mouth", "eyes")
#: The features measured against the face that are not judged where the face is not evidenced (see
#: :func:`gate_face`): every hand-to-face distance and margin, the hand height against the chin, the hand's size
#: against the face's, whether the hand model lost the hand at the face. The fingertip-to-lips distance needs the
#: mesh anyway.
FACE_GATED = ("hand_face_dist", *(f"hand_{r}_dist" for r in REGIONS), "hand_mouth_margin", "hand_nose_margin",
              "hand_ear_margin", "hand_eyes_margin", "hand_centre_dist", "hand_centre_margin", "hand_y_below_chin",
              "hand_face_size", "hand_face_lost", "mouth_object")

TOUCH_FEATURES: Dict[str, tuple] = {  # one (unit, description) line a feature, the same table shape in every feature module: data, not logic
    "hand_face_dist": ("shoulder widths", "closest hand point to any face or hair point (beyond 0.75: a lower bound)"),
    **{f"hand_{r}_dist": ("shoulder widths", f"closest hand point to the {r} region (beyond 0.75: a lower bound)")
       for r in REGIONS},
    "hand_mouth_margin": ("shoulder widths", "how much closer the hand is to the mouth than to any other face region (> 0: the mouth is what it touches)"),
    "hand_nose_margin": ("shoulder widths", "how much closer the hand is to the nose than to any other face region"),
    "hand_ear_margin": ("shoulder widths", "how much closer the hand is to the ear than to any other face region (the cheek aside)"),
    "hand_eyes_margin": ("shoulder widths", "how much closer the hand is to the eyes than to any other face region"),
    "hand_centre_dist": ("shoulder widths", "closest hand point to the nose, mouth or eyes"),
    "hand_centre_margin": ("shoulder widths", "how much closer the hand is to the nose, mouth or eyes than to the cheek, "
                           "ear or forehead (> 0: the middle of the face is what it touches; the chin is no rival)"),
    "fingertip_mouth_dist": ("shoulder widths", "thumb or index fingertip to the lips (hand model only: NaN when it lost the hand)"),
    "hand_y_below_chin": ("shoulder widths", "highest visible hand below the chin (+) or above it (-)"),
    "hands_in_front": ("0/1", "a hand is between the shoulders horizontally, below the chin, above the hips (NaN: no hand seen)"),
    "hand_face_size": ("face heights", "the wrist-to-middle-knuckle length of the hand nearest the face over the face height "
                       "(hand model only; NaN when it lost that hand): "
                       "0.3-0.55 for a hand at the face, larger for a hand held in front of it, nearer the camera"),
    "hand_face_lost": ("0/1", "the hand model lost the hand nearest the face: only the pose's hand points are there, as "
                       "round a cup or a glass at the lips (NaN: no hand seen)"),
    "call_sign": ("0/1", "a hand makes the mimed 'call' sign: thumb and little finger out, middle fingers curled (NaN: no hand seen)"),
    "face_mesh_seen": ("0/1", "the face mesh found the face in the picture on this frame, where the pose's face is "
                       "(noses within MESH_POSE_APART; NaN: nobody seen)"),
}

def face_region_points(track: LandmarkTrack, pose: np.ndarray) -> Dict[str, np.ndarray]:
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


def hand_points(track: LandmarkTrack, pose: np.ndarray) -> List[np.ndarray]:
    """Per hand, (T, 15, 2) points: the hand model where it saw the hand, else the pose's hand points."""
    out = []
    for hand_xyz, pose_idx in ((track.left_hand_xyz, L_HAND_POSE), (track.right_hand_xyz, R_HAND_POSE)):
        mesh = track.to_square(hand_xyz)[:, HAND_POINTS]
        fb = pose[:, pose_idx]
        fb = np.concatenate([fb, np.repeat(fb[:, -1:], len(HAND_POINTS) - len(pose_idx), 1)], 1)
        has = ~np.isnan(mesh[:, 0, 0])
        out.append(np.where(has[:, None, None], mesh, fb))
    return out


def touch_features(track: LandmarkTrack, pose: np.ndarray, scale: np.ndarray) -> Dict[str, np.ndarray]:
    regions = face_region_points(track, pose)
    hands = hand_points(track, pose)
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
    gaps = g.bbox_gaps(both, targets, edges[:-1])  # per region (and the oval), cheap lower bounds
    near = ~(np.fmin.reduce(gaps, axis=1) > NEAR_FACE * scale)
    d2 = g.pairwise_sq_dist(both[near], targets[near])
    cols = [slice(lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]
    for k, name in enumerate(names):
        value = gaps[:, k].astype(np.float64)
        value[near] = g.min_dist_over(d2, cols[k])
        out[f"hand_{name}_dist"] = value / scale
    whole = np.fmin.reduce(gaps, axis=1).astype(np.float64)
    whole[near] = g.min_dist_over(d2)
    out["hand_face_dist"] = whole / scale
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
    known = ~np.isnan(chin_y) & ~np.isnan(lo) & np.any(~np.isnan(both[:, :, 0]), axis=1)
    out["hands_in_front"] = np.where(known, in_front.astype(float), np.nan)
    out["call_sign"] = _call_sign(track)
    with np.errstate(all="ignore"):
        apart = g.dist(face[:, 1], pose[:, NOSE]) / scale
    agrees = ~np.isnan(face[:, 1, 0]) & ~(apart > MESH_POSE_APART)
    out["face_mesh_seen"] = np.where(np.isnan(scale), np.nan, agrees.astype(float))
    out["fingertip_mouth_dist"] = _fingertip_mouth(track, face) / scale
    out["hand_face_size"], out["hand_face_lost"] = _nearest_hand_size(track, hands, targets, face)
    # The chin is not a rival of the mouth: a hand at the lips is always near the chin too.
    for target, not_rivals in (("mouth", {"mouth", "chin"}), ("nose", {"nose"}), ("ear", {"ear", "cheek"}),
                               ("eyes", {"eyes"})):
        others = np.stack([out[f"hand_{r}_dist"] for r in FACE_REGIONS if r not in not_rivals])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[f"hand_{target}_margin"] = np.nanmin(others, axis=0) - out[f"hand_{target}_dist"]
    # The middle of the face, where a hand is a touch and the detector's "phone" is the hand itself.
    out["hand_centre_dist"] = np.fmin.reduce([out[f"hand_{r}_dist"] for r in CENTRE])
    rivals = np.stack([out[f"hand_{r}_dist"] for r in FACE_REGIONS if r not in CENTRE + ("chin",)])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out["hand_centre_margin"] = np.nanmin(rivals, axis=0) - out["hand_centre_dist"]
    return out


def mesh_gap(seen: np.ndarray, t: np.ndarray, last_seen: Optional[float] = None,
             still: bool = False) -> Tuple[np.ndarray, Optional[float]]:
    """Seconds since the face mesh last saw the face, per row (0 on a row where it did; NaN before it ever did), and
    the time it last did, carried to the next call (``last_seen``: from the call before). A still: 0."""
    if still:
        return np.zeros(len(t)), last_seen
    gap = np.full(len(t), np.nan)
    for i, (ok, ti) in enumerate(zip(seen, t)):
        if ok > 0.5:
            last_seen = float(ti)
        if last_seen is not None:
            gap[i] = float(ti) - last_seen
    return gap, last_seen


def gate_face(values: Dict[str, np.ndarray], gap: np.ndarray) -> None:
    """NaN (not judged) in the :data:`FACE_GATED` features where the face is not evidenced: the mesh has not seen it
    within :data:`MESH_GAP_S` (``gap``, from :func:`mesh_gap`), so the pose's face may be invented."""
    with np.errstate(invalid="ignore"):
        ok = gap <= MESH_GAP_S + 1e-6  # float times: 2.4 - 0.4 is a hair under or over 2
    for name in FACE_GATED:
        values[name] = np.where(ok, values[name], np.nan)


def chew_cycles(mouth_open: np.ndarray, at_mouth: np.ndarray, t: np.ndarray, window_s: float,
                from_index: int = 0) -> np.ndarray:
    """Lip openings at a chewing rate (:data:`CHEW_HZ`) in the trailing ``window_s``, counted only while no
    hand is at the mouth (the bite itself is not chewing); NaN where the lips were seen in under half the rows
    of the window. Causal, and it looks back at most 2 s before the window: a live caller holding the last
    seconds gets the offline value."""
    n = len(mouth_open)
    idx = np.arange(n)
    closed = mouth_open <= CHEW_CLOSED
    opened = mouth_open >= CHEW_OPEN  # NaN is neither: it keeps the last state
    last_closed = np.maximum.accumulate(np.where(closed, idx, -1))
    last_open = np.maximum.accumulate(np.where(opened, idx, -1))
    prev_closed = np.concatenate([[-1], last_closed[:-1]])
    prev_open = np.concatenate([[-1], last_open[:-1]])
    since_closed = t - t[np.maximum(prev_closed, 0)]
    opening = opened & (prev_closed > prev_open) & (prev_closed >= 0)  # closed before, open now
    last_opening = np.maximum.accumulate(np.where(opening, idx, -1))
    prev_opening = np.concatenate([[-1], last_opening[:-1]])
    period = np.where(prev_opening >= 0, t - t[np.maximum(prev_opening, 0)], np.inf)
    counted = opening & (since_closed <= 1.0 / CHEW_HZ[0]) & (period >= 1.0 / CHEW_HZ[1]) & ~(at_mouth > 0.5)
    cum = np.cumsum(counted)
    starts = np.searchsorted(t, t - window_s, side="right")
    count = cum - np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0)
    seen = g.trailing_mean((~np.isnan(mouth_open)).astype(float), t, window_s, from_index)
    return np.where(seen >= 0.5, count[from_index:].astype(np.float64), np.nan)


def _nearest_hand_size(track: LandmarkTrack, hands: List[np.ndarray], targets: np.ndarray,
                       face: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The hand-model size of the hand nearest the face (over the face height): the other hand, held toward the
    camera, says nothing about whether this one touches. And whether the hand model lost that hand (1: only the
    pose's hand points are there; NaN: no hand)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dists = np.stack([g.min_dist_over(g.pairwise_sq_dist(h, targets)) for h in hands])  # (2, T)
        nearest = np.argmin(np.where(np.isnan(dists), np.inf, dists), axis=0)
        model = [track.to_square(track.left_hand_xyz), track.to_square(track.right_hand_xyz)]
        sizes = np.stack([g.dist(h[:, 0], h[:, 9]) for h in model])
        size = np.take_along_axis(sizes, nearest[None], axis=0)[0]
        lost = np.take_along_axis(np.stack([np.isnan(h[:, 0, 0]) for h in model]), nearest[None], axis=0)[0]
        no_hand = np.isnan(dists).all(axis=0)
        return (np.where(no_hand, np.nan, size) / g.dist(face[:, 10], face[:, 152]),
                np.where(no_hand, np.nan, lost.astype(float)))


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


def _fingertip_mouth(track: LandmarkTrack, face: np.ndarray) -> np.ndarray:
    lips = face[:, [13, 14, 78, 308, 0, 17]]
    tips = np.concatenate([track.to_square(track.left_hand_xyz)[:, [4, 8]],
                           track.to_square(track.right_hand_xyz)[:, [4, 8]]], axis=1)
    return g.min_dist_over(g.pairwise_sq_dist(tips, lips))
