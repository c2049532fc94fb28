"""Stage 6: the temporal engine, from per-frame rule states to events.

One implementation serves live and offline use: :meth:`Engine.feed` takes
any number of new feature rows (one at a time when streaming, the whole clip
offline) and returns the events that closed. Feeding the same rows in any
chunking gives the same events.

Per rule, a small state machine (like a tracker's debounce counter):

* **idle** -> **open** when the rule's enter condition holds;
* **open** stays open while its exit (stay) condition holds;
* when it stops holding, the event waits ``merge_gap_s``: if the enter
  condition comes back within the gap the same event goes on; otherwise it
  closes at the last frame that held (inclusive);
* a closed event shorter than ``min_duration_s`` (``end_s - start_s``) is
  dropped, except for a still image, where durations do not apply.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from vision.io.events import Event
from vision.features.table import REGIONS, ColumnRow, FeatureTable
from vision.judge.rules import Rule, RuleSet


#: Why a rule was not judged on a frame (run.json ``judged[rule].reasons`` and ``spans``).
CAMERA_VIEW, NOT_SEEN, POSTURE_UNKNOWN = "camera_view", "not_seen", "posture_unknown"

#: Slack when comparing durations and gaps: timestamps are floats (0.1 * 3 != 0.3).
EPS_S = 1e-6


@dataclass
class _Open:
    start_s: float
    start_frame: int
    last_s: float
    last_frame: int
    peak_value: float
    peak_s: float
    peak_frame: int
    peak_row: ColumnRow
    in_gap: bool = False
    active_s: float = 0.0  # seconds the condition held, counted in the time share only if the event is kept


class RuleTracker:
    """Debounce, hysteresis and merging for one rule and one person."""

    def __init__(self, rule: Rule, person: int, still: bool = False):
        self.rule = rule
        self.person = person
        self.still = still
        self.open: Optional[_Open] = None
        self.active_s = 0.0  # seconds held by the events kept (an episode dropped as too short does not count)

    def _better(self, value: float, than: float) -> bool:
        if np.isnan(value):
            return False
        if np.isnan(than):
            return True
        return value > than if self.rule.peak_mode == "max" else value < than

    def update(self, t: float, frame: int, enter: bool, stay: bool, row) -> Optional[Event]:
        """Advance one frame; returns an event if one closed on this frame.

        ``row`` answers ``row.get(feature_name)`` for this frame.
        """
        cur = self.open
        if cur is None:
            if enter:
                v = row.get(self.rule.peak_feature, np.nan)
                self.open = _Open(t, frame, t, frame, v, t, frame, row)
            return None
        holds = enter if cur.in_gap else stay
        if holds:
            cur.last_s, cur.last_frame, cur.in_gap = t, frame, False
            v = row.get(self.rule.peak_feature, np.nan)
            if self._better(v, cur.peak_value):
                cur.peak_value, cur.peak_s, cur.peak_frame, cur.peak_row = v, t, frame, row
            return None
        cur.in_gap = True
        if t - cur.last_s > self.rule.merge_gap_s + EPS_S:
            return self._close()
        return None

    def finish(self) -> Optional[Event]:
        return self._close() if self.open is not None else None

    def _close(self) -> Optional[Event]:
        cur, self.open = self.open, None
        assert cur is not None
        if not self.still and cur.last_s - cur.start_s < self.rule.min_duration_s - EPS_S:
            return None
        self.active_s += cur.active_s
        r = self.rule
        evidence: Dict[str, object] = {k: _round(cur.peak_row.get(k, np.nan)) for k in r.evidence}
        if r.experimental:
            evidence["experimental"] = True
        if r.region_from:
            dists = {reg: cur.peak_row.get(r.region_from.format(region=reg), np.nan) for reg in REGIONS}
            seen = {k: v for k, v in dists.items() if not np.isnan(v)}
            if seen:
                evidence["region"] = min(seen, key=seen.get)
        return Event(rule=r.id, kind=r.kind, start_s=cur.start_s, end_s=cur.last_s, start_frame=cur.start_frame,
                     end_frame=cur.last_frame, person=self.person, severity=r.severity, clause=r.clause,
                     message_zh=r.message_zh, message_en=r.message_en,
                     peak={"feature": r.peak_feature, "value": _round(cur.peak_value),
                           "time_s": round(cur.peak_s, 4), "frame": cur.peak_frame},
                     evidence=evidence)


def _round(v: float) -> Optional[float]:
    return None if v is None or np.isnan(v) else round(float(v), 4)


class Engine:
    """All enabled rules of a rule set for one person.

    ``baseline`` holds the person's neutral value of each feature that rules
    compare ``relative``-ly (see ``calibration.py``). Also measures, per rule,
    the time during which its features were seen (``judged_s``), so desired
    states can be reported as a share of the time they could be judged.
    """

    def __init__(self, rules: RuleSet, person: int, baseline: Dict[str, float], still: bool = False):
        self.rules = rules.enabled
        self.baseline = dict(baseline)
        self.trackers = [RuleTracker(r, person, still) for r in self.rules]
        self.judged_s = {r.id: 0.0 for r in self.rules}
        self._latches: List[Dict[int, bool]] = [{} for _ in self.rules]  # each rule's ``any`` branches' states
        self.wrong_view_s = {r.id: 0.0 for r in self.rules}
        self.wrong_view_frames = {r.id: 0 for r in self.rules}
        #: per rule, closed runs of not-judged frames [start_s, end_s (last frame, inclusive), reason]
        self.spans: Dict[str, List[list]] = {r.id: [] for r in self.rules}
        self._run: Dict[str, Optional[list]] = {r.id: None for r in self.rules}  # the run going on
        #: seconds a rule gated on the posture (reads ``standing``) was not judged because it was unknown
        self.posture_unknown_s = {r.id: 0.0 for r in self.rules}
        self._posture_gated = ["standing" in r.condition.features() for r in self.rules]
        index = {r.id: k for k, r in enumerate(self.rules)}
        #: (yielding tracker, tracker given way to, region features): see :meth:`_give_way`
        self._yields = [(k, index[other], [r.region_from.format(region=g) for g in regions])
                        for k, r in enumerate(self.rules) for other, regions in r.yields_to if other in index]
        self._last_t: Optional[float] = None
        self._dt = 0.0

    def feed(self, table: FeatureTable) -> List[Event]:
        """Process new rows (in time order, after any fed before); returns closed events."""
        n = len(table)
        if n == 0:
            return []
        # Plain Python lists: the per-frame loop below indexes them thousands of times.
        views = [r.view_ok(table.values) for r in self.rules]
        masks = [((enter & ok).tolist(), (stay & ok).tolist())
                 for r, ok, latches in zip(self.rules, views, self._latches)
                 for enter, stay in [r.masks(table.values, self.baseline, latches)]]
        seen = [r.condition.seen(table.values).tolist() for r in self.rules]
        views = [v.tolist() for v in views]
        scale = table.values.get("body_scale")
        person = (~np.isnan(scale)).tolist() if scale is not None else [True] * n
        standing = table.values.get("standing")
        unknown = np.isnan(standing).tolist() if standing is not None else [False] * n
        times = table.timestamp_s.tolist()
        frames = table.frame_index.tolist()
        out: List[Event] = []
        for i in range(n):
            t = times[i]
            if self._last_t is not None:
                self._dt = t - self._last_t
            self._last_t = t
            row = ColumnRow(table.values, i)
            for k, tracker in enumerate(self.trackers):
                enter, stay = masks[k][0][i], masks[k][1][i]
                reason = None
                if not views[k][i]:
                    reason = CAMERA_VIEW if person[i] else NOT_SEEN
                    if person[i]:
                        self.wrong_view_s[tracker.rule.id] += self._dt
                        self.wrong_view_frames[tracker.rule.id] += 1
                elif seen[k][i]:
                    self.judged_s[tracker.rule.id] += self._dt
                elif self._posture_gated[k] and unknown[i] and person[i]:
                    self.posture_unknown_s[tracker.rule.id] += self._dt
                    reason = POSTURE_UNKNOWN
                else:
                    reason = NOT_SEEN
                self._span(tracker.rule.id, t, reason)
                if tracker.open is None and not enter:
                    continue  # the common case: nothing to do
                if tracker.open is not None and (stay if not tracker.open.in_gap else enter):
                    tracker.open.active_s += self._dt
                ev = tracker.update(t, frames[i], enter, stay, row)
                if ev is not None:
                    out.append(ev)
            if self._yields:
                self._give_way(row)
        return out

    def _give_way(self, row: ColumnRow) -> None:
        """Drop the open episode of a rule that ``yields_to`` another whose episode is certain (open for its
        ``min_duration_s``; on a still, at once) while the hand is nearest one of the given regions: a drink at the
        lips is one eating event, not a face touch as well. Per frame, so streaming and offline agree."""
        for k, other, features in self._yields:
            mine, theirs = self.trackers[k], self.trackers[other]
            if mine.open is None or theirs.open is None:
                continue
            if not theirs.still and theirs.open.last_s - theirs.open.start_s < theirs.rule.min_duration_s - EPS_S:
                continue
            rule = mine.rule
            dists = {f: row.get(f, np.nan) for f in (rule.region_from.format(region=g) for g in REGIONS)}
            seen = {f: v for f, v in dists.items() if not np.isnan(v)}
            if seen and min(seen, key=seen.get) in features:
                mine.open = None

    def _span(self, rule_id: str, t: float, reason: Optional[str]) -> None:
        """Extend or close the rule's run of not-judged frames (``reason`` None: judged at ``t``)."""
        run = self._run[rule_id]
        if run is not None and run[2] == reason:
            run[1] = t
            return
        if run is not None:
            self.spans[rule_id].append(run)
        self._run[rule_id] = None if reason is None else [t, t, reason]

    def not_judged_spans(self) -> Dict[str, List[list]]:
        """Per rule, the runs of analysed frames it was not judged on so far: ``[start_s, end_s, reason]``
        (both ends inclusive: the first and last such frame; reasons ``camera_view``, ``not_seen``)."""
        return {rid: [[round(a, 4), round(b, 4), why] for a, b, why in spans + ([self._run[rid]] if self._run[rid]
                                                                               else [])]
                for rid, spans in self.spans.items()}

    def finish(self) -> List[Event]:
        out = [ev for tr in self.trackers if (ev := tr.finish()) is not None]
        return sorted(out, key=lambda e: (e.start_s, e.rule))

    def not_judged(self) -> Dict[str, Dict[str, object]]:
        """Rules that could not be judged for part of the input because of the camera view.

        In seconds and analysed frames (a still image is one frame, no seconds).
        """
        out = {}
        for r in self.rules:
            if self.wrong_view_frames[r.id]:
                out[r.id] = {"wrong_view_s": round(self.wrong_view_s[r.id], 3),
                             "wrong_view_frames": self.wrong_view_frames[r.id], "valid_views": list(r.views),
                             "note": f"not judged from this camera view; valid views: {', '.join(r.views)}"}
        return out

    def time_share(self) -> Dict[str, Dict[str, float]]:
        """Per desired-state rule: seconds active in the episodes kept (an open one counts once it closes),
        seconds judged, and their ratio."""
        out = {}
        for r, tracker in zip(self.rules, self.trackers):
            if r.kind != "desired":
                continue
            judged = self.judged_s[r.id]
            active = tracker.active_s
            out[r.id] = {"active_s": round(active, 3), "judged_s": round(judged, 3),
                         "share": round(active / judged, 4) if judged > 0 else None}
        return out
