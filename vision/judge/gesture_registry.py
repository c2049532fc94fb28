"""Detector entries of rules.yaml, wired to the code that judges them, and run over a track.

``rules.yaml``'s ``detectors:`` section lists every rule judged by its own
code rather than by a condition. This module knows which code judges which id
(:data:`GESTURES` here, :data:`vision.judge.appearance.APPEARANCE_RULES` for
the look.* checks) and checks every entry once (:func:`check_detectors`): an
unknown id gets a did-you-mean, and each detector checks its own thresholds and
texts. Live callers feed one hand-feature row per frame (``make_detectors`` +
``push``); :func:`detect_hand_events` feeds a whole cached track through the
same code, so both give the same events.
"""
from __future__ import annotations

import difflib
from typing import List, Mapping, Optional

import numpy as np

from vision.detect.landmarks import LandmarkTrack
from vision.features.hands import hand_features
from vision.features.table import ColumnRow
from vision.io.events import Event
from vision.judge.appearance import APPEARANCE_RULES, appearance_settings
from vision.judge.catalogue import DetectorEntry, RulesError
from vision.judge.gestures import GuideGestureDetector
from vision.judge.handover import HandoverDetector, TakeDetector
from vision.judge.rules import RuleSet

#: Feature-table columns the hand-over detectors read besides the hand features: whether and when the
#: customer reached out (give or take), and where the subject looked (a take is made looking at the customer).
PAIR_COLUMNS = ("customer_reach", "gaze_off_target_deg")

#: Whole-movement detectors by rule id.
GESTURES = {"hand.guide_form": GuideGestureDetector, "hand.two_hand_give": HandoverDetector,
            "hand.two_hand_take": TakeDetector}


def check_detectors(rules: RuleSet) -> None:
    """Every ``detectors:`` entry (enabled or not) names known code, and its options and texts are valid."""
    known = sorted([*GESTURES, *APPEARANCE_RULES])
    for entry in rules.detector_entries:
        if entry.id in GESTURES:
            GESTURES[entry.id](entry)  # checks options and messages
        elif entry.id not in APPEARANCE_RULES:
            hint = difflib.get_close_matches(entry.id, known, n=1)
            raise RulesError(f"{entry.where}.id: no detector judges {entry.id!r}"
                             + (f"; did you mean '{hint[0]}'?" if hint else f"; known: {', '.join(known)}"))
    appearance_settings(rules)


def make_detectors(person: int, mirrored: bool, enabled: Mapping[str, DetectorEntry]) -> list:
    """The enabled gesture detectors (id -> entry, as ``RuleSet.detectors`` gives them)."""
    return [GESTURES[i](entry, person, mirrored) for i, entry in enabled.items() if i in GESTURES]


def detect_hand_events(track: LandmarkTrack, enabled: Mapping[str, DetectorEntry], mirrored: bool = False,
                       pair: Optional[Mapping[str, np.ndarray]] = None) -> List[Event]:
    """Offline: the enabled gesture detectors over a whole track, fed row by row exactly as a live caller would.

    ``pair``: the :data:`PAIR_COLUMNS` of the track's feature table (absent: NaN, no customer).
    """
    dets = make_detectors(track.person_id, mirrored, enabled)
    if not dets:
        return []
    columns = {k: v.tolist() for k, v in hand_features(track).items()}  # Python floats, read a few per row
    columns.update({k: np.asarray(pair[k], dtype=np.float64).tolist() for k in PAIR_COLUMNS if pair and k in pair})
    events: List[Event] = []
    times, frames = track.timestamp_s.tolist(), track.frame_index.tolist()
    for i in range(len(track)):
        row = ColumnRow(columns, i)
        for det in dets:
            events += det.push(times[i], frames[i], row)
    for det in dets:
        events += det.finish()
    return sorted(events, key=lambda e: (e.start_s, e.rule, e.kind))
