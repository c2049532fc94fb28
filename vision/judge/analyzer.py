"""Landmarks in, events out, for one person: features -> calibration -> engine.

:class:`PersonAnalyzer` works frame by frame (a video being decoded, a live
camera); :func:`analyze_track` runs the same stages over a whole cached
track at once. Both smooth the landmarks first with the same causal filter (rules.yaml
``smoothing:``, :mod:`vision.features.smoothing`), one per person, and give
the same events on the same landmarks: instantaneous
features are row-wise, temporal ones look only at the past
(:data:`vision.features.table.MAX_WINDOW_S`), and the baseline is taken from the
same calibration window.

With a tracked customer (``customer_id`` streaming, ``customer_track``
offline: the customer's landmarks aligned frame by frame with the subject's,
NaN where not seen) the two-person features of
:mod:`vision.features.pair` are measured and the hand-over detectors tell
give from take; without one (None) nothing changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from vision.judge.calibration import calibrate, search_span
from vision.judge.engine import Engine
from vision.io.events import Event
from vision.features.table import (MAX_WINDOW_S, FeatureTable, compute_features, instant_features, mouth_state,
                             temporal_features)
from vision.features.touch import gate_face, mesh_gap
from vision.judge.gesture_registry import PAIR_COLUMNS, check_detectors, detect_hand_events, make_detectors
from vision.features.hands import hand_features
from vision.features.smoothing import LandmarkSmoother, smooth_track
from vision.detect.landmarks import FrameLandmarks, LandmarkTrack
from vision.judge.rules import RuleSet


@dataclass(frozen=True)
class PersonOptions:
    """How one person is judged, beyond the rules file.

    ``calibration_window_s``: seconds of the input for the baseline (default:
    rules.yaml's window, from the subject's arrival). ``baseline``: a saved
    profile (feature -> neutral value) used instead of calibrating. The window
    is searched as :mod:`vision.judge.calibration` says, from the same rows in
    both paths.
    ``customer_side``: where the customer is, seen from the camera (camera,
    left, right), if the user said so; None: the camera unless a customer is
    tracked (see :func:`vision.features.table.instant_features`).
    ``posture``: ``auto`` (the legs decide: sitting, standing, or unknown and
    then no sitting or standing rule is judged), or ``sitting`` / ``standing``
    said by the user for footage where the legs are out of view.
    """

    calibration_window_s: Optional[Tuple[float, float]] = None
    baseline: Optional[Dict[str, float]] = None
    customer_side: Optional[str] = None
    mirrored: bool = False  # a mirrored (selfie) video: the person's right hand is on the image's right
    posture: str = "auto"

    def kwargs(self) -> Dict:
        return {"calibration_window_s": self.calibration_window_s, "baseline": self.baseline,
                "customer_side": self.customer_side, "mirrored": self.mirrored, "posture": self.posture}


#: ``--posture`` -> the value of the ``standing`` feature it imposes (None: the legs decide).
POSTURES = {"auto": None, "sitting": 0.0, "standing": 1.0}


def _check_posture(posture: str) -> str:
    if posture not in POSTURES:
        raise ValueError(f"posture must be one of {', '.join(POSTURES)}, got {posture!r}")
    return posture


def _impose_posture(table: FeatureTable, posture: str) -> FeatureTable:
    """``standing`` set to the posture the user gave, on rows where the person is seen (``auto``: unchanged)."""
    value = POSTURES[_check_posture(posture)]
    if value is not None:
        seen = ~np.isnan(table.values["body_scale"])
        table.values["standing"] = np.where(seen, value, np.nan)
    return table


def _concat(tables: List[FeatureTable]) -> FeatureTable:
    names = tables[0].values.keys()
    return FeatureTable(np.concatenate([t.timestamp_s for t in tables]),
                        np.concatenate([t.frame_index for t in tables]),
                        {n: np.concatenate([t.values[n] for t in tables]) for n in names})


#: frames judged together by :class:`PersonAnalyzer`: numpy's cost per call spread over 16 rows (measured by
#: ``scripts/bench.py``: the features and rules per frame); at 10 frames a second an event closes 1.6 s late at most.
BLOCK = 16


class PersonAnalyzer:
    """Streaming analysis of one person.

    ``baseline`` (feature -> neutral value) skips calibration, e.g. a saved
    profile; otherwise rows are held back until the calibration search span
    (``calibration.search_s`` after the subject's arrival, at most) has passed,
    then the baseline is computed and the held rows are judged.
    """

    def __init__(self, rules: RuleSet, person_id: int, image_wh: Tuple[int, int], still: bool = False,
                 baseline: Optional[Dict[str, float]] = None,
                 calibration_window_s: Optional[Tuple[float, float]] = None, customer_side: Optional[str] = None,
                 mirrored: bool = False, customer_id: Optional[int] = None, posture: str = "auto",
                 block: int = BLOCK):
        check_detectors(rules)
        if block < 1:
            raise ValueError(f"block must be at least 1 frame, got {block}")
        self.block = block
        self._block: List[FrameLandmarks] = []
        self.posture = _check_posture(posture)
        self.rules = rules
        self.customer_side = customer_side
        self.customer_id = customer_id
        self.gestures = make_detectors(person_id, mirrored, rules.detectors)
        self.person_id = person_id
        self.image_wh = tuple(image_wh)
        self.window = calibration_window_s or rules.calibration_window_s
        self.anchored = calibration_window_s is None  # rules.yaml's window counts from the subject's arrival
        self._first_seen: Optional[float] = None
        self.baseline = dict(baseline) if baseline is not None else None
        self.engine = Engine(rules, person_id, self.baseline or {}, still) if baseline is not None else None
        self._still = still
        self._mesh_seen_t: Optional[float] = None  # when the face mesh last saw the face (carried across blocks)
        self._t: List[float] = []
        self._inst: Dict[str, List[float]] = {}
        self._pending: List[FeatureTable] = []
        self._t_first: Optional[float] = None
        # one landmark filter per person judged here (rules.yaml ``smoothing:``), fed every frame in time order
        self._smoothers = {pid: LandmarkSmoother(rules.smoothing) for pid in (person_id, customer_id)
                           if pid is not None}

    def _rows(self, frames: List[FrameLandmarks], person_id: int) -> LandmarkTrack:
        """One person's landmarks in these frames, smoothed, as a track (NaN rows where absent)."""
        return self._smoothers[person_id].smooth(LandmarkTrack.from_frames(frames, person_id, self.image_wh))

    def _block_features(self, frames: List[FrameLandmarks]) -> FeatureTable:
        """The feature rows of a block of frames: instantaneous features row-wise over the block, temporal ones
        over the trailing window kept from the blocks before (the same values as frame by frame)."""
        n = len(frames)
        track = self._rows(frames, self.person_id)
        customer = None if self.customer_id is None else self._rows(frames, self.customer_id)
        inst = instant_features(track, self.customer_side, customer)
        inst["face_mesh_gap_s"], self._mesh_seen_t = mesh_gap(inst["face_mesh_seen"], track.timestamp_s,
                                                             self._mesh_seen_t, self._still)
        gate_face(inst, inst["face_mesh_gap_s"])  # before the gestures, the buffer and the temporal features
        self._gesture_events = []
        if self.gestures:
            hands = hand_features(track)
            hands.update({k: inst[k] for k in PAIR_COLUMNS})
            for i, frame in enumerate(frames):
                hand_row = {k: float(v[i]) for k, v in hands.items()}
                for det in self.gestures:
                    self._gesture_events += det.push(frame.timestamp_s, frame.frame_index, hand_row)
        previous = bool(self._inst["hand_at_mouth"][-1]) if self._inst.get("hand_at_mouth") else False
        inst["hand_at_mouth"] = mouth_state(inst["hand_mouth_dist"], previous).astype(float)  # carried state
        self._t.extend(float(f.timestamp_s) for f in frames)
        for k, v in inst.items():
            self._inst.setdefault(k, []).extend(v.tolist())
        # keep the trailing window of the block's first row (+1 s, so a rising edge at its start is seen)
        cut = int(np.searchsorted(np.asarray(self._t), frames[0].timestamp_s - MAX_WINDOW_S - 1.0, side="right"))
        if cut > 0:
            self._t = self._t[cut:]
            self._inst = {k: v[cut:] for k, v in self._inst.items()}
        t = np.asarray(self._t)
        buf = {k: np.asarray(v) for k, v in self._inst.items()}
        values = {k: v[-n:] for k, v in buf.items()}
        values.update(temporal_features(buf, t, from_index=len(t) - n, still=self._still))
        return _impose_posture(FeatureTable(track.timestamp_s.copy(), track.frame_index.copy(), values),
                               self.posture)

    def _calibrated(self, t: float) -> bool:
        if self.anchored and self._first_seen is None:
            return False  # the subject has not appeared yet
        w0, w1 = search_span(self.window, self.rules.calibration_search_s, self.anchored, self._first_seen)
        assert self._t_first is not None
        return t > w1 and t > self._t_first + (w1 - w0)

    def _start_engine(self) -> List[Event]:
        table = _concat(self._pending)
        self._pending = []
        self.baseline = calibrate(table, self.rules, None if self.anchored else self.window, self._still)
        self.engine = Engine(self.rules, self.person_id, self.baseline, self._still)
        return self.engine.feed(table)

    def push(self, frame: FrameLandmarks) -> List[Event]:
        """Add one analysed frame (in time order); returns the events that closed. Frames are judged in
        blocks of ``block`` (numpy works on whole columns): an event closes at most a block late."""
        self._block.append(frame)
        return self.flush() if len(self._block) >= self.block else []

    def flush(self) -> List[Event]:
        """Judge the frames waiting for a full block now; returns the events that closed."""
        frames, self._block = self._block, []
        if not frames:
            return []
        rows = self._block_features(frames)
        done = self._gesture_events  # gestures do not wait for calibration
        if self._t_first is None:
            self._t_first = frames[0].timestamp_s
        seen = ~np.isnan(rows.values["body_scale"])
        if self._first_seen is None and seen.any():
            self._first_seen = float(rows.timestamp_s[int(np.argmax(seen))])
        if self.engine is not None:
            return done + self.engine.feed(rows)
        self._pending.append(rows)
        return done + (self._start_engine() if self._calibrated(frames[-1].timestamp_s) else [])

    def finish(self) -> List[Event]:
        """End of input: close every open event."""
        out = self.flush()
        out += self._start_engine() if self.engine is None and self._pending else []
        out += [ev for det in self.gestures for ev in det.finish()]
        if self.engine is None:
            return out
        return out + self.engine.finish()


def analyze_track(track: LandmarkTrack, rules: RuleSet, still: bool = False,
                  baseline: Optional[Dict[str, float]] = None,
                  calibration_window_s: Optional[Tuple[float, float]] = None, customer_side: Optional[str] = None,
                  mirrored: bool = False, customer_track: Optional[LandmarkTrack] = None, posture: str = "auto"):
    """Offline: the whole track at once. Returns (events, engine, feature table).

    ``customer_track``: the customer's landmarks, row by row with ``track`` (NaN where not seen), or None.
    """
    check_detectors(rules)
    track, customer_track = smooth_track(track, rules.smoothing), smooth_track(customer_track, rules.smoothing)
    table = _impose_posture(compute_features(track, customer_side, customer=customer_track, still=still), posture)
    if baseline is None:
        baseline = calibrate(table, rules, calibration_window_s, still)
    engine = Engine(rules, track.person_id, baseline, still)
    events = engine.feed(table) + engine.finish()
    events += detect_hand_events(track, rules.detectors, mirrored, {k: table[k] for k in PAIR_COLUMNS})
    return events, engine, table
