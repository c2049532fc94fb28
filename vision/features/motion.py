"""Movement features over trailing windows: a nod, sitting down, the pace of a walk.

Each looks only at the past (at most :data:`LONGEST_S` seconds), so a live
caller holding the last seconds of instantaneous features gets exactly the
offline value: every row's value is computed from the rows of its own window,
with the same arithmetic in both cases. NaN where what the feature needs was
not seen (in the row itself, for the rules to count it as not judged). Units
and meanings are in :data:`MOTION_FEATURES`.
"""
from __future__ import annotations

from typing import Dict

import numpy as np

NOD_WINDOW_S = 1.5  # a nod (down and back up) is over within this (a bow or a look down is slower or one-way)
DROP_STEP_S = 0.3  # hip speed is taken over this step, so landmark jitter between frames does not count
SIT_WINDOW_S = 3.0  # sitting down: the stand, the descent and the seat fall within this
PACE_STEP_S = 0.5  # walking pace over this step: about one step, so the sway within a stride averages out
PACE_WINDOW_S = 3.0  # the pace's steadiness over this window: several steps
LONGEST_S = SIT_WINDOW_S + DROP_STEP_S

MOTION_FEATURES: Dict[str, tuple] = {  # one (unit, description) line a feature, the same table shape in every feature module: data, not logic
    "head_nod_deg": ("deg", f"depth of the last down-and-back-up head movement within the trailing {NOD_WINDOW_S} s: "
                     "the smaller of the head's drop to its lowest point and its rise after it (head_pitch_deg; "
                     "0 for a still head or one that stays down)"),
    "hip_drop_speed": ("shoulder widths/s", f"hip centre moving down the image, over the trailing {DROP_STEP_S} s "
                       "(- rising)"),
    "sit_down_speed_3s": ("shoulder widths/s", f"fastest hip_drop_speed in the trailing {SIT_WINDOW_S} s"),
    "stood_3s": ("0/1", f"the legs said standing (standing_now) at some time in the trailing {SIT_WINDOW_S} s; "
                 "0 if they only said sitting"),
    "walk_speed": ("shoulder widths/s", f"hip centre's speed across the image over the trailing {PACE_STEP_S} s "
                   "(NaN unless a leg is seen: hip, knee and ankle)"),
    "walk_pace_cv_3s": ("ratio", f"unsteadiness of the pace: std over mean of walk_speed in the trailing "
                        f"{PACE_WINDOW_S} s (NaN until the seen values span two thirds of the window)"),
}


def _back(t: np.ndarray, step_s: float) -> np.ndarray:
    """Per row, the first row at most ``step_s`` earlier (the row itself when none is earlier)."""
    return np.searchsorted(t, t - step_s - 1e-9, side="left")


def _rate(v: np.ndarray, t: np.ndarray, step_s: float) -> np.ndarray:
    """(v now - v a step back) per second; NaN where either is unseen or no earlier row is in the step."""
    j = _back(t, step_s)
    dt = t - t[j]
    with np.errstate(all="ignore"):
        return np.where(dt > 0, (v - v[j]) / dt, np.nan)


def _trailing(values: np.ndarray, t: np.ndarray, window_s: float, from_index: int, reduce) -> np.ndarray:
    """``reduce(seen values, their times)`` over each trailing window, for rows ``from_index`` on; NaN where the
    window saw nothing."""
    starts = np.searchsorted(t, t - window_s, side="right")
    out = np.full(len(t) - from_index, np.nan)
    for k, i in enumerate(range(from_index, len(t))):
        w, wt = values[starts[i]: i + 1], t[starts[i]: i + 1]
        seen = ~np.isnan(w)
        if seen.any():
            out[k] = reduce(w[seen], wt[seen])
    return out


def _nod(seen: np.ndarray, _t: np.ndarray) -> float:
    if len(seen) < 3:
        return np.nan
    top = int(np.argmax(seen))  # + is down: the lowest the head went
    return float(min(seen[top] - seen[: top + 1].min(), seen[top] - seen[top:].min()))


def _cv(seen: np.ndarray, t: np.ndarray) -> float:
    """Over a window whose seen values span at least two thirds of it (a pace needs time to be steady)."""
    mean = float(np.mean(seen))
    return float(np.std(seen) / mean) if 3 * (t[-1] - t[0]) >= 2 * PACE_WINDOW_S and mean > 0 else np.nan


def _max(seen: np.ndarray, _t: np.ndarray) -> float:
    return float(seen.max())


def motion_features(values: Dict[str, np.ndarray], t: np.ndarray, from_index: int = 0) -> Dict[str, np.ndarray]:
    """The features of :data:`MOTION_FEATURES` for rows ``from_index`` on, from the instantaneous ones."""
    scale = values["body_scale"]
    with np.errstate(all="ignore"):
        drop = _rate(values["hip_y"], t, DROP_STEP_S) / scale
        legs = ~np.isnan(values["knee_angle_deg"])
        walk = np.where(legs, np.abs(_rate(values["hip_x"], t, PACE_STEP_S)) / scale, np.nan)
    pitch = values["head_pitch_deg"]
    nod = _trailing(pitch, t, NOD_WINDOW_S, from_index, _nod)
    nod[np.isnan(pitch[from_index:])] = np.nan  # judged only while the head is seen
    return {
        "head_nod_deg": nod,
        "hip_drop_speed": drop[from_index:],
        "sit_down_speed_3s": _trailing(drop, t, SIT_WINDOW_S, from_index, _max),
        "stood_3s": _trailing(values["standing_now"], t, SIT_WINDOW_S, from_index, _max),
        "walk_speed": walk[from_index:],
        "walk_pace_cv_3s": _trailing(walk, t, PACE_WINDOW_S, from_index, _cv),
    }
