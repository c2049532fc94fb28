"""Stage 5: the rules file, checked at load, and its conditions over features.

A rule's condition is a tree of comparisons (``all`` / ``any``). Each
comparison has an *enter* threshold and an optional, looser *exit* threshold
(hysteresis): a rule becomes active when every comparison meets its enter
threshold and stays active while they meet their exit thresholds. A NaN
feature meets no threshold, so no rule fires on what was not seen.

Errors name the place and suggest the right key, for example::

    rules.yaml: rules[2] (sit.lean_back).min_duraton_s: unknown key; did you mean 'min_duration_s'?
"""
from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import yaml

from vision.features.smoothing import SmoothingConfig
from vision.features.touch import REGIONS as FACE_REGION_NAMES
from vision.judge.catalogue import (KINDS, SEVERITIES, DetectorEntry, Entry, RulesError, Ctx,  # noqa: F401 (re-exported)
                                    parse_detectors, parse_head)

#: Camera views, told apart by the ``profile`` feature (how side-on the torso is).
VIEWS = ("front", "three-quarter", "side")
VIEW_EDGES = (0.35, 0.65)  # profile below the first: front; above the second: side


@dataclass(frozen=True)
class Comparison:
    feature: str
    op: str  # "above" or "below"
    enter: float
    exit: float
    relative: bool = False  # compare against (value - the person's baseline)
    missing_passes: bool = False  # `missing: pass`: a NaN value meets the threshold (for gates such as "not standing")

    def masks(self, values: Dict[str, np.ndarray], baseline: Dict[str, float]) -> Tuple[np.ndarray, np.ndarray]:
        v = values[self.feature]
        if self.relative:
            v = v - baseline.get(self.feature, np.nan)
        with np.errstate(invalid="ignore"):
            if self.op == "above":
                enter, stay = v > self.enter, v > self.exit
            else:
                enter, stay = v < self.enter, v < self.exit
        if self.missing_passes:
            unseen = np.isnan(v)
            enter, stay = enter | unseen, stay | unseen
        return enter, stay

    def features(self) -> List[str]:
        return [self.feature]

    def seen(self, values: Dict[str, np.ndarray]) -> np.ndarray:
        v = values[self.feature]
        return np.ones(v.shape, bool) if self.missing_passes else ~np.isnan(v)


def _latched(enter: np.ndarray, stay: np.ndarray, before: bool) -> np.ndarray:
    """A hysteresis state per row: on where ``enter`` holds, and on while ``stay`` holds after it was on."""
    out = np.zeros(len(enter), bool)
    state = before
    for i, (e, s) in enumerate(zip(enter.tolist(), stay.tolist())):
        state = e or (s and state)
        out[i] = state
    return out


@dataclass(frozen=True)
class Group:
    mode: str  # "all" or "any"
    items: Tuple[Union["Group", Comparison], ...]

    def masks(self, values, baseline, latches: Optional[Dict[int, bool]] = None) -> Tuple[np.ndarray, np.ndarray]:
        """(enter, stay) per row. In an ``any`` group each branch keeps its own hysteresis: the group stays on
        only through a branch that entered (on its ``enter``) and still holds its own ``stay``, never through
        another branch's looser exit that never entered. ``latches`` carries each branch's state from the rows
        before (keyed by ``id`` of the branch; a caller feeding rows in pieces keeps one dict per rule)."""
        latches = {} if latches is None else latches
        pairs = [c.masks(values, baseline, latches) if isinstance(c, Group) else c.masks(values, baseline)
                 for c in self.items]
        if self.mode == "all":
            return np.logical_and.reduce([p[0] for p in pairs]), np.logical_and.reduce([p[1] for p in pairs])
        stays = []
        for item, (enter, stay) in zip(self.items, pairs):
            stays.append(_latched(enter, stay, latches.get(id(item), False)))
            latches[id(item)] = bool(stays[-1][-1]) if len(stays[-1]) else latches.get(id(item), False)
        return np.logical_or.reduce([p[0] for p in pairs]), np.logical_or.reduce(stays)

    def features(self) -> List[str]:
        return [f for c in self.items for f in c.features()]

    def seen(self, values: Dict[str, np.ndarray]) -> np.ndarray:
        """Where the condition could be judged: every item of ``all``, some item of ``any``."""
        combine = np.logical_and.reduce if self.mode == "all" else np.logical_or.reduce
        return combine([c.seen(values) for c in self.items])


@dataclass(frozen=True)
class Rule(Entry):
    """A rule judged by its condition over features (the head fields: :class:`~vision.judge.catalogue.Entry`)."""

    condition: Group
    min_duration_s: float
    merge_gap_s: float
    peak_feature: str
    peak_mode: str  # "max" or "min"
    evidence: Tuple[str, ...] = ()
    region_from: Optional[str] = None  # e.g. "hand_{region}_dist": report the closest region
    enabled: bool = True
    views: Tuple[str, ...] = VIEWS
    experimental: bool = False
    #: ``((rule id, face regions), ...)``: an open episode of this rule is dropped while one of those rules' episode is
    #: certain (open for its ``min_duration_s``) and the hand is nearest one of its regions (``region_from``): one
    #: drink, one event
    yields_to: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()

    def masks(self, values, baseline, latches: Optional[Dict[int, bool]] = None):
        """(enter, stay) per row (:meth:`Group.masks`; ``latches``: the branch states carried between pieces)."""
        return self.condition.masks(values, baseline, latches)

    def view_ok(self, values: Dict[str, np.ndarray]) -> np.ndarray:
        """Rows whose camera view this rule may be judged from (an unknown view does not block)."""
        profile = values.get("profile")
        if profile is None or len(self.views) == len(VIEWS):
            return np.ones(len(next(iter(values.values()))), bool)
        return view_allowed(profile, self.views)


def view_allowed(profile: np.ndarray, views: Tuple[str, ...]) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        which = np.where(profile < VIEW_EDGES[0], 0, np.where(profile <= VIEW_EDGES[1], 1, 2))
    ok = np.isin(which, [VIEWS.index(v) for v in views])
    return ok | np.isnan(profile)


@dataclass
class RuleSet:
    rules: List[Rule]
    calibration_window_s: Tuple[float, float]
    baseline_clamp: Dict[str, Tuple[float, float]]
    sha256: str
    path: str
    #: rules judged by their own code (``detectors:``), enabled or not, in file order
    detector_entries: List[DetectorEntry] = field(default_factory=list)
    #: the ``appearance:`` section (settings shared by the look.* checks), checked by ``appearance.py``
    appearance: Dict[str, object] = field(default_factory=dict)
    #: the ``smoothing:`` section (One Euro filter on the landmarks), see ``vision.features.smoothing``
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    #: ``calibration.search_s``: the calibration window is the steadiest stretch of ``calibration.stable_on``
    #: within this many seconds of the subject's arrival (0: the window as given); see ``calibration.py``
    calibration_search_s: float = 0.0
    calibration_stable_on: Optional[str] = None
    #: ``calibration.still``: feature -> (neutral, views) used as the baseline of a still image
    still_neutral: Dict[str, Tuple[float, Tuple[str, ...]]] = field(default_factory=dict)

    @property
    def enabled(self) -> List[Rule]:
        return [r for r in self.rules if r.enabled]

    @property
    def detectors(self) -> Dict[str, DetectorEntry]:
        """The enabled detector entries, by id."""
        return {d.id: d for d in self.detector_entries if d.enabled}

    def catalogue(self) -> Dict[str, Dict[str, object]]:
        """Every id the tool can emit, with its texts (for run.json and the report): rules, then detectors."""
        return {r.id: {"kind": r.kind, "severity": r.severity, "clause": r.clause, "message_zh": r.message_zh,
                       "message_en": r.message_en, "experimental": r.experimental, "enabled": r.enabled}
                for r in [*self.rules, *self.detector_entries]}

    def relative_features(self) -> List[str]:
        out = []
        for r in self.enabled:
            for c in _comparisons(r.condition):
                if c.relative and c.feature not in out:
                    out.append(c.feature)
        return out


def _comparisons(node) -> List[Comparison]:
    if isinstance(node, Comparison):
        return [node]
    return [c for item in node.items for c in _comparisons(item)]


# --- loading ----------------------------------------------------------------
TOP_KEYS = {"version", "calibration", "defaults", "rules", "detectors", "appearance", "smoothing"}
CAL_KEYS = {"window_s", "clamp", "search_s", "stable_on", "still"}
DEFAULT_KEYS = {"min_duration_s", "merge_gap_s", "severity"}
RULE_KEYS = {"id", "kind", "clause", "severity", "message", "all", "any", "min_duration_s",
             "merge_gap_s", "peak", "evidence", "region_from", "enabled", "note", "views", "experimental",
             "yields_to"}
CMP_KEYS = {"feature", "above", "below", "exit", "relative", "missing"}


def _parse_cmp(ctx: Ctx, where: str, obj) -> Comparison:
    ctx.keys(where, obj, CMP_KEYS)
    if "feature" not in obj:
        ctx.fail(where, "missing 'feature'")
    feat = ctx.feature(f"{where}.feature", obj["feature"])
    ops = [k for k in ("above", "below") if k in obj]
    if len(ops) != 1:
        ctx.fail(where, "give exactly one of 'above' or 'below'")
    op = ops[0]
    enter = ctx.number(f"{where}.{op}", obj[op])
    exit_ = ctx.number(f"{where}.exit", obj.get("exit", enter))
    if (op == "above" and exit_ > enter) or (op == "below" and exit_ < enter):
        looser = "<=" if op == "above" else ">="
        ctx.fail(f"{where}.exit", f"must be {looser} the enter threshold {enter} (hysteresis), got {exit_}")
    relative = obj.get("relative", False)
    if not isinstance(relative, bool):
        ctx.fail(f"{where}.relative", f"must be true or false, got {relative!r}")
    missing = obj.get("missing", "fail")
    if missing not in ("fail", "pass"):
        ctx.fail(f"{where}.missing", f"must be 'fail' (default: not seen never fires) or 'pass', got {missing!r}")
    return Comparison(feat, op, enter, exit_, relative, missing == "pass")


def _parse_items(ctx: Ctx, where: str, items) -> Tuple:
    if not isinstance(items, list) or not items:
        ctx.fail(where, "must be a non-empty list of comparisons")
    out = []
    for i, item in enumerate(items):
        w = f"{where}[{i}]"
        if isinstance(item, dict) and set(item) <= {"all", "any"} and len(item) == 1:
            mode = next(iter(item))
            out.append(Group(mode, _parse_items(ctx, f"{w}.{mode}", item[mode])))
        else:
            out.append(_parse_cmp(ctx, w, item))
    return tuple(out)


def _parse_rule(ctx: Ctx, i: int, obj, defaults: dict) -> Rule:
    rid = obj.get("id") if isinstance(obj, dict) else None
    where = f"rules[{i}]" + (f" ({rid})" if rid else "")
    head = parse_head(ctx, where, obj, defaults, RULE_KEYS)
    groups = [Group(m, _parse_items(ctx, f"{where}.{m}", obj[m])) for m in ("all", "any") if m in obj]
    if not groups:
        ctx.fail(where, "needs a condition: 'all' and/or 'any' with a list of comparisons")
    condition = groups[0] if len(groups) == 1 else Group("all", tuple(groups))
    min_d = ctx.number(f"{where}.min_duration_s", obj.get("min_duration_s", defaults.get("min_duration_s", 0.5)),
                       non_negative=True)
    gap = ctx.number(f"{where}.merge_gap_s", obj.get("merge_gap_s", defaults.get("merge_gap_s", 0.5)),
                     non_negative=True)
    peak = obj.get("peak", {})
    ctx.keys(f"{where}.peak", peak, {"feature", "mode"})
    first = _comparisons(condition)[0]
    peak_feature = ctx.feature(f"{where}.peak.feature", peak.get("feature", first.feature))
    peak_mode = peak.get("mode", "max" if first.op == "above" else "min")
    if peak_mode not in ("max", "min"):
        ctx.fail(f"{where}.peak.mode", f"must be 'max' or 'min', got {peak_mode!r}")
    evidence = obj.get("evidence", [])
    if not isinstance(evidence, list):
        ctx.fail(f"{where}.evidence", "must be a list of feature names")
    evidence = tuple(ctx.feature(f"{where}.evidence[{j}]", e) for j, e in enumerate(evidence))
    region_from = obj.get("region_from")
    if region_from is not None and "{region}" not in str(region_from):
        ctx.fail(f"{where}.region_from", "must contain '{region}', e.g. 'hand_{region}_dist'")
    views = obj.get("views", list(VIEWS))
    if not isinstance(views, list) or not views:
        ctx.fail(f"{where}.views", f"must be a list of views ({', '.join(VIEWS)}), got {views!r}")
    for j, v in enumerate(views):
        if v not in VIEWS:
            hint = difflib.get_close_matches(str(v), VIEWS, n=1)
            ctx.fail(f"{where}.views[{j}]", f"unknown view {v!r}" + (f"; did you mean '{hint[0]}'?" if hint
                                                                       else f"; one of {', '.join(VIEWS)}"))
    return Rule(head["id"], head["kind"], head["clause"], head["severity"], head["message_zh"], head["message_en"],
                condition, min_d, gap, peak_feature, peak_mode, evidence, region_from, head["enabled"],
                tuple(views), head["experimental"], _parse_yields(ctx, f"{where}.yields_to", obj, region_from))


def _parse_yields(ctx: Ctx, where: str, obj: dict, region_from: Optional[str]):
    """``yields_to: {rule: ID, regions: [mouth, ...]}``, or a list of them (the rule ids are checked once every rule
    is read)."""
    spec = obj.get("yields_to")
    if spec is None:
        return ()
    if region_from is None:
        ctx.fail(where, "needs 'region_from' on the rule: the regions are read through it")
    specs = spec if isinstance(spec, list) else [spec]
    out = []
    for n, one in enumerate(specs):
        at = f"{where}[{n}]" if isinstance(spec, list) else where
        if not isinstance(one, dict):
            ctx.fail(at, "must be {rule: ID, regions: [...]}, e.g. {rule: gesture.eating, regions: [mouth]}")
        ctx.keys(at, one, {"rule", "regions"})
        if not isinstance(one.get("rule"), str):
            ctx.fail(f"{at}.rule", "must name the rule given way to, e.g. 'gesture.eating'")
        regions = one.get("regions")
        if not isinstance(regions, list) or not regions:
            ctx.fail(f"{at}.regions", "must be a non-empty list of face regions, e.g. [mouth]")
        for j, reg in enumerate(regions):
            if reg not in FACE_REGION_NAMES:
                hint = difflib.get_close_matches(str(reg), FACE_REGION_NAMES, n=1)
                ctx.fail(f"{at}.regions[{j}]", f"unknown region {reg!r}" + (
                    f"; did you mean '{hint[0]}'?" if hint else f"; one of {', '.join(FACE_REGION_NAMES)}"))
        out.append((one["rule"], tuple(regions)))
    return tuple(out)


def parse_rules(text: str, path: str = "rules.yaml") -> RuleSet:
    ctx = Ctx(path)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}" if mark else "top"
        raise RulesError(f"{path}: {at}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    ctx.keys("top level", doc, TOP_KEYS)
    if doc.get("version", 1) != 1:
        ctx.fail("version", f"only version 1 is understood, got {doc.get('version')!r}")
    cal = doc.get("calibration", {}) or {}
    ctx.keys("calibration", cal, CAL_KEYS)
    window = cal.get("window_s", [0.0, 3.0])
    if not (isinstance(window, list) and len(window) == 2):
        ctx.fail("calibration.window_s", f"must be [start, end] in seconds, got {window!r}")
    w0, w1 = (ctx.number("calibration.window_s", x, non_negative=True) for x in window)
    if w1 <= w0:
        ctx.fail("calibration.window_s", f"end must be after start, got {window!r}")
    clamp = {}
    for name, rng in (cal.get("clamp") or {}).items():
        ctx.feature(f"calibration.clamp.{name}", name)
        if not (isinstance(rng, list) and len(rng) == 2):
            ctx.fail(f"calibration.clamp.{name}", f"must be [low, high], got {rng!r}")
        lo, hi = (ctx.number(f"calibration.clamp.{name}", x) for x in rng)
        if lo > hi:
            ctx.fail(f"calibration.clamp.{name}", f"low must not exceed high, got {rng!r}")
        clamp[name] = (lo, hi)
    search_s = ctx.number("calibration.search_s", cal.get("search_s", 0.0), non_negative=True)
    stable_on = cal.get("stable_on")
    if stable_on is not None:
        ctx.feature("calibration.stable_on", stable_on)
    still = {}
    for name, spec in (cal.get("still") or {}).items():
        where = f"calibration.still.{name}"
        ctx.feature(where, name)
        ctx.keys(where, spec, {"neutral", "views"})
        views = spec.get("views", list(VIEWS))
        if not isinstance(views, list) or not views or any(v not in VIEWS for v in views):
            ctx.fail(f"{where}.views", f"must be a list of views ({', '.join(VIEWS)}), got {views!r}")
        still[name] = (ctx.number(f"{where}.neutral", spec.get("neutral")), tuple(views))
    defaults = doc.get("defaults", {}) or {}
    ctx.keys("defaults", defaults, DEFAULT_KEYS)
    raw = doc.get("rules")
    if not isinstance(raw, list) or not raw:
        ctx.fail("rules", "must be a non-empty list of rules")
    rules = [_parse_rule(ctx, i, r, defaults) for i, r in enumerate(raw)]
    seen = set()
    for i, r in enumerate(rules):
        if r.id in seen:
            ctx.fail(f"rules[{i}] ({r.id}).id", "duplicate id: each rule id appears once")
        seen.add(r.id)
    for i, r in enumerate(rules):
        for n, (other, _) in enumerate(r.yields_to):
            if other not in seen - {r.id}:
                hint = difflib.get_close_matches(other, sorted(seen - {r.id}), n=1)
                at = f"yields_to[{n}]" if isinstance(raw[i].get("yields_to"), list) else "yields_to"  # as written
                ctx.fail(f"rules[{i}] ({r.id}).{at}.rule", f"no other rule {other!r}" + (
                    f"; did you mean '{hint[0]}'?" if hint else ""))
    detectors = parse_detectors(ctx, doc.get("detectors") or [], defaults)
    for j, d in enumerate(detectors):
        if d.id in seen:
            ctx.fail(f"detectors[{j}] ({d.id}).id", "duplicate id: each id appears once in rules and detectors")
        seen.add(d.id)
    appearance = doc.get("appearance") or {}
    if not isinstance(appearance, dict):
        ctx.fail("appearance", f"expected a mapping, got {type(appearance).__name__}")
    try:
        smoothing = SmoothingConfig.from_yaml(doc.get("smoothing"))
    except ValueError as exc:
        raise RulesError(f"{path}: {exc}") from None
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return RuleSet(rules, (w0, w1), clamp, sha, path, detectors, appearance, smoothing, search_s, stable_on, still)


def load_rules(path: str | Path) -> RuleSet:
    p = Path(path)
    if not p.is_file():
        raise RulesError(f"{p}: rules file not found")
    return parse_rules(p.read_text(encoding="utf-8"), str(p))
