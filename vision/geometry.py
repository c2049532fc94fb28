"""Small NaN-propagating geometry helpers over numpy arrays (any leading shape).

Every function returns NaN where an input is NaN: a landmark that was not
seen never produces a number.
"""
from __future__ import annotations

import warnings

import numpy as np


def mid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a + b) / 2.0


def norm(v: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(v * v, axis=-1))


def dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return norm(a - b)


def angle_from_vertical_deg(v: np.ndarray) -> np.ndarray:
    """Signed angle of 2-D vector ``v`` (image axes, y down) from straight up.

    Positive when the vector leans toward +x.
    """
    return np.degrees(np.arctan2(v[..., 0], -v[..., 1]))


def angle_between_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cos = np.sum(a * b, axis=-1) / (norm(a) * norm(b))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def min_pairwise_dist(points_a: np.ndarray, points_b: np.ndarray) -> np.ndarray:
    """Smallest distance between any point of ``a`` (T,Na,2) and any of ``b`` (T,Nb,2).

    NaN points are ignored; NaN only where either side has no point at all.
    """
    d = np.linalg.norm(points_a[:, :, None, :] - points_b[:, None, :, :], axis=-1)
    with np.errstate(all="ignore"):
        out = np.nanmin(np.where(np.isnan(d), np.inf, d).reshape(len(d), -1), axis=1)
    out[~np.isfinite(out)] = np.nan
    return out


def row_nanmedian(a: np.ndarray) -> np.ndarray:
    """Median of each row of a (T, K) array, ignoring NaN; NaN for a row with none.

    Same as ``np.nanmedian(a, axis=1)`` without its per-call overhead, which
    matters when it runs once a frame.
    """
    s = np.sort(a, axis=1)  # NaN sort last
    n = np.sum(~np.isnan(a), axis=1)
    rows = np.arange(len(a))
    lo = s[rows, np.maximum((n - 1) // 2, 0)]
    hi = s[rows, np.maximum(n // 2, 0)]
    out = (lo + hi) / 2.0
    out[n == 0] = np.nan
    return out


def trailing(values: np.ndarray, times: np.ndarray, window_s: float, reducer, from_index: int = 0) -> np.ndarray:
    """Apply ``reducer`` (NaN-aware, over axis 0) to the trailing ``window_s`` of each row.

    Causal: row ``i`` sees rows whose time is in ``(t_i - window_s, t_i]``, so a
    streaming caller that only has the past gets the same value. Only rows
    from ``from_index`` on are computed and returned.
    """
    out = np.full(values[from_index:].shape, np.nan, dtype=np.float64)
    starts = np.searchsorted(times, times - window_s, side="right")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for j, i in enumerate(range(from_index, len(values))):
            chunk = values[starts[i]:i + 1]
            out[j] = reducer(chunk, axis=0) if np.any(~np.isnan(chunk)) else np.nan
    return out


def hysteresis(enter: np.ndarray, leave: np.ndarray) -> np.ndarray:
    """A boolean state that switches on where ``enter`` and off where ``leave`` (causal)."""
    out = np.zeros(len(enter), dtype=bool)
    state = False
    for i in range(len(enter)):
        state = bool(enter[i]) if not state else not bool(leave[i])
        out[i] = state
    return out


def count_entries(inside: np.ndarray, times: np.ndarray, window_s: float) -> np.ndarray:
    """How many times a boolean signal switched on within the trailing window."""
    on = inside.astype(bool)
    rising = on & ~np.concatenate([[False], on[:-1]])
    cum = np.cumsum(rising)
    starts = np.searchsorted(times, times - window_s, side="right")
    before = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0)
    return (cum - before).astype(np.float64)
