"""Helpers shared by the whole-movement detectors (``gestures.py``, ``handover.py``): their thresholds from a
rules.yaml entry, and one scored point of evidence."""
from __future__ import annotations

import difflib
from dataclasses import fields, replace
from typing import Dict, Optional

import numpy as np

from vision.judge.catalogue import DetectorEntry


def build_options(cls, entry: DetectorEntry, overrides: Dict):
    """The entry's thresholds (rules.yaml), with keyword overrides (tests, experiments) checked by name."""
    names = [f.name for f in fields(cls)]
    for k in overrides:
        if k not in names:
            near = difflib.get_close_matches(k, names, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f" (known: {', '.join(names)})"
            raise TypeError(f"{cls.__name__}: unknown threshold {k!r}{hint}")
    return replace(entry.build_options(cls), **overrides)


def rounded(v: float) -> Optional[float]:
    """A value for an event's evidence: 4 decimals, None when not finite (not seen)."""
    return None if v is None or not np.isfinite(v) else round(float(v), 4)


def criterion(value: float, threshold: float, op: str, unit: str, upper: Optional[float] = None, **extra) -> Dict:
    """One scored point: ``pass`` None when the value could not be measured; ``upper`` bounds a ">=" range."""
    ok = None
    if np.isfinite(value):
        ok = bool(value >= threshold if op == ">=" else value <= threshold) and (upper is None or value <= upper)
    out = {"pass": ok, "value": rounded(value), "threshold": threshold, "op": op, "unit": unit, **extra}
    if upper is not None:
        out["max"] = upper
    return out


def nanmedian(a: np.ndarray) -> float:
    """Median of the seen values; NaN when none is."""
    a = a[~np.isnan(a)]
    return float(np.median(a)) if len(a) else float("nan")
