"""Trunk and neck angles from MediaPipe's 3-D world landmarks, the same in every camera view.

MediaPipe's world landmarks (``pose_world_xyz``) are metres, centred between the hips, with the camera's axes:
x right, y down, z away from the camera. The angles here are measured in the *person's own* body frame built from
those points, never in the image:

* ``up``: the trunk axis, hip mid -> shoulder mid;
* ``forward``: horizontal, square to the person's shoulder-and-hip line (the line's normal, ``left x vertical``),
  pointing the way the nose points (the nose only picks which of the two normals, against the ears' mid point: a
  head turned less than 90 deg from the trunk keeps the nose on the forward side, so turning the head never flips
  the sign; it matters where the model swapped left and right);
* the sagittal plane is (vertical, forward), the frontal plane (vertical, the person's left).

View independence: a camera at another yaw around the person (front, three-quarter, side) sees the same body
rotated about the vertical axis. Every vector above turns with it, and the angles are between vectors of the body
frame and the vertical, which the rotation leaves in place: the angles do not change (a rotation about y keeps
dot products and the y component). Only the camera's own tilt would bias them (the world frame's y is the
camera's down): a level camera is assumed, as every rule on trunk angles did before.

Sign conventions (degrees): ``trunk_flexion_deg`` + forward (flexion), - backward (extension), 0 upright;
``neck_flexion_3d_deg`` the head (shoulder mid -> ear mid) against the trunk in the sagittal plane, + forward/down,
- back; ``trunk_lateral_deg`` sideways bend out of the sagittal plane, unsigned.

A landmark counts only where the pose model saw it (visibility at least :data:`~vision.features.skeleton.MIN_VISIBILITY`
and in the picture, as :func:`~vision.features.skeleton.pose_points` decides): the trunk needs both shoulders and
both hips, the neck also both ears; otherwise the angle is NaN and no rule is judged on it.

A trunk that points more than :data:`TRUNK_MAX_INCLINE_DEG` from straight up (the shoulders well below the hips),
in 3-D or in the sagittal plane, is no sitting or standing person: the pose model has invented the skeleton (the
head cut off by the frame's top edge turns it upside down), and every angle of this module is NaN there
(:func:`plausible_trunk`).
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from vision.features import geometry as g
from vision.features.skeleton import L_EAR, L_HIP, L_SH, NOSE, R_EAR, R_HIP, R_SH

POSTURE3D_FEATURES: Dict[str, tuple] = {  # one (unit, description) line a feature, as in every feature module
    "trunk_flexion_deg": ("deg", "trunk (hip mid -> shoulder mid) from vertical in the person's sagittal plane, from "
                          "the 3-D world landmarks: + forward, - backward; the same in every camera view"),
    "trunk_lateral_deg": ("deg", "trunk out of the person's sagittal plane (sideways bend), 3-D, unsigned"),
    "neck_flexion_3d_deg": ("deg", "head (shoulder mid -> ear mid) against the trunk in the sagittal plane, 3-D: "
                            "+ forward/down, - back; the same in every camera view"),
}

_DOWN = np.array([0.0, 1.0, 0.0])  # world y points down

#: The trunk's largest angle from straight up (deg, in 3-D and in the sagittal plane) that a sitting or standing
#: person shows: 120 deg puts the shoulders 30 deg below the hips' level, past a full forward bend (geometry).
#: Measured (``scripts/measure_trunk.py``): the deepest real bends of the tune split reach 102 deg, a standing man
#: bending and the service bow; past 120 only the arm-wrestling close-up (hips under the table: 3 frames, up to 152
#: deg in the sagittal plane). The pose model's skeletons when the head is cut off (``scripts/augment_eval.py --aug
#: nohead``) stand at 166-179 deg on 3 of the 23 headless tune entries, upside down.
TRUNK_MAX_INCLINE_DEG = 120.0


def _seen_world(world: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """World points NaN where :func:`pose_points` found the point unseen (``pose`` NaN)."""
    out = np.asarray(world, dtype=np.float64).copy()
    out[np.isnan(pose[..., 0])] = np.nan
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return v / g.norm(v)[:, None]


def body_frame(world: np.ndarray, raw_world: np.ndarray):
    """Per row the trunk axis ``up`` (not normalised) and the horizontal unit vectors ``forward`` and ``left``.

    ``world``: NaN where unseen; ``raw_world``: as the model gave it, read only for the ears' mid point (the head's
    centre), which picks the sign: the nose lies ahead of it by ``cos(head turn)`` of its 0.1 m, positive for any
    turn under 90 deg. One ear alone would not do (a head turned 70 deg away from it puts the nose behind it), and
    a profile hides the far ear, so the pair is taken as the model placed it; the nose itself must be seen.
    "Ahead" is along the chest's normal (square to the shoulder line and the trunk), not the horizontal: the head
    bows with the trunk, so past a 90 deg bend the nose points back along the horizontal, never along the chest.
    """
    sh = g.mid(world[:, L_SH], world[:, R_SH])
    up = sh - g.mid(world[:, L_HIP], world[:, R_HIP])
    left = (world[:, L_SH] - world[:, R_SH]) + (world[:, L_HIP] - world[:, R_HIP])
    forward = _unit(np.cross(left, -_DOWN))  # left x up = forward (right-handed: left, up, forward); horizontal
    chest = np.cross(left, up)  # the same, with the trunk's own up
    head = g.mid(raw_world[:, L_EAR], raw_world[:, R_EAR])
    ahead = np.sum((world[:, NOSE] - head) * chest, axis=1)
    flip = ahead < 0  # NaN (nose not seen): trust the left/right labels
    forward[flip] *= -1.0
    side = np.cross(-_DOWN, forward)  # the person's left, horizontal (labels as the nose says)
    return up, forward, side


def incline_deg(up: np.ndarray) -> np.ndarray:
    """Angle (deg, 0-180) of each row's trunk vector from straight up; the vector in camera axes, y down (3-D world
    or 2-D image points); NaN where unseen."""
    with np.errstate(all="ignore"):
        return np.degrees(np.arccos(np.clip(-up[:, 1] / g.norm(up), -1.0, 1.0)))


def plausible_trunk(up: np.ndarray) -> np.ndarray:
    """Per row, False where the trunk leans past :data:`TRUNK_MAX_INCLINE_DEG` (NaN: True, left to the NaN)."""
    with np.errstate(invalid="ignore"):
        return ~(incline_deg(up) > TRUNK_MAX_INCLINE_DEG)


def angle_in_plane(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Angle (deg) of ``v`` from vertical-up toward the horizontal unit ``axis``, in the plane they span."""
    return np.degrees(np.arctan2(np.sum(v * axis, axis=1), -v[:, 1]))


def posture3d_features(world: np.ndarray, pose: np.ndarray) -> Tuple[Dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The features of :data:`POSTURE3D_FEATURES`, the image side the body faces (+1 right, -1 left, NaN), and per
    row whether the trunk is a sitting or standing person's (False past :data:`TRUNK_MAX_INCLINE_DEG`; True where
    unseen, left to the NaN).

    ``world``: (T, 33, 3) metres; ``pose``: :func:`~vision.features.skeleton.pose_points` (NaN where unseen).
    The facing side is the sign of ``forward`` across the image (world x is the camera's x): in a side view it
    says which way "forward" is in the image, from the shoulders and hips, whatever the head does.
    """
    w = _seen_world(world, pose)
    up, forward, side = body_frame(w, np.asarray(world, dtype=np.float64))
    flexion = angle_in_plane(up, forward)
    with np.errstate(all="ignore"):  # out of the sagittal plane: defined at any flexion, a bow past 90 deg included
        lateral = np.abs(np.degrees(np.arcsin(np.clip(np.sum(up * side, axis=1) / g.norm(up), -1.0, 1.0))))
    head = g.mid(w[:, L_EAR], w[:, R_EAR]) - g.mid(w[:, L_SH], w[:, R_SH])
    neck = angle_in_plane(head, forward) - flexion
    with np.errstate(invalid="ignore"):  # the bound in 3-D, and in the sagittal plane, where a trunk lying
        fallen = ~plausible_trunk(up) | (np.abs(flexion) > TRUNK_MAX_INCLINE_DEG)  # sideways projects past it
    for angle in (flexion, lateral, neck):
        angle[fallen] = np.nan
    with np.errstate(invalid="ignore"):
        faces = np.where(np.isnan(forward[:, 0]), np.nan, np.sign(forward[:, 0]))
    return {"trunk_flexion_deg": flexion, "trunk_lateral_deg": lateral, "neck_flexion_3d_deg": neck}, faces, ~fallen
