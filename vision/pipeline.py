"""Wires the stages together for one run and writes the run folder::

    OUT/run.json         what the run was (schema 2, ``vision/io/run_meta.py``): written before the
                         first frame (status ``interrupted``), rewritten at every landmark chunk and at the end
    OUT/events.jsonl     one event a line, flushed as each closes
    OUT/events.csv       the same events as CSV (written at the end)
    OUT/landmarks/       the landmark cache (re-run rules with --from-landmarks), with the subject's
                         pixel points as the features measured them (what the outputs draw)

An interrupted run (Ctrl-C, a damaged file) keeps every event closed so far,
closes the ones still open at the last analysed frame, and says so in
``run.json`` (``status``, ``status_reason``); a killed run keeps its
provisional ``run.json``, its events and every complete landmark chunk.
Re-judging a run from that cache, without the models: :mod:`vision.reanalysis`.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np

from vision import people_run, run_record as record
from vision.object_run import ObjectPass
from vision.resume import Prior
from vision.judge.analyzer import PersonAnalyzer, PersonOptions
from vision.judge.appearance import AppearanceSampler
from vision.io.cache import LandmarkCacheWriter
from vision.io.events import Event, EventWriter, read_events, write_csv
from vision.io.frames import Frame, FrameSource, SourceInfo
from vision.io.run_folder import prepare_out_dir
from vision.io.run_meta import write_run_json
from vision.detect.base import choose_detector
from vision.detect.pool import DetectorPool, open_pool
from vision.detect.still import StillCount, StillGate
from vision.detect.landmarks import FrameLandmarks, LandmarkTrack, PersonLandmarks
from vision.judge.rules import RuleSet

SUBJECT = 0  # the subject of a single-person run (Holistic finds one; the Tasks detector numbers the most prominent 0)


@dataclass
class RunResult:
    out_dir: Path
    events: List[Event]
    status: str
    info: Dict = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)
    cleared: List[str] = field(default_factory=list)  # the previous run's files removed (--overwrite)
    stale: List[str] = field(default_factory=list)  # outputs made before an in-place re-analysis


def _progress(total: Optional[int], enabled: bool, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, unit="frame", desc=desc, leave=False, dynamic_ncols=True)


def _expected_frames(src: FrameSource) -> Optional[int]:
    info = src.info
    if info.kind == "image":
        return 1
    dur = info.duration_s if info.duration_s > 0 else None
    if dur is None:
        return None
    end = min(dur, src.end_s) if src.end_s is not None else dur
    span = max(0.0, end - src.start_s)
    rate = src.sample_fps or info.fps
    return max(1, int(round(span * min(rate, info.fps))))


class _Progress:
    """What the run has done so far, folded into ``run.json`` whenever it is rewritten."""

    def __init__(self, doc: Dict, out: Path, more: Dict):
        self.doc, self.out = doc, out
        self.times: List[float] = []
        self.present: List[bool] = []
        self.events: List[Event] = []
        self.t_start = time.perf_counter()
        self.t_models = 0.0  # the multi-person pose model's time; the landmark models' is the pool's
        self.pool: Optional[DetectorPool] = None
        self.roles: Optional[Dict] = None  # a multi-person run's subject, customer and people (pass 1)
        self.others_judged: Dict[int, Dict] = {}  # --judge all: the other people's judged time
        self.probe, self.more = {}, more  # timings: the people probe's; more (vision.resume: resumed_frames)

    @property
    def models_s(self) -> float:
        """Seconds spent in the landmark models (summed over the pool's instances: may exceed the wall time)."""
        return self.t_models + (self.pool.seconds if self.pool is not None else 0.0)

    def frame(self, t: float, seen: bool) -> None:
        self.times.append(t)
        self.present.append(seen)

    def write(self, analyzer: PersonAnalyzer, rules: RuleSet, status: Optional[str] = None,
              reason: Optional[str] = None, **extra) -> Dict:
        elapsed = time.perf_counter() - self.t_start
        n = len(self.times)
        d, inp = self.doc, self.doc["input"]
        analysed_s = inp["duration_s"] if inp["kind"] != "image" else 0.0
        total_s = self.times[-1] - self.times[0] if n else 0.0
        if status is not None:
            d["status"], d["status_reason"] = status, reason
        d.update(extra)
        d.update(self.roles or {"people": record.people(SUBJECT, np.array(self.times), np.array(self.present, bool))})
        d.update(baseline=analyzer.baseline, counts=record.counts(self.events),
                 time_share=analyzer.engine.time_share() if analyzer.engine else {},
                 judged=people_run.merge_judged(record.judged(analyzer.engine, rules, total_s), self.others_judged),
                 timings={"total_s": round(elapsed, 3), "models_s": round(self.models_s, 3), "frames_analysed": n,
                          "ms_per_frame": round(1000 * elapsed / max(n, 1), 2), "passes": 2 if self.roles else 1,
                          "model_instances": self.pool.workers if self.pool is not None else None,
                          "realtime_factor": round(analysed_s / elapsed, 3) if elapsed > 0 and analysed_s else None,
                          **({"probe": self.probe} if self.probe else {}), **self.more})
        write_run_json(self.out, d)
        return d


def analyze(input_path: str, out_dir: str, rules: RuleSet, sample_fps: Optional[float] = None,
            start_s: float = 0.0, end_s: Optional[float] = None, progress: bool = True,
            options: PersonOptions = PersonOptions(), appearance: Optional[str] = "brows",
            detector_factory: Optional[Callable] = None,
            on_event: Optional[Callable[[Event], None]] = None, overwrite: bool = False,
            backend: str = "holistic", models: Optional[str] = None, subject: str = "auto",
            customer: str = "auto", judge: str = "trainee",
            people_factory: Optional[Callable] = None, resume: bool = False,
            threads: Optional[int] = None, every_frame: bool = False) -> RunResult:
    """Run the models over ``input_path`` and the rules over their landmarks.

    ``appearance``: the experimental clause 1.2 checks, judged once on the
    clearest frontal frames, with this fringe rule ("brows" 前发不过眉 or
    "forehead" 前发不附额); None skips them. ``on_event`` is called with each
    event as it closes (a live camera prints them). A folder that holds
    another run is refused unless ``overwrite`` (which clears that run first).
    ``backend`` (holistic or tasks) and ``models`` (folder) choose the landmark
    detector (:func:`vision.detect.base.choose_detector`) unless
    ``detector_factory`` is given.

    Several people: ``people_factory`` (``still_images=`` -> a multi-person
    pose detector; by default :class:`~vision.detect.multipose.MultiPoseDetector`
    unless ``detector_factory`` is given) first probes a sparse sample
    (:mod:`vision.people_run`). One body at most: the single-person path
    (``detector_factory`` on the whole frame, subject 0). More: two passes,
    the subject chosen by ``subject`` (auto, left, right, largest or an id)
    and the customer by ``customer`` (auto or an id); ``judge="all"`` also
    judges every other person from their pose. A live camera always takes
    the single-person path. ``threads``: landmark-model instances side by side
    (:mod:`vision.detect.pool`; None: one, tracking throughout; more: on segments each started afresh).
    ``resume``: go on with an interrupted run in ``out_dir`` (:mod:`vision.resume`). A video's frames in which
    nothing moved get their landmarks interpolated from the frames either side (:mod:`vision.detect.still`)
    unless ``every_frame``.
    """
    people_run.check_choices(subject, customer, judge)
    real_models = detector_factory is None  # the object pass runs beside the real landmark models only
    if detector_factory is None:  # the backend asked for, its model files checked before anything runs
        detector_factory = choose_detector(backend, models).open
        people_factory = people_factory or people_run.multipose
    src = FrameSource(input_path, sample_fps=sample_fps, start_s=start_s, end_s=end_s)  # checks the input first
    out, info, source = Path(out_dir), src.info, _source_name(input_path, src.info)
    prior = Prior.read(out, record.input_meta(source, info, start_s, end_s, sample_fps), rules, backend, resume,
                       {"subject": subject, "customer": customer, "every_frame": every_frame})
    cleared = prepare_out_dir(out, overwrite or bool(prior.frames))  # a resumed run's cache is read by now
    detector_factory, people_factory = prior.wrap(detector_factory, people_factory)
    opts = {**_options_meta(options), "subject": subject, "customer": customer, "judge": judge,
            "every_frame": every_frame}
    doc = record.new_run_json(record.input_meta(source, info, start_s, end_s, sample_fps), rules, opts, SUBJECT)
    run = _Progress(doc, out, prior.timings)
    status, reason, events = "complete", None, run.events
    # the judges first: a rules-file error shows before the models load
    analyzer = PersonAnalyzer(rules, SUBJECT, (info.width, info.height), still=info.is_still, **options.kwargs())
    sampler = AppearanceSampler.from_rules(rules, appearance) if appearance else None
    still = src.kind in ("image", "folder")
    several = prior.several or (people_factory is not None and info.kind != "camera" and  # a resumed two-pass
                                people_run.several(input_path, src, sample_fps, start_s, end_s, people_factory,
                                                   run.probe))  # run: the probe said so then (timings.probe)
    tracked: List[FrameLandmarks] = []
    objects = prior.objects(ObjectPass.open(models, (info.width, info.height), info.is_still) if real_models else None)
    object_file = {"objects": objects.meta()} if objects else {}  # run.json models.files.objects
    pool = open_pool(lambda: detector_factory(still_images=still or several), threads)
    with src, pool, EventWriter(out / "events.jsonl") as writer, objects or contextlib.nullcontext():
        run.pool = pool
        doc["models"] = record.models_meta(getattr(pool, "model_names", {}), object_file)
        run.write(analyzer, rules)
        bar = _progress(_expected_frames(src) * (2 if several else 1) if _expected_frames(src) else None,
                        progress, Path(input_path).name)
        cache = None
        try:
            if several:  # pass 1: everyone's pose, tracked; the subject and customer chosen
                with people_factory(still_images=still) as multi:
                    tracked, who = people_run.track_everyone(src, _Timed(multi, run), subject, customer,
                                                             lambda: bar.update(1))
                    doc["models"] = record.models_meta(pool.model_names,
                                                       {"multipose": people_run.bundle_entry(multi), **object_file})
                sid = who["subject"]["id"]
                run.roles = who
                analyzer = PersonAnalyzer(rules, SUBJECT if sid is None else sid, (info.width, info.height),
                                          still=info.is_still, customer_id=who["customer"]["id"],
                                          **options.kwargs())
                steps = people_run.subject_frames(people_run.decode_again(input_path, sample_fps, start_s, end_s),
                                                  tracked, sid, pool, prior.lookup if prior.several else None)
            else:
                sid = SUBJECT
                probe = run.probe or run.more.get("probe") or {}  # a resumed run's: what the probe saw then
                gate = None if every_frame or info.kind != "video" else StillGate.for_person(probe.get("body_px"))
                steps = _single_person(src, pool, gate, run)
            cache = _CacheWithCheckpoints(out, info, source, sample_fps, lambda: run.write(analyzer, rules),
                                          SUBJECT if sid is None else sid, [] if sid is None else [sid])
            for frame, fl, person in steps:
                run.frame(fl.timestamp_s, person is not None)
                if objects is not None:  # before the cache: the hits are stored with the subject's landmarks
                    objects.offer(frame.image_bgr, fl.timestamp_s, person)
                cache.append(fl)  # a full chunk is written with a run.json checkpoint
                if sampler is not None and person is not None:
                    sampler.offer(frame, person, (info.width, info.height))
                for ev in analyzer.push(fl):
                    writer.write(ev)
                    events.append(ev)
                    if on_event is not None:
                        on_event(ev)
                bar.update(1)
        except KeyboardInterrupt:
            status = "interrupted"
            reason = f"stopped (Ctrl-C) after {len(run.times)} frames; the events found so far are kept"
        except BaseException as exc:
            status, reason = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            bar.close()
            for ev in analyzer.finish() + (sampler.finish() if sampler is not None else []):
                writer.write(ev)
                events.append(ev)
            if cache is not None:
                cache.close()
            if status == "failed":
                run.write(analyzer, rules, status, reason)
        if several and judge == "all" and status == "complete":
            others, run.others_judged = people_run.judge_others(
                {pid: LandmarkTrack.from_frames(tracked, pid, (info.width, info.height))
                 for pid in {p.person_id for fl in tracked for p in fl.people}},
                sid, rules, info.is_still, options)
            for ev in sorted(others, key=lambda e: (e.start_s, e.rule)):
                writer.write(ev)
                events.append(ev)
    if info.warnings and status == "complete":
        status, reason = "partial", "; ".join(info.warnings)
    events.sort(key=lambda e: (e.start_s, e.rule))
    write_csv(events, out / "events.csv")
    doc["input"] = record.input_meta(source, info, start_s, end_s, sample_fps)  # frames read, warnings
    payload = run.write(analyzer, rules, status, reason,
                        appearance=sampler.log() if sampler is not None else {"skipped": "turned off"})
    return RunResult(out, events, status, payload, list(info.warnings), cleared)


def _single_person(src: FrameSource, pool: DetectorPool, gate: Optional[StillGate], run: _Progress) \
        -> Iterator[Tuple[Frame, FrameLandmarks, Optional[PersonLandmarks]]]:
    """The single-person path: the detector on the whole frame, its person 0 the subject; the frames the
    ``gate`` calls still interpolated (None: none; counted in run.json ``timings.frames_interpolated``)."""
    count = StillCount()
    if gate is not None:
        run.more["frames_interpolated"] = 0
    for frame, people in pool.run(src, gate, count):
        if gate is not None:
            run.more["frames_interpolated"] = count.still
        yield frame, FrameLandmarks(frame.index, frame.timestamp_s, people), \
            next((p for p in people if p.person_id == SUBJECT), None)


class _Timed:
    """A detector whose ``detect`` time adds up in run.json's ``timings.models_s``."""

    def __init__(self, det, run: "_Progress"):
        self.det, self.run = det, run

    def detect(self, image_bgr: np.ndarray, timestamp_s: float):
        t0 = time.perf_counter()
        try:
            return self.det.detect(image_bgr, timestamp_s)
        finally:
            self.run.t_models += time.perf_counter() - t0


#: landmarks/meta.json: the people whose face and hands the models looked for (the others: pose only).
#: A cache without it is a single-person run's: its one person had them.
FACE_HANDS = "face_hands_of"


class _CacheWithCheckpoints(LandmarkCacheWriter):
    """The landmark cache, storing the subject's pixel points with each chunk and rewriting
    ``run.json`` after it, so a killed run's folder says how far it got."""

    def __init__(self, out: Path, info: SourceInfo, source: str, sample_fps: Optional[float],
                 checkpoint: Callable[[], object], subject: int = SUBJECT, face_hands: Iterable[int] = (SUBJECT,)):
        super().__init__(out, (info.width, info.height),
                         {"source": source, "kind": info.kind, "fps": info.fps, "sample_fps": sample_fps,
                          "still": info.is_still, FACE_HANDS: sorted(face_hands)},
                         derive=record.subject_pixels, subject=subject)
        self._checkpoint = checkpoint

    def flush(self) -> None:
        had = bool(self._frames)
        super().flush()
        if had:
            self._checkpoint()


def _source_name(input_path: str, info: SourceInfo) -> str:
    """An absolute path for files (outputs re-open them); a camera keeps its camera:N name."""
    return str(input_path) if info.kind == "camera" else str(Path(input_path).resolve())


def _options_meta(options: PersonOptions) -> Dict:
    return {"customer_side": options.customer_side, "calibration_window_s": options.calibration_window_s,
            "profile": options.baseline is not None, "mirrored": options.mirrored, "posture": options.posture}


__all__ = ["analyze", "read_events", "RunResult"]
