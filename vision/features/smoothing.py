"""The One Euro filter on landmark coordinates, so thresholds are met by motion, not by jitter.

Casiez, Roussel and Vogel, "1€ Filter: A Simple Speed-based Low-pass Filter
for Noisy Input in Interactive Systems", CHI 2012. A first-order low-pass
filter whose cutoff rises with the signal's speed: still landmarks are
smoothed hard (little jitter), moving ones follow with little lag::

    cutoff = min_cutoff_hz + beta * |dx/dt|
    alpha  = 1 / (1 + tau / dt),  tau = 1 / (2 pi cutoff)

Vectorised over any array of coordinates and causal (each output depends on
the past only), so a live camera and an offline run give the same values.
A coordinate that is NaN (not seen) comes out NaN and its state is dropped:
when it is seen again it starts afresh from its new value instead of being
dragged from where it was last seen.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class OneEuroParams:
    """``min_cutoff_hz`` and ``d_cutoff_hz`` in Hz; ``beta`` in 1 / (units per second)."""

    min_cutoff_hz: float = 1.0
    beta: float = 0.0
    d_cutoff_hz: float = 1.0

    def __post_init__(self) -> None:
        if self.min_cutoff_hz <= 0 or self.d_cutoff_hz <= 0:
            raise ValueError(f"cutoffs must be > 0, got min_cutoff_hz={self.min_cutoff_hz}, "
                             f"d_cutoff_hz={self.d_cutoff_hz}")
        if self.beta < 0:
            raise ValueError(f"beta must be >= 0, got {self.beta}")


def _alpha(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """One filter state per coordinate of an array of a fixed shape; feed it in time order."""

    def __init__(self, params: OneEuroParams = OneEuroParams()) -> None:
        self.params = params
        self._x: Optional[np.ndarray] = None   # last filtered value (NaN: no state)
        self._dx: Optional[np.ndarray] = None  # last filtered speed
        self._t: Optional[float] = None

    def reset(self) -> None:
        self._x = self._dx = None
        self._t = None

    def __call__(self, x: np.ndarray, t_s: float) -> np.ndarray:
        """The filtered value of ``x`` at time ``t_s`` (seconds, strictly increasing); NaN stays NaN."""
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._x.shape != x.shape:
            self._x, self._dx, self._t = x.copy(), np.where(np.isnan(x), np.nan, 0.0), t_s
            return x.copy()
        dt = t_s - self._t
        if dt <= 0:
            raise ValueError(f"timestamps must increase: got {t_s} after {self._t}")
        p = self.params
        fresh = np.isnan(self._x) & ~np.isnan(x)  # seen again (or for the first time): start from the value
        dx_raw = (x - self._x) / dt
        dx = _alpha(p.d_cutoff_hz, dt) * dx_raw + (1.0 - _alpha(p.d_cutoff_hz, dt)) * self._dx
        cutoff = p.min_cutoff_hz + p.beta * np.abs(dx)
        a = _alpha(cutoff, dt)
        out = a * x + (1.0 - a) * self._x
        out = np.where(fresh, x, out)
        dx = np.where(fresh, 0.0, dx)
        # NaN in: NaN out, and the state forgets that coordinate.
        self._x, self._dx, self._t = out, dx, t_s
        return out.copy()
