"""The object pass of a run: the COCO detector on the subject's hand and mouth crops, a few times a second.

Called by the pipeline on each analysed frame, after the landmarks and before
the cache: it stores the best hit per group and crop in the subject's
``PersonLandmarks.objects`` (so the landmark cache keeps them and
``--from-landmarks`` re-judges without the images). It runs on every still and
on video at :data:`RATE_HZ`; other frames keep NaN (not run), which the
features' votes skip.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

from vision.detect.landmarks import FrameLandmarks, LandmarkTrack, PersonLandmarks
from vision.detect.models import file_entry
from vision.detect.objects import ObjectDetector, crop_boxes, default_model_path, encode_hits
from vision.features.skeleton import body_scale, pose_points

#: Detector runs per second of video: a phone call or a drink lasts seconds, and the features vote over 2 s
#: (about 4 runs); measured cost in scripts/bench.py.
RATE_HZ = 2.0


def subject_scale_px(person: PersonLandmarks, image_wh: Tuple[int, int]) -> Optional[float]:
    """The person's body scale (one shoulder width) in pixels, as the features measure it; None if not seen."""
    track = LandmarkTrack.from_frames([FrameLandmarks(0, 0.0, [person])], person.person_id, image_wh)
    with np.errstate(all="ignore"):
        scale = float(body_scale(track, pose_points(track))[0]) * image_wh[1]
    return scale if scale > 0 else None


class ObjectPass:
    """Runs the detector on a frame when due; ``calls`` and ``seconds`` add up its cost."""

    def __init__(self, model_path: Path, image_wh: Tuple[int, int], still: bool, rate_hz: float = RATE_HZ):
        self.model_path, self.image_wh, self.still = Path(model_path), tuple(image_wh), still
        self.period = 1.0 / rate_hz
        self._last: Optional[float] = None
        self.calls, self.seconds = 0, 0.0
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
        """run.json's ``models.files.objects``."""
        return file_entry(self.model_path)

    def due(self, t: float) -> bool:
        return self.still or self._last is None or t - self._last >= self.period - 1e-6

    def offer(self, image_bgr: np.ndarray, t: float, person: Optional[PersonLandmarks]) -> None:
        """Look for objects around ``person``'s hands and mouth if a run is due (nothing without a person)."""
        if person is None or self._det is None or not self.due(t):
            return
        crops = crop_boxes(person, self.image_wh, subject_scale_px(person, self.image_wh))
        if not crops:
            return
        self._last = t
        t0 = time.perf_counter()
        hits = self._det.detect(image_bgr, crops)
        self.seconds += time.perf_counter() - t0
        self.calls += len(crops)
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
    obj.period = 1.0 / rate_hz
    with obj, FrameSource(meta["source"], sample_fps=meta.get("sample_fps")) as src:
        for frame in src:
            i = row_of.get(frame.index)
            if i is None:
                continue
            person = PersonLandmarks(sid, **{n: getattr(track, n)[i] for n in
                                             ("pose_xyz", "pose_visibility", "pose_world_xyz", "face_xyz",
                                              "left_hand_xyz", "right_hand_xyz")})
            if np.isnan(person.pose_xyz[:, 0]).all():
                continue
            obj.offer(frame.image_bgr, float(track.timestamp_s[i]), person)
            out[i] = person.objects
    store_person_array(run_dir, sid, "objects", out)
    doc.setdefault("models", {}).setdefault("files", {})["objects"] = obj.meta()
    from vision.io.run_meta import write_run_json
    write_run_json(run_dir, doc)
    return {"frames": len(track), "calls": obj.calls, "seconds": round(obj.seconds, 3)}
