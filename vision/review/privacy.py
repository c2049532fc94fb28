"""Bystanders' faces blurred in the outputs; the subject's face left as it is.

Every face is found with MediaPipe's face detector (see
:class:`vision.detect.face_boxes.FaceBoxDetector`, run on each output frame). The
subject's face is the box that holds most of the subject's cached face
landmarks (or, without a face mesh, the pose's face points 0-10). Modes:

* ``auto`` (default): blur every face but the subject's when more than one
  face is in the frame;
* ``others``: blur every face but the subject's, even when it is alone
  (a bystander facing the camera while the subject looks away);
* ``off``: blur nothing.

When the subject's landmarks are unknown on a frame, no box is the
subject's, so with two or more faces all of them are blurred. The detector
misses a face now and then (a head tilted back, motion blur): a blurred box
stays blurred for ``hold_frames`` more frames unless a detection overlaps it.
"""
from __future__ import annotations

from typing import Callable, List, Optional

import cv2
import numpy as np

from vision.io.run_folder import FramePoints

MODES = ("auto", "others", "off")
#: Boxes are grown by this share of their size before testing for the
#: subject's points (the landmarks lag behind a moving head between analysed frames).
MATCH_GROW = 0.25
#: Blurred boxes are grown by this share (hair and the jaw line).
BLUR_GROW = 0.2
#: Seconds a blurred face stays blurred after the detector last found it.
HOLD_S = 0.5
DETECT_MAX_W = 960


def subject_points(points: Optional[FramePoints]) -> np.ndarray:
    """The subject's face points in source pixels: the face mesh if seen, else the pose's face points."""
    if points is None:
        return np.zeros((0, 2), np.float32)
    face = points.face_xy[~np.isnan(points.face_xy[:, 0])]
    if len(face):
        return face
    pose = points.pose_xy[:11]
    return pose[~np.isnan(pose[:, 0])]


def grow(xyxy: np.ndarray, share: float) -> np.ndarray:
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    w, h = xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]
    return xyxy + np.stack([-w, -h, w, h], 1) * share


def subject_box(xyxy: np.ndarray, pts: np.ndarray) -> Optional[int]:
    """Index of the box holding most of the subject's points (None: none holds any)."""
    if len(xyxy) == 0 or len(pts) == 0:
        return None
    g = grow(xyxy, MATCH_GROW)
    inside = ((pts[None, :, 0] >= g[:, None, 0]) & (pts[None, :, 0] <= g[:, None, 2])
              & (pts[None, :, 1] >= g[:, None, 1]) & (pts[None, :, 1] <= g[:, None, 3]))
    counts = inside.sum(1)
    best = int(np.argmax(counts))
    return best if counts[best] > 0 else None


def boxes_to_blur(n_boxes: int, subject: Optional[int], mode: str) -> List[int]:
    if mode not in MODES:
        raise ValueError(f"privacy mode must be one of {MODES}, got {mode!r}")
    if mode == "off" or (mode == "auto" and n_boxes < 2):
        return []
    return [i for i in range(n_boxes) if i != subject]


def pixelate(image_bgr: np.ndarray, xyxy: np.ndarray) -> None:
    """Blur boxes in place beyond recognition: a coarse mosaic, then smoothing."""
    H, W = image_bgr.shape[:2]
    for x0, y0, x1, y1 in grow(xyxy, BLUR_GROW):
        x0, y0 = max(0, int(x0)), max(0, int(y0))
        x1, y1 = min(W, int(np.ceil(x1))), min(H, int(np.ceil(y1)))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        roi = image_bgr[y0:y1, x0:x1]
        small = cv2.resize(roi, (max(1, (x1 - x0) // 12), max(1, (y1 - y0) // 12)), interpolation=cv2.INTER_AREA)
        mosaic = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
        k = max(3, ((min(x1 - x0, y1 - y0) // 6) | 1))
        image_bgr[y0:y1, x0:x1] = cv2.GaussianBlur(mosaic, (k, k), 0)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in ``a`` (N, 4) with every box in ``b`` (M, 4)."""
    a, b = a.reshape(-1, 4)[:, None], b.reshape(-1, 4)[None]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-6)


class FaceBlurrer:
    """Finds and blurs the faces to hide on each frame. A no-op (no model loaded) when mode is ``off``."""

    def __init__(self, mode: str = "auto", detector_factory: Optional[Callable] = None, hold_frames: int = 0):
        if mode not in MODES:
            raise ValueError(f"privacy mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.hold_frames = hold_frames
        self.blurred = 0  # faces blurred so far
        self._held: List[tuple] = []  # (box, last frame it was hidden on)
        self._det = None
        if mode != "off":
            if detector_factory is None:
                from vision.detect.face_boxes import FaceBoxDetector as detector_factory  # noqa: N813
            self._det = detector_factory()

    def apply(self, image_bgr: np.ndarray, points: Optional[FramePoints], frame: int = 0) -> int:
        """Blur the faces to hide in ``image_bgr`` (source pixels) in place; returns how many."""
        if self._det is None:
            return 0
        xyxy = self._detect(image_bgr)
        subject = subject_box(xyxy, subject_points(points))
        hide = xyxy[boxes_to_blur(len(xyxy), subject, self.mode)]
        held = [(b, f) for b, f in self._held if 0 < frame - f <= self.hold_frames]
        if held and len(xyxy):  # a held box that a detection now covers is judged afresh
            held = [(b, f) for b, f in held if iou(b, xyxy).max() < 0.3]
        self._held = [(b, frame) for b in hide] + held
        boxes = np.concatenate([hide] + [b[None] for b, _ in held]) if held else hide
        if len(boxes):
            pixelate(image_bgr, boxes)
        self.blurred += len(boxes)
        return len(boxes)

    def _detect(self, image_bgr: np.ndarray) -> np.ndarray:
        """Face boxes in source pixels, found on a copy at most :data:`DETECT_MAX_W` wide (the model sees 192 px)."""
        w = image_bgr.shape[1]
        if w <= DETECT_MAX_W:
            return self._det.detect(image_bgr)[0]
        f = DETECT_MAX_W / w
        small = cv2.resize(image_bgr, (DETECT_MAX_W, max(1, int(round(image_bgr.shape[0] * f)))),
                           interpolation=cv2.INTER_AREA)
        return self._det.detect(small)[0] / f

    def close(self) -> None:
        if self._det is not None:
            self._det.close()
            self._det = None

    def __enter__(self) -> "FaceBlurrer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
