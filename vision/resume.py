"""Going on with an interrupted run from its landmark cache (``analyze --resume``, ``batch``).

A run killed mid-way (kill -9, a lost machine) keeps its ``run.json``
(status ``interrupted``), its events and every complete landmark chunk. When
the same input is analysed again into that folder with the same rules and
options, :meth:`Prior.read` loads the cached frames *before* the folder is
cleared, and the run then goes as a fresh one with two stand-ins:

- the landmark detector answers every cached frame from the cache (its
  people, with the subject's ``objects`` hits) and runs the models only on
  the frames after it (:class:`CachedDetector`);
- the object pass skips the cached frames: their stored hits are kept.

Everything else runs over the whole input as usual: the frames are decoded
again (cheap) for the appearance checks, the rules judge every frame and
the event log is written from scratch, so the folder ends with one
``events.jsonl`` and a landmark cache of the whole run. ``run.json``'s
``timings.resumed_frames`` says how many frames the cache answered, and
``timings.resume_note`` why nothing was resumed when that was asked.

A multi-person run (two passes) resumes too, when the subject and customer
asked for are the same: pass 1 (everyone's pose, tracked) runs again over the
whole input, since the tracking needs every frame, and pass 2 takes the
cached frames from the cache instead of landmarking the subject's crops again
(:func:`vision.people_run.subject_frames`), which is most of a two-person
run's model time. The models' own tracking restarts at the first uncached
frame, so landmarks there can differ a little from an uninterrupted run's. The cached landmarks are held in memory while
the run goes (about 7 kB a frame: 250 MB for an hour at 10 fps).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Set, Tuple

import numpy as np

from vision.detect.landmarks import PERSON_ARRAYS, PersonLandmarks
from vision.detect.models import DETECTION_VERSION
from vision.io.run_meta import RunMetaError, read_run_json
from vision.judge.rules import RuleSet
from vision.object_run import PASS_VERSION, pass_version_of

#: run.json ``input`` keys that must be the same for a resume: the same recording, read the same way.
SAME_INPUT = ("path", "kind", "fps", "frame_count", "width", "height", "start_s", "end_s", "sample_fps")
#: landmarks/meta.json: the people whose face and hands were looked for (``vision.pipeline.FACE_HANDS``).
FACE_HANDS = "face_hands_of"


def _same(value, key: str):
    """An input value as compared: sample_fps 0 and None both mean every frame."""
    return None if key == "sample_fps" and not value else value


def _key(t: float) -> float:
    """A timestamp as a lookup key: decoding the same input again gives the same times."""
    return round(float(t), 6)


def cached_frames(run_dir: str | Path) -> Dict[float, List[PersonLandmarks]]:
    """Timestamp -> the people of every frame in the complete parts of ``run_dir``'s landmark cache
    (layout: :mod:`vision.io.cache`); a part the run was writing when killed (``*.tmp.npz``) is left out."""
    parts = sorted(p for p in (Path(run_dir) / "landmarks").glob("part-[0-9]*.npz") if not p.name.endswith(".tmp.npz"))
    frames: Dict[float, List[PersonLandmarks]] = {}
    for part in parts:
        with np.load(part) as z:
            arrays = {k: z[k] for k in z.files}
        for i, t in enumerate(arrays["timestamp_s"]):
            frames[_key(t)] = []
        for row, (i, pid) in enumerate(zip(arrays["row_frame"], arrays["person_id"])):
            values = {n: arrays[n][row] if n in arrays else np.full(shape, np.nan, np.float32)  # an older cache
                      for n, shape in PERSON_ARRAYS.items()}
            frames[_key(arrays["timestamp_s"][i])].append(PersonLandmarks(int(pid), **values))
    return frames


@dataclass
class Prior:
    """What an interrupted run left in its folder for the run that goes on with it."""

    frames: Dict[float, List[PersonLandmarks]] = field(default_factory=dict)  # empty: nothing to resume
    note: Optional[str] = None  # why nothing is resumed
    timings: Dict = field(default_factory=dict)  # -> run.json timings (resumed_frames, resume_note)
    several: bool = False  # the interrupted run was a multi-person (two-pass) run

    @classmethod
    def read(cls, out: Path, input_block: Dict, rules: RuleSet, backend: str, asked: bool = True,
             choices: Optional[Dict] = None) -> "Prior":
        """The cached frames of the interrupted run in ``out`` if it is of the same input (``input_block``:
        run.json's ``input`` of the new run), rules and backend, the same ``every_frame`` choice and (a multi-person
        run) the same ``subject`` and ``customer`` (``choices``: run.json ``options`` keys); else none, with why. Not ``asked``: nothing (a run
        that does not resume)."""
        if not asked:
            return cls()
        note, old = _refusal(out, input_block, rules, backend, choices or {})
        frames: Dict[float, List[PersonLandmarks]] = {}
        if note is None:
            try:
                frames = cached_frames(out)
            except (OSError, ValueError, KeyError) as exc:  # a damaged part: start over
                note = f"its landmark cache is unreadable ({type(exc).__name__}: {exc}): started over"
            if not frames and note is None:
                note = "no complete landmark chunk was written before it stopped: started over"
        prior = cls(frames, note, several=bool(frames) and _several(out, old))
        probe = (old.get("timings") or {}).get("probe") if frames else None  # what the skipped probe saw then
        prior.timings = {"resumed_frames": 0, **({"resume_note": note} if note else {}),
                         **({"probe": probe} if probe else {})}
        return prior

    def wrap(self, detector_factory: Callable, people_factory: Optional[Callable]) -> tuple:
        """The detector factory answering cached frames from the cache, and the people probe: skipped when
        resuming a single-person run (the probe would run a model on cached frames). A multi-person run keeps
        both as they are: pass 1 runs again, pass 2 skips the cached frames itself (:attr:`several`)."""
        if not self.frames or self.several:
            return detector_factory, people_factory

        def factory(still_images: bool = False):
            return _CachedContext(detector_factory(still_images=still_images), self.frames, self.timings)
        return factory, None

    def lookup(self, t: float) -> Optional[List[PersonLandmarks]]:
        """The cached people of the frame at ``t`` (counted in ``resumed_frames``), or None: not cached."""
        people = self.frames.get(_key(t))
        if people is not None:
            self.timings["resumed_frames"] = self.timings.get("resumed_frames", 0) + 1
        return people

    def objects(self, object_pass):
        """The object pass, skipping the cached frames (their hits are in the cache); None stays None."""
        if object_pass is None or not self.frames:
            return object_pass
        return _ObjectsAfterCache(object_pass, set(self.frames))


def _refusal(out: Path, new_input: Dict, rules: RuleSet, backend: str,
             choices: Dict) -> Tuple[Optional[str], Dict]:
    """Why the run in ``out`` cannot be resumed (None: it can), and its run.json."""
    if not (out / "run.json").is_file():
        return "no interrupted run to resume (no run.json)", {}
    try:
        doc = dict(read_run_json(out))
    except RunMetaError as exc:
        return f"its run.json is unreadable ({exc}): started over", {}
    return _why_not(out, doc, new_input, rules, backend, choices), doc


def _several(out: Path, doc: Dict) -> bool:
    """Was the run in ``out`` a multi-person (two-pass) run? Its cache names whose face and hands were looked
    for, and run.json its passes."""
    try:
        meta = json.loads((out / "landmarks" / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    return meta.get(FACE_HANDS, [0]) != [0] or (doc.get("timings") or {}).get("passes") == 2


def _why_not(out: Path, doc: Dict, new_input: Dict, rules: RuleSet, backend: str,
             choices: Dict) -> Optional[str]:
    if doc.get("status") != "interrupted":
        return f"the run there is {doc.get('status')}, not interrupted: nothing to resume"
    old = doc.get("input") or {}
    for k in SAME_INPUT:
        if _same(old.get(k), k) != _same(new_input.get(k), k):
            return f"the run there read another input or read it otherwise (input.{k}: {old.get(k)!r}, " \
                   f"now {new_input.get(k)!r}): started over"
    if (doc.get("rules") or {}).get("sha256") != rules.sha256:
        return "the run there used other rules: started over"
    if (doc.get("models") or {}).get("backend", backend) != backend:
        return f"the run there used the {doc['models']['backend']} models, now {backend}: started over"
    was = (doc.get("models") or {}).get("detection_version", 1)
    if was != DETECTION_VERSION:
        return f"the run there was detected by another version of this code (detection version {was}, now " \
               f"{DETECTION_VERSION}): started over"
    objects = ((doc.get("models") or {}).get("files") or {}).get("objects")
    if objects and pass_version_of(objects) != PASS_VERSION:
        return f"the run there looked for objects by another version of this code (object pass version " \
               f"{pass_version_of(objects)}, now {PASS_VERSION}): started over"
    if not (out / "landmarks" / "meta.json").is_file():
        return "no landmark cache to resume from: started over"
    if _several(out, doc):
        old = doc.get("options") or {}
        for k in ("subject", "customer"):
            if k in choices and old.get(k) != choices[k]:
                return f"the run there chose --{k} {old.get(k)}, now {choices[k]}: started over"
    was, now = bool((doc.get("options") or {}).get("every_frame")), choices.get("every_frame")
    if now is not None and was != now:
        return f"the run there ran {'with' if was else 'without'} --every-frame, now {'with' if now else 'without'} " \
               "it: started over"
    return None


class CachedDetector:
    """A landmark detector that answers the cached timestamps from the cache and runs the models on the others;
    ``log["resumed_frames"]`` counts the frames answered from the cache."""

    def __init__(self, det, frames: Dict[float, List[PersonLandmarks]], log: Dict):
        self.det, self.frames, self.log = det, frames, log

    def __getattr__(self, name):  # model_names and the like: the models'
        return getattr(self.det, name)

    def detect(self, image_bgr: np.ndarray, timestamp_s: float) -> List[PersonLandmarks]:
        people = self.frames.get(_key(timestamp_s))
        if people is None:
            return self.det.detect(image_bgr, timestamp_s)
        self.log["resumed_frames"] = self.log.get("resumed_frames", 0) + 1
        return people

    def detect_async(self, image_bgr: np.ndarray, timestamp_s: float):
        """:meth:`detect` for a pool that feeds frames without waiting: a cached frame's people at once, the
        others from the models' own ``detect_async`` when they have one (never reached through ``__getattr__``,
        which would send the cached frames to the models)."""
        if _key(timestamp_s) in self.frames or not hasattr(self.det, "detect_async"):
            return self.detect(image_bgr, timestamp_s)
        return self.det.detect_async(image_bgr, timestamp_s)


class _CachedContext:
    """The real detector's context, entered and left as usual, yielding a :class:`CachedDetector` over it."""

    def __init__(self, context, frames: Dict[float, List[PersonLandmarks]], log: Dict):
        self.context, self.frames, self.log = context, frames, log

    def __enter__(self) -> CachedDetector:
        return CachedDetector(self.context.__enter__(), self.frames, self.log)

    def __exit__(self, *exc):
        return self.context.__exit__(*exc)


class _ObjectsAfterCache:
    """The object pass (:class:`vision.object_run.ObjectPass`) on the frames after the cache only."""

    def __init__(self, inner, cached: Set[float]):
        self.inner, self.cached = inner, cached

    def __getattr__(self, name):  # meta(), calls, seconds
        return getattr(self.inner, name)

    def __enter__(self) -> "_ObjectsAfterCache":
        self.inner.__enter__()
        return self

    def __exit__(self, *exc):
        return self.inner.__exit__(*exc)

    def offer(self, image_bgr: np.ndarray, t: float, person: Optional[PersonLandmarks]) -> None:
        if _key(t) not in self.cached:
            self.inner.offer(image_bgr, t, person)
        else:  # the cached hits stay; the pass's time grid moves on
            self.inner.skip(t, person)


__all__ = ["Prior", "CachedDetector", "cached_frames"]
