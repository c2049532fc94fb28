"""The object pass of a run: the COCO detector on the subject's hand and mouth crops, a few times a second.

Called by the pipeline on each analysed frame, after the landmarks and before
the cache: it stores the best hit per group and crop in the subject's
``PersonLandmarks.objects`` (so the landmark cache keeps them and
``--from-landmarks`` re-judges without the images). It runs on every still and
on video at :data:`RATE_HZ`; other frames keep NaN (not run), which the
features' votes skip.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

from vision.detect.landmarks import FrameLandmarks, LandmarkTrack, PersonLandmarks
from vision.detect.models import file_entry
from vision.detect.objects import (HAND_POINTS, HAND_SEEN, ObjectDetector, crop_boxes, default_model_path, encode_hits,
                                   merge_crops)
from vision.features.skeleton import body_scale, pose_points

#: Detector runs per second of video: a phone call or a drink lasts seconds, and the features vote over 2 s
#: (about 4 runs); measured cost in scripts/bench.py.
RATE_HZ = 2.0
#: What the object pass (``vision.detect.objects`` and this module) makes of the same landmarks and frames, as
#: :data:`vision.detect.models.DETECTION_VERSION` is for the landmarks: bump it with any change that moves an object
#: hit, so a run judged again from older hits says so (``scripts/backfill_objects.py`` redoes them). run.json
#: ``models.files.objects.pass_version``; one without it: 2 with ``both_ways``, else 1. Each version's way:
PASS_VERSIONS = {1: "looking at each crop one way", 2: "looking at each crop as it is and mirrored, the mean of both"}
PASS_VERSION = max(PASS_VERSIONS)


def pass_version_of(entry: Dict) -> int:
    """The object pass version of run.json's ``models.files.objects`` (runs from before versions: by ``both_ways``)."""
    return int(entry.get("pass_version", 2 if entry.get("both_ways") is True else 1))


def subject_scale_px(person: PersonLandmarks, image_wh: Tuple[int, int]) -> Optional[float]:
    """The person's body scale (one shoulder width) in pixels, as the features measure it; None if not seen."""
    track = LandmarkTrack.from_frames([FrameLandmarks(0, 0.0, [person])], person.person_id, image_wh)
    with np.errstate(all="ignore"):
        scale = float(body_scale(track, pose_points(track))[0]) * image_wh[1]
    return scale if scale > 0 else None


#: A hand is in the face region when a hand point is within this of a face point of the pose (shoulder widths):
#: the face is about 0.6 SW across, and the pose's hand points sit up to 0.2 SW behind the fingertips, so 0.35 SW
#: holds a hand about to touch (the face-touch rules enter at 0.09 SW from the fingertips: geometry).
NEAR_FACE_SW = 0.35
FACE_POINTS = tuple(range(11))  # the pose's nose, eyes, ears and mouth corners


def hand_near_face(person: PersonLandmarks, image_wh: Tuple[int, int], scale_px: Optional[float]) -> bool:
    """A seen hand point of the pose is within :data:`NEAR_FACE_SW` of a seen face point (False: not seen)."""
    if scale_px is None:
        return False
    wh = np.asarray(image_wh, dtype=np.float64)
    xy = person.pose_xyz[:, :2].astype(np.float64) * wh
    vis = np.nan_to_num(person.pose_visibility, nan=0.0)
    face = xy[list(FACE_POINTS)][vis[list(FACE_POINTS)] >= 0.5]
    hand_idx = [i for idx in HAND_POINTS.values() for i in idx]
    hands = xy[hand_idx][vis[hand_idx] >= HAND_SEEN]
    face, hands = face[~np.isnan(face).any(axis=1)], hands[~np.isnan(hands).any(axis=1)]
    if not len(face) or not len(hands):
        return False
    d = np.linalg.norm(hands[:, None] - face[None], axis=-1)
    return bool(d.min() <= NEAR_FACE_SW * scale_px)


class ObjectPass:
    """Runs the detector on a frame when due; ``calls`` (detector calls) and ``seconds`` add up its cost.

    Due (:meth:`due`): on the first frame of each ``1 / rate_hz`` bucket of the timeline (a fixed grid, so the
    same frames are looked at when a resumed run goes on from its cached frames: :meth:`skip`), on every still,
    and on the frame where a hand enters the face region (:func:`hand_near_face`), so a hand at the mouth is
    looked at when it arrives.
    """

    def __init__(self, model_path: Path, image_wh: Tuple[int, int], still: bool, rate_hz: float = RATE_HZ):
        self.model_path, self.image_wh, self.still = Path(model_path), tuple(image_wh), still
        self.rate_hz = rate_hz
        self._prev_t: Optional[float] = None
        self._prev_near = False
        self.calls, self.runs, self.extra_runs, self.seconds = 0, 0, 0, 0.0
        self._det: Optional[ObjectDetector] = None

    @classmethod
    def open(cls, models: Optional[str], image_wh: Tuple[int, int], still: bool) -> Optional["ObjectPass"]:
        """The pass on the shipped (or ``--models``) detector; None when the folder has no detector file."""
        path = default_model_path(models)
        return None if path is None else cls(path, image_wh, still)

    def __enter__(self) -> "ObjectPass":
        self._det = ObjectDetector(self.model_path).__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._det is not None:
            self._det.__exit__(*exc)

    def meta(self) -> Dict:
        """run.json's ``models.files.objects``: the detector file, that each crop was looked at both ways, and the
        pass's version (:data:`PASS_VERSION`)."""
        return {**file_entry(self.model_path), "both_ways": True, "pass_version": PASS_VERSION}

    def _bucket(self, t: float) -> int:
        return math.floor(round(t * self.rate_hz, 6))  # rounded: 0.1 * 5 must land in bucket 0.5 s, not just below

    def on_grid(self, t: float) -> bool:
        """``t`` is the first frame of its bucket of the ``1 / rate_hz`` grid."""
        return self._prev_t is None or self._bucket(t) > self._bucket(self._prev_t)

    def due(self, t: float, near_face: bool = False) -> bool:
        """A run is due at ``t``: a still, the grid, or a hand just entered the face region (``near_face`` now, not
        on the frame before)."""
        return self.still or self.on_grid(t) or (near_face and not self._prev_near)

    def skip(self, t: float, person: Optional[PersonLandmarks]) -> None:
        """A frame whose hits are known already (a resumed run's cache): the grid and the hand-at-face state move
        on as if it had been offered, without running the detector."""
        scale = None if person is None else subject_scale_px(person, self.image_wh)
        self._prev_t, self._prev_near = t, person is not None and hand_near_face(person, self.image_wh, scale)

    def offer(self, image_bgr: np.ndarray, t: float, person: Optional[PersonLandmarks]) -> None:
        """Look for objects around ``person``'s hands, mouth and lap if a run is due (nothing without a person)."""
        scale = None if person is None else subject_scale_px(person, self.image_wh)
        near = person is not None and hand_near_face(person, self.image_wh, scale)
        due = self.due(t, near)
        extra = due and not (self.still or self.on_grid(t))
        self._prev_t, self._prev_near = t, near
        if person is None or self._det is None or not due:
            return
        crops = crop_boxes(person, self.image_wh, scale)
        if not crops:
            return
        calls = merge_crops(crops)
        t0 = time.perf_counter()
        hits = self._det.detect_calls(image_bgr, calls)
        self.seconds += time.perf_counter() - t0
        self.calls += len(calls)
        self.runs += 1
        self.extra_runs += int(extra)
        person.objects = encode_hits(hits, crops, self.image_wh)


def backfill(run_dir: str, models: Optional[str] = None, rate_hz: float = RATE_HZ) -> Dict:
    """Add the object pass to a run made without it: the run's source decoded again at its analysed frames, the
    detector on the cached subject's crops, the hits stored in its landmark cache (then ``--from-landmarks``)."""
    from vision.io.cache import load_meta, load_tracks, store_person_array
    from vision.io.frames import FrameSource
    from vision.io.run_meta import read_run_json

    meta, doc = load_meta(run_dir), read_run_json(run_dir)
    sid = doc["subject"]["id"]
    track = load_tracks(run_dir)[sid]
    wh = tuple(meta["image_wh"])
    row_of = {int(f): i for i, f in enumerate(track.frame_index)}
    out = np.full((len(track),) + track.objects.shape[1:], np.nan, np.float32)
    obj = ObjectPass.open(models, wh, bool(meta.get("still")))
    if obj is None:
        raise FileNotFoundError("no object detector file in the models folder")
    obj.rate_hz = rate_hz
    with obj, FrameSource(meta["source"], sample_fps=meta.get("sample_fps")) as src:
        for frame in src:
            i = row_of.get(frame.index)
            if i is None:
                continue
            person = PersonLandmarks(sid, **{n: getattr(track, n)[i] for n in
                                             ("pose_xyz", "pose_visibility", "pose_world_xyz", "face_xyz",
                                              "left_hand_xyz", "right_hand_xyz")})
            seen = not np.isnan(person.pose_xyz[:, 0]).all()
            obj.offer(frame.image_bgr, float(track.timestamp_s[i]), person if seen else None)  # as the pipeline does
            if seen:
                out[i] = person.objects
    store_person_array(run_dir, sid, "objects", out)
    doc.setdefault("models", {}).setdefault("files", {})["objects"] = obj.meta()
    from vision.io.run_meta import write_run_json
    write_run_json(run_dir, doc)
    return {"frames": len(track), "runs": obj.runs, "extra_runs": obj.extra_runs, "calls": obj.calls,
            "seconds": round(obj.seconds, 3)}
