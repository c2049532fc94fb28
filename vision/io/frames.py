"""Stage 1: frames. Reads a video file, an animated GIF, a folder of frames, a
single image or a live camera (``camera:N``) and yields :class:`Frame`
objects with their index and time.

Timestamps come from the container where it gives usable ones (variable frame
rate GIFs, phone videos); otherwise ``index / fps``. Rotation metadata is
honoured (OpenCV applies it while decoding). Frames that are not analysed are
*grabbed* but not converted, which is cheap.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
#: A folder of frames has no frame rate of its own; this one is assumed
#: unless ``--fps`` says otherwise.
DEFAULT_FOLDER_FPS = 6.0


class InputError(Exception):
    """The input cannot be read; the message is meant for the user, one line."""


@dataclass(frozen=True)
class Frame:
    """One decoded frame. ``image_bgr`` is HxWx3 uint8."""

    index: int
    timestamp_s: float
    image_bgr: np.ndarray


@dataclass
class SourceInfo:
    """What the reader knows about the input. ``fps`` is a float (29.97 stays 29.97)."""

    path: str
    kind: str  # "video", "folder" or "image"
    fps: float
    frame_count: int  # as announced by the container (may be wrong for broken files)
    width: int
    height: int
    duration_s: float
    frames_read: int = 0
    warnings: List[str] = field(default_factory=list)

    @property
    def is_still(self) -> bool:
        return self.kind == "image"


CAMERA_PREFIX = "camera:"


def _probe_kind(path: Path) -> str:
    if str(path).startswith(CAMERA_PREFIX):
        return "camera"
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return "video"  # anything else is given to the video decoder, which says if it cannot


def read_image(path: Path) -> np.ndarray:
    """An image file as BGR uint8 (any path, non-ASCII too); InputError if unreadable."""
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise InputError(f"{path}: not a readable image")
    return image


class FrameSource:
    """Iterates the frames of one input between ``start_s`` and ``end_s``.

    ``sample_fps`` thins the frames to about that rate (``None``: every frame).
    Use as a context manager; iterate once.
    """

    def __init__(self, path: str | Path, sample_fps: Optional[float] = None,
                 start_s: float = 0.0, end_s: Optional[float] = None,
                 folder_fps: float = DEFAULT_FOLDER_FPS):
        self.path = Path(path)
        if sample_fps is not None and sample_fps < 0:
            raise InputError(f"--fps must be >= 0 (0 = every frame), got {sample_fps:g}")
        sample_fps = sample_fps or None  # 0: every frame
        if end_s is not None and end_s <= start_s:
            raise InputError(f"--end ({end_s}) must be after --start ({start_s})")
        self.sample_fps = sample_fps
        self.start_s = max(0.0, start_s)
        self.end_s = end_s
        self.kind = _probe_kind(Path(str(path)) if not str(path).startswith(CAMERA_PREFIX) else str(path))
        self._cap: Optional[cv2.VideoCapture] = None
        self._files: List[Path] = []
        self._use_container_time = False
        if self.kind == "camera":
            self.info = self._open_camera(str(path))
        elif self.kind == "video":
            self.info = self._open_video()
        elif self.kind == "folder":
            self.info = self._open_folder(sample_fps or folder_fps)
        else:
            image = read_image(self.path)
            self._still = image
            h, w = image.shape[:2]
            self.info = SourceInfo(str(self.path), "image", 0.0, 1, w, h, 0.0)

    # -- opening -------------------------------------------------------------
    def _open_camera(self, spec: str) -> SourceInfo:
        """``camera:N``: OpenCV device N, timed by the clock; runs until --end or Ctrl-C."""
        try:
            device = int(spec[len(CAMERA_PREFIX):])
        except ValueError:
            raise InputError(f"{spec}: a camera is given as camera:N with N a device number, e.g. camera:0") from None
        cap = cv2.VideoCapture(device)
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None:
            cap.release()
            raise InputError(f"{spec}: the camera cannot be opened or gives no picture (connected? used by another program?)")
        self._cap = cap
        self._first = first
        h, w = first.shape[:2]
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        return SourceInfo(spec, "camera", fps if 0 < fps < 1000 else 30.0, 0, w, h, 0.0)

    def _open_video(self) -> SourceInfo:
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise InputError(f"{self.path}: not a video OpenCV can open (corrupt, or not a video file)")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise InputError(f"{self.path}: the video has no decodable frames")
        h, w = first.shape[:2]
        if not (0 < fps < 1000) or math.isnan(fps):
            fps = 25.0
        # Container timestamps are used only when the first two look sane:
        # some containers (AVI) report the *next* frame's time.
        t0 = cap.get(cv2.CAP_PROP_POS_MSEC)
        ok2 = cap.grab()
        t1 = cap.get(cv2.CAP_PROP_POS_MSEC) if ok2 else float("nan")
        step = 1000.0 / fps
        self._use_container_time = bool(abs(t0) < 0.5 * step and 0 < t1 - t0 < 5 * step)
        cap.release()
        self._cap = cv2.VideoCapture(str(self.path))
        info = SourceInfo(str(self.path), "video", fps, count, w, h, count / fps if fps else 0.0)
        return info

    def _open_folder(self, fps: float) -> SourceInfo:
        files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{self.path}: folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self._files = files
        first = read_image(files[0])
        h, w = first.shape[:2]
        return SourceInfo(str(self.path), "folder", float(fps), len(files), w, h, len(files) / fps)

    # -- iteration -----------------------------------------------------------
    # The context-manager idiom of detect.native.ModelHandle too; io does not import detect, so it is spelt twice.
    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _wanted(self, t: float, last_kept: Optional[float]) -> bool:
        if t < self.start_s - 1e-9:
            return False
        if self.sample_fps is None or last_kept is None:
            return True
        return t - last_kept >= (1.0 / self.sample_fps) - 0.25 / max(self.info.fps, 1e-6)

    def __iter__(self) -> Iterator[Frame]:
        if self.kind == "image":
            self.info.frames_read = 1
            yield Frame(0, 0.0, self._still)
            return
        if self.kind == "folder":
            yield from self._iter_folder()
            return
        if self.kind == "camera":
            yield from self._iter_camera()
            return
        yield from self._iter_video()

    def _iter_camera(self) -> Iterator[Frame]:
        import time

        cap = self._cap
        assert cap is not None, "FrameSource iterated after close()"
        t0 = time.monotonic()
        last_kept: Optional[float] = None
        image, index = self._first, 0
        while image is not None:
            t = time.monotonic() - t0
            if self.end_s is not None and t > self.end_s:
                break
            if self._wanted(t, last_kept):
                last_kept = t
                self.info.frames_read += 1
                yield Frame(index, t, image)
            index += 1
            ok, image = cap.read()
            if not ok:
                self.info.warnings.append(f"the camera stopped giving pictures after {t:.1f} s")
                break
        self.info.duration_s = time.monotonic() - t0

    def _iter_folder(self) -> Iterator[Frame]:
        fps = self.info.fps
        last_kept = None
        for i, f in enumerate(self._files):
            t = i / fps
            if self.end_s is not None and t > self.end_s:
                break
            if not self._wanted(t, last_kept):
                continue
            last_kept = t
            self.info.frames_read += 1
            yield Frame(i, t, read_image(f))

    def _iter_video(self) -> Iterator[Frame]:
        cap = self._cap
        assert cap is not None, "FrameSource iterated after close()"
        fps = self.info.fps
        last_kept: Optional[float] = None
        prev_t = -math.inf
        index = 0
        while True:
            if not cap.grab():
                break
            t = index / fps
            if self._use_container_time:
                tc = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                t = tc if tc > prev_t else prev_t + 1.0 / fps
            prev_t = t
            if self.end_s is not None and t > self.end_s + 1e-9:
                break
            if self._wanted(t, last_kept):
                ok, image = cap.retrieve()
                if ok and image is not None:
                    last_kept = t
                    self.info.frames_read += 1
                    yield Frame(index, t, image)
            index += 1
        self.info.duration_s = max(self.info.duration_s, prev_t + 1.0 / fps if index else 0.0)
        announced = self.info.frame_count
        if self.end_s is None and announced > 0 and index < announced - max(2, 0.01 * announced):
            self.info.warnings.append(
                f"decoded {index} of {announced} frames announced by the container: "
                f"the file looks truncated or damaged after {prev_t:.2f} s; analysed what was readable")
        if index == 0:
            raise InputError(f"{self.path}: the video has no decodable frames")


def seek_frames(path: str | Path, times_s: List[float]) -> Iterator[Frame]:
    """One frame at about each of ``times_s`` (ascending), reached by seeking, not by decoding every frame in
    between: for a sparse look at a long video (the several-people probe), where that would cost a whole
    decode. OpenCV seeks to the keyframe before and decodes from there, so each frame costs at most a group
    of pictures. A time it cannot reach is skipped; the index is ``round(t * fps)``. Use :class:`FrameSource`
    for frames whose exact index and time matter."""
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError(f"{path}: not a video OpenCV can open (corrupt, or not a video file)")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        fps = fps if 0 < fps < 1000 else 25.0
        for t in times_s:
            if not cap.set(cv2.CAP_PROP_POS_MSEC, max(t, 0.0) * 1000.0):
                continue
            ok, image = cap.read()
            if ok and image is not None:
                yield Frame(int(round(t * fps)), t, image)
    finally:
        cap.release()
