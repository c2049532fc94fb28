"""Pose points and the body scale shared by every feature module.

Pose landmarks below :data:`MIN_VISIBILITY` (hands: :data:`MIN_HAND_VISIBILITY`)
or outside the frame are NaN: the pose model invents out-of-frame legs and
hands with low visibility.
"""
from __future__ import annotations

import numpy as np

from vision.features import geometry as g
from vision.detect.landmarks import LandmarkTrack

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
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 23, 24, 25, 26, 27, 28

# Typical proportions in a frontal view, in shoulder widths, measured on
# ../shared/media (scripts/measure_proportions.py): used to estimate the body
# scale from whatever is visible.
FACE_HEIGHT_PER_SW = 0.61  # face-mesh 10 -> 152
EYE_MOUTH_PER_SW = 0.23  # pose eyes mid -> mouth mid
TORSO_PER_SW = 1.36  # shoulder mid -> hip mid


def pose_points(track: LandmarkTrack) -> np.ndarray:
    """Pose points in image heights; NaN where not visible enough or outside the frame."""
    p = track.to_square(track.pose_xyz)
    vis = np.nan_to_num(track.pose_visibility, nan=-1.0)
    bar = np.full(vis.shape[1], MIN_VISIBILITY)
    bar[L_HAND_POSE + R_HAND_POSE] = MIN_HAND_VISIBILITY
    xy = track.pose_xyz[..., :2]
    outside = np.any((xy < -0.02) | (xy > 1.02), axis=-1)
    p[(vis < bar) | outside] = np.nan
    return p


def body_scale(track: LandmarkTrack, pose: np.ndarray) -> np.ndarray:
    """Shoulder-width equivalent in image heights, per frame (see FEATURES['body_scale'])."""
    face = track.to_square(track.face_xyz)
    estimates = np.stack([
        g.dist(pose[:, L_SH], pose[:, R_SH]),
        g.dist(face[:, 10], face[:, 152]) / FACE_HEIGHT_PER_SW,
        g.dist(g.mid(pose[:, L_EYE], pose[:, R_EYE]), g.mid(pose[:, MOUTH_L], pose[:, MOUTH_R])) / EYE_MOUTH_PER_SW,
        g.dist(g.mid(pose[:, L_SH], pose[:, R_SH]), g.mid(pose[:, L_HIP], pose[:, R_HIP])) / TORSO_PER_SW,
    ], axis=1)
    return g.row_nanmedian(estimates)


def first_seen(*points: np.ndarray) -> np.ndarray:
    """Per row, the first of several (T, 2) points that is not NaN."""
    out = points[0].copy()
    for p in points[1:]:
        out = np.where(np.isnan(out), p, out)
    return out
