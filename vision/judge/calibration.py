"""Per-person calibration: the subject's own neutral value of a feature.

Rules that compare a feature ``relative: true`` compare ``value - baseline``,
so "slouching" means "worse than this person's own upright", not an absolute
angle that depends on where the camera stands. The baseline is the median of
the feature over the calibration window, clamped to the range a neutral posture can have (``calibration.clamp``
in ``rules.yaml``): a person who already slouches while being calibrated is
still judged against a plausible upright, never against their slouch. A
feature not seen in the window falls back to the middle of its clamp range.

The window of ``rules.yaml`` counts from the first frame in which the subject
is seen (a trainee who walks in at 5 s is calibrated on 5-8 s); an explicit
``--calibrate START-END`` is in seconds of the input and used as given.

Which stretch: with ``calibration.search_s`` the window is not blindly the
first seconds but the steadiest upright stretch of the first ``search_s``
seconds (:func:`steadiest_window`): of every window of the calibration length
starting at a row and ending within the span and the input, the one where
``calibration.stable_on`` (the trunk angle) varies least, counting only rows
where it was seen (at least half of the window's rows), and only windows whose
median lies in that feature's clamp range
(upright: a stretch spent leaning back is steady too). Ties (within
:data:`TIE_DEG2`) go to the earliest. Nothing qualifies: the window as given.
The streaming analyzer holds its rows back until the search span has passed,
so both paths choose from the same rows (:func:`search_span`).

A still image cannot be calibrated: the features of ``calibration.still`` take
the published neutral given there (e.g. an upright trunk, 0 deg) in the views
listed; in other views, and for every other feature, the baseline is the
image's own value clamped to the neutral range, so only a value beyond the
clamp by the rule's whole threshold fires.
"""
from __future__ import annotations

import warnings
from typing import Dict, Iterable, Optional, Tuple

import numpy as np

from vision.features.table import FeatureTable
from vision.judge.rules import RuleSet, view_allowed


def first_seen_s(table: FeatureTable) -> Optional[float]:
    """Time of the first row in which the subject was seen (has a body scale)."""
    seen = np.flatnonzero(~np.isnan(table.values["body_scale"]))
    return float(table.timestamp_s[seen[0]]) if len(seen) else None


def absolute_window(window_s: Tuple[float, float], anchored: bool,
                    first_seen: Optional[float]) -> Tuple[float, float]:
    """The calibration window in seconds of the input."""
    if anchored and first_seen is not None:
        return first_seen + window_s[0], first_seen + window_s[1]
    return window_s


#: Windows whose variance is within this of the smallest (deg^2, a 0.5 deg spread) count as equally steady.
TIE_DEG2 = 0.25
#: A window counts only if the feature was seen on at least this share of its rows.
MIN_SEEN_SHARE = 0.5


def search_span(window_s: Tuple[float, float], search_s: float, anchored: bool,
                first_seen: Optional[float]) -> Tuple[float, float]:
    """The seconds of the input whose rows the calibration may use: the window, widened to ``search_s``."""
    w0, w1 = window_s
    if anchored:
        w1 = max(w1, w0 + search_s)
    return absolute_window((w0, w1), anchored, first_seen)


def steadiest_window(t: np.ndarray, values: np.ndarray, span: Tuple[float, float], length_s: float,
                     upright: Tuple[float, float]) -> Optional[Tuple[float, float]]:
    """The window of ``length_s`` inside ``span`` where ``values`` vary least (see the module doc), or None."""
    a, b = span
    best: Optional[Tuple[float, float]] = None
    best_var = np.inf
    end = min(b, float(t[-1])) if len(t) else b  # whole windows only: an input may end inside the span
    inside = (t >= a - 1e-9) & (t <= end + 1e-9)
    t, values = t[inside], values[inside]  # a long input: only the span's rows are scanned
    starts = np.flatnonzero((t >= a - 1e-9) & (t <= end - length_s + 1e-9))
    lo, hi = upright
    for i in starts:
        rows = (t >= t[i] - 1e-9) & (t <= t[i] + length_s + 1e-9)
        v = values[rows]
        v = v[~np.isnan(v)]
        if len(v) < max(2, MIN_SEEN_SHARE * rows.sum()) or not lo <= float(np.median(v)) <= hi:
            continue
        var = float(np.var(v))
        if var < best_var - TIE_DEG2:
            best, best_var = (float(t[i]), float(t[i]) + length_s), var
    return best


def calibration_window(table: FeatureTable, rules: RuleSet,
                       explicit: Optional[Tuple[float, float]]) -> Tuple[float, float]:
    """The window (seconds of the input) the baseline is taken over; ``explicit``: ``--calibrate``, used as given."""
    if explicit is not None:
        return explicit
    first = first_seen_s(table)
    window = absolute_window(rules.calibration_window_s, True, first)
    feature = rules.calibration_stable_on
    if not rules.calibration_search_s or feature is None or first is None:
        return window
    span = search_span(rules.calibration_window_s, rules.calibration_search_s, True, first)
    length = rules.calibration_window_s[1] - rules.calibration_window_s[0]
    found = steadiest_window(table.timestamp_s, table.values[feature], span, length,
                             rules.baseline_clamp.get(feature, (-np.inf, np.inf)))
    return found or window


def calibrate(table: FeatureTable, rules: RuleSet, explicit: Optional[Tuple[float, float]] = None,
              still: bool = False) -> Dict[str, float]:
    """The baseline of every relative feature of ``rules`` (see the module doc)."""
    names = rules.relative_features()
    baseline = baseline_from_table(table, names, calibration_window(table, rules, explicit), rules.baseline_clamp)
    if still:
        baseline.update(still_baseline(table, rules, names))
    return baseline


def still_baseline(table: FeatureTable, rules: RuleSet, names: Iterable[str]) -> Dict[str, float]:
    """The published neutral of ``calibration.still`` for a still image, for the features seen in its views."""
    profile = table.values.get("profile", np.full(len(table), np.nan))
    return {name: neutral for name, (neutral, views) in rules.still_neutral.items()
            if name in names and len(profile) and bool(view_allowed(profile[:1], views)[0])}


def baseline_from_table(table: FeatureTable, features: Iterable[str], window_s: Tuple[float, float],
                        clamp: Dict[str, Tuple[float, float]]) -> Dict[str, float]:
    t = table.timestamp_s
    w0, w1 = window_s
    in_window = (t >= w0 - 1e-9) & (t <= w1 + 1e-9)
    if not in_window.any() and len(t):
        in_window = t <= t[0] + (w1 - w0)  # input starts after the window: use its first seconds
    out: Dict[str, float] = {}
    for name in features:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            value = float(np.nanmedian(table.values[name][in_window])) if in_window.any() else float("nan")
        lo, hi = clamp.get(name, (-np.inf, np.inf))
        if np.isnan(value):
            value = (lo + hi) / 2.0 if np.isfinite(lo) and np.isfinite(hi) else float("nan")
        out[name] = float(np.clip(value, lo, hi))
    return out


class ProfileError(Exception):
    """A saved calibration profile cannot be read (one-line message)."""


def save_profile(path: str, baseline: Dict[str, float], source: str) -> None:
    """A trainee's baseline, to judge later sessions against the same neutral posture."""
    import json

    doc = {"kind": "conduct-coach calibration profile", "version": 1, "source": str(source),
           "baseline": {k: (None if v is None or np.isnan(v) else float(v)) for k, v in baseline.items()}}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=2)


def load_profile(path: str) -> Dict[str, float]:
    import json

    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        return {k: (np.nan if v is None else float(v)) for k, v in doc["baseline"].items()}
    except FileNotFoundError:
        raise ProfileError(f"{path}: profile not found") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProfileError(f"{path}: not a calibration profile saved by --save-profile ({exc})") from None
