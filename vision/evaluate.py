"""Scores runs against labelled intervals (the format of ``../shared/media/labels.yaml``).

Per clip and rule:

* labels and events are matched **one to one**: a labelled interval is a
  **true positive** when an event of the same rule not matched to an earlier
  label overlaps it (within ``tolerance_s``; the one nearest in onset is
  taken), else a **miss**; its onset error is ``|event.start_s - label.start|``;
  a second event on the same labelled episode is not matched (two events
  for one episode: one hit and one false positive, as in
  ``../shared/tools/score.py``);
* an event matched to no label of its rule is a **false positive** when the
  clip assesses that rule (it has labelled intervals of it, or lists it under
  ``absent``); in clips that say nothing about a rule its events are ignored,
  as the labels' README asks;
* within the face-touch family an event of ``gesture.face_touch`` matches a
  label of a specific id and vice versa;
* a still image's ``present`` ids are intervals at 0 s;
* a label missed where the run reported that the rule could not be judged
  *during that labelled interval* (``run.json`` ``judged[rule].spans``
  cover at least half of it, or the instant of a still; a family: every
  member not judged) counts as *not judged* (NJ), not as a miss. A run
  written before spans existed falls back to: the rule had ``camera_view``
  time anywhere in the clip.

Families pool their members (any member's event matches any member's label),
which is how the naive baseline of the issue was scored.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import yaml

from vision.io.events import Event, read_events
from vision.io.run_meta import read_run_json

FACE_TOUCH_FAMILY = ("gesture.face_touch", "gesture.nose_pick", "gesture.teeth_pick", "gesture.hair",
                     "gesture.makeup_mirror")
FAMILIES: Dict[str, Tuple[str, ...]] = {
    "face-touch family": FACE_TOUCH_FAMILY,
    "bad posture (lean back, slouch)": ("sit.lean_back", "sit.slouch"),
}


class LabelsError(Exception):
    pass


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    not_judged: int = 0  # labels missed where the run said the rule cannot be judged from this camera view
    absent_clips: int = 0  # clips that list the rule as absent (where any event is a false positive)
    onset_errors: List[float] = field(default_factory=list)

    @property
    def precision(self) -> Optional[float]:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> Optional[float]:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> Optional[float]:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def onset_error_s(self) -> Optional[float]:
        if not self.onset_errors:
            return None
        e = sorted(self.onset_errors)
        return e[len(e) // 2]

    def to_json(self) -> Dict:
        r = lambda v: None if v is None else round(v, 3)  # noqa: E731
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "not_judged": self.not_judged,
                "absent_clips": self.absent_clips,
                "precision": r(self.precision),
                "recall": r(self.recall), "f1": r(self.f1), "median_onset_error_s": r(self.onset_error_s)}


def _compatible(label_rule: str, event_rule: str) -> bool:
    if label_rule == event_rule:
        return True
    fam = FACE_TOUCH_FAMILY
    return label_rule in fam and event_rule in fam and "gesture.face_touch" in (label_rule, event_rule)


def _overlaps(e: Event, start: float, end: float, tol: float) -> bool:
    return e.start_s <= end + tol and e.end_s >= start - tol


def load_labels(path: str | Path) -> Dict:
    p = Path(path)
    if not p.is_file():
        raise LabelsError(f"{p}: labels file not found")
    doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("clips"), list):
        raise LabelsError(f"{p}: expected a mapping with a 'clips' list")
    return doc


def _clip_intervals(clip: Dict) -> List[Tuple[str, float, float]]:
    out = [(ev["rule"], float(ev["start"]), float(ev["end"])) for ev in clip.get("events") or []]
    out += [(rule, 0.0, 0.0) for rule in clip.get("present") or []]
    return out


def score_clip(clip: Dict, events: List[Event], rules: Iterable[str], tol: float,
               scores: Dict[str, Score], pooled: Optional[Tuple[str, ...]] = None,
               errors: Optional[List[str]] = None,
               excused: Callable[[str, float, float], Optional[str]] = lambda rule, s, e: None) -> None:
    """Add one clip's counts to ``scores`` (by rule, or under one key when ``pooled``).

    ``excused(rule, start, end)``: why the run could not judge ``rule`` during that interval (a missed label
    is then not judged, not a miss), or None.

    ``errors`` collects a line per miss and false positive, for ``--details``.
    """
    rules = set(rules)
    labels = _clip_intervals(clip)
    absent = set(clip.get("absent") or [])
    if pooled is not None:
        key = pooled[0]
        members = set(pooled) & rules
        labels = [(key, s, e) for r, s, e in labels if r in pooled]
        events = [e for e in events if e.rule in members]
        absent = {key} if absent & set(pooled) else set()
        match = lambda lr, er: True  # noqa: E731  (events were already filtered to the family)
        rule_of = lambda e: key  # noqa: E731
        rules = {key}
    else:
        # A specific face-touch id with no rule of its own is scored as the general one.
        general = "gesture.face_touch" in rules
        labels = [(r if r in rules or not (general and r in FACE_TOUCH_FAMILY) else "gesture.face_touch", s, e)
                  for r, s, e in labels]
        labels = [x for x in labels if x[0] in rules]
        match = _compatible
        rule_of = lambda e: e.rule  # noqa: E731
    matched_events = set()
    for rule, s, e in sorted(labels, key=lambda x: (x[1], x[2], x[0])):
        # one to one: the unmatched overlapping event nearest in onset; a second event on the same episode
        # stays unmatched (a false positive where the clip assesses the rule), as the hidden set's scorer does
        hits = [i for i, ev in enumerate(events)
                if i not in matched_events and match(rule, ev.rule) and _overlaps(ev, s, e, tol)]
        sc = scores.setdefault(rule, Score())
        if hits:
            best = min(hits, key=lambda i: (abs(events[i].start_s - s), i))
            sc.tp += 1
            sc.onset_errors.append(abs(events[best].start_s - s))
            matched_events.add(best)
        elif (why := excused(tuple(members) if pooled is not None else rule, s, e)) is not None:
            sc.not_judged += 1
            if errors is not None:
                errors.append(f"{clip['file']}: NOT JUDGED ({why}) {rule} {s:.2f}-{e:.2f}")
        else:
            sc.fn += 1
            if errors is not None:
                errors.append(f"{clip['file']}: MISS {rule} {s:.2f}-{e:.2f}")
    for r in absent & rules:
        scores.setdefault(r, Score()).absent_clips += 1
    assessed = {r for r, _, _ in labels} | absent
    for i, ev in enumerate(events):
        r = rule_of(ev)
        if i in matched_events or r not in rules:
            continue
        if r in assessed or (pooled is None and ev.rule in FACE_TOUCH_FAMILY and "gesture.face_touch" in absent):
            scores.setdefault(r, Score()).fp += 1
            if errors is not None:
                errors.append(f"{clip['file']}: FP   {ev.rule} {ev.start_s:.2f}-{ev.end_s:.2f} "
                              f"(peak {ev.peak.get('feature')}={ev.peak.get('value')})")


def not_judged_for_view(meta: Dict) -> set:
    """Rules the run could not judge for part of the input because of the camera view (``judged``)."""
    return {rule for rule, j in meta["judged"].items() if "camera_view" in j["reasons"]}


#: A missed label is excused when the rule was not judged for at least this share of the labelled interval.
NOT_JUDGED_SHARE = 0.5


def not_judged_during(meta: Dict) -> Callable[[object, float, float], Optional[str]]:
    """``excused(rule or tuple of rules, start, end)`` for :func:`score_clip`, from the run's ``judged`` block.

    A span is a run of analysed frames (ends inclusive): it stands for the time up to half an analysed frame
    either side. The reason given is the one covering most of the interval; for a tuple, every rule of it
    must be excused.
    """
    judged = meta.get("judged") or {}
    inp = meta.get("input") or {}
    fps = inp.get("sample_fps") or inp.get("fps") or 10.0
    pad = 0.5 / float(fps)
    old_view = not_judged_for_view(meta)

    def one(rule: str, s: float, e: float) -> Optional[str]:
        entry = judged.get(rule)
        if entry is None:
            return None
        if "spans" not in entry:  # a run from before spans: the old whole-clip camera-view excuse
            return "camera view" if rule in old_view else None
        cover: Dict[str, float] = {}
        for a, b, why in entry["spans"]:
            a, b = float(a) - pad, float(b) + pad
            if e <= s:  # an instant (a still's label)
                if a <= s <= b:
                    return str(why)
                continue
            cover[why] = cover.get(why, 0.0) + max(0.0, min(b, e) - max(a, s))
        if cover and sum(cover.values()) >= NOT_JUDGED_SHARE * (e - s):
            return max(cover, key=cover.get)
        return None

    def excused(rule, s: float, e: float) -> Optional[str]:
        whys = [one(r, s, e) for r in (rule if isinstance(rule, tuple) else (rule,)) if r in judged]
        return whys[0] if whys and all(whys) else None

    return excused


def find_runs(runs_dir: str | Path) -> Dict[Path, Path]:
    """Resolved input path -> run folder, for every run.json under ``runs_dir``."""
    out = {}
    for rj in sorted(Path(runs_dir).glob("**/run.json")):
        try:
            meta = json.loads(rj.read_text(encoding="utf-8"))
            out[Path(meta["input"]["path"]).resolve()] = rj.parent
        except (json.JSONDecodeError, KeyError):
            continue
    return out


def splits_of(doc: Dict) -> List[str]:
    """The ``split`` values of a labels file, in order of first appearance (``tune`` before ``check``)."""
    return list(dict.fromkeys(str(c.get("split", "all")) for c in doc["clips"]))


def evaluate(labels_path: str | Path, runs_dir: str | Path, tolerance_s: float = 0.25,
             split: Optional[str] = None) -> Dict:
    """Scores of every labelled clip with a run under ``runs_dir`` (only clips of ``split`` when given)."""
    doc = load_labels(labels_path)
    base = Path(labels_path).resolve().parent
    runs = find_runs(runs_dir)
    per_rule: Dict[str, Score] = {}
    families: Dict[str, Score] = {}
    missing, clips_scored, errors = [], 0, []
    enabled: set = set()
    for clip in doc["clips"]:
        if split is not None and clip.get("split", "all") != split:
            continue
        run = runs.get((base / clip["file"]).resolve())
        if run is None:
            missing.append(clip["file"])
            continue
        meta = read_run_json(run)
        rules = meta["rules"]["enabled"]
        enabled |= set(rules)
        events = read_events(run / "events.jsonl") if (run / "events.jsonl").exists() else []
        excused = not_judged_during(meta)
        score_clip(clip, events, rules, tolerance_s, per_rule, errors=errors, excused=excused)
        for name, members in FAMILIES.items():
            fam_scores: Dict[str, Score] = {}
            score_clip(clip, events, rules, tolerance_s, fam_scores, pooled=members, excused=excused)
            if members[0] in fam_scores:
                s = families.setdefault(name, Score())
                f = fam_scores[members[0]]
                s.tp, s.fp, s.fn = s.tp + f.tp, s.fp + f.fp, s.fn + f.fn
                s.not_judged, s.absent_clips = s.not_judged + f.not_judged, s.absent_clips + f.absent_clips
                s.onset_errors += f.onset_errors
        clips_scored += 1
    return {
        "labels": str(labels_path), "runs": str(runs_dir), "tolerance_s": tolerance_s, "split": split,
        "clips_scored": clips_scored, "clips_without_run": missing,
        "rules": {k: v.to_json() for k, v in sorted(per_rule.items()) if k in enabled},
        "families": {k: v.to_json() for k, v in families.items()},
        "errors": errors,
    }


def format_report(report: Dict, details: bool = False) -> str:
    split = f"split {report['split']}: " if report.get("split") else ""
    lines = [f"{split}clips scored: {report['clips_scored']}  (labels {report['labels']}, runs {report['runs']})"]
    if report["clips_without_run"]:
        lines.append(f"clips with no run: {len(report['clips_without_run'])}")
    head = (f"{'rule':38s} {'TP':>4s} {'FP':>4s} {'FN':>4s} {'NJ':>4s} {'prec':>6s} {'recall':>6s} {'F1':>6s} "
            f"{'onset_s':>8s} {'absent in':>9s}")
    fmt = lambda v: "   -  " if v is None else f"{v:6.2f}"  # noqa: E731
    for title, block in (("per rule", report["rules"]), ("families", report["families"])):
        lines += ["", title, head]
        for name, s in block.items():
            onset = "     -  " if s["median_onset_error_s"] is None else f"{s['median_onset_error_s']:8.2f}"
            lines.append(f"{name:38s} {s['tp']:4d} {s['fp']:4d} {s['fn']:4d} {s['not_judged']:4d} {fmt(s['precision'])} "
                         f"{fmt(s['recall'])} {fmt(s['f1'])} {onset} {s['absent_clips']:9d}")
    if details:
        lines += ["", "misses and false positives"] + report["errors"]
    return "\n".join(lines)
