"""Body features: trunk, head carriage, sitting or standing, legs, arms.

Pure numpy over a :class:`~vision.detect.landmarks.LandmarkTrack`; every function
returns ``{name: (T,) array}`` with NaN where what it needs was not seen.
Units and meanings are in :data:`BODY_FEATURES`.
"""
from __future__ import annotations

from typing import Dict

import numpy as np

from vision.features import geometry as g
from vision.detect.landmarks import LandmarkTrack
from vision.features.posture3d import POSTURE3D_FEATURES, posture3d_features
from vision.features.skeleton import (L_ANKLE, L_EAR, L_HIP, L_KNEE, L_SH, L_WR, MIN_VISIBILITY, NOSE, R_ANKLE, R_EAR,
                             R_HIP, R_KNEE, R_SH, R_WR, first_seen)

#: In a side view the trunk angle is read from the image; above this profile.
SIDE_VIEW = 0.6
#: A thigh more than this from straight down (the knee 30 deg above the hip's level) is on no seat: the leg reading
#: is unknown there, not "sitting" (geometry, as posture3d.TRUNK_MAX_INCLINE_DEG). Only a thigh long enough in the
#: picture to point somewhere (:data:`FORESHORTENED`, the bar of the sitting reading) is read so. Tune:
#: seated thighs reach 99 deg (the side-view sequence); past 120 only legs the pose model invented: a waist-up TED
#: speaker's first 0.5 s (123-154 deg, read as sitting) and the arm-wrestlers' legs under the table
#: (``scripts/measure_trunk.py``).
THIGH_MAX_INCLINE_DEG = 120.0
#: A thigh shorter than this many torso lengths in the picture points toward (or away from) the camera: a seated
#: person seen from the front (the sitting reading), and a thigh whose direction in the picture means nothing.
FORESHORTENED = 0.4

BODY_FEATURES: Dict[str, tuple] = {  # one (unit, description) line a feature, the same table shape in every feature module: data, not logic
    "profile": ("0..1", "how side-on the torso is: 1 - shoulder width / body_scale (0 front, 1 profile)"),
    "facing": ("-1..1", "which image side the person faces: + right, - left (nose ahead of the ears)"),
    "trunk_pitch_deg": ("deg", "trunk (hip mid -> shoulder mid) from vertical in the sagittal plane, + forward, - backward, measured in the image, side view only (profile > 0.6; NaN in other views); every view: trunk_flexion_deg"),
    "head_height": ("shoulder widths", "ears above the shoulder line, front and three-quarter views (drops when the head sinks forward)"),
    "nose_below_ears": ("shoulder widths", "nose below the ears (grows when the head bows; pose landmarks, works on small faces)"),
    "trunk_side_deg": ("deg", "trunk from vertical in the image plane, unsigned (sideways lean in a front view)"),
    "neck_flexion_deg": ("deg", "head (shoulder mid -> ear mid) relative to the trunk, + forward/down (side view)"),
    "head_forward": ("shoulder widths", "ears ahead of the shoulders along the facing direction (side view)"),
    "shoulder_tilt_deg": ("deg", "shoulder line from horizontal, unsigned"),
    "torso_yaw_deg": ("deg", "torso turned away from the camera (world landmarks), unsigned"),
    "upper_body_only": ("0/1", "shoulders seen but hips not (head-and-shoulders framing)"),
    "thigh_incline_deg": ("deg", "hip -> knee from vertical in the image (about 90 seated in a side view)"),
    "thigh_ratio": ("torso lengths", "hip-to-knee length in the image over shoulder-to-hip length (short when a seated thigh points at the camera)"),
    "knee_angle_deg": ("deg", "hip-knee-ankle angle (180 straight)"),
    "standing_now": ("0/1", "the legs in this frame say: 1 standing (hip, knee and ankle seen, straight), 0 sitting, "
                     "NaN when they do not say"),
    "hip_x": ("image heights", "hip centre across the image, from the left edge (for sway)"),
    "hip_y": ("image heights", "hip centre down the image, from the top edge (for sitting down)"),
    "feet_apart": ("hip widths", "ankle to ankle over hip to hip, front and three-quarter views"),
    "wrists_apart": ("shoulder widths", "wrist to wrist"),
    "hands_height": ("torso lengths", "wrists' mid point below the shoulders: 0 at the shoulders, 1 at the hips"),
    "arms_crossed": ("0/1", "each wrist across the body's mid line toward the other side, between chest and hips (front and three-quarter views)"),
    **POSTURE3D_FEATURES,
}


def posture(track: LandmarkTrack, pose: np.ndarray, scale: np.ndarray) -> Dict[str, np.ndarray]:
    sh = g.mid(pose[:, L_SH], pose[:, R_SH])
    hip = g.mid(pose[:, L_HIP], pose[:, R_HIP])
    ear_any = first_seen(g.mid(pose[:, L_EAR], pose[:, R_EAR]), pose[:, L_EAR], pose[:, R_EAR])
    trunk = sh - hip
    profile = np.clip(1.0 - g.dist(pose[:, L_SH], pose[:, R_SH]) / scale, 0.0, 1.0)
    side = profile > SIDE_VIEW
    facing = np.clip((pose[:, NOSE, 0] - ear_any[:, 0]) / (0.25 * scale), -1.0, 1.0)  # nose ahead of the ears
    w = track.pose_world_xyz
    body3d, faces, trunk_ok = posture3d_features(w, pose)
    # Which image side is forward in a side view: from the body's 3-D shoulder-and-hip line (a head turned toward
    # the camera moves the nose, not the body); the nose-ear offset only where the world landmarks are not seen.
    side_sign = np.where(np.isnan(faces), np.sign(facing), faces)
    image_angle = g.angle_from_vertical_deg(trunk)
    # A trunk past posture3d.TRUNK_MAX_INCLINE_DEG in 3-D is a skeleton the pose model invented: no posture feature
    # is judged on it. (Not the picture's trunk: a deep bow toward the camera points it straight down.)
    invented = ~trunk_ok
    image_angle[invented] = np.nan  # (posture3d_features has left its own angles NaN there)
    w_ok = (track.pose_visibility[:, [L_SH, R_SH, L_HIP, R_HIP]] >= MIN_VISIBILITY).all(axis=1)
    head = ear_any - sh
    cross = trunk[:, 0] * head[:, 1] - trunk[:, 1] * head[:, 0]
    neck = g.angle_between_deg(head, trunk) * np.sign(cross) * side_sign
    neck[invented] = np.nan
    shoulder_line = pose[:, L_SH] - pose[:, R_SH]
    wl = w[:, L_SH] - w[:, R_SH]
    torso_yaw = np.degrees(np.abs(np.arctan2(wl[:, 2], np.abs(wl[:, 0]))))
    torso_yaw[~w_ok] = np.nan
    shoulders_seen = ~np.isnan(pose[:, L_SH, 0]) & ~np.isnan(pose[:, R_SH, 0])
    hips_seen = ~np.isnan(pose[:, L_HIP, 0]) | ~np.isnan(pose[:, R_HIP, 0])
    return {
        "upper_body_only": np.where(shoulders_seen, (~hips_seen).astype(float), np.nan),
        "profile": profile, "facing": facing,
        "trunk_pitch_deg": np.where(side, image_angle * side_sign, np.nan),
        "head_height": np.where(side | invented, np.nan, (sh[:, 1] - ear_any[:, 1]) / scale),
        "nose_below_ears": (pose[:, NOSE, 1] - ear_any[:, 1]) / scale,
        "trunk_side_deg": np.abs(image_angle) * (1.0 - profile),
        "neck_flexion_deg": np.where(side, neck, np.nan),
        "head_forward": np.where(side & ~invented, (ear_any[:, 0] - sh[:, 0]) * side_sign / scale, np.nan),
        "shoulder_tilt_deg": np.degrees(np.abs(np.arctan2(shoulder_line[:, 1], np.abs(shoulder_line[:, 0])))),
        "torso_yaw_deg": torso_yaw,
        **body3d,
    }


def legs_and_arms(pose: np.ndarray, scale: np.ndarray, profile: np.ndarray) -> Dict[str, np.ndarray]:
    sh = g.mid(pose[:, L_SH], pose[:, R_SH])
    hip = g.mid(pose[:, L_HIP], pose[:, R_HIP])
    torso = g.dist(sh, hip)
    thigh_inc, thigh_len, knee_ang = [], [], []
    for h, k, a in ((L_HIP, L_KNEE, L_ANKLE), (R_HIP, R_KNEE, R_ANKLE)):
        thigh = pose[:, k] - pose[:, h]
        thigh_inc.append(np.abs(g.angle_from_vertical_deg(-thigh)))
        thigh_len.append(g.norm(thigh))
        knee_ang.append(g.angle_between_deg(pose[:, h] - pose[:, k], pose[:, a] - pose[:, k]))
    incline = g.row_nanmedian(np.stack(thigh_inc, 1))
    ratio = g.row_nanmedian(np.stack(thigh_len, 1)) / torso
    knee = g.row_nanmedian(np.stack(knee_ang, 1))
    with np.errstate(invalid="ignore"):
        sitting = (incline > 50) | (ratio < FORESHORTENED) | (knee < 120)
        # Standing needs the whole leg seen, hip to ankle, straight: a thigh alone can be one the pose model
        # invented under a table (a seated woman at a restaurant table was called standing on her thighs).
        standing = (incline < 25) & (ratio > 0.5) & (knee >= 150)
    decision = np.where(standing, 1.0, np.where(sitting, 0.0, np.nan))
    with np.errstate(invalid="ignore"):  # a knee far above the hip: invented legs; a thigh foreshortened toward the
        decision[(incline > THIGH_MAX_INCLINE_DEG) & (ratio >= FORESHORTENED)] = np.nan  # camera: no direction
    front = profile < 0.5
    hip_w = g.dist(pose[:, L_HIP], pose[:, R_HIP])
    feet = np.where(front, g.dist(pose[:, L_ANKLE], pose[:, R_ANKLE]) / hip_w, np.nan)
    wrists = g.mid(pose[:, L_WR], pose[:, R_WR])
    # Crossed arms: the person's left wrist on their right of the mid line, and vice versa.
    lateral = pose[:, L_SH] - pose[:, R_SH]
    with np.errstate(invalid="ignore"):
        lateral = lateral / g.norm(lateral)[:, None]
        l_side = np.sum((pose[:, L_WR] - sh) * lateral, axis=1) / scale
        r_side = np.sum((pose[:, R_WR] - sh) * lateral, axis=1) / scale
        height = (wrists[:, 1] - sh[:, 1]) / (hip[:, 1] - sh[:, 1])
        crossed = (l_side < -0.05) & (r_side > 0.05) & (height > 0.2) & (height < 1.1)
    crossed_known = ~np.isnan(l_side) & ~np.isnan(r_side) & ~np.isnan(height) & front
    return {
        "thigh_incline_deg": incline, "thigh_ratio": ratio, "knee_angle_deg": knee, "standing_now": decision,
        "hip_x": hip[:, 0], "hip_y": hip[:, 1], "feet_apart": feet,
        "wrists_apart": g.dist(pose[:, L_WR], pose[:, R_WR]) / scale, "hands_height": height,
        "arms_crossed": np.where(crossed_known, crossed.astype(float), np.nan),
    }
