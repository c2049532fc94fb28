"""Face features: head turn and tilt, mouth, smile, brows, lips, gaze.

From the 478-point face mesh (irises included); the head turn falls back to
the pose's nose and ears when the mesh is lost (profile views). Units and
meanings are in :data:`FACE_FEATURES`.
"""
from __future__ import annotations

from typing import Dict

import numpy as np

from vision.features import geometry as g
from vision.detect.landmarks import LandmarkTrack
from vision.features.skeleton import L_EAR, NOSE, R_EAR

#: Where the customer is, as seen from the camera: the gaze target in degrees
#: of yaw (+ toward the image's right).
CUSTOMER_SIDES = {"camera": 0.0, "left": -40.0, "right": 40.0}
#: How far the irises turn the gaze at the ends of their range (degrees).
EYE_RANGE_DEG = 35.0

FACE_FEATURES: Dict[str, tuple] = {  # one (unit, description) line a feature, the same table shape in every feature module: data, not logic
    "head_yaw_deg": ("deg", "head turned away from the camera, unsigned (face mesh, else pose)"),
    "head_pitch_deg": ("deg", "head tilted down (+) or up (-) from the face mesh"),
    "mouth_open": ("face heights", "inner-lip gap"),
    "smile": ("mouth widths", "mouth-corner lift above the lip centre line plus widening; > 0 smiling"),
    "mouth_width": ("face widths", "mouth corner to corner over cheek to cheek"),
    "brow_raise": ("face heights", "eyebrows above the upper eyelids (drops in a frown)"),
    "brow_gap": ("face widths", "inner ends of the eyebrows apart (narrows in a frown)"),
    "lip_thickness": ("face heights", "visible red of both lips (drops when the lips are drawn in)"),
    "eye_open": ("eye widths", "eyelid gap, both eyes (low when eyes are lowered or closed)"),
    "gaze_yaw_deg": ("deg", "where the person looks, + toward the image's right: head turn plus iris offset"),
    "gaze_off_target_deg": ("deg", "gaze away from where the customer is (gaze_target_deg: the tracked customer, "
                            "else the side given for the recording: camera, left, right)"),
}


def _iris_offset(face: np.ndarray, iris: int, corner_a: int, corner_b: int) -> np.ndarray:
    """Iris centre along the eye's corner-to-corner line: -1 at corner a's end, +1 at b's, in image x."""
    a, b, c = face[:, corner_a], face[:, corner_b], face[:, iris]
    axis = b - a
    t = np.sum((c - a) * axis, axis=1) / np.sum(axis * axis, axis=1)
    return (2.0 * t - 1.0) * np.sign(axis[:, 0])


def face_features(track: LandmarkTrack, pose: np.ndarray, gaze_target_deg: np.ndarray) -> Dict[str, np.ndarray]:
    """The features of :data:`FACE_FEATURES`; ``gaze_target_deg`` per row (``pair.gaze_target``)."""
    face = track.to_square(track.face_xyz)
    z = track.face_xyz[..., 2] * track.aspect  # mesh depth is in image widths
    mid_x = g.mid(face[:, 234, 0], face[:, 454, 0])
    half_w = np.abs(face[:, 454, 0] - face[:, 234, 0]) / 2.0
    with np.errstate(all="ignore"):
        yaw_signed = np.degrees(np.arcsin(np.clip((face[:, 1, 0] - mid_x) / half_w, -1.0, 1.0)))
        ear_mid = g.mid(pose[:, L_EAR], pose[:, R_EAR])
        ear_half = np.abs(pose[:, L_EAR, 0] - pose[:, R_EAR, 0]) / 2.0
        yaw_pose = np.degrees(np.arcsin(np.clip(np.abs(pose[:, NOSE, 0] - ear_mid[:, 0]) / ear_half, 0.0, 1.0)))
    one_ear = np.isnan(pose[:, L_EAR, 0]) ^ np.isnan(pose[:, R_EAR, 0])
    yaw_pose[one_ear & ~np.isnan(pose[:, NOSE, 0])] = 90.0
    head_yaw = np.where(np.isnan(yaw_signed), yaw_pose, np.abs(yaw_signed))
    head_pitch = np.degrees(np.arctan2(z[:, 152] - z[:, 10], face[:, 152, 1] - face[:, 10, 1]))
    face_h = g.dist(face[:, 10], face[:, 152])
    face_w = g.dist(face[:, 234], face[:, 454])
    # Smile: corners above the lip centre along the face's own 3-D up axis
    # (forehead -> chin), so a turned, tilted or bowed head reads the same.
    f3 = np.concatenate([face, z[..., None]], axis=-1)
    down = f3[:, 152] - f3[:, 10]
    with np.errstate(all="ignore"):
        down = down / g.norm(down)[:, None]
    centre = (f3[:, 13] + f3[:, 14]) / 2.0
    corners = (f3[:, 61] + f3[:, 291]) / 2.0
    lift_3d = np.sum((centre - corners) * down, axis=1)
    mouth_w = g.dist(f3[:, 61], f3[:, 291])
    width = g.dist(face[:, 61], face[:, 291]) / face_w
    brow = (g.dist(face[:, 105], face[:, 159]) + g.dist(face[:, 334], face[:, 386])) / 2.0
    eye_w = (g.dist(face[:, 33], face[:, 133]) + g.dist(face[:, 362], face[:, 263])) / 2.0
    lids = (g.dist(face[:, 159], face[:, 145]) + g.dist(face[:, 386], face[:, 374])) / 2.0
    iris = (_iris_offset(face, 468, 33, 133) + _iris_offset(face, 473, 362, 263)) / 2.0
    gaze = yaw_signed + EYE_RANGE_DEG * iris
    return {
        "head_yaw_deg": head_yaw, "head_pitch_deg": head_pitch,
        "mouth_open": g.dist(face[:, 13], face[:, 14]) / face_h,
        "smile": lift_3d / mouth_w + 1.5 * (width - 0.42), "mouth_width": width,
        "brow_raise": brow / face_h, "brow_gap": g.dist(face[:, 107], face[:, 336]) / face_w,
        "lip_thickness": (g.dist(face[:, 0], face[:, 13]) + g.dist(face[:, 14], face[:, 17])) / face_h,
        "eye_open": lids / eye_w, "gaze_yaw_deg": gaze,
        "gaze_off_target_deg": np.abs(gaze - gaze_target_deg),
    }
