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
``--calibrate START-END`` is in seconds of the input.
"""
from __future__ import annotations

import warnings
from typing import Dict, Iterable, Optional, Tuple

import numpy as np

from vision.features.table import FeatureTable


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
