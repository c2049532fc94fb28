"""Small NaN-propagating geometry helpers over numpy arrays (any leading shape).

Every function returns NaN where an input is NaN: a landmark that was not
seen never produces a number.
"""
from __future__ import annotations

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


def pairwise_sq_dist(points_a: np.ndarray, points_b: np.ndarray) -> np.ndarray:
    """Squared distances (T, Na, Nb) between the points of ``a`` (T,Na,2) and ``b`` (T,Nb,2); NaN where either is."""
    a, b = points_a.astype(np.float32), points_b.astype(np.float32)
    dx = a[..., 0][:, :, None] - b[..., 0][:, None, :]  # x and y apart: contiguous, in place, no (..., 2) copy
    dy = a[..., 1][:, :, None] - b[..., 1][:, None, :]
    dx *= dx
    dy *= dy
    dx += dy
    return dx


def min_dist_over(d2: np.ndarray, columns=slice(None)) -> np.ndarray:
    """Smallest distance per row of a :func:`pairwise_sq_dist` result over some columns; NaN if none seen."""
    if not len(d2):
        return np.zeros(0)
    return np.sqrt(np.fmin.reduce(d2[:, :, columns].reshape(len(d2), -1), axis=1))


def bbox_gaps(points_a: np.ndarray, points_b: np.ndarray, starts) -> np.ndarray:
    """Per row and per group of ``b``'s points (groups begin at ``starts``), the gap between the
    bounding boxes of ``a`` and of the group: a lower bound of their smallest pairwise distance,
    and cheap. (T, len(starts)); NaN where a set is empty."""
    # fmin/fmax skip NaN, and give NaN only where every point is NaN
    a_lo, a_hi = np.fmin.reduce(points_a, axis=1)[:, None], np.fmax.reduce(points_a, axis=1)[:, None]
    b_lo, b_hi = np.fmin.reduceat(points_b, starts, axis=1), np.fmax.reduceat(points_b, starts, axis=1)
    gap = np.maximum(0.0, np.maximum(b_lo - a_hi, a_lo - b_hi))
    return norm(gap)


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


def _window_sums(values: np.ndarray, times: np.ndarray, window_s: float, from_index: int):
    """Per row, the count, sum and sum of squares of the non-NaN values in its trailing window."""
    starts = np.searchsorted(times, times - window_s, side="right")[from_index:]
    ends = np.arange(from_index, len(values)) + 1
    seen = ~np.isnan(values)
    v = np.where(seen, values, 0.0).astype(np.float64)
    out = []
    for arr in (seen.astype(np.float64), v, v * v):
        c = np.concatenate([[0.0], np.cumsum(arr)])
        out.append(c[ends] - c[starts])
    return out


def trailing_sum(values: np.ndarray, times: np.ndarray, window_s: float, from_index: int = 0) -> np.ndarray:
    """Sum of the non-NaN values whose time is in ``(t_i - window_s, t_i]``, for rows ``from_index`` on.

    Causal, so a streaming caller that holds the past window gets the offline
    value; rounded to 1e-9 so that summation order cannot flip a threshold.
    NaN where the window holds no value.
    """
    n, s, _ = _window_sums(values, times, window_s, from_index)
    return np.where(n > 0, np.round(s, 9), np.nan)


def trailing_mean(values: np.ndarray, times: np.ndarray, window_s: float, from_index: int = 0) -> np.ndarray:
    """Mean of the non-NaN values in the trailing window (rounded to 1e-9); NaN where it holds none."""
    n, s, _ = _window_sums(values, times, window_s, from_index)
    with np.errstate(all="ignore"):
        return np.where(n > 0, np.round(s / n, 9), np.nan)


def trailing_std(values: np.ndarray, times: np.ndarray, window_s: float, from_index: int = 0) -> np.ndarray:
    """Population standard deviation over the same trailing window (NaN-aware, rounded to 1e-9)."""
    n, s, ss = _window_sums(values, times, window_s, from_index)
    with np.errstate(all="ignore"):
        var = np.maximum(ss / n - (s / n) ** 2, 0.0)
    return np.where(n > 0, np.round(np.sqrt(var), 9), np.nan)


def trailing_last(values: np.ndarray, times: np.ndarray, window_s: float, from_index: int = 0) -> np.ndarray:
    """The most recent non-NaN value within the trailing window (causal forward fill); NaN if none."""
    idx = np.where(~np.isnan(values), np.arange(len(values)), -1)
    last = np.maximum.accumulate(idx) if len(idx) else idx
    out = np.where(last >= 0, values[np.maximum(last, 0)], np.nan)
    stale = (last < 0) | (times - times[np.maximum(last, 0)] > window_s)
    out[stale] = np.nan
    return out[from_index:]


def count_entries(inside: np.ndarray, times: np.ndarray, window_s: float) -> np.ndarray:
    """How many times a boolean signal switched on within the trailing window."""
    on = inside.astype(bool)
    rising = on & ~np.concatenate([[False], on[:-1]])
    cum = np.cumsum(rising)
    starts = np.searchsorted(times, times - window_s, side="right")
    before = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0)
    return (cum - before).astype(np.float64)
