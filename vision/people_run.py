"""Several people in view: the probe that decides the path, and the two passes that follow the subject.

:func:`probe` runs the multi-person pose model on a sparse sample of the
input. When it never sees more than one body, the run takes the
single-person path (:func:`vision.pipeline.analyze` as it always was:
Holistic on the whole frame, subject id 0). Otherwise:

* pass 1, :func:`track_everyone`: the multi-person pose model on every
  analysed frame, tracked (:func:`vision.track.subject.follow`): everyone's
  pose with a stable id, the subject and the customer chosen, run.json's
  ``subject``, ``customer`` and ``people``;
* pass 2, :func:`subject_frames`: the input decoded again; Holistic on a crop
  around the subject (:func:`vision.detect.crops.face_and_hands`) merged with
  the subject's tracked pose. Each frame holds everyone's pose (``person_id`` =
  track id) and the subject's face and hands: what the cache stores and the
  rules judge.

:func:`judge_others` (``--judge all``) runs the rules on every other track,
from its pose alone: rules that need the face or hands are not judged for
them (:func:`vision.run_record.pose_only_judged`), never guessed.
"""
from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from vision import run_record as record
from vision.detect.crops import CropPending, face_and_hands_async
from vision.detect.models import file_entry
from vision.detect.pool import DetectorPool
from vision.detect.landmarks import PERSON_ARRAYS, FrameLandmarks, LandmarkTrack, PersonLandmarks
from vision.io.events import Event
from vision.io.frames import Frame, FrameSource, seek_frames
from vision.judge.analyzer import PersonOptions, analyze_track
from vision.judge.rules import RuleSet
from vision.track.subject import HOW_SUBJECT, choose_customer, choose_subject, follow, roles, summarise
from vision.track.tracker import drop_duplicates, person_size, seen_mask, MIN_POINTS

#: The probe looks at one frame every PROBE_STEP_S seconds, at most PROBE_FRAMES frames spread over the input.
PROBE_STEP_S, PROBE_FRAMES = 2.0, 20
#: frames between two probe frames beyond which the probe seeks instead of decoding every frame between them
#: (a group of pictures is commonly 1-10 s; seeking decodes from the keyframe before, so on short clips a
#: straight decode is as cheap): 20 s at 30 fps, reached by inputs of PROBE_FRAMES x 20 s = 400 s and more
SEEK_GAP_FRAMES = 600
JUDGE = ("trainee", "all")
FACE_HAND_PARTS = ("face_xyz", "left_hand_xyz", "right_hand_xyz")


class ChoiceError(ValueError):
    """A ``--subject`` / ``--customer`` / ``--judge`` value that cannot be used (one line, the valid choices)."""


def check_choices(subject: str, customer: str, judge: str) -> None:
    """The words and ids asked for, checked before anything runs."""
    def id_or(word: str, allowed: Sequence[str], option: str) -> None:
        text = str(word).strip().lower()
        if text in allowed or (text.isdigit() and int(text) >= 0):
            return
        raise ChoiceError(f"{option} {word!r}: expected {', '.join(allowed)} or a person id (0, 1, ...)")

    id_or(subject, HOW_SUBJECT, "--subject")
    id_or(customer, ("auto",), "--customer")
    if judge not in JUDGE:
        raise ChoiceError(f"--judge {judge!r}: expected {' or '.join(JUDGE)}")


def probe(frames: Iterable[Frame], detector, wh: Tuple[int, int]) -> Tuple[int, int, Optional[float]]:
    """(most bodies seen in one frame, frames looked at, the size of the smallest body in pixels: the median over
    the frames that saw one, None if none did) on a sparse sample of the input (about one frame every
    :data:`PROBE_STEP_S`; at most :data:`PROBE_FRAMES` are looked at; it stops at the first frame with two).
    Duplicates and bodies of fewer than ``MIN_POINTS`` seen points do not count. A body's size:
    :func:`~vision.track.tracker.body_size` (its shoulder width, or what stands for it in a side view)."""
    most, n, sizes = 0, 0, []
    for frame in frames:
        people = [p for p in drop_duplicates(detector.detect(frame.image_bgr, frame.timestamp_s), wh)
                  if seen_mask(p).sum() >= MIN_POINTS]
        if people:
            sizes.append(min(person_size(p, wh) for p in people))
        most, n = max(most, len(people)), n + 1
        if most > 1 or n >= PROBE_FRAMES:
            break
    return most, n, (float(np.median(sizes)) if sizes else None)


def several(input_path: str, src: FrameSource, sample_fps: Optional[float], start_s: float,
            end_s: Optional[float], people_factory: Callable, log: Dict) -> bool:
    """Does the probe (:func:`probe`) see more than one body? It looks at a still's one frame, every k-th of
    the frames a run reads from a folder, one frame every :data:`PROBE_STEP_S` of a video. What it saw goes
    into ``log`` (run.json ``timings.probe``)."""
    t0 = time.perf_counter()
    if src.kind == "video":
        span = (min(src.info.duration_s, end_s) if end_s is not None else src.info.duration_s) - start_s
        rate = probe_rate(span)
        if src.info.fps / rate > SEEK_GAP_FRAMES:  # a long video: seek to the probe's frames
            frames: Iterable[Frame] = seek_frames(input_path, probe_times(start_s, span, rate))
        else:
            frames = decode_again(input_path, rate, start_s, end_s)
    else:
        step = max(1, -(-max(src.info.frame_count, 1) // PROBE_FRAMES))
        frames = itertools.islice(decode_again(input_path, sample_fps, start_s, end_s), 0, None, step)
    with people_factory(still_images=True) as det:
        most, looked, size = probe(frames, det, (src.info.width, src.info.height))
    log.update(frames=looked, most_people=most, seconds=round(time.perf_counter() - t0, 3),
               **({"body_px": round(size, 1)} if size is not None else {}))
    return most > 1


def decode_again(input_path: str, sample_fps: Optional[float], start_s: float,
                 end_s: Optional[float]) -> Iterator[Frame]:
    """The input decoded (again), as a run with these options reads it."""
    with FrameSource(input_path, sample_fps=sample_fps, start_s=start_s, end_s=end_s) as again:
        yield from again


def multipose(still_images: bool = False):
    """The default multi-person pose detector (MediaPipe loads here, not at import)."""
    from vision.detect.multipose import MultiPoseDetector

    return MultiPoseDetector(still_images=still_images)


def bundle_entry(detector) -> Dict:
    """run.json ``models.files.multipose``: the pose bundle that found everyone (``{file, sha256}``)."""
    bundle = getattr(detector, "bundle", None)
    return file_entry(Path(bundle)) if bundle is not None else {"file": type(detector).__name__, "sha256": ""}


def probe_times(start_s: float, span_s: float, rate: float) -> List[float]:
    """The times a probe at ``rate`` frames a second looks at: from ``start_s``, one every ``1 / rate``, at
    most :data:`PROBE_FRAMES`, within the span."""
    n = min(PROBE_FRAMES, int(span_s * rate + 1e-9) + 1)
    return [start_s + k / rate for k in range(n) if k / rate < span_s]


def probe_rate(span_s: float) -> float:
    """Frames a second for the probe: one every :data:`PROBE_STEP_S`, fewer on inputs longer than
    ``PROBE_STEP_S * PROBE_FRAMES`` so that the sample spreads over the whole of it."""
    if span_s <= 0:
        return 1.0 / PROBE_STEP_S
    return min(1.0 / PROBE_STEP_S, PROBE_FRAMES / span_s)


def track_everyone(src: FrameSource, detector, subject: str, customer: str,
                   on_frame: Callable[[], None] = lambda: None) -> Tuple[List[FrameLandmarks], Dict]:
    """Pass 1: (tracked frames, run.json's ``subject``/``customer``/``people``). A ``subject`` or ``customer`` id
    that is not a tracked person raises :class:`ChoiceError` naming the people tracked."""
    frames = []
    for frame in src:
        frames.append(FrameLandmarks(frame.index, frame.timestamp_s, detector.detect(frame.image_bgr,
                                                                                     frame.timestamp_s)))
        on_frame()
    times = np.array([fl.timestamp_s for fl in frames], np.float64)
    fps = 1.0 / float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    try:
        return follow(frames, (src.info.width, src.info.height), fps, subject, customer)
    except ValueError as exc:  # an id that is not there: the people tracked are named
        raise ChoiceError(f"{exc}") from None


def subject_frames(src: Iterable[Frame], tracked: Sequence[FrameLandmarks], subject_id: Optional[int],
                   crop_detectors: DetectorPool,
                   cached: Optional[Callable[[float], Optional[List[PersonLandmarks]]]] = None,
                   ) -> Iterator[Tuple[Frame, FrameLandmarks, Optional[PersonLandmarks]]]:
    """Pass 2: per decoded frame, (frame, everyone's pose with the subject's face and hands, the subject or None),
    the crops landmarked by the pool's instances side by side. Frames pass 1 did not see (none, when both passes
    read the same input alike) hold nobody. ``cached``: a resumed run's lookup (:meth:`vision.resume.Prior.lookup`):
    a frame it knows is taken from the interrupted run's cache, no crop landmarked."""
    by_index = {fl.frame_index: fl for fl in tracked}

    def one(crop_detector, frame: Frame) -> _FramePending:
        fl = by_index.get(frame.index)
        t = fl.timestamp_s if fl is not None else frame.timestamp_s
        stored = cached(t) if cached is not None else None
        if stored is not None:
            return _FramePending(frame.index, t, list(stored), subject_id)
        people = [face_and_hands_async(crop_detector, frame.image_bgr, p, frame.timestamp_s)
                  if p.person_id == subject_id else p for p in (fl.people if fl is not None else [])]
        return _FramePending(frame.index, t, people, subject_id)

    for frame, (fl, subject) in crop_detectors.map(one, src):
        yield frame, fl, subject


class _FramePending:
    """One frame of pass 2 with the subject's crop on its way (the pool takes it in order): ``result()`` is
    (everyone's pose with the subject's face and hands, the subject or None)."""

    def __init__(self, index: int, t: float, people: list, subject_id: Optional[int]):
        self.index, self.t, self._people, self._subject_id = index, t, people, subject_id
        self.span = (0.0, 0.0)

    def result(self) -> Tuple[FrameLandmarks, Optional[PersonLandmarks]]:
        people, subject = [], None
        for p in self._people:
            if isinstance(p, CropPending):
                p, self.span = p.result(), p.span
            if self._subject_id is not None and p.person_id == self._subject_id:
                subject = p
            people.append(p)
        return FrameLandmarks(self.index, self.t, people), subject


def pose_only(track: LandmarkTrack) -> LandmarkTrack:
    """The same track with its face and hands NaN: what is judged of a person whose face and hands did not run."""
    arrays = {n: getattr(track, n) for n in PERSON_ARRAYS}
    arrays.update({n: np.full_like(arrays[n], np.nan) for n in FACE_HAND_PARTS})
    return LandmarkTrack(track.person_id, track.image_wh, track.timestamp_s, track.frame_index, **arrays)


def judge_pose_only(track: LandmarkTrack, rules: RuleSet, still: bool, options: PersonOptions):
    """(events, engine, run.json ``judged``) of one person from their pose alone: the face and hand rules are not
    judged (reason ``pose_only``) and give no event, even where a pose fallback could have measured them."""
    events, engine, _ = analyze_track(pose_only(track), rules, still=still, **options.kwargs())
    skip = set(record.face_hand_rules(rules))
    total_s = float(track.timestamp_s[-1] - track.timestamp_s[0]) if len(track) else 0.0
    return [e for e in events if e.rule not in skip], engine, record.pose_only_judged(engine, rules, total_s)


def judge_others(tracks: Dict[int, LandmarkTrack], subject_id: Optional[int], rules: RuleSet, still: bool,
                 options: PersonOptions) -> Tuple[List[Event], Dict[int, Dict[str, Dict]]]:
    """``--judge all``: every tracked person but the subject, from their pose (:func:`judge_pose_only`), each
    calibrated on their own first seconds (the subject's saved profile is not theirs)."""
    own = PersonOptions(calibration_window_s=options.calibration_window_s, mirrored=options.mirrored)
    events: List[Event] = []
    judged: Dict[int, Dict[str, Dict]] = {}
    for pid, track in sorted(tracks.items()):
        if pid == subject_id or not np.isfinite(track.pose_xyz).any():
            continue
        found, _, judged[pid] = judge_pose_only(track, rules, still, own)
        events += found
    return events, judged


def merge_judged(subject: Dict[str, Dict], others: Dict[int, Dict[str, Dict]]) -> Dict[str, Dict]:
    """run.json ``judged``: the subject's, each rule's entry also holding ``people`` {id: the same for that person}
    when others were judged (``--judge all``)."""
    out = {rid: dict(entry) for rid, entry in subject.items()}
    for pid, per_rule in others.items():
        for rid, entry in per_rule.items():
            out.setdefault(rid, {"judged_s": 0.0, "not_judged_s": 0.0, "reasons": {}})
            out[rid].setdefault("people", {})[str(pid)] = entry
    return out


def frames_of(tracks: Dict[int, LandmarkTrack]) -> List[FrameLandmarks]:
    """Cached tracks back into frames (each person where their pose was seen), for :func:`summarise`."""
    first = next(iter(tracks.values()))
    out = []
    for i in range(len(first)):
        people = [tr.person_at(i) for _, tr in sorted(tracks.items()) if np.isfinite(tr.pose_xyz[i]).any()]
        out.append(FrameLandmarks(int(first.frame_index[i]), float(first.timestamp_s[i]), people))
    return out


def roles_for(tracks: Dict[int, LandmarkTrack], subject: str, customer: str = "auto") -> Dict:
    """run.json's ``subject``/``customer``/``people`` for cached tracks, the subject chosen as asked."""
    frames = frames_of(tracks)
    summary = summarise(frames, tuple(next(iter(tracks.values())).image_wh))
    try:
        who = choose_subject(summary, subject)
        return roles(summary, who, choose_customer(summary, who.id, customer))
    except ValueError as exc:
        raise ChoiceError(str(exc)) from None
