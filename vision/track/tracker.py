"""Stable person ids across frames: norfair tracking the 33 pose keypoints.

A detection is one body from :class:`vision.detect.multipose.MultiPoseDetector`
(a :class:`~vision.detect.landmarks.PersonLandmarks`). Its keypoints go to
norfair in pixels (so x and y share a unit), each scored by its visibility;
a point that is NaN, outside the image or below :data:`SEEN` visibility scores
0, so norfair neither matches on it nor updates its filter with it. A body
with fewer than :data:`MIN_POINTS` seen points is not a person and is dropped.

The distance between a detection and a track (:func:`pose_distance`) is the
mean pixel distance over the points seen in both, divided by the body's size
(:func:`body_size`): 1.0 means "one body size apart", whatever the zoom.
A track missing for up to ``keep_s`` seconds is matched again directly; a
track lost for up to ``reid_s`` is re-identified when a new track starts
within ``reid_reach`` body sizes of where it was last seen (norfair's ReID),
so a short occlusion or a crossing keeps the id.

:class:`PoseTracker` is the frame-by-frame (live) interface;
:func:`track_frames` tracks a whole clip, also gives each person the frames
seen while their track was still confirming (``init_frames``), and numbers
ids 0, 1, ... by first appearance. With at most one body in every frame it
takes a fast path without norfair.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from vision.detect.landmarks import FrameLandmarks, PersonLandmarks

#: Pose visibility at and above which a keypoint counts as seen (MediaPipe's own
#: drawing utilities use 0.5 for the same purpose).
SEEN = 0.5
#: A body needs this many seen keypoints to be a person (a face alone has 11).
MIN_POINTS = 4
#: Two bodies closer than this (body sizes) are one person found twice (see :func:`drop_duplicates`).
SAME_BODY = 0.25
#: Distance (body sizes) returned when a detection and a track share fewer than 2 seen points.
FAR = 1e3
SHOULDERS, HIPS = (11, 12), (23, 24)


@dataclass(frozen=True)
class TrackerOptions:
    """How far and how long a track is followed. Times in seconds, distances in body sizes.

    ``reach``: a detection joins a live track up to this far from its predicted
    pose (half a body size: people in a roleplay stand at least a body apart;
    fast moves are followed by the filter's velocity). ``keep_s``: a track
    unseen this long is dropped from direct matching. ``confirm_frames``:
    detections a new track needs before it gets an id (a one-frame ghost gets
    none). ``reid_s`` / ``reid_reach``: a lost track takes over a new one that
    starts within ``reid_reach`` of where it was last seen, up to ``reid_s`` later.
    """

    reach: float = 0.5
    keep_s: float = 0.5
    confirm_frames: int = 2
    reid_s: float = 3.0
    reid_reach: float = 1.0


def seen_mask(person: PersonLandmarks) -> np.ndarray:
    """(33,) bool: keypoints finite, inside the image and at least :data:`SEEN` visible."""
    xy = person.pose_xyz[:, :2]
    vis = person.pose_visibility
    inside = np.all((xy >= 0.0) & (xy <= 1.0), axis=1)
    return np.isfinite(xy).all(axis=1) & inside & (np.nan_to_num(vis, nan=0.0) >= SEEN)


def body_size(xy_px: np.ndarray, seen: np.ndarray) -> float:
    """A body's size in pixels: shoulder width, half the shoulder-to-hip length, or a third of the
    seen points' box diagonal, whichever is largest and available (at least 1 px)."""
    sizes = [1.0]
    if seen[list(SHOULDERS)].all():
        sizes.append(float(np.linalg.norm(xy_px[11] - xy_px[12])))
    if seen[list(SHOULDERS + HIPS)].all():
        sizes.append(0.5 * float(np.linalg.norm(xy_px[[11, 12]].mean(0) - xy_px[[23, 24]].mean(0))))
    if seen.sum() >= 2:
        pts = xy_px[seen]
        sizes.append(float(np.hypot(*(pts.max(0) - pts.min(0)))) / 3.0)
    return max(sizes)


def person_size(person: PersonLandmarks, image_wh: Tuple[int, int]) -> float:
    """:func:`body_size` of a person's seen pose points, in pixels of an ``image_wh`` frame."""
    return body_size(person.pose_xyz[:, :2] * np.asarray(image_wh, np.float64), seen_mask(person))


def pose_distance(a_xy: np.ndarray, a_seen: np.ndarray, b_xy: np.ndarray, b_seen: np.ndarray,
                  size: float) -> float:
    """Mean distance over the keypoints seen in both poses, in units of ``size``; :data:`FAR` if < 2 shared."""
    both = a_seen & b_seen
    if both.sum() < 2:
        return FAR
    return float(np.linalg.norm(a_xy[both] - b_xy[both], axis=1).mean()) / max(size, 1.0)


def drop_duplicates(people: Sequence[PersonLandmarks], image_wh: Tuple[int, int]) -> List[PersonLandmarks]:
    """People minus bodies that are another body found again: the pose model, run on a whole frame
    with ``num_poses > 1``, at times returns one person two or three times over (seen on
    ../shared/media's phone clip, within a tenth of a body size). Of two bodies within
    :data:`SAME_BODY` body sizes, the one with more seen keypoints (then higher mean visibility) stays."""
    wh = np.asarray(image_wh, np.float64)
    cand = [(p, seen_mask(p)) for p in people]
    cand.sort(key=lambda ps: (-int(ps[1].sum()), -float(np.nansum(ps[0].pose_visibility))))
    kept: List[Tuple[PersonLandmarks, np.ndarray]] = []
    for p, seen in cand:
        xy = p.pose_xyz[:, :2] * wh
        size = body_size(xy, seen)
        if not any(pose_distance(xy, seen, q.pose_xyz[:, :2] * wh, qs, size) < SAME_BODY for q, qs in kept):
            kept.append((p, seen))
    keep = {id(p) for p, _ in kept}
    return [p for p in people if id(p) in keep]


def _to_norfair(person: PersonLandmarks, image_wh: Tuple[int, int], index: int):
    from norfair import Detection

    seen = seen_mask(person)
    xy = np.nan_to_num(person.pose_xyz[:, :2] * np.asarray(image_wh, np.float64), nan=0.0)
    scores = np.where(seen, np.nan_to_num(person.pose_visibility, nan=0.0), 0.0)
    return Detection(points=xy, scores=scores, data={"index": index, "seen": seen, "size": body_size(xy, seen)})


def _det_to_track(det, obj) -> float:
    """norfair distance: a detection against a track's predicted keypoints (those it has seen lately)."""
    known = obj.live_points | obj.last_detection.data["seen"]
    return pose_distance(det.points, det.data["seen"], obj.estimate, known, det.data["size"])


def _track_to_track(old, new) -> float:
    """norfair ReID distance: where a lost track was last seen against a new track's latest detection."""
    a, b = old.last_detection, new.last_detection
    return pose_distance(a.points, a.data["seen"], b.points, b.data["seen"], max(a.data["size"], b.data["size"]))


class PoseTracker:
    """Frame-by-frame tracking: :meth:`update` returns the frame's people with their track ids.

    People whose track is still confirming (see ``confirm_frames``) are left
    out until it is confirmed; :func:`track_frames` gives them back for whole clips.
    """

    def __init__(self, image_wh: Tuple[int, int], fps: float, options: TrackerOptions = TrackerOptions()):
        import logging

        from norfair import Tracker

        if fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.image_wh = tuple(image_wh)
        self.options = options
        keep = max(int(round(options.keep_s * fps)), options.confirm_frames + 1)
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # norfair logs a hint about vectorised distances; ours are per pair on purpose
        try:
            self._tracker = Tracker(
                distance_function=_det_to_track, distance_threshold=options.reach,
                hit_counter_max=keep, initialization_delay=options.confirm_frames - 1,
                pointwise_hit_counter_max=keep, detection_threshold=SEEN - 1e-6,
                past_detections_length=0, reid_distance_function=_track_to_track,
                reid_distance_threshold=options.reid_reach,
                reid_hit_counter_max=max(int(round(options.reid_s * fps)), 1))
        finally:
            root.setLevel(level)
        self._alias: Dict[int, object] = {}  # id(merged-away track object) -> the object that took it over
        self._objects: List[object] = []

    def step(self, people: Sequence[PersonLandmarks]) -> List[Tuple[int, object]]:
        """Feed one frame; ``(index in people, norfair object)`` for every body matched to any track.

        Bodies with fewer than :data:`MIN_POINTS` seen points, and duplicates
        (:func:`drop_duplicates`), are ignored.
        """
        unique = {id(p) for p in drop_duplicates(people, self.image_wh)}
        dets = [_to_norfair(p, self.image_wh, i) for i, p in enumerate(people)
                if id(p) in unique and seen_mask(p).sum() >= MIN_POINTS]
        before = list(self._tracker.tracked_objects)
        self._tracker.update(dets)
        after = self._tracker.tracked_objects
        holders = {id(o.last_detection): o for o in after}
        for o in before:  # a confirming track merged into a lost one (ReID) hands its detection over
            if o not in after and id(o.last_detection) in holders:
                self._alias[id(o)] = holders[id(o.last_detection)]
        return [(d.data["index"], holders[id(d)]) for d in dets if id(d) in holders]

    def resolve(self, obj) -> object:
        """The track object that now stands for ``obj`` (after ReID merges)."""
        while id(obj) in self._alias:
            obj = self._alias[id(obj)]
        return obj

    def update(self, people: Sequence[PersonLandmarks]) -> List[PersonLandmarks]:
        """The frame's people on confirmed tracks, ``person_id`` = track id (from 1, stable)."""
        out = []
        for i, obj in self.step(people):
            obj = self.resolve(obj)
            if obj.id is not None and not obj.is_initializing:
                out.append(replace(people[i], person_id=int(obj.id)))
        return out


def _single_path(frames: Sequence[FrameLandmarks], image_wh: Tuple[int, int], fps: float,
                 options: TrackerOptions) -> List[List[Optional[object]]]:
    """At most one body a frame: the same person unless they were away longer than ``reid_s``
    and came back farther than ``reid_reach`` body sizes from where they left."""
    wh = np.asarray(image_wh, np.float64)
    keys: List[List[Optional[object]]] = []
    current, last_xy, last_seen, last_size, last_t = 0, None, None, 1.0, -np.inf
    for fl in frames:
        row: List[Optional[object]] = []
        for p in fl.people:
            seen = seen_mask(p)
            if seen.sum() < MIN_POINTS:
                row.append(None)
                continue
            xy = p.pose_xyz[:, :2] * wh
            size = body_size(xy, seen)
            if last_xy is not None and fl.timestamp_s - last_t > options.reid_s and pose_distance(
                    xy, seen, last_xy, last_seen, max(size, last_size)) > options.reid_reach:
                current += 1
            last_xy, last_seen, last_size, last_t = xy, seen, size, fl.timestamp_s
            row.append(current)
        keys.append(row)
    return keys


def track_frames(frames: Sequence[FrameLandmarks], image_wh: Tuple[int, int], fps: float,
                 options: TrackerOptions = TrackerOptions()) -> List[FrameLandmarks]:
    """Whole-clip tracking: the same frames with ``person_id`` = stable track id, 0, 1, ... by first appearance.

    Bodies on a track that never got confirmed (a ghost of one frame), and
    bodies that are not a person (fewer than :data:`MIN_POINTS` seen points),
    are dropped. A track's confirming frames are kept under its final id.
    A single frame (a still) has no time to confirm anything: everyone in it
    is a person, numbered from the left of the picture.
    """
    if len(frames) == 1:  # a still: everyone there is a person, numbered left to right
        fl = frames[0]
        people = [p for p in drop_duplicates(fl.people, image_wh) if seen_mask(p).sum() >= MIN_POINTS]
        people.sort(key=lambda p: float(np.median(p.pose_xyz[seen_mask(p), 0])))
        return [FrameLandmarks(fl.frame_index, fl.timestamp_s, [replace(p, person_id=k) for k, p in enumerate(people)])]
    if all(len(fl.people) <= 1 for fl in frames):
        keys = _single_path(frames, image_wh, fps, options)
        confirmed = lambda k: k is not None  # noqa: E731
    else:
        tracker = PoseTracker(image_wh, fps, options)
        raw = []
        for fl in frames:
            matched = dict(tracker.step(fl.people))
            raw.append([matched.get(i) for i in range(len(fl.people))])
        keys = [[None if o is None else tracker.resolve(o) for o in row] for row in raw]
        confirmed = lambda k: k is not None and k.id is not None  # noqa: E731
    number: Dict[int, int] = {}
    out = []
    for fl, row in zip(frames, keys):
        people: Dict[int, PersonLandmarks] = {}
        for p, k in zip(fl.people, row):
            if confirmed(k):
                pid = number.setdefault(id(k), len(number))
                # two bodies of one frame resolved to one person (a re-identified track whose old one was still
                # coasting): one body a person a frame, the one with more points seen
                if pid not in people or seen_mask(p).sum() > seen_mask(people[pid]).sum():
                    people[pid] = replace(p, person_id=pid)
        out.append(FrameLandmarks(fl.frame_index, fl.timestamp_s, [people[pid] for pid in sorted(people)]))
    return out
