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
from dataclasses import dataclass, field, replace
from typing import Dict, Mapping, Optional, Tuple

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


# --- landmarks ---------------------------------------------------------------
#: Landmark family -> the person arrays it filters (``vision.detect.landmarks.PERSON_ARRAYS``). The pose
#: visibility is a confidence, not a position: it is never smoothed.
FAMILIES: Dict[str, Tuple[str, ...]] = {
    "pose": ("pose_xyz", "pose_world_xyz"),
    "face": ("face_xyz",),
    "hands": ("left_hand_xyz", "right_hand_xyz"),
}
PARAM_KEYS = ("min_cutoff_hz", "beta", "d_cutoff_hz")


@dataclass(frozen=True)
class SmoothingConfig:
    """rules.yaml ``smoothing:``: on or off, and the One Euro parameters of each landmark family."""

    enabled: bool = False
    families: Mapping[str, OneEuroParams] = field(default_factory=dict)

    @classmethod
    def from_yaml(cls, block: Optional[Mapping], where: str = "smoothing") -> "SmoothingConfig":
        """Checks the ``smoothing:`` block (None or {}: off); errors name the key, e.g. ``smoothing.face.beta``."""
        if not block:
            return cls()
        if not isinstance(block, Mapping):
            raise ValueError(f"{where}: expected a mapping, got {type(block).__name__}")
        unknown = set(block) - {"enabled", *FAMILIES}
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; expected enabled, {', '.join(FAMILIES)}")
        enabled = block.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ValueError(f"{where}.enabled: must be true or false, got {enabled!r}")
        families = {}
        for fam in FAMILIES:
            raw = block.get(fam)
            if raw is None:
                continue  # a family without parameters is not smoothed
            if not isinstance(raw, Mapping) or set(raw) - set(PARAM_KEYS):
                raise ValueError(f"{where}.{fam}: expected a mapping of {', '.join(PARAM_KEYS)}, got {raw!r}")
            for k, v in raw.items():
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise ValueError(f"{where}.{fam}.{k}: must be a number, got {v!r}")
            try:
                families[fam] = OneEuroParams(**{k: float(v) for k, v in raw.items()})
            except ValueError as exc:
                raise ValueError(f"{where}.{fam}: {exc}") from None
        return cls(enabled, families)

    @property
    def active(self) -> bool:
        return self.enabled and bool(self.families)

    def to_json(self) -> Dict[str, object]:
        return {"enabled": self.enabled, **{f: {k: getattr(p, k) for k in PARAM_KEYS}
                                           for f, p in self.families.items()}}


class LandmarkSmoother:
    """One person's landmarks, filtered frame by frame (in time order); off: returned as they are."""

    def __init__(self, config: SmoothingConfig):
        self.config = config
        self._filters = {name: OneEuroFilter(p) for fam, p in config.families.items() for name in FAMILIES[fam]} \
            if config.active else {}

    @property
    def names(self) -> Tuple[str, ...]:
        """The person arrays this smoother filters (none when off)."""
        return tuple(self._filters)

    def push(self, arrays: Mapping[str, np.ndarray], t_s: float) -> Dict[str, np.ndarray]:
        """The arrays of one frame (name -> array, as in ``PERSON_ARRAYS``), the filtered ones replaced (float32)."""
        out = dict(arrays)
        for name, f in self._filters.items():
            out[name] = f(arrays[name], t_s).astype(np.float32)
        return out


def smooth_person(smoother: LandmarkSmoother, person, t_s: float):
    """A :class:`~vision.detect.landmarks.PersonLandmarks` of one frame, filtered (the live path)."""
    if not smoother.names:
        return person
    arrays = smoother.push({n: getattr(person, n) for n in smoother.names}, t_s)
    return replace(person, **arrays)


def smooth_track(track, config: SmoothingConfig):
    """A whole :class:`~vision.detect.landmarks.LandmarkTrack`, filtered row by row exactly as the live path does."""
    if track is None or not config.active or len(track) == 0:
        return track
    smoother = LandmarkSmoother(config)
    names = smoother.names
    cols = {n: np.empty_like(getattr(track, n)) for n in names}
    for i, t in enumerate(track.timestamp_s.tolist()):
        row = smoother.push({n: getattr(track, n)[i] for n in names}, t)
        for n in names:
            cols[n][i] = row[n]
    return replace(track, **cols)
