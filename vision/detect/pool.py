"""Several instances of one landmark detector on one recording, side by side.

A MediaPipe graph keeps a little over one core busy (measured on the seated
talking clip: 7.4 s of CPU in 6.3 s for Holistic), so on a machine with a
second core a second instance lands about 1.5 times as many frames a second
(``analyze --threads 2``; the default is one instance: :data:`DEFAULT_WORKERS`).
:class:`DetectorPool` opens ``workers`` instances, each used by one thread of
its own (a graph is never shared between threads), hands the frames out in
turn and gives the results back in input order::

    with DetectorPool(lambda: HolisticDetector(), workers=2) as pool:
        for frame, people in pool.run(frames):
            ...

Each instance takes runs of ``chunk`` consecutive frames in turn (:data:`CHUNK`),
with strictly increasing timestamps, so a tracking detector tracks frame to
frame within a run; before each later run it is ``reset()`` (if it has one),
so it starts that run afresh as at the start of a video instead of tracking
across the jump from stale state. At most
``workers * chunk + AHEAD`` frames are in flight: memory does not grow with
the recording. ``workers=1`` still overlaps decoding and judging (the caller's
thread) with the models (the pool's thread).
"""
from __future__ import annotations

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

#: frames in a row each instance landmarks before the next instance takes over: a tracking graph then tracks
#: frame to frame as if alone, and meets a jump (like a cut) once every CHUNK frames. Handing out single frames
#: in turn instead (each instance tracking across the other's frame) changed events on small, low-resolution
#: clips of ../shared/media (a face touch on the CCTV gif, a drink on the NTU clip); runs of 16 gave the
#: one-instance events on them. Frames in flight: ``workers * CHUNK + AHEAD``.
CHUNK = 16

#: instances side by side when not told: one. Two instances track differently from one (each starts its runs
#: afresh), so a run's events would depend on the machine's core count and differ from ``batch`` (one instance a
#: recording); measured on ../shared/media (same rules, landmarks from 1 vs 2 instances): the same misses and
#: 2 more false positives of 41 tune entries, within what starting a one-instance run one frame later changes,
#: but not the same events. ``--threads 2`` is there for speed (``scripts/bench.py``).
DEFAULT_WORKERS = 1


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

    def _call(self, k: int, fn: Callable[[LandmarkDetector, T], object], item: T, jump: bool = False):
        t0 = time.perf_counter()
        try:
            if jump and hasattr(self._dets[k], "reset"):
                self._dets[k].reset()  # a run that does not follow on from this instance's last frame
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
                jump = self.workers > 1 and i % self.chunk == 0 and i >= self.chunk * self.workers
                pending.append((item, self._threads[k].submit(self._call, k, fn, item, jump)))
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
    """A pool of ``workers`` instances (None: :data:`DEFAULT_WORKERS`), not yet opened."""
    return DetectorPool(open_one, DEFAULT_WORKERS if workers is None else workers, CHUNK)
