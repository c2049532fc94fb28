"""Stage 4: named, body-scaled features over time, as pure numpy functions.

``compute_features(track)`` turns a :class:`~vision.detect.landmarks.LandmarkTrack`
into a :class:`FeatureTable`: one float array of length T per feature, NaN
wherever what the feature needs was not seen. Distances are in *shoulder
widths* (``body_scale``), never pixels. :data:`FEATURES` documents every name
with its unit; the computations live in ``body.py``, ``face.py``, ``touch.py``,
``motion.py`` and ``pair.py`` (the customer, when one is tracked).

Instantaneous features depend on one frame. Temporal features look only at
the past (trailing windows of at most :data:`MAX_WINDOW_S`), and the one
stateful signal (is a hand at the mouth?) is carried as a column, so a live
caller that keeps the last seconds gets exactly the value an offline run
computes.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np

from vision.features import geometry as g
from vision.features.body import BODY_FEATURES, legs_and_arms, posture
from vision.features.face import CUSTOMER_SIDES, FACE_FEATURES, face_features
from vision.features.motion import MOTION_FEATURES, motion_features
from vision.features.objects import OBJECT_FEATURES, OBJECT_TEMPORAL_FEATURES, object_features, object_temporal
from vision.features.pair import PAIR_FEATURES, PAIR_TEMPORAL_FEATURES, pair_features, pair_temporal
from vision.features.touch import (REGIONS, TOUCH_FEATURES, chew_cycles, gate_face, mesh_gap,  # noqa: F401
                                   touch_features)  # (REGIONS re-exported)
from vision.detect.landmarks import LandmarkTrack
from vision.features.skeleton import body_scale, pose_points, seen_track

#: The longest trailing window of any temporal feature (s).
MAX_WINDOW_S = 10.0
# A trip to the mouth: the hand comes within AT_MOUTH of it after having been
# farther than AWAY_FROM_MOUTH (hysteresis, so jitter is not a trip; a frame
# where the hand is not seen keeps the state).
AT_MOUTH, AWAY_FROM_MOUTH = 0.12, 0.3
#: The sitting/standing decision holds this long when the legs leave the view.
POSTURE_HOLD_S = 5.0
#: A leg reading (``standing_now``) counts only when another reading within this long before it agrees: one frame's
#: legs are not a posture. On the tune split the seated cashier had one "standing" reading (a straight knee for one
#: frame, 1.7 s in), and it held "standing" for the 5 s above: no sitting rule judged him. 1 s: ten readings at 10
#: fps; a real change is delayed by one reading. A still (one picture) keeps its one reading.
CONFIRM_S = 1.0

TEMPORAL_FEATURES: Dict[str, tuple] = {  # one (unit, description) line a feature, the same table shape in every feature module: data, not logic
    "hand_at_mouth": ("0/1", "a hand is at the mouth: came within 0.12, not yet farther than 0.3 (state)"),
    "face_mesh_gap_s": ("s", "since the face mesh last saw the face (0: on this frame; NaN: never yet; a still: 0); "
                        "from 2 s on, the features measured against the face are NaN (touch.FACE_GATED)"),
    "mouth_motion_2s": ("face heights", "std of mouth_open over the trailing 2 s (chewing, talking)"),
    "hand_mouth_trips_10s": ("count", "hand arrivals at the mouth in the trailing 10 s"),
    "chew_cycles_3s": ("count", "lip openings at a chewing rate (0.5-3 Hz) in the trailing 3 s while no hand is at "
                       "the mouth (NaN: lips seen in under half the window)"),
    "hand_mouth_time_3s": ("s", "time a hand was at the mouth in the trailing 3 s (a photo is one moment: 3 s at the "
                           "mouth where the hand is there, as durations do not apply to a still)"),
    "hip_sway_2s": ("shoulder widths", "std of the hip centre across the image over the trailing 2 s"),
    "eye_open_1s": ("eye widths", "eye_open averaged over the trailing 1 s (a blink barely moves it; lowered eyes do)"),
    "standing": ("0/1", "the posture decision: the last standing_now seen in the trailing 5 s that another reading in "
                 "the 1 s before it agrees with (1 standing, 0 sitting, NaN unknown); sit.* rules apply unless "
                 "standing, stand.* rules only when standing"),
}

#: name -> (unit, description), for every feature.
FEATURES: Dict[str, tuple] = {
    "body_scale": ("image heights", "shoulder-width equivalent: median of the shoulder width, face height, "
                   "eye-mouth and torso estimates, each converted with proportions measured on the shared media"),
    **BODY_FEATURES, **FACE_FEATURES, **TOUCH_FEATURES, **TEMPORAL_FEATURES, **MOTION_FEATURES,
    **PAIR_FEATURES, **PAIR_TEMPORAL_FEATURES,
    **OBJECT_FEATURES, **OBJECT_TEMPORAL_FEATURES,
}


@dataclass
class FeatureTable:
    """Feature values over time; every array has the length of ``timestamp_s``."""

    timestamp_s: np.ndarray
    frame_index: np.ndarray
    values: Dict[str, np.ndarray]

    def __post_init__(self) -> None:
        n = len(self.timestamp_s)
        for k, v in self.values.items():
            if v.shape != (n,):
                raise ValueError(f"feature {k}: expected shape {(n,)}, got {v.shape}")

    def __len__(self) -> int:
        return len(self.timestamp_s)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]


class ColumnRow:
    """Row ``i`` of per-feature columns (arrays or lists), read like a mapping: ``row.get(name, default)``.

    The engine and the gesture detectors read two or three of ~100 values a
    row: this reads them on demand instead of building a dict per row.
    """

    __slots__ = ("columns", "i")

    def __init__(self, columns: Dict[str, Sequence[float]], i: int):
        self.columns, self.i = columns, i

    def get(self, name: str, default: float = np.nan) -> float:
        column = self.columns.get(name)
        return default if column is None else float(column[self.i])


def mouth_state(dist: np.ndarray, previous: bool = False) -> np.ndarray:
    """The at-mouth state per row, starting from ``previous`` (carried by a live caller)."""
    out = np.zeros(len(dist), dtype=bool)
    state = previous
    for i, d in enumerate(dist):
        if state:
            state = not d > AWAY_FROM_MOUTH  # NaN keeps the state
        else:
            state = bool(d < AT_MOUTH)
        out[i] = state
    return out


def confirmed(readings: np.ndarray, t: np.ndarray, window_s: float, still: bool = False) -> np.ndarray:
    """Each seen 0/1 reading kept where another seen reading in the ``window_s`` before it (or at its time) agrees,
    NaN elsewhere (causal). ``still``: one picture, its readings kept as they are."""
    r = np.asarray(readings, dtype=np.float64)
    if still:
        return r.copy()
    out = np.full(len(r), np.nan)
    starts = np.searchsorted(t, t - window_s, side="left")
    for v in (0.0, 1.0):
        agree = np.cumsum(r == v)  # readings equal to v up to each row, itself included
        in_window = agree - np.where(starts > 0, agree[np.maximum(starts - 1, 0)], 0)
        out[(r == v) & (in_window >= 2)] = v
    return out


def temporal_features(values: Dict[str, np.ndarray], t: np.ndarray, from_index: int = 0,
                      still: bool = False) -> Dict[str, np.ndarray]:
    """Trailing-window features for rows ``from_index`` on.

    ``values`` holds the instantaneous features of the rows so far and, if the
    caller carries it, the ``hand_at_mouth`` state column (computed here when
    absent). ``still``: a photo (its one leg reading decides the posture).
    """
    at_mouth = values.get("hand_at_mouth")
    if at_mouth is None:
        at_mouth = mouth_state(values["hand_mouth_dist"]).astype(float)
    on = at_mouth > 0.5
    dt = np.clip(np.diff(t, prepend=t[0]), 0.0, 0.5)
    return {
        "hand_at_mouth": at_mouth[from_index:],
        "mouth_motion_2s": g.trailing_std(values["mouth_open"], t, 2.0, from_index),
        "hand_mouth_trips_10s": g.count_entries(on, t, 10.0)[from_index:],
        "chew_cycles_3s": chew_cycles(values["mouth_open"], at_mouth, t, 3.0, from_index),
        "hand_mouth_time_3s": (np.where(on, 3.0, 0.0)[from_index:] if still
                               else g.trailing_sum(on * dt, t, 3.0, from_index)),
        "hip_sway_2s": g.trailing_std(values["hip_x"], t, 2.0, from_index) / values["body_scale"][from_index:],
        "eye_open_1s": g.trailing_mean(values["eye_open"], t, 1.0, from_index),
        "standing": g.trailing_last(confirmed(values["standing_now"], t, CONFIRM_S, still), t, POSTURE_HOLD_S,
                                    from_index),
        **motion_features(values, t, from_index),
        **pair_temporal(values, t, from_index),
        **object_temporal(values, t, from_index),
    }


def instant_features(track: LandmarkTrack, customer_side: Optional[str] = None,
                     customer: Optional[LandmarkTrack] = None) -> Dict[str, np.ndarray]:
    """Every feature that depends on one frame only (row-wise).

    ``customer``: the customer's track, aligned row by row (NaN where not seen), or None (not tracked).
    ``customer_side`` (camera, left, right): where the customer is, if the user said so; None: the camera
    when no customer is tracked, and not judged where a tracked customer is not seen.
    """
    if customer_side is not None and customer_side not in CUSTOMER_SIDES:
        raise ValueError(f"customer side must be one of {', '.join(CUSTOMER_SIDES)}, got {customer_side!r}")
    # NaN in, NaN out: numpy's warnings about it would only clutter the terminal.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        track = seen_track(track)  # a face not in the picture is not seen
        pose = pose_points(track)
        scale = body_scale(track, pose)
        values: Dict[str, np.ndarray] = {"body_scale": scale}
        values.update(posture(track, pose, scale))
        values.update(legs_and_arms(pose, scale, values["profile"]))
        values.update(pair_features(track, pose, scale, customer, customer_side))
        values.update(face_features(track, pose, values["gaze_target_deg"]))
        values.update(touch_features(track, pose, scale))
        values.update(object_features(track, pose, scale))
    out = {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}
    for v in out.values():  # a ratio over a zero length (a degenerate mesh, points on top of each other) was not
        v[np.isinf(v)] = np.nan  # measured: NaN, so no rule fires on it and no window sum turns into inf - inf
    return out


def compute_features(track: LandmarkTrack, customer_side: Optional[str] = None,
                     at_mouth_before: Optional[bool] = None, customer: Optional[LandmarkTrack] = None,
                     still: bool = False) -> FeatureTable:
    """All features of :data:`FEATURES` for one person's track (``customer``: see :func:`instant_features`;
    ``still``: a photo, whose face needs no mesh before it: :func:`~vision.features.touch.mesh_gap`)."""
    values = instant_features(track, customer_side, customer)
    values["face_mesh_gap_s"] = mesh_gap(values["face_mesh_seen"], track.timestamp_s, None, still)[0]
    gate_face(values, values["face_mesh_gap_s"])
    if at_mouth_before is not None:
        values["hand_at_mouth"] = mouth_state(values["hand_mouth_dist"], at_mouth_before).astype(float)
    values.update(temporal_features(values, track.timestamp_s, still=still))
    missing = set(FEATURES) - set(values)
    assert not missing, f"features documented but not computed: {sorted(missing)}"
    return FeatureTable(track.timestamp_s.copy(), track.frame_index.copy(), values)
