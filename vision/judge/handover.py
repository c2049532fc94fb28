"""Streaming detectors for hand-overs (递送 / 接取物品): given or taken, with both hands?

Fed like :class:`~vision.judge.gestures.GuideGestureDetector`, one frame at a
time, a row of :data:`vision.features.hands.HAND_FEATURES` plus the
two-person columns :data:`~vision.judge.gesture_registry.PAIR_COLUMNS`
(``customer_reach``, ``gaze_off_target_deg``; NaN = not seen).

A hand-over is a posture the subject's hands *move into* and hold: both hands
out forward together in front of the body (two-handed) or one arm stretched
out while the other stays back (one-handed, a violation).

**Give or take.** Landmarks do not see the object, so which way it travels is
approximated by who reached first: if the customer's wrist was out toward the
subject (``customer_reach >= customer_reach_min``) within ``lookback_s``
before the subject's hands went out, the customer is handing something over:
a **take** (``hand.two_hand_take``, :class:`TakeDetector`); if the customer
was seen and had not reached out, a **give** (``hand.two_hand_give``,
:class:`HandoverDetector`). With no customer seen (none tracked, or out of
view) the direction is unknown and the hand-over is reported under
``hand.two_hand_give`` exactly as before customers were tracked.

A take is also judged "looking at the customer" (目视客户): the share of its
frames whose gaze is within ``attention_max_deg`` of the customer
(``gaze_off_target_deg``); not judged (``pass`` None) when the face was not
seen. Event ends are inclusive.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Deque, Dict, List, Mapping, Optional, Tuple

import numpy as np

from vision.io.events import Event
from vision.features.hands import SIDES, two_hands_forward
from vision.judge.catalogue import DetectorEntry
from vision.judge.scoring import build_options, criterion, nanmedian, rounded


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
    customer_reach_min: float  #: the customer's wrist this far ahead (their own shoulder widths): they reached out


@dataclass(frozen=True)
class TakeOptions(HandoverOptions):
    """Thresholds of :class:`TakeDetector`: a hand-over's, plus looking at the customer."""

    attention_max_deg: float  #: gaze within this of the customer counts as looking at them
    attention_min_share: float  #: ... for at least this share of the take's frames where the gaze was seen


#: The texts each entry gives under ``messages`` ({hand}: the hand's own text).
HANDOVER_TEXTS = ("two_hands", "one_hand", "right_hand", "left_hand")
TAKE_TEXTS = HANDOVER_TEXTS + ("not_looking",)
_KEYS = ("left_wrist_forward", "right_wrist_forward", "wrists_distance", "wrists_mid_offset", "gaze_off_target_deg")


@dataclass
class _Span:
    """Debounce for one posture: opens when it holds, closes ``merge_gap_s`` after it last held."""

    rows: List[Tuple[float, int, float, Dict[str, float]]] = field(default_factory=list)  # (t, frame, reach, values)
    moved: bool = False  # the hands came out into the posture (not a held pose)
    direction: str = "unknown"  # give, take or unknown (no customer seen)
    last_t: float = -np.inf

    def close(self) -> Optional[Tuple[list, bool, str]]:
        done, self.rows = (self.rows, self.moved, self.direction), []
        return done if done[0] else None


class HandoverDetector:
    """Two-handed (desired) and one-handed (violation) hand-overs the subject *gives*, one frame at a time.

    Thresholds: :class:`HandoverOptions`, from the entry or keyword overrides;
    ``mirrored`` only changes which hand a one-handed event names.
    """

    options_class = HandoverOptions
    texts = HANDOVER_TEXTS
    reports = ("give", "unknown")  #: the directions this detector reports

    def __init__(self, entry: DetectorEntry, person: int = 0, mirrored: bool = False, **thresholds):
        self.o = build_options(self.options_class, entry, thresholds)
        self.entry, self.say = entry, entry.texts(self.texts)
        self.person = person
        self.mirrored = mirrored
        self.spans = {"both": _Span(), "left": _Span(), "right": _Span()}
        self.history: Deque[Tuple[float, Dict[str, float], float]] = deque()  # (t, reach per posture, customer's)
        self.out_since: Optional[float] = None  # the subject's hands went out at this time (this excursion)
        self.direction = "unknown"  # of this excursion

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

    def _who_reached_first(self, t: float, fl: float, fr: float, customer: float) -> None:
        """Track the subject's excursion; when it starts, decide its direction from the customer's recent reach."""
        out = np.nanmax([fl, fr]) if fl == fl or fr == fr else np.nan
        if out >= min(self.o.forward_min, self.o.one_forward_min):
            if self.out_since is None:
                self.out_since = t
                before = [c for ti, _, c in self.history if t - ti <= self.o.lookback_s and c == c]
                if any(c >= self.o.customer_reach_min for c in before):
                    self.direction = "take"  # the customer's hand was out first: they hand something over
                elif before or customer == customer:
                    self.direction = "give"
                else:
                    self.direction = "unknown"
        elif out == out:
            self.out_since = None  # the hands are back (NaN: not seen, the excursion goes on)

    def push(self, t: float, frame: int, row: Mapping[str, float]) -> List[Event]:
        """One frame's row (in time order); returns the hand-overs that ended."""
        t, frame, o = float(t), int(frame), self.o
        holds = self.postures(row)
        kept = {k: float(row.get(k, np.nan)) for k in _KEYS}
        fl, fr = kept["left_wrist_forward"], kept["right_wrist_forward"]
        customer = float(row.get("customer_reach", np.nan))
        self._who_reached_first(t, fl, fr, customer)
        reach = {"both": float(np.minimum(fl, fr)), "left": fl, "right": fr}  # np.minimum: NaN if either is
        while self.history and t - self.history[0][0] > o.lookback_s:
            self.history.popleft()
        out = []
        if holds["both"]:  # the second hand joined in: the one-handed start was part of a two-handed hand-over
            self.spans["left"].close(), self.spans["right"].close()
        for name, span in self.spans.items():
            if holds[name]:
                if not span.rows:
                    before = [r[name] for _, r, _ in self.history if not np.isnan(r[name])]
                    span.moved = bool(before) and reach[name] - min(before) >= o.min_reach_gain
                    span.direction = self.direction
                span.rows.append((t, frame, reach[name], kept))
                span.last_t = t
            elif span.rows and t - span.last_t > o.merge_gap_s:
                out += self._event(name, span.close())
        self.history.append((t, reach, customer))
        return out

    def finish(self) -> List[Event]:
        """End of input: a hand-over still held out ends at the last frame it held."""
        return [ev for name, span in self.spans.items() for ev in self._event(name, span.close())]

    def _looking(self, rows) -> Optional[Dict]:
        """Evidence of looking at the customer during a take (None for a give)."""
        return None

    def _event(self, name: str, done) -> List[Event]:
        o = self.o
        if done is None:
            return []
        rows, moved, direction = done
        if not moved or rows[-1][0] - rows[0][0] < o.min_duration_s or direction not in self.reports:
            return []
        med = {k: nanmedian(np.array([r[3][k] for r in rows])) for k in _KEYS}
        top = max(range(len(rows)), key=lambda i: rows[i][2])
        ahead = "shoulder widths ahead"
        hand = None
        if name == "both":
            fwd = min(med["left_wrist_forward"], med["right_wrist_forward"])
            evidence = {"two_hands": criterion(fwd, o.forward_min, ">=", f"{ahead} (the lesser hand)"),
                        "hands_together": criterion(med["wrists_distance"], o.apart_max, "<=",
                                                    "shoulder widths apart"),
                        "in_front": criterion(abs(med["wrists_mid_offset"]), o.off_centre_max, "<=",
                                              "shoulder widths off the midline")}
            feature = "min wrist_forward"
        else:
            other = "left" if name == "right" else "right"
            hand = {"left": "right", "right": "left"}[name] if self.mirrored else name  # the person's own side
            evidence = {"two_hands": criterion(med[f"{other}_wrist_forward"], o.forward_min, ">=",
                                               f"{ahead} (the other hand)", reaching_hand=hand),
                        "reach": criterion(med[f"{name}_wrist_forward"], o.one_forward_min, ">=",
                                           f"{ahead} (the reaching hand)")}
            feature = f"{name}_wrist_forward"
        looking = self._looking(rows)
        if looking is not None:
            evidence["looking"] = looking
        if direction != "unknown":
            evidence["direction"] = direction
        not_looking = looking is not None and looking["pass"] is False
        kind = "desired" if name == "both" and not not_looking else "violation"
        text = self.say["two_hands" if name == "both" else "one_hand"]
        words = self.say[f"{hand}_hand"] if hand else {"zh": "", "en": ""}
        zh, en = text["zh"].format(hand=words["zh"]), text["en"].format(hand=words["en"])
        if not_looking:
            nl = self.say["not_looking"]
            zh, en = (nl["zh"], nl["en"]) if name == "both" else (f"{zh}，{nl['zh']}", f"{en}; {nl['en']}")
            text = nl if name == "both" else text
        return [Event(rule=self.entry.id, kind=kind, start_s=rows[0][0], end_s=rows[-1][0], start_frame=rows[0][1],
                      end_frame=rows[-1][1], person=self.person,
                      severity="info" if kind == "desired" else self.entry.severity,
                      clause=text["clause"], message_zh=zh, message_en=en, evidence=evidence,
                      peak={"feature": feature, "value": rounded(rows[top][2]), "time_s": round(rows[top][0], 4),
                            "frame": rows[top][1]})]


class TakeDetector(HandoverDetector):
    """Hand-overs the subject *takes* (the customer reached out first): with both hands, looking at the customer.

    Thresholds: :class:`TakeOptions`. Nothing is reported unless a customer was seen reaching out first.
    """

    options_class = TakeOptions
    texts = TAKE_TEXTS
    reports = ("take",)

    def _looking(self, rows) -> Optional[Dict]:
        gaze = np.array([r[3]["gaze_off_target_deg"] for r in rows])
        seen = gaze[~np.isnan(gaze)]
        share = float(np.mean(seen <= self.o.attention_max_deg)) if len(seen) else float("nan")
        return criterion(share, self.o.attention_min_share, ">=",
                         f"share of the take's frames with the gaze within {self.o.attention_max_deg:g} deg "
                         "of the customer")
