"""Streaming detector for the guiding gesture ("hands in service"; hand-overs: ``handover.py``).

The detectors take one frame at a time, as a row of :data:`vision.features.hands.HAND_FEATURES`
(name -> float, NaN = not seen)::

    det = GuideGestureDetector(rules.detectors["hand.guide_form"], person=0)
    for t, frame, row in rows:          # row = {k: v[i] for k, v in hand_features(track).items()}
        for event in det.push(t, frame, row):
            ...
    events += det.finish()

A live caller gets each row from ``hand_features`` on a one-frame track (the
features are row-wise). :func:`detect_hand_events` runs the same detectors
over a whole track, so offline and streaming results are identical.

**Guiding gesture** (指引, ``hand.guide_form``): an arm sets off from rest,
extends out to the side and front (the forearm sweeping round, about level,
at chest-to-hip height), pauses there to show the way and returns within
``max_duration_s`` (:class:`GuideOptions`). Each one found is scored point by
point against the code of conduct; ``evidence`` maps every criterion to
``{"pass", "value", "threshold", "op", "unit"}`` (``pass`` None: could not be
judged) and the event is a ``violation`` if any criterion fails, else
``desired``. A gesture whose hand the hand model did not see gets no verdict
and no event. Event ends are inclusive: the gesture runs from the frame the
arm set off to the frame it was back.

Thresholds, severities, clauses and texts come from the detector's entry in
``rules.yaml`` (:class:`~vision.judge.catalogue.DetectorEntry`); nothing here has a default.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Deque, List, Mapping, Optional, Tuple

import numpy as np

from vision.io.events import Event
from vision.judge.catalogue import DetectorEntry
from vision.features.hands import SIDES, log_dimensionless_jerk
from vision.judge.scoring import build_options, criterion, nanmedian, rounded

@dataclass(frozen=True)
class GuideOptions:
    """Thresholds of :class:`GuideGestureDetector` (distances in shoulder widths)."""

    # Finding a gesture
    out_enter: float  #: wrist out from its shoulder that makes an excursion a candidate
    out_exit: float  #: wrist back within this: the arm has returned, the gesture ends
    rest_out: float  #: the excursion must set off from at most this far out
    lookback_s: float  #: how far before ``out_enter`` the set-off is searched
    min_travel: float  #: the wrist travels at least this far from where it set off
    min_sweep_deg: float  #: the forearm turns at least this much in the horizontal plane
    height_band: Tuple[float, float]  #: wrist below the shoulder at the peak: chest to hips
    forearm_drop_deg: Tuple[float, float]  #: forearm about level at the peak (not hanging, not raised)
    max_out_deg: float  #: wrist at the peak at most this far round from ahead toward its side (else behind)
    hold_speed_max: float  #: the hand pauses to show the way: median wrist speed near the peak, per s
    min_duration_s: float  #: a gesture lasts at least this long
    max_duration_s: float  #: held out longer: a pose, not a guiding gesture
    present_share: float  #: the hand is judged where the wrist is out at least this share of its peak
    min_hand_share: float  #: of those, the hand model must see the hand this often, else no verdict
    # Scoring (the code of conduct)
    palm_up_min: float  #: cos of the palm normal to straight up
    fingers_extended_min: float  #: share of the four fingers straight
    fingers_together_max: float  #: fingertip spread over knuckle spread
    thumb_bent_min: float  #: deg: a thumb bent less is held stiff
    thumb_bent_max: float  #: deg: bent more is tucked in
    elbow_pivot_max: float  #: elbow travel over wrist travel
    jerk_max: float  #: log dimensionless jerk of the outward stroke
    right_front_min_deg: float  #: wrist at the peak, seen from the shoulder: deg to the person's right of ahead


#: The texts each detector's rules.yaml entry gives under ``messages`` ({hand}: the hand's own text;
#: {failed}: the failed criteria's texts, joined).
GUIDE_TEXTS = ("good", "failed", "right_hand", "left_hand", "palm_up", "fingers_straight", "fingers_together",
               "thumb_bent", "elbow_pivot", "smooth_arc", "right_front")


#: Shoulder widths of jitter tolerated when finding where an arm set off and where it arrived.
SET_OFF_TOL = 0.05

_ARM_KEYS = ("wrist_out", "wrist_forward", "wrist_down", "elbow_out", "elbow_forward", "elbow_down", "forearm_deg",
             "forearm_drop_deg", "palm_up", "fingers_extended", "fingers_together", "thumb_bent")
_ARM_NAMES = {side: tuple(f"{side}_{k}" for k in _ARM_KEYS) for side in ("left", "right")}


@dataclass
class _Arm:
    """One arm's segmentation: idle -> open (arm out) -> scored when it is back; ``blocked`` waits for a return."""

    side: str
    rows: Deque[Tuple[float, int, np.ndarray]] = field(default_factory=deque)  # (t, frame, _ARM_KEYS values)
    state: str = "idle"
    start: Optional[int] = None  # index in rows of the set-off, while open

    @property
    def keys(self) -> Tuple[str, ...]:
        """This arm's feature names in a hand-feature row, in _ARM_KEYS order."""
        return _ARM_NAMES[self.side]


class GuideGestureDetector:
    """Finds guiding gestures one frame at a time and scores each against the code of conduct.

    ``mirrored``: the input is a mirror image (a selfie camera), so the
    person's right arm is the one MediaPipe calls left. ``arms``: which arms
    (MediaPipe names) to watch; a gesture made with the person's left arm is
    scored too, and fails ``right_front`` (the rules ask for the right hand).
    Thresholds: :class:`GuideOptions`, from the entry or keyword overrides.
    """

    def __init__(self, entry: DetectorEntry, person: int = 0, mirrored: bool = False,
                 arms: Tuple[str, ...] = SIDES, **thresholds):
        self.o = build_options(GuideOptions, entry, thresholds)
        self.entry, self.say = entry, entry.texts(GUIDE_TEXTS)
        self.person = person
        self.right_side = "left" if mirrored else "right"
        self.keep_s = self.o.lookback_s + self.o.max_duration_s + 1.0  # history an idle arm keeps
        self.arms = [_Arm(side) for side in arms]

    def push(self, t: float, frame: int, row: Mapping[str, float]) -> List[Event]:
        """One frame's hand-feature row (in time order); returns the gestures that ended on it."""
        events = [self._step(arm, float(t), int(frame),
                             np.array([row.get(k, np.nan) for k in arm.keys], dtype=np.float64))
                  for arm in self.arms]
        return [ev for ev in events if ev is not None]

    def finish(self) -> List[Event]:
        """End of input. A gesture whose arm never came back is not finished: none is reported."""
        for arm in self.arms:
            arm.state, arm.start = "idle", None
            arm.rows.clear()
        return []

    def _step(self, arm: _Arm, t: float, frame: int, x: np.ndarray) -> Optional[Event]:
        o = self.o
        arm.rows.append((t, frame, x))
        while arm.state != "open" and t - arm.rows[0][0] > self.keep_s:
            arm.rows.popleft()
        out = x[0]
        if arm.state == "open" and t - arm.rows[arm.start][0] > o.max_duration_s:
            arm.state, arm.start = "blocked", None  # held out too long: a pose, not a gesture
        if np.isnan(out):
            return None
        if arm.state == "blocked":
            if out < o.out_exit:
                arm.state = "idle"
            return None
        if arm.state == "idle":
            if out >= o.out_enter:
                arm.start = self._set_off(arm, t)
                arm.state = "open" if arm.start is not None else "blocked"
            return None
        if out >= o.out_exit:
            return None
        rows = list(arm.rows)[arm.start:]
        arm.state, arm.start = "idle", None
        return self._score(arm.side, rows)

    def _set_off(self, arm: _Arm, t: float) -> Optional[int]:
        """Where the rise to the current frame began: walk back down it (within the look-back) to its foot.

        The foot is the latest frame within :data:`SET_OFF_TOL` of the lowest
        ``out`` on the way down; None unless the arm was at rest there
        (``out`` at most ``rest_out``).
        """
        walked: List[Tuple[int, float]] = []
        lowest = np.inf
        for i in range(len(arm.rows) - 1, -1, -1):
            ti, _, xi = arm.rows[i]
            if t - ti > self.o.lookback_s or xi[0] > lowest + SET_OFF_TOL:
                break  # past the foot of the rise
            if not np.isnan(xi[0]):
                walked.append((i, xi[0]))
                lowest = min(lowest, xi[0])
        foot = next((i for i, v in walked if v <= lowest + SET_OFF_TOL), None)
        return foot if foot is not None and lowest <= self.o.rest_out else None

    def _score(self, side: str, rows: List[Tuple[float, int, np.ndarray]]) -> Optional[Event]:
        o = self.o
        t = np.array([r[0] for r in rows])
        x = np.stack([r[2] for r in rows])
        (out, fwd, down, e_out, e_fwd, e_down, forearm, drop, palm, ext, together, thumb) = x.T
        peak = int(np.nanargmax(out))
        arrive = int(np.argmax(out >= out[peak] - SET_OFF_TOL))  # the outward stroke ends where the hand arrives
        wrist = np.stack([out, fwd, down], axis=1)
        elbow = np.stack([e_out, e_fwd, e_down], axis=1)
        travel = float(np.nanmax(np.linalg.norm(wrist - wrist[0], axis=1)))
        turn = forearm[: peak + 1][~np.isnan(forearm[: peak + 1])]
        sweep = float(np.degrees(np.ptp(np.unwrap(np.radians(turn))))) if len(turn) else float("nan")
        present = out >= o.present_share * out[peak]  # the hand near the end of its arc
        speed = np.r_[np.nan, np.linalg.norm(np.diff(wrist, axis=0), axis=1) / np.diff(t)][present]
        hold_speed = nanmedian(speed)
        (lo, hi), (d_lo, d_hi) = o.height_band, o.forearm_drop_deg
        out_deg = np.degrees(np.arctan2(out[peak], fwd[peak]))
        if not (o.min_duration_s <= t[-1] - t[0] <= o.max_duration_s and lo <= down[peak] <= hi
                and d_lo <= drop[peak] <= d_hi and out_deg <= o.max_out_deg and hold_speed <= o.hold_speed_max
                and travel >= o.min_travel and sweep >= o.min_sweep_deg):
            return None  # not a guiding gesture (NaN fails every test)
        seen = present & ~np.isnan(palm)
        if seen.sum() < max(1, o.min_hand_share * present.sum()):
            return None  # the hand was not seen: no verdict
        elbow_seen = np.flatnonzero(~np.isnan(elbow).any(axis=1))
        pivot = float("nan")  # elbow never seen: cannot be judged
        if len(elbow_seen):
            pivot = float(np.max(np.linalg.norm(elbow[elbow_seen] - elbow[elbow_seen[0]], axis=1))) / travel
        toward_right = out_deg * (1 if side == self.right_side else -1)
        criteria = {
            "palm_up": criterion(nanmedian(palm[seen]), o.palm_up_min, ">=", "cos"),
            "fingers_straight": criterion(nanmedian(ext[seen]), o.fingers_extended_min, ">=", "share of 4"),
            "fingers_together": criterion(nanmedian(together[seen]), o.fingers_together_max, "<=", "knuckle widths"),
            "thumb_bent": criterion(nanmedian(thumb[seen]), o.thumb_bent_min, ">=", "deg", upper=o.thumb_bent_max),
            "elbow_pivot": criterion(pivot, o.elbow_pivot_max, "<=", "elbow travel / wrist travel"),
            "smooth_arc": criterion(log_dimensionless_jerk(t[: arrive + 1], wrist[: arrive + 1]), o.jerk_max, "<=",
                                     "log dimensionless jerk of the outward stroke"),
            "right_front": criterion(toward_right, o.right_front_min_deg, ">=", "deg right of ahead",
                                      hand="right" if side == self.right_side else "left"),
        }
        failed = [k for k, c in criteria.items() if c["pass"] is False]
        say = self.say
        hand = say["right_hand" if side == self.right_side else "left_hand"]
        text = say["failed" if failed else "good"]
        zh = text["zh"].format(hand=hand["zh"], failed="，".join(say[k]["zh"] for k in failed))
        en = text["en"].format(hand=hand["en"], failed=", ".join(say[k]["en"] for k in failed))
        return Event(rule=self.entry.id, kind="violation" if failed else "desired", start_s=float(t[0]),
                     end_s=float(t[-1]), start_frame=rows[0][1], end_frame=rows[-1][1], person=self.person,
                     severity=self.entry.severity if failed else "info", clause=text["clause"], message_zh=zh,
                     message_en=en,
                     peak={"feature": f"{side}_wrist_out", "value": rounded(out[peak]), "time_s": round(float(t[peak]), 4),
                           "frame": rows[peak][1]},
                     evidence=criteria)


