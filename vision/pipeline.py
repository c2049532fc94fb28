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
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

from vision import run_record as record
from vision.judge.analyzer import PersonAnalyzer, PersonOptions, analyze_track
from vision.judge.appearance import AppearanceSampler
from vision.io.cache import LandmarkCacheWriter, copy_cache, load_meta, load_tracks, write_pixels
from vision.io.events import Event, EventWriter, read_events, write_csv
from vision.io.frames import FrameSource, SourceInfo
from vision.io.run_folder import OUTPUT_ENTRIES, prepare_out_dir, used_entries
from vision.io.run_meta import read_run_json, write_run_json
from vision.detect.base import choose_detector
from vision.detect.landmarks import FrameLandmarks
from vision.judge.rules import RuleSet

SUBJECT = 0  # the person the rules judge (Holistic finds one; the Tasks detector numbers the most prominent 0)


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

    def __init__(self, doc: Dict, out: Path):
        self.doc, self.out = doc, out
        self.times: List[float] = []
        self.present: List[bool] = []
        self.events: List[Event] = []
        self.t_start = time.perf_counter()
        self.t_models = 0.0

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
        d.update(people=record.people(SUBJECT, np.array(self.times), np.array(self.present, bool)),
                 baseline=analyzer.baseline, counts=record.counts(self.events),
                 time_share=analyzer.engine.time_share() if analyzer.engine else {},
                 judged=record.judged(analyzer.engine, rules, total_s),
                 timings={"total_s": round(elapsed, 3), "models_s": round(self.t_models, 3), "frames_analysed": n,
                          "ms_per_frame": round(1000 * elapsed / max(n, 1), 2),
                          "realtime_factor": round(analysed_s / elapsed, 3) if elapsed > 0 and analysed_s else None})
        write_run_json(self.out, d)
        return d


def analyze(input_path: str, out_dir: str, rules: RuleSet, sample_fps: Optional[float] = None,
            start_s: float = 0.0, end_s: Optional[float] = None, progress: bool = True,
            options: PersonOptions = PersonOptions(), appearance: Optional[str] = "brows",
            detector_factory: Optional[Callable] = None,
            on_event: Optional[Callable[[Event], None]] = None, overwrite: bool = False,
            backend: str = "holistic", models: Optional[str] = None) -> RunResult:
    """Run the models over ``input_path`` and the rules over their landmarks.

    ``appearance``: the experimental clause 1.2 checks, judged once on the
    clearest frontal frames, with this fringe rule ("brows" 前发不过眉 or
    "forehead" 前发不附额); None skips them. ``on_event`` is called with each
    event as it closes (a live camera prints them). A folder that holds
    another run is refused unless ``overwrite`` (which clears that run first).
    ``backend`` (holistic or tasks) and ``models`` (folder) choose the landmark
    detector (:func:`vision.detect.base.choose_detector`) unless
    ``detector_factory`` is given.
    """
    if detector_factory is None:  # the backend asked for, its model files checked before anything runs
        detector_factory = choose_detector(backend, models).open
    src = FrameSource(input_path, sample_fps=sample_fps, start_s=start_s, end_s=end_s)  # checks the input first
    out = Path(out_dir)
    cleared = prepare_out_dir(out, overwrite)
    info: SourceInfo = src.info
    source = _source_name(input_path, info)
    doc = record.new_run_json(record.input_meta(source, info, start_s, end_s, sample_fps), rules,
                              _options_meta(options), SUBJECT)
    run = _Progress(doc, out)
    status, reason = "complete", None
    events = run.events
    # the judges first: a rules-file error shows before the models load
    analyzer = PersonAnalyzer(rules, SUBJECT, (info.width, info.height), still=info.is_still, **options.kwargs())
    sampler = AppearanceSampler.from_rules(rules, appearance) if appearance else None
    with src, detector_factory(still_images=src.kind in ("image", "folder")) as det, \
            EventWriter(out / "events.jsonl") as writer:
        doc["models"] = record.models_meta(getattr(det, "model_names", {}))
        run.write(analyzer, rules)
        cache = _CacheWithCheckpoints(out, info, source, sample_fps, lambda: run.write(analyzer, rules))
        bar = _progress(_expected_frames(src), progress, Path(input_path).name)
        try:
            for frame in src:
                t0 = time.perf_counter()
                people = det.detect(frame.image_bgr, frame.timestamp_s)
                run.t_models += time.perf_counter() - t0
                fl = FrameLandmarks(frame.index, frame.timestamp_s, people)
                subject = next((p for p in people if p.person_id == SUBJECT), None)
                run.frame(frame.timestamp_s, subject is not None)
                cache.append(fl)  # a full chunk is written with a run.json checkpoint
                if sampler is not None and subject is not None:
                    sampler.offer(frame, subject, (info.width, info.height))
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
            cache.close()
            if status == "failed":
                run.write(analyzer, rules, status, reason)
    if info.warnings and status == "complete":
        status, reason = "partial", "; ".join(info.warnings)
    events.sort(key=lambda e: (e.start_s, e.rule))
    write_csv(events, out / "events.csv")
    doc["input"] = record.input_meta(source, info, start_s, end_s, sample_fps)  # frames read, warnings
    payload = run.write(analyzer, rules, status, reason,
                        appearance=sampler.log() if sampler is not None else {"skipped": "turned off"})
    return RunResult(out, events, status, payload, list(info.warnings), cleared)


class _CacheWithCheckpoints(LandmarkCacheWriter):
    """The landmark cache, storing the subject's pixel points with each chunk and rewriting
    ``run.json`` after it, so a killed run's folder says how far it got."""

    def __init__(self, out: Path, info: SourceInfo, source: str, sample_fps: Optional[float],
                 checkpoint: Callable[[], object]):
        super().__init__(out, (info.width, info.height),
                         {"source": source, "kind": info.kind, "fps": info.fps, "sample_fps": sample_fps,
                          "still": info.is_still}, derive=record.subject_pixels, subject=SUBJECT)
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
            "profile": options.baseline is not None, "mirrored": options.mirrored}


def _previous_run(run_dir: str) -> Dict:
    """The run's ``run.json`` (a schema 1 file upgraded); for a folder that has none (a run killed
    by an older version), what the landmark cache says."""
    if (Path(run_dir) / "run.json").is_file():
        return dict(read_run_json(run_dir))
    meta = load_meta(run_dir)
    w, h = meta["image_wh"]
    info = SourceInfo(str(meta.get("source", "")), str(meta.get("kind", "video")), float(meta.get("fps") or 0.0),
                      0, int(w), int(h), 0.0)
    doc = record.new_run_json(record.input_meta(info.path, info, 0.0, None, meta.get("sample_fps")),
                              RuleSet([], (0.0, 0.0), {}, "", ""), {}, SUBJECT)
    doc["status_reason"] = "rebuilt from the landmark cache: the original run wrote no run.json"
    return doc


def reanalyze(run_dir: str, rules: RuleSet, out_dir: Optional[str] = None,
              options: Optional[PersonOptions] = None, overwrite: bool = False) -> RunResult:
    """Re-run features and rules on a run's landmark cache, without the models.

    Into ``out_dir`` (default: the run folder itself) as a complete run folder:
    events, ``run.json`` and the landmark cache with freshly derived pixel
    points, so ``render``, ``clips`` and ``report`` work on it. Outputs made
    before an in-place re-analysis are left but no longer listed (``stale``).
    """
    t0 = time.perf_counter()
    meta = load_meta(run_dir)
    prev = _previous_run(run_dir)
    subject = int(prev["subject"]["id"])
    tracks = load_tracks(run_dir)
    out = Path(out_dir or run_dir)
    in_place = out.resolve() == Path(run_dir).resolve()
    cleared: List[str] = []
    stale: List[str] = []
    if in_place:
        stale = [n for n in used_entries(out) if n in OUTPUT_ENTRIES]
    else:
        cleared = prepare_out_dir(out, overwrite)
    track = tracks.get(subject) or next(iter(tracks.values()))
    if options is None:  # judge as the original run did
        before = prev.get("options", {})
        options = PersonOptions(customer_side=before.get("customer_side", "camera"),
                                mirrored=bool(before.get("mirrored", False)))
    events, engine, _ = analyze_track(track, rules, still=bool(meta.get("still")), **options.kwargs())
    # The appearance checks need the images: keep the original run's.
    old_log = Path(run_dir) / "events.jsonl"
    if old_log.exists():
        events += [e for e in read_events(old_log) if e.rule.startswith("look.")]
    events.sort(key=lambda e: (e.start_s, e.rule))
    copy_cache(run_dir, out)
    write_pixels(out, record.subject_pixels(track))
    with EventWriter(out / "events.jsonl", sync_each=False) as w:
        for e in events:
            w.write(e)
    write_csv(events, out / "events.csv")
    elapsed = time.perf_counter() - t0
    total_s = float(track.timestamp_s[-1] - track.timestamp_s[0]) if len(track) else 0.0
    present = ~np.isnan(track.pose_xyz[:, 0, 0]) | ~np.isnan(track.face_xyz[:, 0, 0])
    prev.update({
        "options": _options_meta(options),
        "rules": record.rules_meta(rules),
        "baseline": engine.baseline,
        "time_share": engine.time_share(),
        "judged": record.judged(engine, rules, total_s),
        "people": record.people(subject, track.timestamp_s, present),
        "counts": record.counts(events),
        "reanalysis": {"from": str(Path(run_dir).resolve()), "frames": len(track), "total_s": round(elapsed, 4)},
        "outputs": {k: None for k in prev["outputs"]},
    })
    write_run_json(out, prev)
    return RunResult(out, events, prev["status"], prev, cleared=cleared, stale=stale)


__all__ = ["analyze", "reanalyze", "read_events", "RunResult"]
