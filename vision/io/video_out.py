"""Writing the outputs' video: H.264 in mp4, yuv420p, which every browser plays.

Frames go to the encoder one at a time (nothing is held in memory). The frame
rate is kept exactly as a :class:`~fractions.Fraction` (29.97 stays
30000/1001, a GIF's 16.67 stays 50/3), never rounded to an integer.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Tuple

import numpy as np


class VideoWriteError(Exception):
    """The output video cannot be written (one-line message)."""


def fps_fraction(fps: float) -> Fraction:
    """A float frame rate as an exact-enough fraction: 29.97002997 -> 30000/1001, 25.0 -> 25."""
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    return Fraction(fps).limit_denominator(1001)


def even_size(width: int, height: int) -> Tuple[int, int]:
    """yuv420p needs even sides: round each down to even (at least 2)."""
    return max(2, width - width % 2), max(2, height - height % 2)


class H264Writer:
    """``with H264Writer(path, fps, (w, h)) as w: w.write(frame_bgr)``.

    ``size_wh`` must be even (see :func:`even_size`); every frame written must
    have exactly that size. The file is written beside its final name and moved
    there on a clean close, so a crash never leaves a half-written clip under
    the real name. ``frames`` counts the frames written.
    """

    def __init__(self, path: str | Path, fps: float, size_wh: Tuple[int, int], crf: int = 23,
                 preset: str = "veryfast"):
        import av  # PyAV: bundles FFmpeg with libx264

        w, h = int(size_wh[0]), int(size_wh[1])
        if w % 2 or h % 2 or w <= 0 or h <= 0:
            raise ValueError(f"H264Writer: size must be positive and even, got {w}x{h}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(self.path.stem + ".part" + self.path.suffix)
        self.size_wh = (w, h)
        self.rate = fps_fraction(fps)
        self.frames = 0
        self._av = av
        try:
            self._out = av.open(str(self._tmp), "w", format="mp4", options={"movflags": "+faststart"})
            self._stream = self._out.add_stream("libx264", rate=self.rate,
                                                options={"crf": str(crf), "preset": preset})
        except Exception as exc:  # no libx264 in this FFmpeg build, unwritable folder, ...
            raise VideoWriteError(f"{self.path}: cannot open an H.264 writer ({exc})") from None
        self._stream.width, self._stream.height = w, h
        self._stream.pix_fmt = "yuv420p"

    def write(self, frame_bgr: np.ndarray) -> None:
        h, w = frame_bgr.shape[:2]
        if (w, h) != self.size_wh:
            raise ValueError(f"H264Writer: frame is {w}x{h}, the video is {self.size_wh[0]}x{self.size_wh[1]}")
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(frame_bgr), format="bgr24")
        frame.pts = self.frames
        for packet in self._stream.encode(frame):
            self._out.mux(packet)
        self.frames += 1

    def close(self) -> None:
        if self._out is None:
            return
        if self.frames == 0:
            self.abort()
            raise VideoWriteError(f"{self.path}: no frames to write")
        for packet in self._stream.encode():
            self._out.mux(packet)
        self._out.close()
        self._out = None
        self._tmp.replace(self.path)

    def abort(self) -> None:
        """Drop the unfinished file."""
        if self._out is not None:
            try:
                self._out.close()
            except Exception:
                pass
            self._out = None
        self._tmp.unlink(missing_ok=True)

    @property
    def duration_s(self) -> float:
        return float(self.frames / self.rate)

    def __enter__(self) -> "H264Writer":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
