"""Per-person calibration: the subject's own neutral value of a feature.

Rules that compare a feature ``relative: true`` compare ``value - baseline``,
so "slouching" means "worse than this person's own upright", not an absolute
angle that depends on where the camera stands. The baseline is the median of
the feature over the calibration window (by default the first seconds of the
clip), clamped to the range a neutral posture can have (``calibration.clamp``
in ``rules.yaml``): a person who already slouches while being calibrated is
still judged against a plausible upright, never against their slouch. A
feature not seen in the window falls back to the middle of its clamp range.
"""
from __future__ import annotations

import warnings
from typing import Dict, Iterable, Tuple

import numpy as np

from vision.features import FeatureTable


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
