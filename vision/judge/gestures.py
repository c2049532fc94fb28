"""Streaming detectors for "hands in service": the guiding gesture and hand-overs.

Both detectors take one frame at a time, as a row of :data:`vision.features.hands.HAND_FEATURES`
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

**Hand-overs** (``hand.two_hand_give``): both hands held out forward together
in front of the body -> ``desired``; one arm stretched out forward while the
other stays back -> ``violation``. Giving and taking look alike to landmarks
(no object detector), so both are reported under the entry's id.

Thresholds, severities, clauses and texts come from the detector's entry in
``rules.yaml`` (:class:`~vision.judge.catalogue.DetectorEntry`); nothing here has a default.
"""
from __future__ import annotations

import difflib
from collections import deque
from dataclasses import dataclass, field, fields, replace
from typing import Deque, Dict, List, Mapping, Optional, Tuple

import numpy as np

from vision.io.events import Event
from vision.judge.catalogue import DetectorEntry
from vision.features.hands import SIDES, log_dimensionless_jerk, two_hands_forward

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


@dataclass(frozen=True)
class HandoverOptions:
    """Thresholds of :class:`HandoverDetector` (distances in shoulder widths)."""

    forward_min: float  #: both wrists this far ahead of their shoulders
    height_band: Tuple[float, float]  #: wrists below the shoulders: chest to hips
    apart_max: float  #: wrists at most this far apart
    off_centre_max: float  #: their mid point within this of the body's midline
    one_forward_min: float  #: one-handed: that wrist this far ahead ...
    one_elbow_min_deg: float  #: ... with the elbow this straight ...
    other_forward_max: float  #: ... while the other stays back, or hangs below the band
    min_reach_gain: float  #: the hands moved out: forward grew by this much ...
    lookback_s: float  #: ... within this time before the posture began (a held pose is no hand-over)
    min_duration_s: float  #: a hand-over is held out at least this long
    merge_gap_s: float  #: shorter drop-outs do not split a hand-over


def _options(cls, entry: DetectorEntry, overrides: Dict):
    """The entry's thresholds (rules.yaml), with keyword overrides (tests, experiments) checked by name."""
    names = [f.name for f in fields(cls)]
    for k in overrides:
        if k not in names:
            near = difflib.get_close_matches(k, names, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f" (known: {', '.join(names)})"
            raise TypeError(f"{cls.__name__}: unknown threshold {k!r}{hint}")
    return replace(entry.build_options(cls), **overrides)


#: The texts each detector's rules.yaml entry gives under ``messages`` ({hand}: the hand's own text;
#: {failed}: the failed criteria's texts, joined).
GUIDE_TEXTS = ("good", "failed", "right_hand", "left_hand", "palm_up", "fingers_straight", "fingers_together",
               "thumb_bent", "elbow_pivot", "smooth_arc", "right_front")
HANDOVER_TEXTS = ("two_hands", "one_hand", "right_hand", "left_hand")


def _r(v: float) -> Optional[float]:
    return None if v is None or not np.isfinite(v) else round(float(v), 4)


def _criterion(value: float, threshold: float, op: str, unit: str, upper: Optional[float] = None, **extra) -> Dict:
    """One scored point: ``pass`` None when the value could not be measured; ``upper`` bounds a ">=" range."""
    ok = None
    if np.isfinite(value):
        ok = bool(value >= threshold if op == ">=" else value <= threshold) and (upper is None or value <= upper)
    out = {"pass": ok, "value": _r(value), "threshold": threshold, "op": op, "unit": unit, **extra}
    if upper is not None:
        out["max"] = upper
    return out


def _nanmedian(a: np.ndarray) -> float:
    a = a[~np.isnan(a)]
    return float(np.median(a)) if len(a) else float("nan")


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
        self.o = _options(GuideOptions, entry, thresholds)
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
        hold_speed = _nanmedian(speed)
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
            "palm_up": _criterion(_nanmedian(palm[seen]), o.palm_up_min, ">=", "cos"),
            "fingers_straight": _criterion(_nanmedian(ext[seen]), o.fingers_extended_min, ">=", "share of 4"),
            "fingers_together": _criterion(_nanmedian(together[seen]), o.fingers_together_max, "<=", "knuckle widths"),
            "thumb_bent": _criterion(_nanmedian(thumb[seen]), o.thumb_bent_min, ">=", "deg", upper=o.thumb_bent_max),
            "elbow_pivot": _criterion(pivot, o.elbow_pivot_max, "<=", "elbow travel / wrist travel"),
            "smooth_arc": _criterion(log_dimensionless_jerk(t[: arrive + 1], wrist[: arrive + 1]), o.jerk_max, "<=",
                                     "log dimensionless jerk of the outward stroke"),
            "right_front": _criterion(toward_right, o.right_front_min_deg, ">=", "deg right of ahead",
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
                     peak={"feature": f"{side}_wrist_out", "value": _r(out[peak]), "time_s": round(float(t[peak]), 4),
                           "frame": rows[peak][1]},
                     evidence=criteria)


_HANDOVER_KEYS = ("left_wrist_forward", "right_wrist_forward", "wrists_distance", "wrists_mid_offset")


@dataclass
class _Span:
    """Debounce for one posture: opens when it holds, closes ``merge_gap_s`` after it last held."""

    rows: List[Tuple[float, int, float, Dict[str, float]]] = field(default_factory=list)  # (t, frame, reach, values)
    moved: bool = False  # the hands came out into the posture (not a held pose)
    last_t: float = -np.inf

    def close(self) -> Optional[Tuple[list, bool]]:
        done, self.rows = (self.rows, self.moved), []
        return done if done[0] else None


class HandoverDetector:
    """Two-handed (desired) and one-handed (violation) hand-overs, one frame at a time.

    Feed the same rows as :class:`GuideGestureDetector`. A hand-over is a
    posture the hands *move into* (forward reach grows by ``min_reach_gain``)
    and hold for ``min_duration_s``. Thresholds: :class:`HandoverOptions`, from the
    entry or keyword overrides; ``mirrored`` only changes which hand a one-handed event names.
    """

    def __init__(self, entry: DetectorEntry, person: int = 0, mirrored: bool = False, **thresholds):
        self.o = _options(HandoverOptions, entry, thresholds)
        self.entry, self.say = entry, entry.texts(HANDOVER_TEXTS)
        self.person = person
        self.mirrored = mirrored
        self.spans = {"both": _Span(), "left": _Span(), "right": _Span()}
        self.history: Deque[Tuple[float, Dict[str, float]]] = deque()  # (t, reach per posture)

    def postures(self, row: Mapping[str, float]) -> Dict[str, bool]:
        """Which postures hold in one row: both hands out, or only the left / right one (NaN: none)."""
        o = self.o
        seen = [x for x in (row.get("left_wrist_forward", np.nan), row.get("right_wrist_forward", np.nan)) if x == x]
        if not seen or max(seen) < min(o.forward_min, o.one_forward_min):  # the common case: no hand out
            return {"both": False, "left": False, "right": False}
        v = {k: float(row.get(k, np.nan)) for k in
             [f"{s}_{k}" for s in SIDES for k in ("wrist_forward", "wrist_down", "elbow_deg")]
             + ["wrists_distance", "wrists_mid_offset"]}
        both = bool(two_hands_forward(v, o.forward_min, o.height_band, o.apart_max, o.off_centre_max) == 1.0)
        lo, hi = o.height_band
        out = {"both": both}
        for side, other in (("left", "right"), ("right", "left")):
            out[side] = (not both and v[f"{side}_wrist_forward"] >= o.one_forward_min
                         and lo <= v[f"{side}_wrist_down"] <= hi and v[f"{side}_elbow_deg"] >= o.one_elbow_min_deg
                         and (v[f"{other}_wrist_forward"] <= o.other_forward_max or v[f"{other}_wrist_down"] > hi))
        return out

    def push(self, t: float, frame: int, row: Mapping[str, float]) -> List[Event]:
        """One frame's hand-feature row (in time order); returns the hand-overs that ended."""
        t, frame, o = float(t), int(frame), self.o
        holds = self.postures(row)
        kept = {k: float(row.get(k, np.nan)) for k in _HANDOVER_KEYS}
        fl, fr = kept["left_wrist_forward"], kept["right_wrist_forward"]
        reach = {"both": float(np.minimum(fl, fr)), "left": fl, "right": fr}  # np.minimum: NaN if either is
        while self.history and t - self.history[0][0] > o.lookback_s:
            self.history.popleft()
        out = []
        if holds["both"]:  # the second hand joined in: the one-handed start was part of a two-handed hand-over
            self.spans["left"].close(), self.spans["right"].close()
        for name, span in self.spans.items():
            if holds[name]:
                if not span.rows:
                    before = [r[name] for _, r in self.history if not np.isnan(r[name])]
                    span.moved = bool(before) and reach[name] - min(before) >= o.min_reach_gain
                span.rows.append((t, frame, reach[name], kept))
                span.last_t = t
            elif span.rows and t - span.last_t > o.merge_gap_s:
                out += self._event(name, span.close())
        self.history.append((t, reach))
        return out

    def finish(self) -> List[Event]:
        """End of input: a hand-over still held out ends at the last frame it held."""
        return [ev for name, span in self.spans.items() for ev in self._event(name, span.close())]

    def _event(self, name: str, done) -> List[Event]:
        o = self.o
        if done is None:
            return []
        rows, moved = done
        if not moved or rows[-1][0] - rows[0][0] < o.min_duration_s:
            return []
        med = {k: _nanmedian(np.array([r[3][k] for r in rows])) for k in _HANDOVER_KEYS}
        top = max(range(len(rows)), key=lambda i: rows[i][2])
        ahead = "shoulder widths ahead"
        if name == "both":
            fwd = min(med["left_wrist_forward"], med["right_wrist_forward"])
            evidence = {"two_hands": _criterion(fwd, o.forward_min, ">=", f"{ahead} (the lesser hand)"),
                        "hands_together": _criterion(med["wrists_distance"], o.apart_max, "<=",
                                                     "shoulder widths apart"),
                        "in_front": _criterion(abs(med["wrists_mid_offset"]), o.off_centre_max, "<=",
                                               "shoulder widths off the midline")}
            kind, text, feature = "desired", self.say["two_hands"], "min wrist_forward"
        else:
            other = "left" if name == "right" else "right"
            hand = {"left": "right", "right": "left"}[name] if self.mirrored else name  # the person's own side
            evidence = {"two_hands": _criterion(med[f"{other}_wrist_forward"], o.forward_min, ">=",
                                                f"{ahead} (the other hand)", reaching_hand=hand),
                        "reach": _criterion(med[f"{name}_wrist_forward"], o.one_forward_min, ">=",
                                            f"{ahead} (the reaching hand)")}
            kind, feature = "violation", f"{name}_wrist_forward"
            text = self.say["one_hand"]
        words = self.say[f"{hand}_hand"] if name != "both" else {"zh": "", "en": ""}
        zh, en = text["zh"].format(hand=words["zh"]), text["en"].format(hand=words["en"])
        return [Event(rule=self.entry.id, kind=kind, start_s=rows[0][0], end_s=rows[-1][0], start_frame=rows[0][1],
                      end_frame=rows[-1][1], person=self.person, severity="info" if kind == "desired" else self.entry.severity,
                      clause=text["clause"], message_zh=zh, message_en=en, evidence=evidence,
                      peak={"feature": feature, "value": _r(rows[top][2]), "time_s": round(rows[top][0], 4),
                            "frame": rows[top][1]})]
