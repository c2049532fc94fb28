"""Reading the source of a run again, one frame at a time, for the outputs.

Frames are numbered the way the analysis numbered them (every decoded frame
from 0; see ``frames.py``), so a frame index in ``events.jsonl`` or the
landmark cache names the same picture here. A video is read with OpenCV:
frames nobody wants are only *grabbed* (decoded, not converted), and reading
stops after the last wanted frame. Nothing is held in memory beyond one frame.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Optional, Tuple

import cv2
import numpy as np

from vision.io.frames import IMAGE_SUFFIXES, InputError, read_image
from vision.io.run_folder import RunFolderError


def _read_image(path: Path) -> np.ndarray:
    try:
        return read_image(path)
    except InputError as exc:
        raise RunFolderError(str(exc)) from None


def iter_frames(source: Path, kind: str, wanted: Optional[Callable[[int], bool]] = None,
                last: Optional[int] = None) -> Iterator[Tuple[int, np.ndarray]]:
    """``(index, image_bgr)`` for every frame ``wanted(index)`` accepts (all if None), up to ``last``."""
    want = wanted or (lambda _i: True)
    if kind == "image":
        if want(0):
            yield 0, _read_image(source)
        return
    if kind == "folder":
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        for i, f in enumerate(files):
            if last is not None and i > last:
                return
            if want(i):
                yield i, _read_image(f)
        return
    cap = cv2.VideoCapture(str(source))
    if not cap.isOpened():
        raise RunFolderError(f"{source}: not a video OpenCV can open")
    try:
        index = 0
        while last is None or index <= last:
            if not cap.grab():
                break
            if want(index):
                ok, image = cap.retrieve()
                if ok and image is not None:
                    yield index, image
            index += 1
    finally:
        cap.release()


def check_size(image: np.ndarray, expected_wh: Tuple[int, int], source: Path) -> None:
    """The source must be the recording that was analysed: same frame size."""
    h, w = image.shape[:2]
    if expected_wh[0] > 0 and (w, h) != tuple(expected_wh):
        raise RunFolderError(f"{source}: frames are {w}x{h} but the run analysed {expected_wh[0]}x{expected_wh[1]}; "
                             "is this the same recording?")
