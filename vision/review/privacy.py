"""Other people's faces blurred in the outputs; the subject's face left as it is.

Two nets, in this order:

1. **By track.** Every person in the landmark cache other than the subject
   (run.json ``subject.id``) has a face box on each analysed frame, from
   their own cached landmarks (:class:`TrackedFaces`): the face mesh where it
   was measured, else the pose's face points 0-10 seen with visibility
   >= 0.5, padded to the whole head. A video frame uses the nearest analysed
   frame at or before it, none when that one is stale (as the drawn
   landmarks do). These faces are blurred in ``auto`` and ``others`` modes
   whatever a face detector finds, so small and tilted faces are covered. A
   person with no face point seen on that frame gets no box: no guess.
2. **By detection**, for faces nobody tracked (bystanders): MediaPipe's face
   detector (:class:`vision.detect.face_boxes.FaceBoxDetector`, run on each
   output frame). The subject's face is the box that holds most of the
   subject's cached face landmarks (or, without a face mesh, the pose's face
   points 0-10). ``auto`` (default) blurs every detected face but the
   subject's when more than one face is in the frame (detected or tracked);
   ``others`` blurs them even when alone (a bystander facing the camera
   while the subject looks away); ``off`` blurs nothing at all.

When the subject's landmarks are unknown on a frame, no detected box is the
subject's, so with two or more faces all of them are blurred. The detector
misses a face now and then (a head tilted back, motion blur): a blurred box
stays blurred for ``hold_frames`` more frames unless a detection overlaps it.
The subject's own face (its tight box from its landmarks) is never blurred,
even where another person's padded box overlaps it.

With one person in the cache (single-person and older runs) only the
detection net acts, as before tracking.
"""
from __future__ import annotations

import warnings
from typing import Callable, Dict, List, Optional, Tuple

import cv2
import numpy as np

from vision.detect.landmarks import LandmarkTrack
from vision.io.run_folder import FramePoints, RunFolder, track_pixels

MODES = ("auto", "others", "off")
#: Boxes are grown by this share of their size before testing for the
#: subject's points (the landmarks lag behind a moving head between analysed frames).
MATCH_GROW = 0.25
#: Blurred boxes are grown by this share (hair and the jaw line).
BLUR_GROW = 0.2
#: Seconds a blurred face stays blurred after the detector last found it.
HOLD_S = 0.5
DETECT_MAX_W = 960
#: A face mesh covers brow to chin and cheek to cheek: grown by these shares of its width (sides) and height
#: (up for the forehead and hair, down for the jaw) to cover the head.
MESH_GROW_X, MESH_GROW_UP, MESH_GROW_DOWN = 0.15, 0.35, 0.1
#: The pose's face points span less than the head (ear to ear about 0.9 of the head's width, eyes to mouth
#: about a quarter of its height; geometry): the head box is this many "spans" (the larger of the points'
#: width and 1.6 times their height) from their centre: sideways, up (hair) and down (chin).
POSE_HALF_W, POSE_UP, POSE_DOWN = 0.75, 1.0, 0.85
#: With a single face point seen, the head is sized from the shoulders: head width about half the shoulder width.
HEAD_PER_SHOULDER = 0.5


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


def boxes_to_blur(n_boxes: int, subject: Optional[int], mode: str, n_faces: Optional[int] = None) -> List[int]:
    """Which of ``n_boxes`` detected faces to blur; ``n_faces``: faces in the frame, tracked ones too (default:
    the detected ones)."""
    if mode not in MODES:
        raise ValueError(f"privacy mode must be one of {MODES}, got {mode!r}")
    if mode == "off" or (mode == "auto" and (n_boxes if n_faces is None else n_faces) < 2):
        return []
    return [i for i in range(n_boxes) if i != subject]


def pixelate(image_bgr: np.ndarray, xyxy: np.ndarray, keep: Optional[np.ndarray] = None) -> None:
    """Blur boxes in place beyond recognition: a coarse mosaic, then smoothing. The ``keep`` box is left as it was."""
    H, W = image_bgr.shape[:2]
    kept = None
    if keep is not None:
        kx0, ky0 = max(0, int(keep[0])), max(0, int(keep[1]))
        kx1, ky1 = min(W, int(np.ceil(keep[2]))), min(H, int(np.ceil(keep[3])))
        if kx1 > kx0 and ky1 > ky0:
            kept = (kx0, ky0, kx1, ky1, image_bgr[ky0:ky1, kx0:kx1].copy())
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
    if kept is not None:
        kx0, ky0, kx1, ky1, patch = kept
        image_bgr[ky0:ky1, kx0:kx1] = patch


# --- faces by track ------------------------------------------------------------------------------
def _nan_box(pts: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.concatenate([np.nanmin(pts, 0), np.nanmax(pts, 0)])


def head_box(pose_xy: np.ndarray, face_xy: np.ndarray) -> Optional[np.ndarray]:
    """A person's head as ``xyxy`` source pixels from one frame's points (NaN: not seen, see
    :func:`vision.io.run_folder.track_pixels`); None when no face point was seen.

    The face mesh where measured, grown to the hair and jaw; else the pose's face points 0-10, padded to
    the whole head (see :data:`POSE_HALF_W`).
    """
    mesh = face_xy[np.isfinite(face_xy[:, 0])]
    if len(mesh) >= 3:
        x0, y0, x1, y1 = _nan_box(mesh)
        w, h = x1 - x0, y1 - y0
        return np.array([x0 - MESH_GROW_X * w, y0 - MESH_GROW_UP * h, x1 + MESH_GROW_X * w, y1 + MESH_GROW_DOWN * h],
                        np.float32)
    seen = np.isfinite(pose_xy[:, 0])
    pts = pose_xy[:11][seen[:11]]
    if len(pts) == 0:
        return None
    x0, y0, x1, y1 = _nan_box(pts)
    span = max(x1 - x0, 1.6 * (y1 - y0))
    if len(pts) == 1 or span <= 0:
        if not seen[11] or not seen[12]:
            return None
        span = HEAD_PER_SHOULDER * float(np.hypot(*(pose_xy[11] - pose_xy[12]))) / (2 * POSE_HALF_W)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return np.array([cx - POSE_HALF_W * span, cy - POSE_UP * span, cx + POSE_HALF_W * span, cy + POSE_DOWN * span],
                    np.float32)


def tight_face_box(pts: np.ndarray) -> Optional[np.ndarray]:
    """The box around the subject's face points (mesh, or pose points 0-10), a little padded: never blurred."""
    if len(pts) < 2:
        return None
    x0, y0, x1, y1 = _nan_box(pts)
    pad = 0.1 * max(x1 - x0, y1 - y0)
    return np.array([x0 - pad, y0 - pad, x1 + pad, y1 + pad], np.float32)


#: A tracked person's head stays blurred where it was last (or will next be) seen for this long while their pose
#: is lost: people in a roleplay are lost in short occlusions (a hug, a handshake, someone passing: a second or
#: two) while their face still shows; blurring a spot where nobody is costs a coach little, an unblurred
#: colleague costs their privacy. The box grows by HOLD_GROW a side to allow for the movement meanwhile.
HOLD_S = 2.0
HOLD_GROW = 0.25


def hold_boxes(boxes: np.ndarray, times: np.ndarray, hold_s: Optional[float] = None,
               grow: float = HOLD_GROW) -> np.ndarray:
    """Rows without a box take the nearest-in-time row's box within ``hold_s`` (default :data:`HOLD_S`),
    grown by ``grow`` a side."""
    hold_s = HOLD_S if hold_s is None else hold_s
    seen = np.flatnonzero(np.isfinite(boxes[:, 0]))
    out = boxes.copy()
    if len(seen) == 0:
        return out
    for row in np.flatnonzero(~np.isfinite(boxes[:, 0])):
        k = np.searchsorted(times[seen], times[row])
        near = [j for j in (k - 1, k) if 0 <= j < len(seen)]
        j = min(near, key=lambda j: abs(times[seen[j]] - times[row]))
        if abs(times[seen[j]] - times[row]) <= hold_s:
            x0, y0, x1, y1 = boxes[seen[j]]
            dx, dy = grow * (x1 - x0), grow * (y1 - y0)
            out[row] = (x0 - dx, y0 - dy, x1 + dx, y1 + dy)
    return out


class TrackedFaces:
    """The head box of every cached person but the subject, per analysed frame (NaN: no face point seen)."""

    def __init__(self, tracks: Dict[int, LandmarkTrack], subject: int):
        self.subject = subject
        self.boxes: Dict[int, np.ndarray] = {}
        for pid, track in tracks.items():
            if pid == subject:
                continue
            pose, face = track_pixels(track)
            out = np.full((len(track), 4), np.nan, np.float32)
            for row in np.flatnonzero(np.isfinite(pose[:, :11, 0]).any(1) | np.isfinite(face[:, :, 0]).any(1)):
                box = head_box(pose[row], face[row])
                if box is not None:
                    out[row] = box
            self.boxes[pid] = hold_boxes(out, np.asarray(track.timestamp_s, np.float64))

    @classmethod
    def of_run(cls, run: RunFolder) -> "TrackedFaces":
        """Everyone cached in ``run`` but the person the outputs draw as the subject."""
        return cls(run.tracks, run.track.person_id if run.track is not None else run.subject_id)

    def __bool__(self) -> bool:
        return bool(self.boxes)

    def at_row(self, row: Optional[int]) -> Tuple[List[int], np.ndarray]:
        """``(ids, xyxy)`` of the other people's heads on analysed row ``row`` (None: none usable)."""
        ids, boxes = [], []
        if row is not None:
            for pid, b in self.boxes.items():
                if np.isfinite(b[row, 0]):
                    ids.append(pid)
                    boxes.append(b[row])
        return ids, np.array(boxes, np.float32).reshape(-1, 4)


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

    def __init__(self, mode: str = "auto", detector_factory: Optional[Callable] = None, hold_frames: int = 0,
                 tracked: Optional[TrackedFaces] = None):
        if mode not in MODES:
            raise ValueError(f"privacy mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.hold_frames = hold_frames
        self.tracked = tracked
        self.blurred = 0  # faces blurred so far
        self._held: List[tuple] = []  # (box, last frame it was hidden on)
        self._det = None
        if mode != "off":
            if detector_factory is None:
                from vision.detect.face_boxes import FaceBoxDetector as detector_factory  # noqa: N813
            self._det = detector_factory()

    def apply(self, image_bgr: np.ndarray, points: Optional[FramePoints], frame: int = 0) -> int:
        """Blur the faces to hide in ``image_bgr`` (source pixels) in place; returns how many.

        ``points``: the subject's points on the analysed frame shown (None: none usable), whose row
        also picks the other people's tracked heads.
        """
        if self._det is None:
            return 0
        xyxy = self._detect(image_bgr)
        mine = subject_points(points)
        subject = subject_box(xyxy, mine)
        row = getattr(points, "row", None)
        others = self.tracked.at_row(row)[1] if self.tracked else np.zeros((0, 4), np.float32)
        # a detection that another person's head box covers is that person's face, not one more face
        untracked = sum(1 for b in xyxy if not len(others) or iou(b, others).max() < 0.2)
        detected = xyxy[boxes_to_blur(len(xyxy), subject, self.mode, untracked + len(others))]
        held = [(b, f) for b, f in self._held if 0 < frame - f <= self.hold_frames]
        if held and len(xyxy):  # a held box that a detection now covers is judged afresh
            held = [(b, f) for b, f in held if iou(b, xyxy).max() < 0.3]
        self._held = [(b, frame) for b in detected] + held
        hide = np.concatenate([detected, others])
        boxes = np.concatenate([hide] + [b[None] for b, _ in held]) if held else hide
        if len(boxes):
            pixelate(image_bgr, boxes, keep=tight_face_box(mine))
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
