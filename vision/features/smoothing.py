"""The One Euro filter on landmark coordinates, so thresholds are met by motion, not by jitter.

Casiez, Roussel and Vogel, "1€ Filter: A Simple Speed-based Low-pass Filter
for Noisy Input in Interactive Systems", CHI 2012. A first-order low-pass
filter whose cutoff rises with the signal's speed: still landmarks are
smoothed hard (little jitter), moving ones follow with little lag::

    cutoff = min_cutoff_hz + beta * |dx/dt|
    alpha  = 1 / (1 + tau / dt),  tau = 1 / (2 pi cutoff)

Speed is measured in the person's own size, shoulder widths per second
(``body_scale``, as every feature measures), so a small person far from the
camera is filtered exactly like a big one close to it: the same still jitter
left and the same lag of a move, whatever their size in the picture. The scale
is taken from the raw landmarks of each frame, as the features take it, and
smoothed by a running median over :data:`SCALE_WINDOW_S`, so the scale does
not jitter; while a person's size is not known (never seen yet), the speed
term is unknown and the landmarks pass as they are.

Vectorised over any array of coordinates and causal (each output depends on
the past only), so a live camera and an offline run give the same values.
A coordinate that is NaN (not seen) comes out NaN and its state is dropped:
when it is seen again it starts afresh from its new value instead of being
dragged from where it was last seen.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Deque, Dict, Mapping, Optional, Tuple

import numpy as np

from vision.detect.landmarks import LandmarkTrack
from vision.features.skeleton import L_SH, MIN_VISIBILITY, R_SH, body_scale, pose_points, seen_track

#: Seconds of past body scales whose median measures the person's size (the current frame's included).
#: Geometry: a seated or standing person's distance to the camera changes over seconds, a landmark's jitter
#: from frame to frame; at 10 analysed frames a second a wrong scale on fewer than half of 10 frames is ignored.
SCALE_WINDOW_S = 1.0


@dataclass(frozen=True)
class OneEuroParams:
    """``min_cutoff_hz`` and ``d_cutoff_hz`` in Hz; ``beta`` in 1 / (units per second): with a ``unit`` given
    to the filter (a shoulder width, for landmarks), per shoulder width per second."""

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

    def __call__(self, x: np.ndarray, t_s: float, unit: np.ndarray | float = 1.0) -> np.ndarray:
        """The filtered value of ``x`` at time ``t_s`` (seconds, strictly increasing); NaN stays NaN.

        ``unit`` (broadcast to ``x``): the length, in ``x``'s units, in which speed is measured for the
        cutoff's ``beta`` term. Where it is NaN (or not > 0) and ``beta`` > 0 the speed is unknown: the value
        passes as it is (the state follows it)."""
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
        unit = np.broadcast_to(np.asarray(unit, dtype=np.float64), x.shape)
        unknown = ~(unit > 0) if p.beta > 0 else np.zeros(x.shape, bool)  # NaN > 0 is False
        with np.errstate(invalid="ignore", divide="ignore"):
            cutoff = p.min_cutoff_hz + p.beta * np.abs(dx) / unit if p.beta > 0 else p.min_cutoff_hz
        a = _alpha(cutoff, dt)
        out = a * x + (1.0 - a) * self._x
        out = np.where(fresh | unknown, x, out)
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


def raw_scales(track: LandmarkTrack) -> Tuple[np.ndarray, np.ndarray]:
    """Per row, the person's shoulder width before smoothing: in image heights (``body_scale``, exactly as the
    features measure it) and in metres in the world landmarks (the shoulders, if both are visible); NaN: not seen."""
    with np.errstate(all="ignore"):
        image = body_scale(seen_track(track), pose_points(track)).astype(np.float64)
        w = track.pose_world_xyz.astype(np.float64)
        world = np.linalg.norm(w[:, L_SH] - w[:, R_SH], axis=-1)
        vis = np.nan_to_num(track.pose_visibility[:, [L_SH, R_SH]], nan=-1.0)
    world[(vis < MIN_VISIBILITY).any(axis=1)] = np.nan
    return image, world


class RunningScale:
    """The median of the seen values of the last ``window_s`` seconds; the last median while none are seen."""

    def __init__(self, window_s: float = SCALE_WINDOW_S):
        self.window_s = window_s
        self._seen: Deque[Tuple[float, float]] = deque()
        self.value = float("nan")

    def push(self, value: float, t_s: float) -> float:
        if math.isfinite(value) and value > 0:
            self._seen.append((t_s, value))
        while self._seen and self._seen[0][0] <= t_s - self.window_s:
            self._seen.popleft()
        if self._seen:
            self.value = float(np.median([v for _, v in self._seen]))
        return self.value


class LandmarkSmoother:
    """One person's landmarks, filtered in time order, block after block; off: returned as they are.

    Speeds are measured in the person's shoulder widths (see the module doc): image points per axis (x and the
    relative z in image widths, y in heights), world points in the world shoulder width."""

    def __init__(self, config: SmoothingConfig, scale_window_s: float = SCALE_WINDOW_S):
        self.config = config
        self._filters = {name: OneEuroFilter(p) for fam, p in config.families.items() for name in FAMILIES[fam]} \
            if config.active else {}
        self._image_scale, self._world_scale = RunningScale(scale_window_s), RunningScale(scale_window_s)

    @property
    def names(self) -> Tuple[str, ...]:
        """The person arrays this smoother filters (none when off)."""
        return tuple(self._filters)

    def smooth(self, track: LandmarkTrack) -> LandmarkTrack:
        """The next rows of the person's track (continuing the rows given before), the filtered arrays replaced."""
        if not self._filters or len(track) == 0:
            return track
        image_raw, world_raw = raw_scales(track)
        cols = {n: np.empty_like(getattr(track, n)) for n in self._filters}
        for i, t in enumerate(track.timestamp_s.tolist()):
            s = self._image_scale.push(float(image_raw[i]), t)
            w = self._world_scale.push(float(world_raw[i]), t)
            image_unit = np.array([s / track.aspect, s, s / track.aspect])  # x, z in widths, y in heights
            for n, f in self._filters.items():
                unit = w if n == "pose_world_xyz" else image_unit
                cols[n][i] = f(getattr(track, n)[i], t, unit).astype(np.float32)
        return replace(track, **cols)


def smooth_track(track: Optional[LandmarkTrack], config: SmoothingConfig) -> Optional[LandmarkTrack]:
    """A whole track, filtered exactly as the live path filters it block by block."""
    if track is None or not config.active:
        return track
    return LandmarkSmoother(config).smooth(track)
