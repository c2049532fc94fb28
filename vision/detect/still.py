"""Stage 2 shortcut: a frame in which nothing moved gets its landmarks from its neighbours, not the models.

A frame is *still* when the picture barely changed from the frame before it
and to the frame after it: no cell of a grid over the picture changed its
grey level by more than ``max_change`` on average (:func:`change`). A cell
is about a hand's length of the person (:data:`CELL_SW` of the body size
the people probe measured, ``body_px``), at most a sixteenth of the frame.
A still frame's landmarks are the linear interpolation, in time, of the
landmarked frames on either side; a landmark seen on only one side, or a person found on only one side,
is not seen (NaN, never a guess). Never the first or the last frame, and the
landmarked frames either side of a run of still frames are at most
:data:`MAX_SPAN_S` apart.

The gate looks at pixels only, so it is decided before the models run, in
time order, and the same frames are still on every run of the same input
(a resumed run interpolates the same frames from the same neighbours).
Whether the interpolated landmarks are as good as the models' own:
``scripts/measure_still.py`` (the threshold's source; README, *Speed*)::

    frames = mark_still(source, StillGate.for_person(body_px))  # (frame, still)
    results = pool.map(lambda det, item: None if item[1] else det.detect(...), frames)
    for frame, people in fill_still(results): ...
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Deque, Dict, Iterable, Iterator, List, Optional, Tuple

import cv2
import numpy as np

from vision.detect.landmarks import PERSON_ARRAYS, PersonLandmarks

#: cells of the change grid along the picture's longer side when the person's size is not known (16 x 9 on a
#: 16:9 frame: a seated trainee a third of the frame wide spans about five cells)
GRID = 16
#: a cell's side in shoulder widths when the person's size is known: about a hand's length (Drillis & Contini:
#: hand 0.108 H, shoulder breadth 0.259 H), so a hand moving by its own length changes a whole cell however small
#: the person is in the picture
CELL_SW = 0.42
#: pixels a cell's side in the grey image the change is measured on
CELL_PX = 10
#: grey levels (0-255): the largest mean change of any cell that still counts as nothing moved. Measured on the
#: tune split at every frame (``scripts/measure_still.py``): the threshold at which the interpolated landmarks of
#: the frames it lets through are closest to the models' own (the 95th percentile of the body points' error
#: is lowest; higher thresholds let moving frames through, lower ones keep only the frames where the model
#: itself jumps on an unchanged picture)
STILL_MAX_CHANGE = 6.0
#: seconds: the frames the models see either side of a run of still frames are at most this far apart: two
#: still frames in a row at 25-33 frames a second, one at 17-24, none below (the default 10: its runs are exactly
#: what they were). Source: shorter than the time constant of the landmark filter that follows (rules.yaml
#: ``smoothing:``, One Euro at min_cutoff 1 Hz: 1 / 2 pi = 0.16 s), and measured: with 0.2 s (one still frame at
#: 10 a second) the tune split lost an eating and a face touch episode of a small person (a 1920 x 1080 clip:
#: a hand raising a cup changed less than one 120-pixel cell of the frame's grid), and gained a slouch false
#: positive
MAX_SPAN_S = 0.12


@dataclass(frozen=True)
class StillGate:
    """When a frame counts as still: ``max_change`` grey levels in any cell of ``cell`` source pixels (None: the
    frame's own grid, :data:`GRID` cells along its longer side), and landmarked frames at most ``max_span_s``
    apart."""

    max_change: float = STILL_MAX_CHANGE
    max_span_s: float = MAX_SPAN_S
    cell: Optional[float] = None

    @classmethod
    def for_person(cls, body_px: Optional[float]) -> "StillGate":
        """Cells of :data:`CELL_SW` of a person of ``body_px`` pixels (the people probe's ``body_px``: the shoulder
        width, or what stands for it in a side view, :func:`vision.track.tracker.body_size`; None, 0: unknown)."""
        ok = body_px is not None and np.isfinite(body_px) and body_px > 0
        return cls(cell=CELL_SW * float(body_px) if ok else None)

    def cell_px(self, width: int, height: int) -> float:
        """A cell's side in source pixels: the person's (at most the frame's grid cell), or the frame's grid."""
        grid = max(width, height) / GRID
        return min(grid, max(1.0, self.cell)) if self.cell is not None else grid


def small_grey(image_bgr: np.ndarray, cell: Optional[float] = None) -> np.ndarray:
    """The picture in grey, float32, scaled so that a cell of ``cell`` source pixels is :data:`CELL_PX` pixels
    (None: :data:`GRID` cells along the longer side). Never enlarged."""
    h, w = image_bgr.shape[:2]
    cell = cell if cell is not None else max(w, h) / GRID
    s = min(1.0, CELL_PX / cell)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY) if image_bgr.ndim == 3 else image_bgr
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32)


def change(a: np.ndarray, b: np.ndarray, cell: int = CELL_PX) -> float:
    """The largest mean absolute grey-level change of any cell of ``cell`` pixels between two :func:`small_grey`
    pictures (another size: infinite)."""
    if a.shape != b.shape:
        return float("inf")
    d = np.abs(a - b)
    h, w = d.shape
    cells = cv2.resize(d, (max(1, round(w / cell)), max(1, round(h / cell))), interpolation=cv2.INTER_AREA)
    return float(cells.max())


def still_flags(pictures: Iterable[Tuple[float, np.ndarray]], max_change: float,
                max_span_s: float = MAX_SPAN_S) -> Iterator[bool]:
    """Is each ``(timestamp_s, small_grey picture)`` still? Each answer comes once the picture after it is read.
    A frame is still when the change to the frames before and after it is at most ``max_change`` and the frame
    after it is at most ``max_span_s`` after the last frame that was not still: the frames either side of a run
    of still frames, whose landmarks the models give, are never further apart than that."""
    prev = cur = None
    last_seen = None  # the timestamp of the last frame that was not still
    for nxt in pictures:
        if cur is not None:
            still = (prev is not None and last_seen is not None and nxt[0] - last_seen <= max_span_s + 1e-9
                     and change(prev[1], cur[1]) <= max_change and change(cur[1], nxt[1]) <= max_change)
            if not still:
                last_seen = cur[0]
            yield still
        prev, cur = cur, nxt
    if cur is not None:
        yield False  # the last frame: nothing after it to interpolate toward


def mark_still(frames: Iterable, gate: StillGate) -> Iterator[Tuple[object, bool]]:
    """``(frame, still)`` for each frame (``timestamp_s``, ``image_bgr``), in order, one frame read ahead."""
    read: Deque = deque()

    def pictures() -> Iterator[Tuple[float, np.ndarray]]:
        for frame in frames:
            read.append(frame)
            h, w = frame.image_bgr.shape[:2]
            yield frame.timestamp_s, small_grey(frame.image_bgr, gate.cell_px(w, h))

    for still in still_flags(pictures(), gate.max_change, gate.max_span_s):
        yield read.popleft(), still


def interpolate(before: List[PersonLandmarks], after: List[PersonLandmarks], w: float) -> List[PersonLandmarks]:
    """The people found on both sides (by ``person_id``), each array ``(1 - w) * before + w * after`` where both
    sides saw it, NaN elsewhere."""
    ahead = {p.person_id: p for p in after}
    out = []
    for p in before:
        q = ahead.get(p.person_id)
        if q is None:
            continue
        arrays: Dict[str, np.ndarray] = {}
        for name in PERSON_ARRAYS:
            a, b = getattr(p, name), getattr(q, name)
            arrays[name] = np.where(np.isnan(a) | np.isnan(b), np.nan, (1.0 - w) * a + w * b).astype(np.float32)
        out.append(PersonLandmarks(p.person_id, **arrays))
    return out


class StillCount:
    """How many frames :func:`fill_still` interpolated (run.json ``timings.frames_interpolated``)."""

    def __init__(self) -> None:
        self.still = 0


def fill_still(results: Iterable[Tuple[Tuple[object, bool], Optional[List[PersonLandmarks]]]],
               count: Optional[StillCount] = None) -> Iterator[Tuple[object, List[PersonLandmarks]]]:
    """``((frame, still), people)`` in order, ``people`` None for a still frame -> ``(frame, people)``, each still
    frame's people interpolated between the frames before and after it that the models saw (by ``timestamp_s``)."""
    count = count if count is not None else StillCount()
    last: Optional[Tuple[object, List[PersonLandmarks]]] = None
    held: List = []  # still frames waiting for the frame after them
    for (frame, still), people in results:
        if still:
            if last is None:
                raise ValueError("a still frame must come after a landmarked one (mark_still never marks the first)")
            held.append(frame)
            continue
        t0, t1 = (last[0].timestamp_s, frame.timestamp_s) if last is not None else (0.0, 0.0)
        for h in held:
            w = (h.timestamp_s - t0) / (t1 - t0) if t1 > t0 else 0.5
            count.still += 1
            yield h, interpolate(last[1], people, w)
        held = []
        last = (frame, people)
        yield frame, people
    if held:
        raise ValueError("the last frame cannot be still (mark_still never marks it)")
