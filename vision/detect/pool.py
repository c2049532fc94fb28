"""Landmark-model instances on one recording, side by side.

A MediaPipe graph keeps a little over one core busy (measured on the seated
talking clip: 7.4 s of CPU in 6.3 s for Holistic), so on a machine with a
second core a second instance lands more frames a second (``analyze
--threads 2``). :class:`DetectorPool` opens ``workers`` instances, each used
by one thread of its own (a graph is never shared between threads), hands the
frames out and gives the results back in input order::

    with DetectorPool(lambda: HolisticDetector(), workers=2, chunk=64) as pool:
        for frame, people in pool.run(frames):
            ...

One instance (the default, and every ``batch`` worker) tracks across the
whole recording, exactly as a plain loop would; its thread still overlaps
decoding and judging (the caller's thread) with the models, and Holistic is
fed without waiting for each frame (:mod:`vision.detect.pipelined`), so its
graph works on several frames at once with the same landmarks. Several instances
work on segments of ``chunk`` consecutive frames (:data:`CHUNK`), taken in
turn; every segment after the first starts afresh, the instance taking it
``reset()`` first (if it has one), as at the start of a video. So the
landmarks of a segmented run depend on the segment length only, never on the
number of instances; they are not those of one instance tracking throughout,
since a fresh start re-detects the person (measured in README, *Speed*). At
most ``workers * chunk + AHEAD`` frames are in flight (:data:`PIPELINE_DEPTH`
for one instance fed without waiting): memory does not grow with the
recording.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional, Tuple, TypeVar

from vision.detect import still
from vision.detect.landmarks import PersonLandmarks

#: a :class:`vision.detect.base.LandmarkDetector` (not imported: base chooses backends, this only runs them)
LandmarkDetector = Any

T = TypeVar("T")

#: frames queued per instance beyond the one it is working on: enough to keep it busy while the caller
#: judges a frame, few enough that frames in flight stay a handful.
AHEAD = 2

#: frames a segment when several instances share a recording (see the module doc). A fresh start re-detects the
#: person and restarts the smoothing: long enough that this happens seldom (6.4 s at the default 10 fps), short
#: enough that two segments of frames in flight stay bounded (2 x 64 + 2 frames: 90 MB at 640x360, 800 MB at
#: 1920x1080; twice that with Holistic fed without waiting, whose graphs hold their own copies). (Single frames handed out in turn, each instance tracking across the other's
#: frame, changed far more; so did segments of 16 without the reset.)
CHUNK = 64

#: frames in flight for one instance fed without waiting (:mod:`vision.detect.pipelined`): enough to keep its
#: graph busy while the caller runs the object detector on a frame (measured: 3 in flight already gives most
#: of the gain, 8 the rest), few enough that the graph's copies of the frames stay small
PIPELINE_DEPTH = 16


class DetectorPool:
    """``workers`` detectors from ``open_one``, each in its own thread; :meth:`run` maps frames in order.

    ``seconds`` adds up the time the instances spent in ``detect`` (with two
    instances it can exceed the wall time).
    """

    def __init__(self, open_one: Callable[[], LandmarkDetector], workers: int = 1, chunk: Optional[int] = None):
        if workers < 1 or (chunk is not None and chunk < 1) or (chunk is None and workers > 1):
            raise ValueError(f"workers must be at least 1 and chunk at least 1 (None: one instance tracking "
                             f"throughout), got {workers} and {chunk}")
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

    @property
    def asynchronous(self) -> bool:
        """Do the instances take frames without waiting (``detect_async``, :mod:`vision.detect.pipelined`)?"""
        return bool(self._dets) and all(hasattr(det, "detect_async") for det in self._dets)

    def _call(self, k: int, fn: Callable[[LandmarkDetector, T], object], item: T, fresh: bool = False):
        t0 = time.perf_counter()
        out = None
        try:
            if fresh and hasattr(self._dets[k], "reset"):
                self._dets[k].reset()  # a new segment starts as a video does
            out = fn(self._dets[k], item)
            return out
        finally:
            if not _pending(out):  # a pending result's time is counted when it is taken (map)
                with self._lock:
                    self.seconds += time.perf_counter() - t0

    def map(self, fn: Callable[[LandmarkDetector, T], object], items: Iterable[T]) -> Iterator[Tuple[T, object]]:
        """``(item, fn(detector, item))`` for each item, in input order; item ``i`` goes to instance
        ``(i // chunk) % workers`` (all to one instance when unsegmented). An error in ``fn`` is raised here, at
        that item; the frames after it are dropped.

        ``fn`` may return a pending result (``.result()`` and ``.span``, as
        :meth:`~vision.detect.holistic.HolisticDetector.detect_async` does): it
        is taken here, in order, and its time in ``seconds`` is the graph's busy
        time (from the frame's arrival, or the frame before it finishing, to its
        landmarks). One such instance has :data:`PIPELINE_DEPTH` items in flight;
        otherwise a segment per instance and :data:`AHEAD`.
        """
        if not self._dets:
            raise RuntimeError("DetectorPool used outside its with-block")
        pending: Deque[Tuple[T, Future, int]] = deque()
        chunk = self.chunk or CHUNK  # one instance unsegmented: it reads ahead as far as a segment
        limit = PIPELINE_DEPTH if self.workers == 1 and self.asynchronous else self.workers * chunk + AHEAD
        last: Dict[int, float] = {}  # per instance: when its previous pending result was done

        def take(item: T, fut: Future, k: int) -> Tuple[T, object]:
            out = fut.result()
            if not _pending(out):
                return item, out
            value = out.result()
            t0, t1 = out.span
            with self._lock:
                self.seconds += max(0.0, t1 - max(t0, last.get(k, t0)))
            last[k] = max(t1, last.get(k, t1))
            return item, value

        try:
            for i, item in enumerate(items):
                k = (i // chunk) % self.workers
                fresh = self.chunk is not None and i > 0 and i % chunk == 0  # a new segment starts afresh
                pending.append((item, self._threads[k].submit(self._call, k, fn, item, fresh), k))
                if len(pending) >= limit:
                    yield take(*pending.popleft())
            while pending:
                yield take(*pending.popleft())
        finally:
            for _, fut, _k in pending:  # stopped early (an error, Ctrl-C, the caller broke off): drop the rest
                fut.cancel()
            for _, fut, _k in pending:
                if not fut.cancelled():
                    try:
                        out = fut.result()  # let a running detect finish before the graphs close
                        if _pending(out):
                            out.result()
                    except BaseException:
                        pass

    def run(self, frames: Iterable, gate: Optional[still.StillGate] = None,
            count: Optional[still.StillCount] = None) -> Iterator[Tuple[object, List[PersonLandmarks]]]:
        """``(frame, people)`` for each :class:`~vision.io.frames.Frame`, in order: the whole-frame detector,
        fed without waiting when it can be (Holistic: its graph works on several frames at once, with the
        same landmarks; :mod:`vision.detect.pipelined`). ``gate``: frames in which nothing moved skip the
        models and get their neighbours' landmarks interpolated (:mod:`vision.detect.still`; counted in
        ``count``); None: every frame goes to the models."""
        if self.asynchronous:
            def detect(det, frame):
                return det.detect_async(frame.image_bgr, frame.timestamp_s)
        else:
            def detect(det, frame):
                return det.detect(frame.image_bgr, frame.timestamp_s)
        if gate is None:
            return self.map(detect, frames)
        marked = still.mark_still(frames, gate)
        return still.fill_still(self.map(lambda det, item: None if item[1] else detect(det, item[0]), marked), count)


def _pending(out: object) -> bool:
    """Is ``out`` a result still on its way (``result()`` to wait for it, ``span`` for its timing)?"""
    return hasattr(out, "span") and callable(getattr(out, "result", None))


def open_pool(open_one: Callable[[], LandmarkDetector], workers: Optional[int] = None) -> DetectorPool:
    """A pool, not yet opened: one instance tracking throughout (None, 1), or ``workers`` on segments of
    :data:`CHUNK`."""
    workers = workers or 1
    return DetectorPool(open_one, workers, CHUNK if workers > 1 else None)
