"""What a run stores for its outputs, built from the judging stages: the
``run.json`` blocks (rules catalogue, judged time, people) and the subject's
pixel points as the features measured them.

The outputs (``vision/review``) read these back and never recompute them, so
an old run is drawn and reported as it was judged, whatever today's code and
``rules.yaml`` say. The schema itself is in :mod:`vision.io.run_meta`.
"""
from __future__ import annotations

import platform
from dataclasses import asdict
from typing import Dict, List, Optional

import numpy as np

from vision import __version__
from vision.detect.landmarks import LandmarkTrack
from vision.detect.models import DETECTION_VERSION
from vision.features.face import FACE_FEATURES
from vision.features.skeleton import pose_points, seen_track
from vision.features.touch import TOUCH_FEATURES, face_region_points, hand_points
from vision.io.events import SCHEMA_VERSION as EVENT_SCHEMA, Event
from vision.io.frames import SourceInfo
from vision.io.run_meta import OUTPUT_KEYS, SCHEMA_VERSION, no_customer, single_subject
from vision.judge.engine import Engine
from vision.judge.rules import RuleSet

TOOL_NAME = "conduct-coach"


def subject_pixels(track: LandmarkTrack) -> Dict[str, np.ndarray]:
    """Per analysed frame, in source pixels (NaN: not seen): the pose points the features trust
    (``px_pose``), each face region (``px_region_<name>``) and each hand's points (``px_touch_left``,
    ``px_touch_right``), from the face/hand models or the pose fallback, exactly as the features measured them."""
    h = float(track.image_wh[1])  # square coordinates are in image heights
    track = seen_track(track)
    pose = pose_points(track)
    out = {"px_pose": pose * h}
    for name, pts in face_region_points(track, pose).items():
        out[f"px_region_{name}"] = pts * h
    left, right = hand_points(track, pose)
    out["px_touch_left"], out["px_touch_right"] = left * h, right * h
    return {k: np.asarray(v, np.float32) for k, v in out.items()}


def rules_meta(rules: RuleSet) -> Dict:
    return {"path": str(rules.path), "sha256": rules.sha256,
            "enabled": [r.id for r in rules.enabled] + list(rules.detectors),
            "experimental": [r.id for r in rules.enabled if r.experimental],
            "catalogue": rules.catalogue()}


def judged(engine: Optional[Engine], rules: RuleSet, total_s: float) -> Dict[str, Dict]:
    """Per enabled rule, the seconds it was judged and why it was not for the rest.

    Reasons: ``camera_view`` (the subject was seen from a view the rule is not
    judged from), ``not_seen`` (its evidence was not seen: the subject out of
    frame, or the points it needs missing), ``posture_unknown`` (a sitting or
    standing rule while the person was seen but whether they sat or stood was
    not: legs out of view, no ``--posture``). Whole-movement detectors run on
    every frame and say nothing where the hands were not seen.

    ``spans``: when, as ``[start_s, end_s, reason]`` runs of analysed frames (both ends inclusive), so
    ``evaluate`` excuses a miss only where the rule could not be judged during the labelled interval.
    """
    total = max(0.0, float(total_s))
    out: Dict[str, Dict] = {}
    spans = engine.not_judged_spans() if engine is not None else {}
    for r in rules.enabled:
        if engine is None:
            out[r.id] = {"judged_s": 0.0, "not_judged_s": round(total, 3),
                         "reasons": {"not_seen": round(total, 3)} if total else {},
                         "spans": [[0.0, round(total, 4), "not_seen"]]}
            continue
        done, wrong = engine.judged_s[r.id], engine.wrong_view_s[r.id]
        reasons = {}
        if engine.wrong_view_frames[r.id]:
            reasons["camera_view"] = round(wrong, 3)
        posture = engine.posture_unknown_s[r.id]
        if posture > 1e-3:
            reasons["posture_unknown"] = round(posture, 3)
        unseen = total - done - wrong - posture
        if unseen > 1e-3:
            reasons["not_seen"] = round(unseen, 3)
        out[r.id] = {"judged_s": round(done, 3), "not_judged_s": round(max(0.0, total - done), 3),
                     "reasons": reasons, "spans": spans.get(r.id, [])}
    for det_id in rules.detectors:
        out[det_id] = {"judged_s": round(total, 3), "not_judged_s": 0.0, "reasons": {}, "spans": []}
    return out


#: Features measured on the face or hand landmarks (besides every feature of ``face.py`` and ``touch.py``):
#: the trailing-window ones built on them, and the nod (head pitch, from the face mesh). A person whose face and
#: hands were not run (another track of a multi-person run) is not judged on a rule that reads any of these.
FACE_HAND_DERIVED = frozenset({"eye_open_1s", "hand_at_mouth", "hand_mouth_time_3s", "hand_mouth_trips_10s",
                               "mouth_motion_2s", "chew_cycles_3s", "head_nod_deg", "face_mesh_gap_s"})
FACE_HAND_FEATURES = frozenset(FACE_FEATURES) | frozenset(TOUCH_FEATURES) | FACE_HAND_DERIVED
#: run.json ``judged`` reason: the person's face and hands were not found by the models (pose only).
POSE_ONLY = "pose_only"


def face_hand_rules(rules: RuleSet) -> List[str]:
    """The enabled rules and gesture detectors that need face or hand landmarks (pose alone cannot judge them)."""
    out = [r.id for r in rules.enabled if FACE_HAND_FEATURES & set(r.condition.features())]
    return out + list(rules.detectors)  # the gesture detectors read the hand landmarks


def pose_only_judged(engine: Optional[Engine], rules: RuleSet, total_s: float) -> Dict[str, Dict]:
    """:func:`judged` for a person known by pose only: the face and hand rules not judged at all (``pose_only``)."""
    out = judged(engine, rules, total_s)
    total = round(max(0.0, float(total_s)), 3)
    for rid in face_hand_rules(rules):
        out[rid] = {"judged_s": 0.0, "not_judged_s": total, "reasons": {POSE_ONLY: total} if total else {},
                    "spans": [[0.0, total, POSE_ONLY]]}
    return out


def people(person_id: int, times: np.ndarray, present: np.ndarray) -> List[Dict]:
    """The one tracked person: seconds on screen (the time from the previous analysed frame, summed
    over the frames they were seen on), first and last time seen."""
    times = np.asarray(times, np.float64)
    present = np.asarray(present, bool)
    dt = np.diff(times, prepend=times[:1]) if len(times) else times
    seen = times[present]
    return [{"id": person_id, "role": "trainee", "seconds_on_screen": round(float(dt[present].sum()), 3),
             "first_s": round(float(seen[0]), 4) if len(seen) else None,
             "last_s": round(float(seen[-1]), 4) if len(seen) else None}]


def counts(events: List[Event]) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for e in events:
        out[e.rule] = out.get(e.rule, 0) + 1
    return out


def models_meta(names: Dict, extra_files: Optional[Dict] = None) -> Dict:
    """run.json's ``models``: the detector's own ``model_names`` (backend, models_dir, files), or an empty block;
    ``extra_files`` (role -> {file, sha256}) adds the models that ran beside it (``multipose``: the pose bundle
    that found everyone in a multi-person run); ``detection_version``, what this code's detection makes of them."""
    names = dict(names or {})
    return {"backend": names.get("backend", "holistic"), "models_dir": names.get("models_dir"),
            "files": {**dict(names.get("files") or {}), **dict(extra_files or {})},
            "detection_version": DETECTION_VERSION}


def input_meta(path: str, info: SourceInfo, start_s: float, end_s: Optional[float],
               sample_fps: Optional[float]) -> Dict:
    d = asdict(info)
    d.update(path=path, start_s=float(start_s), end_s=end_s, sample_fps=sample_fps,
             fps=float(info.fps), duration_s=float(info.duration_s))
    return d


def new_run_json(input_block: Dict, rules: RuleSet, options: Dict, subject: int) -> Dict:
    """The provisional ``run.json`` written before the first frame: readable even if the run is killed."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__, "python": platform.python_version(),
                 "event_schema": EVENT_SCHEMA},
        "status": "interrupted",
        "status_reason": "the run stopped before it finished (killed, or still running)",
        "input": input_block,
        "models": models_meta({}),
        "rules": rules_meta(rules),
        "options": options,
        "subject": single_subject(subject),
        "customer": no_customer(),
        "people": [],
        "judged": {},
        "time_share": {},
        "baseline": None,
        "appearance": {},
        "counts": {},
        "timings": {},
        "outputs": {k: None for k in OUTPUT_KEYS},
    }
