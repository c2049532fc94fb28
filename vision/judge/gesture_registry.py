"""Whole-movement detectors, wired for the pipeline: which exist, how rules.yaml
configures them, and running them over a track.

The detectors themselves are in ``gestures.py`` (guiding gestures, hand-overs);
their features in ``hands.py``. Live callers feed one hand-feature row per frame
(``make_detectors`` + ``push``); :func:`detect_hand_events` feeds a whole cached
track through the same code, so both give the same events.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional

import numpy as np

from vision.io.events import Event
from vision.judge.gestures import (GUIDE_CLAUSE, GUIDE_RULE, HANDOVER_CLAUSE, GuideGestureDetector, GuideOptions,
                             HandoverDetector, HandoverOptions)
from vision.features.hands import hand_features
from vision.detect.landmarks import LandmarkTrack

#: How each detector's rule reads where it has no event yet (e.g. in the report).
DETECTOR_TEXTS = {
    GUIDE_RULE: {"kind": "desired", "severity": "medium", "clause": GUIDE_CLAUSE,
                 "message_zh": "指引手势 (逐项评分)", "message_en": "Guiding gesture (scored point by point)"},
    "hand.two_hand_give": {"kind": "desired", "severity": "medium", "clause": HANDOVER_CLAUSE,
                           "message_zh": "双手递送或接取物品", "message_en": "Handing items over with both hands"},
}


class _ColumnRow:
    """Row ``i`` of per-feature columns, read like a mapping (``row.get(name, default)``)."""

    __slots__ = ("columns", "i")

    def __init__(self, columns: Dict[str, list], i: int):
        self.columns, self.i = columns, i

    def get(self, name: str, default: float = np.nan) -> float:
        column = self.columns.get(name)
        return default if column is None else column[self.i]


#: Detector ids as used in rules.yaml's ``detectors:`` section, and their options.
DETECTOR_OPTIONS = {GUIDE_RULE: GuideOptions, "hand.two_hand_give": HandoverOptions}


def make_detectors(person: int, mirrored: bool, enabled: Mapping[str, object]) -> list:
    """The enabled gesture detectors (id -> options, as rules.yaml's ``detectors:`` gives them)."""
    dets = []
    if GUIDE_RULE in enabled:
        dets.append(GuideGestureDetector(person, mirrored, enabled[GUIDE_RULE]))
    if "hand.two_hand_give" in enabled:
        dets.append(HandoverDetector(person, mirrored, enabled["hand.two_hand_give"]))
    return dets


def detect_hand_events(track: LandmarkTrack, mirrored: bool = False, guide: Optional[GuideOptions] = None,
                       handover: Optional[HandoverOptions] = None,
                       enabled: Optional[Mapping[str, object]] = None) -> List[Event]:
    """Offline: the detectors over a whole track, fed row by row exactly as a live caller would.

    ``enabled`` (id -> options) picks the detectors; by default both, with ``guide``/``handover``.
    """
    values = hand_features(track)
    if enabled is None:
        enabled = {GUIDE_RULE: guide or GuideOptions(), "hand.two_hand_give": handover or HandoverOptions()}
    dets = make_detectors(track.person_id, mirrored, enabled)
    events: List[Event] = []
    columns = {k: v.tolist() for k, v in values.items()}  # Python floats, read a few at a time per row
    times, frames = track.timestamp_s.tolist(), track.frame_index.tolist()
    for i in range(len(track)):
        row = _ColumnRow(columns, i)
        for det in dets:
            events += det.push(times[i], frames[i], row)
    for det in dets:
        events += det.finish()
    return sorted(events, key=lambda e: (e.start_s, e.rule, e.kind))
