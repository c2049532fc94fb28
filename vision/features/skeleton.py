"""Pose points and the body scale shared by every feature module.

What is not in the picture is not seen. Pose landmarks below
:data:`MIN_VISIBILITY` (hands: :data:`MIN_HAND_VISIBILITY`) or outside the
frame by more than :data:`EDGE_MARGIN` are NaN: the pose model invents
out-of-frame legs, hands and heads, often with high visibility (a person seen
from the neck down still gets face points above the top edge). The face mesh
is dropped as a whole (:func:`seen_track`) when its core points (eyes, nose,
mouth) are not in the picture: the face-family features are then NaN and no
face rule is judged on an extrapolated face.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from vision.features import geometry as g
from vision.detect.landmarks import LandmarkTrack

#: Pose landmarks below this visibility are treated as not seen (the pose
#: model invents out-of-frame legs and hands with low visibility).
MIN_VISIBILITY = 0.5
#: The pose model rates its own hand points low exactly when a hand is at the
#: face (measured on the chin-on-hands clip: 0.2-0.6), so hands get a lower bar.
MIN_HAND_VISIBILITY = 0.2

#: A point counts as in the picture up to this far outside the frame (normalised
#: units, 2% of the width or height). Geometry: a landmark on a body part that
#: touches the edge (a chin at the bottom edge, a shoulder at the side) jitters
#: across it by about 1% frame to frame; a point 2% out is past the edge by more
#: than that jitter, i.e. the model extrapolated it.
EDGE_MARGIN = 0.02
#: Face-mesh points that must be in the picture for the face to count as seen:
#: nose tip, inner lips, outer eye corners, mouth corners (MediaPipe FaceMesh
#: indices). A forehead cut by the top edge of a close-up still leaves a face;
#: an eye, the nose or the mouth outside the frame does not.
FACE_CORE = [1, 13, 14, 33, 263, 61, 291]

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
    p[(vis < bar) | ~in_picture(track.pose_xyz)] = np.nan
    return p


def in_picture(xyz: np.ndarray) -> np.ndarray:
    """Per point, whether its normalised (x, y) lies inside the frame (with :data:`EDGE_MARGIN`); NaN: False."""
    xy = np.asarray(xyz)[..., :2]
    with np.errstate(invalid="ignore"):
        ok = (xy >= -EDGE_MARGIN) & (xy <= 1.0 + EDGE_MARGIN)
    return ok.all(axis=-1)


def face_in_picture(track: LandmarkTrack) -> np.ndarray:
    """Per row, whether the face mesh was found and its core points (:data:`FACE_CORE`) are in the picture."""
    return in_picture(track.face_xyz[:, FACE_CORE]).all(axis=1)


def seen_track(track: LandmarkTrack) -> LandmarkTrack:
    """The track with the face mesh NaN on rows where the face is not in the picture (see the module doc).

    Every feature module reads the landmarks through this (``table.instant_features``), so the face-family
    features (touch, eating, smile, gaze) are NaN there, never measured on an extrapolated face.
    """
    out = face_in_picture(track)
    if out.all():
        return track
    face = track.face_xyz.copy()
    face[~out] = np.nan
    return dataclasses.replace(track, face_xyz=face)


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
