"""What every MediaPipe model here shares: its native logging kept quiet, its landmark lists as arrays.

MediaPipe's C++ side logs through absl/glog straight to file descriptor 2, below
Python's ``sys.stderr``: :func:`quiet_native_stderr` hides it while a model
starts, :func:`filtered_stderr` passes everything else written to fd 2
through (the command line wraps a whole run in it). No MediaPipe import here.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Iterator, List, Optional

import numpy as np

# Set before MediaPipe is first imported (the detectors import it lazily): only errors.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: Lines MediaPipe's native side writes to stderr that tell a user nothing.
NOISE = ("inference_feedback_manager.cc", "Created TensorFlow Lite XNNPACK delegate",
         "All log messages before absl::InitializeLog()", "landmark_projection_calculator.cc",
         "gl_context.cc", "Initialized TensorFlow Lite runtime")


class ModelHandle:
    """One MediaPipe graph held in ``self._model``: a context manager that closes it once."""

    _model = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._model is not None:
            self._model.close()
            self._model = None


class VideoClock:
    """Timestamps for MediaPipe's VIDEO mode: seconds must increase; sent as whole ms, nudged up by 1 ms
    where two round alike (MediaPipe refuses a repeated timestamp)."""

    def __init__(self) -> None:
        self.last_s = -float("inf")
        self.last_ms = -1

    def ms(self, timestamp_s: float) -> int:
        if timestamp_s <= self.last_s:
            raise ValueError(f"timestamps must increase: {timestamp_s} after {self.last_s}")
        self.last_s = timestamp_s
        self.last_ms = max(int(round(timestamp_s * 1000.0)), self.last_ms + 1)
        return self.last_ms


def _stderr_fd() -> Optional[int]:
    """fd 2 flushed and ready to be redirected, or None where stderr has no file descriptor (e.g. captured)."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    sys.stderr.flush()
    return fd


_QUIET_LOCK = threading.Lock()
_quiet = {"depth": 0, "saved": None}  # fd 2 is the process's: one redirection, however many threads ask


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send fd 2 to /dev/null while a model starts or first runs (its start-up chatter).

    Safe from several threads at once (the models of a :class:`~vision.detect.pool.DetectorPool` start side by
    side): the first to enter redirects, the last to leave restores. Done per thread, the second would save
    /dev/null as "the" stderr and restore it last, silencing the progress bar for the rest of the run.
    """
    fd = _stderr_fd()
    if fd is None:
        yield
        return
    with _QUIET_LOCK:
        if _quiet["depth"] == 0:
            _quiet["saved"] = os.dup(fd)
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), fd)
        _quiet["depth"] += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _quiet["depth"] -= 1
            if _quiet["depth"] == 0:
                os.dup2(_quiet["saved"], fd)
                os.close(_quiet["saved"])
                _quiet["saved"] = None


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Pass everything written to fd 2 through, except the lines of :data:`NOISE`.

    The models load lazily (the hand model when a hand first shows), so the
    chatter can come at any time: a thread reads a pipe in place of fd 2 and
    forwards each line or progress-bar update that is not noise.
    """
    fd = _stderr_fd()
    if fd is None:
        yield
        return
    saved = os.dup(fd)
    read_end, write_end = os.pipe()
    os.dup2(write_end, fd)
    os.close(write_end)

    def pump() -> None:
        buf = b""
        with os.fdopen(read_end, "rb", buffering=0) as r:
            while True:
                chunk = r.read(4096)
                if not chunk:
                    break
                buf += chunk
                while True:
                    cut = max(buf.rfind(b"\n"), buf.rfind(b"\r"))
                    if cut < 0:
                        break
                    head, buf = buf[:cut + 1], buf[cut + 1:]
                    for piece in _pieces(head):
                        if not any(n.encode() in piece for n in NOISE):
                            os.write(saved, piece)
        if buf and not any(n.encode() in buf for n in NOISE):
            os.write(saved, buf)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, fd)  # closes the pipe's last write end: the pump drains and ends
        thread.join(timeout=2.0)
        os.close(saved)


def _pieces(data: bytes) -> List[bytes]:
    """Split after every newline or carriage return, keeping them."""
    out, start = [], 0
    for i, b in enumerate(data):
        if b in (10, 13):
            out.append(data[start:i + 1])
            start = i + 1
    if start < len(data):
        out.append(data[start:])
    return out


def landmark_array(landmark_list, n: int) -> np.ndarray:
    """A legacy solution's ``NormalizedLandmarkList`` as (n, 3) float32 xyz; all NaN when it is None (not seen)."""
    if landmark_list is None:
        return np.full((n, 3), np.nan, np.float32)
    return np.array([(p.x, p.y, p.z) for p in landmark_list.landmark], np.float32).reshape(n, 3)


def landmark_visibility(landmark_list, n: int) -> np.ndarray:
    """A legacy solution's per-landmark visibility (n,); all NaN when the list is None."""
    if landmark_list is None:
        return np.full((n,), np.nan, np.float32)
    return np.array([p.visibility for p in landmark_list.landmark], np.float32)
