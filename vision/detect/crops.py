"""Face and hands for one of several people: Holistic on a padded crop around that person.

:class:`vision.detect.multipose.MultiPoseDetector` gives each person's body
only. :func:`face_and_hands` runs the existing
:class:`~vision.detect.holistic.HolisticDetector` on a crop around one
person's pose (:func:`crop_box`) and maps what it finds back to whole-frame
normalised coordinates, keeping the tracked pose. In VIDEO mode Holistic
follows one person from call to call, so use one detector per track (or
``still_images=True``). A face whose centre is farther than one body scale
(shoulder width; :func:`vision.detect.tasks.body_scale`) from the pose's nose
(a neighbour's face in the crop) is not taken, nor a hand whose wrist is
farther than that from either pose wrist.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Optional, Tuple

import numpy as np

from vision.detect.landmarks import PersonLandmarks
from vision.detect.people import body_scale

#: Margin added on every side of the box around a person's seen keypoints, as a share of its
#: longer side: room for the hands and hair the pose points do not reach.
PAD = 0.25
NOSE, LEFT_WRIST, RIGHT_WRIST = 0, 15, 16


def crop_box(person: PersonLandmarks, image_wh: Tuple[int, int], pad: float = PAD,
             min_visibility: float = 0.5) -> Optional[Tuple[int, int, int, int]]:
    """``(x0, y0, x1, y1)`` in pixels, clipped to the image: the padded box around the keypoints seen
    (finite and at least ``min_visibility``); None when fewer than two are seen."""
    xy = person.pose_xyz[:, :2] * np.asarray(image_wh, np.float64)
    seen = np.isfinite(xy).all(axis=1) & (np.nan_to_num(person.pose_visibility, nan=0.0) >= min_visibility)
    if seen.sum() < 2:
        return None
    lo, hi = xy[seen].min(axis=0), xy[seen].max(axis=0)
    margin = pad * float(max(hi - lo))
    x0, y0 = np.floor(lo - margin).astype(int)
    x1, y1 = np.ceil(hi + margin).astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(image_wh[0], x1), min(image_wh[1], y1)
    return (x0, y0, x1, y1) if x1 - x0 >= 16 and y1 - y0 >= 16 else None


def to_frame(xyz: np.ndarray, box: Tuple[int, int, int, int], image_wh: Tuple[int, int]) -> np.ndarray:
    """Points normalised to the crop ``box`` -> normalised to the whole image (z, like x, in image widths)."""
    x0, y0, x1, y1 = box
    w, h = image_wh
    scale = np.array([(x1 - x0) / w, (y1 - y0) / h, (x1 - x0) / w], np.float32)
    offset = np.array([x0 / w, y0 / h, 0.0], np.float32)
    return (np.asarray(xyz, np.float32) * scale + offset).astype(np.float32)


def face_and_hands(detector, image_bgr: np.ndarray, person: PersonLandmarks,
                   timestamp_s: float) -> PersonLandmarks:
    """``person`` with the face and hands Holistic finds on a crop around them (NaN where none is
    found, or where what was found belongs to someone else; see the module docstring)."""
    return face_and_hands_async(detector, image_bgr, person, timestamp_s).result()


class CropPending:
    """:func:`face_and_hands` on its way: ``result()`` the person with face and hands, ``span`` the model's
    (submitted, finished) time (as :meth:`~vision.detect.holistic.Pending.span`; zeros when no model ran)."""

    def __init__(self, person: PersonLandmarks, found=None, box=None, wh=(0, 0)):
        self._person, self._found, self._box, self._wh = person, found, box, wh
        self.span = (0.0, 0.0)

    def result(self) -> PersonLandmarks:
        found = self._found
        if found is not None and not isinstance(found, list):  # a detector's pending result
            found, self.span = found.result(), found.span
        return _attach(self._person, found or [], self._box, self._wh)


def face_and_hands_async(detector, image_bgr: np.ndarray, person: PersonLandmarks,
                         timestamp_s: float) -> CropPending:
    """:func:`face_and_hands`, the crop handed to ``detector`` without waiting when it takes frames so
    (``detect_async``): several crops can be in its graph at once, with the same landmarks."""
    h, w = image_bgr.shape[:2]
    box = crop_box(person, (w, h))
    if box is None:
        return CropPending(person)
    x0, y0, x1, y1 = box
    crop = np.ascontiguousarray(image_bgr[y0:y1, x0:x1])
    send = getattr(detector, "detect_async", None)
    if send is not None:
        return CropPending(person, send(crop, timestamp_s), box, (w, h))
    t0 = time.perf_counter()
    pending = CropPending(person, detector.detect(crop, timestamp_s), box, (w, h))
    pending.span = (t0, time.perf_counter())  # a detector that waits: its time, counted as the pool counts spans
    return pending


def _attach(person: PersonLandmarks, found: list, box, wh: Tuple[int, int]) -> PersonLandmarks:
    """``person`` with the face and hands of ``found`` (Holistic on the crop ``box``) that are theirs."""
    nothing = {name: np.full_like(getattr(person, name), np.nan)
               for name in ("face_xyz", "left_hand_xyz", "right_hand_xyz")}
    if not found:
        return replace(person, **nothing)
    w, h = wh
    got = found[0]
    px = np.array([w, h], np.float64)
    pose = person.pose_xyz[:, :2] * px
    reach = body_scale(pose)  # shoulder width, or half the torso in profile
    if not np.isfinite(reach) or reach <= 0:
        reach = float(np.hypot(*(np.asarray(box[2:]) - box[:2]))) / 4.0

    def near(points: np.ndarray, anchors) -> bool:
        centre = np.nanmean(points[:, :2], axis=0) * px if np.isfinite(points).any() else None
        return centre is not None and any(np.isfinite(pose[a]).all() and np.linalg.norm(centre - pose[a]) < reach
                                          for a in anchors)

    out = dict(nothing)
    face = to_frame(got.face_xyz, box, (w, h))
    if near(face, [NOSE]):
        out["face_xyz"] = face
    for side in ("left_hand_xyz", "right_hand_xyz"):
        hand = to_frame(getattr(got, side), box, (w, h))
        if near(hand[:1], [LEFT_WRIST, RIGHT_WRIST]):
            out[side] = hand
    return replace(person, **out)
