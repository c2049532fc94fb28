"""Several instances of one landmark detector on one recording, side by side.

A MediaPipe graph keeps a little over one core busy (measured on the seated
talking clip: 7.4 s of CPU in 6.3 s for Holistic), so on a machine with a
second core a second instance lands about 1.5 times as many frames a second
(``analyze --threads N``; by default one a core, at most two: :func:`default_workers`).
:class:`DetectorPool` opens ``workers`` instances, each used by one thread of
its own (a graph is never shared between threads), hands the frames out in
turn and gives the results back in input order::

    with DetectorPool(lambda: HolisticDetector(), workers=2) as pool:
        for frame, people in pool.run(frames):
            ...

The recording is landmarked in segments of ``chunk`` consecutive frames
(:data:`CHUNK`), and every segment after the first starts afresh: the
instance taking it is ``reset()`` first (if it has one), as at the start of a
video. Instances take the segments in turn. So the landmarks depend on the
segment length only, never on how many instances share the work: one
instance and two give the same run, on any machine, in ``analyze`` and in
``batch`` alike. At most ``workers * chunk + AHEAD`` frames are in flight:
memory does not grow with the recording. ``workers=1`` still overlaps
decoding and judging (the caller's thread) with the models (the pool's
thread).
"""
from __future__ import annotations

import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional, Tuple, TypeVar

from vision.detect.landmarks import PersonLandmarks

#: a :class:`vision.detect.base.LandmarkDetector` (not imported: base chooses backends, this only runs them)
LandmarkDetector = Any

T = TypeVar("T")

#: frames queued per instance beyond the one it is working on: enough to keep it busy while the caller
#: judges a frame, few enough that frames in flight stay a handful.
AHEAD = 2

#: frames a segment (see the module doc). A segment starts afresh, as a video does: the tracker finds the person
#: again and its smoothing restarts, the cost of running segments side by side. Long enough that this happens
#: seldom (6.4 s at the default 10 fps), short enough that two segments of frames in flight stay a few hundred MB
#: at most (2 x 64 + 2 frames: 90 MB at 640x360, 800 MB at 1920x1080). Measured on ../shared/media with the same
#: rules, against tracking across the whole recording: see README, Speed. (Single frames handed out in turn, each
#: instance tracking across the other's frame, changed far more; so did runs of 16 without the reset.)
CHUNK = 64

#: instances side by side when not told: two when this process may use two cores or more (the landmarks are the
#: same either way); a ``batch`` worker pinned to one core, or a one-core machine, gets one.
MAX_DEFAULT_WORKERS = 2


def default_workers() -> int:
    """Instances for one recording: the cores this process may use, at most :data:`MAX_DEFAULT_WORKERS`."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(MAX_DEFAULT_WORKERS, cores))


class DetectorPool:
    """``workers`` detectors from ``open_one``, each in its own thread; :meth:`run` maps frames in order.

    ``seconds`` adds up the time the instances spent in ``detect`` (with two
    instances it can exceed the wall time).
    """

    def __init__(self, open_one: Callable[[], LandmarkDetector], workers: int = 1, chunk: int = 1):
        if workers < 1 or chunk < 1:
            raise ValueError(f"workers and chunk must be at least 1, got {workers} and {chunk}")
        self.workers, self.chunk = workers, chunk
        self._open_one = open_one
        self._threads = [ThreadPoolExecutor(1, thread_name_prefix=f"detector{k}") for k in range(workers)]
        self._dets: List[LandmarkDetector] = []
        self._lock = threading.Lock()
        self.seconds = 0.0

    def __enter__(self) -> "DetectorPool":
        loading = [t.submit(lambda: self._open_one().__enter__()) for t in self._threads]  # the graphs load side by side too
        try:
            for f in loading:
                self._dets.append(f.result())
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for t in self._threads:
            t.shutdown(wait=True, cancel_futures=True)
        for det in self._dets:
            det.__exit__(None, None, None)
        self._dets = []

    @property
    def model_names(self) -> Dict[str, object]:
        """run.json's ``models`` block: the instances are alike, so the first one's."""
        return self._dets[0].model_names

    def _call(self, k: int, fn: Callable[[LandmarkDetector, T], object], item: T, fresh: bool = False):
        t0 = time.perf_counter()
        try:
            if fresh and hasattr(self._dets[k], "reset"):
                self._dets[k].reset()  # a new segment starts as a video does
            return fn(self._dets[k], item)
        finally:
            with self._lock:
                self.seconds += time.perf_counter() - t0

    def map(self, fn: Callable[[LandmarkDetector, T], object], items: Iterable[T]) -> Iterator[Tuple[T, object]]:
        """``(item, fn(detector, item))`` for each item, in input order; item ``i`` goes to instance
        ``(i // chunk) % workers``. An error in ``fn`` is raised here, at that item; the frames after it are dropped."""
        if not self._dets:
            raise RuntimeError("DetectorPool used outside its with-block")
        pending: Deque[Tuple[T, Future]] = deque()
        limit = self.workers * self.chunk + AHEAD
        try:
            for i, item in enumerate(items):
                k = (i // self.chunk) % self.workers
                fresh = i > 0 and i % self.chunk == 0  # a new segment: afresh, whichever instance takes it
                pending.append((item, self._threads[k].submit(self._call, k, fn, item, fresh)))
                if len(pending) >= limit:
                    done, fut = pending.popleft()
                    yield done, fut.result()
            while pending:
                done, fut = pending.popleft()
                yield done, fut.result()
        finally:
            for _, fut in pending:  # stopped early (an error, Ctrl-C, the caller broke off): drop the rest
                fut.cancel()
            for _, fut in pending:
                if not fut.cancelled():
                    try:
                        fut.result()  # let a running detect finish before the graphs close
                    except BaseException:
                        pass

    def run(self, frames: Iterable) -> Iterator[Tuple[object, List[PersonLandmarks]]]:
        """``(frame, people)`` for each :class:`~vision.io.frames.Frame`, in order: the whole-frame detector."""
        return self.map(lambda det, frame: det.detect(frame.image_bgr, frame.timestamp_s), frames)


def open_pool(open_one: Callable[[], LandmarkDetector], workers: Optional[int] = None) -> DetectorPool:
    """A pool of ``workers`` instances (None: :func:`default_workers`), not yet opened."""
    return DetectorPool(open_one, default_workers() if workers is None else workers, CHUNK)
