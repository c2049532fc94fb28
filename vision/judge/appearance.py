"""Experimental appearance checks (clause 1.2 仪表), judged once per recording.

:class:`AppearanceSampler` is fed the analysed frames of one person
(``offer``) and keeps the ``k`` most frontal views as small crops (never the
video). A view qualifies when its face mesh shows yaw <= ``max_yaw_deg``,
roll <= ``max_roll_deg`` and a face height (mesh 10 -> 152) >= ``min_face_px``;
its score is face height x cos(yaw) x cos(roll), halved when the eyes look
closed; kept views are at least ``min_gap_s`` apart. ``finish()`` measures
every kept view, decides on the median, and returns one :class:`Event` per
measurable behaviour, pointing at the view whose value is nearest the median.

The measurements are in :mod:`vision.judge.appearance_measure`; every
threshold, clause and text comes from the ``look.*`` entries of ``rules.yaml``
(``detectors:``) and its ``appearance:`` section (:func:`appearance_settings`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import cv2
import numpy as np

from vision.detect.landmarks import PersonLandmarks
from vision.io.events import Event
from vision.io.frames import Frame
from vision.judge.appearance_measure import (CHIN, FRONTAL_POINTS, L_HIP, L_SH, NOSE_TIP, OVAL_TOP, POSE_HANDS, R_HIP,
                                            R_SH, SIDE_L, SIDE_R, TOP, AppearanceThresholds, KeptView, frontalness,
                                            measure_fringe, measure_hair_colour, measure_jacket)
from vision.judge.catalogue import DetectorEntry, RulesError, build_options
from vision.judge.rules import RuleSet

#: The look.* ids: the ``options`` keys each entry gives, and its ``messages``.
APPEARANCE_RULES = {
    "look.hair_colour": (("hair_sat_min", "hair_val_min", "hair_natural_hue_deg", "hair_unusual_max", "bg_delta_e"),
                         ("violated", "ok")),
    "look.fringe": (("brow_band_frac", "fringe_brow_max", "fringe_forehead_max"),
                    ("brows_violated", "brows_ok", "forehead_violated", "forehead_ok")),
    "look.jacket_closed": (("jacket_rows", "jacket_delta_e", "jacket_unlike_max"), ("violated", "ok")),
}


@dataclass(frozen=True)
class AppearanceShared:
    """rules.yaml's ``appearance:`` section: which views are kept, and the skin test all checks share."""

    max_yaw_deg: float  #: face turned at most this far
    max_roll_deg: float  #: face tilted at most this far
    min_face_px: float  #: face height (mesh 10 -> 152) at least this, in pixels
    min_gap_s: float  #: kept views at least this far apart in time
    eyes_closed_below: float  #: eye opening (lid gap over eye width) below this: the view's score is halved
    skin_delta_e: float  #: Lab distance to the cheek's colour below this: skin


@dataclass(frozen=True)
class AppearanceSettings:
    """Everything the look.* checks take from rules.yaml, checked."""

    thresholds: AppearanceThresholds
    shared: AppearanceShared
    entries: Dict[str, DetectorEntry]  # id -> entry, every look.* id
    texts: Dict[str, Dict[str, Dict[str, str]]]  # id -> message name -> {zh, en, clause}

    @property
    def enabled(self) -> List[str]:
        return [i for i, e in self.entries.items() if e.enabled]


def appearance_settings(rules: RuleSet) -> Optional[AppearanceSettings]:
    """The look.* entries and the ``appearance:`` section, checked; None when the file has no look.* entry."""
    entries = {d.id: d for d in rules.detector_entries if d.id in APPEARANCE_RULES}
    if not entries:
        return None
    missing = [i for i in APPEARANCE_RULES if i not in entries]
    if missing:
        raise RulesError(f"{rules.path}: detectors: no entry for {missing[0]!r}: the look.* checks are read together "
                         "(turn one off with 'enabled: false')")
    shared = build_options(AppearanceShared, rules.appearance, f"{rules.path}: appearance")
    values = {"skin_delta_e": shared.skin_delta_e}
    for rid, entry in entries.items():
        values.update(entry.read_options(AppearanceThresholds, APPEARANCE_RULES[rid][0]))
    try:
        thresholds = AppearanceThresholds(**values)
    except ValueError as exc:
        raise RulesError(f"{rules.path}: detectors (look.*).options: {exc}") from None
    texts = {rid: entry.texts(APPEARANCE_RULES[rid][1]) for rid, entry in entries.items()}
    return AppearanceSettings(thresholds, shared, entries, texts)


def _clean(x):
    """JSON-ready evidence: NaN becomes None (never 0), floats are rounded."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return (round(float(x), 4) if math.isfinite(x) else None) if isinstance(x, (float, np.floating)) else x


class AppearanceSampler:
    """Keeps the ``k`` most frontal views of one person; ``finish()`` judges clause 1.2 on them.

    After ``finish()``: ``reason`` says why no event came out (None when some
    did), ``skipped`` maps a rule id to why it was not measured; ``log()``
    gathers both with the counts, for the run log.
    """

    def __init__(self, settings: AppearanceSettings, fringe_rule: str = "brows", k: int = 5,
                 crop_face_px: int = 160, max_crop_px: int = 512):
        if k < 1:
            raise ValueError(f"AppearanceSampler.k: must be >= 1, got {k}")
        if fringe_rule not in ("brows", "forehead"):
            raise ValueError(f"AppearanceSampler.fringe_rule: must be 'brows' or 'forehead', got {fringe_rule!r}")
        self.settings, self.th, self.fringe_rule, self.k = settings, settings.thresholds, fringe_rule, k
        sh = settings.shared
        self.max_yaw_deg, self.max_roll_deg, self.min_face_px = sh.max_yaw_deg, sh.max_roll_deg, sh.min_face_px
        self.min_gap_s, self.crop_face_px, self.max_crop_px = sh.min_gap_s, crop_face_px, max_crop_px
        self.kept: List[KeptView] = []
        self.offered = 0
        self.rejected: Dict[str, int] = {"no face mesh": 0, "face outside the frame": 0, "not frontal": 0,
                                         "face too small": 0}
        self.reason: Optional[str] = None
        self.skipped: Dict[str, str] = {}

    def offer(self, frame: Frame, person: PersonLandmarks, image_wh: Tuple[int, int]) -> bool:
        """Consider one frame of this person; True when it is (for now) among the ``k`` best views."""
        self.offered += 1
        if frame.image_bgr.shape[1::-1] != tuple(image_wh):
            raise ValueError(f"offer: image_wh is {tuple(image_wh)} but the frame is {frame.image_bgr.shape[1::-1]}")
        wh = np.array(image_wh, np.float32)
        face = person.face_xyz[:, :2] * wh
        if not np.all(np.isfinite(face[FRONTAL_POINTS])):
            self.rejected["no face mesh"] += 1
            return False
        if not (0 <= face[NOSE_TIP, 0] < image_wh[0] and 0 <= face[NOSE_TIP, 1] < image_wh[1]):
            self.rejected["face outside the frame"] += 1
            return False
        fr = frontalness(face)
        if fr["yaw_deg"] > self.max_yaw_deg or fr["roll_deg"] > self.max_roll_deg:
            self.rejected["not frontal"] += 1
            return False
        if fr["face_px"] < self.min_face_px:
            self.rejected["face too small"] += 1
            return False
        score = fr["face_px"] * math.cos(math.radians(fr["yaw_deg"])) * math.cos(math.radians(fr["roll_deg"]))
        score *= 1.0 if fr["eye_open"] >= self.settings.shared.eyes_closed_below else 0.5
        near = [v for v in self.kept if abs(v.timestamp_s - frame.timestamp_s) < self.min_gap_s]
        pool = near or (self.kept if len(self.kept) >= self.k else [])  # a view near in time, else the worst
        rival = min(pool, key=lambda v: v.score) if pool else None
        if rival is not None and score <= rival.score:
            return False
        self.kept = [v for v in self.kept if v is not rival]
        self.kept.append(self._view(frame, person, face, wh, fr, score))
        return True

    def _view(self, frame: Frame, person: PersonLandmarks, face: np.ndarray, wh: np.ndarray,
              fr: Dict[str, float], score: float) -> KeptView:
        """A copy of the head-and-torso box, shrunk to ``crop_face_px`` face height and ``max_crop_px`` at most."""
        fh = fr["face_px"]
        pose = person.pose_xyz[:, :2] * wh
        bar = np.full(len(pose), 0.5)
        bar[POSE_HANDS] = 0.2
        pose[~(np.nan_to_num(person.pose_visibility, nan=-1.0) >= bar)] = np.nan
        hands = np.vstack([person.left_hand_xyz[:, :2], person.right_hand_xyz[:, :2]]) * wh
        pts = [face[OVAL_TOP] + (face[TOP] - face[CHIN]), face[[SIDE_R, SIDE_L, CHIN]]]
        sh, hips = pose[[L_SH, R_SH]], pose[[L_HIP, R_HIP]]
        if np.all(np.isfinite(sh)):
            pts += [sh, hips if np.all(np.isfinite(hips)) else sh + [0, 1.5 * np.linalg.norm(sh[0] - sh[1])]]
        box = np.vstack(pts)
        box = box[np.all(np.isfinite(box), axis=1)]
        pad, (w, h) = 0.3 * fh, (int(wh[0]), int(wh[1]))
        x0, y0 = (max(0, int(math.floor(c - pad))) for c in box.min(axis=0))
        x1, y1 = min(w, int(math.ceil(box[:, 0].max() + pad))), min(h, int(math.ceil(box[:, 1].max() + pad)))
        scale = min(1.0, self.crop_face_px / fh, self.max_crop_px / max(x1 - x0, y1 - y0))
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        sub = frame.image_bgr[y0:y1, x0:x1]
        crop = cv2.resize(sub, size, interpolation=cv2.INTER_AREA) if scale < 1 else sub.copy()
        k = np.array([size[0] / (x1 - x0), size[1] / (y1 - y0)], np.float32)
        origin = np.array([x0, y0], np.float32)
        face_c, pose_c, hands_c = (((q - origin) * k).astype(np.float32) for q in (face, pose, hands))
        return KeptView(score, frame.index, frame.timestamp_s, person.person_id, crop, face_c, pose_c, hands_c, fr)

    @classmethod
    def from_rules(cls, rules: RuleSet, fringe_rule: str = "brows", **kw) -> Optional["AppearanceSampler"]:
        """A sampler for the enabled look.* entries of ``rules``; None when none is enabled."""
        settings = appearance_settings(rules)
        return cls(settings, fringe_rule, **kw) if settings is not None and settings.enabled else None

    def _checks(self) -> List[Tuple[str, str, Callable, str, float, str, Tuple[str, ...]]]:
        """Per behaviour: rule, message prefix, measure, decisive value, its maximum, region, other thresholds."""
        th, brows = self.th, self.fringe_rule == "brows"
        return [("look.hair_colour", "", measure_hair_colour, "hair_unusual_share",
                 th.hair_unusual_max, "hair", ("hair_sat_min", "hair_val_min", "hair_natural_hue_deg",
                                               "skin_delta_e", "bg_delta_e")),
                ("look.fringe", f"{self.fringe_rule}_", measure_fringe,
                 "brow_hair_share" if brows else "forehead_hair_share",
                 th.fringe_brow_max if brows else th.fringe_forehead_max, "forehead",
                 ("skin_delta_e", "brow_band_frac")),
                ("look.jacket_closed", "", measure_jacket, "centre_unlike_share",
                 th.jacket_unlike_max, "torso", ("jacket_delta_e", "jacket_rows"))]

    def finish(self) -> List[Event]:
        """Measure the kept views: one event per measurable behaviour, none if nothing frontal was seen."""
        self.skipped = {}
        if not self.kept:
            self.reason = (f"no frontal face in {self.offered} offered frames (needs yaw <= {self.max_yaw_deg} deg, "
                           f"roll <= {self.max_roll_deg} deg, face >= {self.min_face_px} px): rejected {self.rejected}")
            return []
        views = sorted(self.kept, key=lambda v: -v.score)  # most frontal first: it wins ties below
        events = []
        for rule, prefix, measure, name, limit, region, params in self._checks():
            if rule not in self.settings.enabled:
                continue
            per_view = [measure(v, self.th) for v in views]
            values = np.array([m[name] for m in per_view], np.float64)
            ok = np.isfinite(values)
            if not ok.any():
                self.skipped[rule] = f"{region} not measurable in the {len(views)} kept frontal views"
                continue
            median = float(np.median(values[ok]))
            best = int(np.argmin(np.where(ok, np.abs(values - median), np.inf)))
            v, violated = views[best], median > limit
            evidence = {**per_view[best], name: median, "threshold": limit, "region": region,
                        "thresholds": {k: getattr(self.th, k) for k in params}, "frame": v.frame_index,
                        "experimental": True, "frontal": v.frontal,
                        "views": {"frames": [u.frame_index for u in views], name: list(values)}}
            if rule == "look.fringe":
                evidence["fringe_rule"] = self.fringe_rule
            text = self.settings.texts[rule][prefix + ("violated" if violated else "ok")]
            events.append(Event(rule, "violation" if violated else "desired", v.timestamp_s, v.timestamp_s,
                                v.frame_index, v.frame_index, v.person_id, self.settings.entries[rule].severity,
                                text["clause"], text["zh"], text["en"],
                                peak=_clean({"feature": name, "value": median, "time_s": v.timestamp_s,
                                             "frame": v.frame_index}),
                                evidence=_clean(evidence)))
        self.reason = None if events else "frontal views kept, but " + "; ".join(self.skipped.values())
        return events

    def log(self) -> Dict:
        """What the run log needs: counts, the frames kept, and why anything was not judged."""
        return {"offered": self.offered, "rejected": dict(self.rejected),
                "kept_frames": sorted(v.frame_index for v in self.kept), "reason": self.reason,
                "skipped": dict(self.skipped)}


__all__ = ["APPEARANCE_RULES", "AppearanceSampler", "AppearanceSettings", "AppearanceShared", "AppearanceThresholds",
           "KeptView", "appearance_settings", "frontalness",
           "measure_hair_colour", "measure_fringe", "measure_jacket"]
