"""Wires the stages together for one run and writes the run folder::

    OUT/events.jsonl     one event a line, flushed as each closes
    OUT/events.csv       the same events as CSV (written at the end)
    OUT/run.json         tool version, models, rules hash, input, timings, baseline, time shares
    OUT/landmarks/       the landmark cache (re-run rules with --from-landmarks)

An interrupted run (Ctrl-C, a damaged file) keeps every event closed so far,
closes the ones still open at the last analysed frame, and says so in
``run.json`` (``status``).
"""
from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

from vision import __version__
from vision.judge.analyzer import PersonAnalyzer, PersonOptions, analyze_track
from vision.judge.appearance import AppearanceSampler
from vision.io.cache import LandmarkCacheWriter, load_meta, load_tracks
from vision.io.events import SCHEMA_VERSION, Event, EventWriter, read_events, write_csv
from vision.io.frames import FrameSource, SourceInfo
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


def _write_run_json(out: Path, payload: Dict) -> None:
    tmp = out / "run.json.tmp"
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, out / "run.json")


def _rules_meta(rules: RuleSet) -> Dict:
    return {"path": rules.path, "sha256": rules.sha256,
            "enabled": [r.id for r in rules.enabled] + list(rules.detectors),
            "experimental": [r.id for r in rules.enabled if r.experimental]}


def analyze(input_path: str, out_dir: str, rules: RuleSet, sample_fps: Optional[float] = None,
            start_s: float = 0.0, end_s: Optional[float] = None, progress: bool = True,
            options: PersonOptions = PersonOptions(), appearance: Optional[str] = "brows",
            detector_factory: Optional[Callable] = None,
            on_event: Optional[Callable[[Event], None]] = None,
            backend: str = "holistic", models: Optional[str] = None) -> RunResult:
    """Run the models over ``input_path`` and the rules over their landmarks.

    ``appearance``: the experimental clause 1.2 checks, judged once on the
    clearest frontal frames, with this fringe rule ("brows" 前发不过眉 or
    "forehead" 前发不附额); None skips them. ``on_event`` is called with each
    event as it closes (a live camera prints them). ``backend`` (holistic or
    tasks) and ``models`` (folder) choose the landmark detector
    (:func:`vision.detect.base.choose_detector`) unless ``detector_factory`` is given.
    """
    t_start = time.perf_counter()
    if detector_factory is None:  # the backend asked for, its model files checked before anything runs
        detector_factory = choose_detector(backend, models).open
    src = FrameSource(input_path, sample_fps=sample_fps, start_s=start_s, end_s=end_s)  # checks the input first
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info: SourceInfo = src.info
    status = "complete"
    events: List[Event] = []
    t_models = 0.0
    n = 0
    with src, detector_factory(still_images=src.kind in ("image", "folder")) as det, \
            EventWriter(out / "events.jsonl") as writer:
        cache = LandmarkCacheWriter(out, (info.width, info.height),
                                    {"source": _source_name(input_path, info), "kind": info.kind, "fps": info.fps,
                                     "sample_fps": sample_fps, "still": info.is_still})
        analyzer = PersonAnalyzer(rules, SUBJECT, (info.width, info.height), still=info.is_still,
                                  **options.kwargs())
        sampler = AppearanceSampler(fringe_rule=appearance) if appearance else None
        bar = _progress(_expected_frames(src), progress, Path(input_path).name)
        try:
            for frame in src:
                t0 = time.perf_counter()
                people = det.detect(frame.image_bgr, frame.timestamp_s)
                t_models += time.perf_counter() - t0
                fl = FrameLandmarks(frame.index, frame.timestamp_s, people)
                cache.append(fl)
                subject = next((p for p in people if p.person_id == SUBJECT), None)
                if sampler is not None and subject is not None:
                    sampler.offer(frame, subject, (info.width, info.height))
                for ev in analyzer.push(fl):
                    writer.write(ev)
                    events.append(ev)
                    if on_event is not None:
                        on_event(ev)
                n += 1
                bar.update(1)
        except KeyboardInterrupt:
            status = "interrupted"
        finally:
            bar.close()
            for ev in analyzer.finish() + (sampler.finish() if sampler is not None else []):
                writer.write(ev)
                events.append(ev)
            cache.close()
    if info.warnings and status == "complete":
        status = "partial"
    elapsed = time.perf_counter() - t_start
    events.sort(key=lambda e: (e.start_s, e.rule))
    write_csv(events, out / "events.csv")
    analysed_s = (info.duration_s if not info.is_still else 0.0)
    payload = {
        "tool": {"name": "conduct-coach-vision", "version": __version__, "python": platform.python_version(),
                 "event_schema": SCHEMA_VERSION},
        "status": status,
        "models": getattr(det, "model_names", {}),
        "rules": _rules_meta(rules),
        "input": {**asdict(info), "path": _source_name(input_path, info), "start_s": start_s, "end_s": end_s,
                  "sample_fps": sample_fps},
        "subject": SUBJECT,
        "options": _options_meta(options),
        "baseline": analyzer.baseline,
        "time_share": analyzer.engine.time_share() if analyzer.engine else {},
        "not_judged": analyzer.engine.not_judged() if analyzer.engine else {},
        "appearance": sampler.log() if sampler is not None else {"skipped": "turned off"},
        "counts": _counts(events),
        "timings": {"total_s": round(elapsed, 3), "models_s": round(t_models, 3), "frames_analysed": n,
                    "ms_per_frame": round(1000 * elapsed / max(n, 1), 2),
                    "realtime_factor": round(analysed_s / elapsed, 3) if elapsed > 0 and analysed_s else None},
    }
    _write_run_json(out, payload)
    return RunResult(out, events, status, payload, list(info.warnings))


def _source_name(input_path: str, info: SourceInfo) -> str:
    """An absolute path for files (outputs re-open them); a camera keeps its camera:N name."""
    return str(input_path) if info.kind == "camera" else str(Path(input_path).resolve())


def _previous_run(run_dir: str) -> Dict:
    run_json = Path(run_dir) / "run.json"
    return json.loads(run_json.read_text(encoding="utf-8")) if run_json.exists() else {}


def _options_meta(options: PersonOptions) -> Dict:
    return {"customer_side": options.customer_side, "calibration_window_s": options.calibration_window_s,
            "profile": options.baseline is not None, "mirrored": options.mirrored}


def _counts(events: List[Event]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for e in events:
        counts[e.rule] = counts.get(e.rule, 0) + 1
    return counts


def reanalyze(run_dir: str, rules: RuleSet, out_dir: Optional[str] = None,
              options: Optional[PersonOptions] = None) -> RunResult:
    """Re-run features and rules on a run's landmark cache, without the models."""
    t0 = time.perf_counter()
    meta = load_meta(run_dir)
    tracks = load_tracks(run_dir)
    out = Path(out_dir or run_dir)
    out.mkdir(parents=True, exist_ok=True)
    track = tracks.get(SUBJECT) or next(iter(tracks.values()))
    if options is None:  # judge as the original run did
        before = _previous_run(run_dir).get("options", {})
        options = PersonOptions(customer_side=before.get("customer_side", "camera"),
                                mirrored=bool(before.get("mirrored", False)))
    events, engine, _ = analyze_track(track, rules, still=bool(meta.get("still")), **options.kwargs())
    # The appearance checks need the images: keep the original run's.
    old_log = Path(run_dir) / "events.jsonl"
    if old_log.exists():
        events += [e for e in read_events(old_log) if e.rule.startswith("look.")]
    events.sort(key=lambda e: (e.start_s, e.rule))
    with EventWriter(out / "events.jsonl", sync_each=False) as w:
        for e in events:
            w.write(e)
    write_csv(events, out / "events.csv")
    elapsed = time.perf_counter() - t0
    prev = _previous_run(run_dir)
    prev.update({
        "options": _options_meta(options),
        "rules": _rules_meta(rules),
        "baseline": engine.baseline,
        "time_share": engine.time_share(),
        "not_judged": engine.not_judged(),
        "counts": _counts(events),
        "reanalysis": {"from": str(run_dir), "frames": len(track), "total_s": round(elapsed, 4)},
    })
    prev.setdefault("status", "complete")
    _write_run_json(out, prev)
    return RunResult(out, events, prev["status"], prev)


__all__ = ["analyze", "reanalyze", "read_events", "RunResult"]
