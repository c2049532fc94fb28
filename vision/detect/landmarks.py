"""Stage 2 data: landmark containers (no MediaPipe here; see ``detector.py``).

Coordinates are MediaPipe's normalised image coordinates: ``x`` in image
widths, ``y`` in image heights (down), ``z`` relative depth. World
coordinates are metres, origin between the hips, y down. A landmark that was
not seen is NaN in every coordinate, never zero.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

N_POSE, N_FACE, N_HAND = 33, 478, 21
#: Object evidence per person and frame: (group, crop, [score, x0, y0, x1, y1]) with the groups and crops of
#: ``vision.detect.objects`` (OBJECT_GROUP_NAMES x CROP_NAMES: hands, mouth, lap); box in normalised image
#: coordinates (a cache from before the lap crop holds 3 crops: the loader pads it with NaN). All NaN: the object
#: detector did not run on that crop; score 0 and a NaN box: it ran and found nothing of the group.
N_OBJECT_GROUPS, N_OBJECT_CROPS = 4, 4

#: name -> expected trailing shape, for every per-person array
PERSON_ARRAYS: Dict[str, tuple] = {
    "pose_xyz": (N_POSE, 3),
    "pose_visibility": (N_POSE,),
    "pose_world_xyz": (N_POSE, 3),
    "face_xyz": (N_FACE, 3),
    "left_hand_xyz": (N_HAND, 3),
    "right_hand_xyz": (N_HAND, 3),
    "objects": (N_OBJECT_GROUPS, N_OBJECT_CROPS, 5),
}


def _nan(shape: tuple) -> np.ndarray:
    return np.full(shape, np.nan, dtype=np.float32)


@dataclass
class PersonLandmarks:
    """All landmarks of one person in one frame. Missing parts are all-NaN.

    ``left``/``right`` are the person's own sides as MediaPipe names them.
    """

    person_id: int
    pose_xyz: np.ndarray = field(default_factory=lambda: _nan((N_POSE, 3)))
    pose_visibility: np.ndarray = field(default_factory=lambda: _nan((N_POSE,)))
    pose_world_xyz: np.ndarray = field(default_factory=lambda: _nan((N_POSE, 3)))
    face_xyz: np.ndarray = field(default_factory=lambda: _nan((N_FACE, 3)))
    left_hand_xyz: np.ndarray = field(default_factory=lambda: _nan((N_HAND, 3)))
    right_hand_xyz: np.ndarray = field(default_factory=lambda: _nan((N_HAND, 3)))
    objects: np.ndarray = field(default_factory=lambda: _nan((N_OBJECT_GROUPS, N_OBJECT_CROPS, 5)))

    def __post_init__(self) -> None:
        for name, shape in PERSON_ARRAYS.items():
            arr = np.asarray(getattr(self, name), dtype=np.float32)
            if arr.shape != shape:
                raise ValueError(f"PersonLandmarks.{name}: expected shape {shape}, got {arr.shape}")
            setattr(self, name, arr)


@dataclass
class FrameLandmarks:
    """The people found in one analysed frame (possibly none)."""

    frame_index: int
    timestamp_s: float
    people: List[PersonLandmarks]


@dataclass
class LandmarkTrack:
    """One person's landmarks over time: every array has T rows.

    ``image_wh`` is the frame size in pixels, needed to turn normalised
    coordinates into a square metric (see :meth:`pose_px`).
    """

    person_id: int
    image_wh: tuple
    timestamp_s: np.ndarray  # (T,)
    frame_index: np.ndarray  # (T,)
    pose_xyz: np.ndarray
    pose_visibility: np.ndarray
    pose_world_xyz: np.ndarray
    face_xyz: np.ndarray
    left_hand_xyz: np.ndarray
    right_hand_xyz: np.ndarray
    objects: Optional[np.ndarray] = None  # None: no object evidence (an older cache, a synthetic track): all NaN

    def __post_init__(self) -> None:
        self.timestamp_s = np.asarray(self.timestamp_s, dtype=np.float64)
        self.frame_index = np.asarray(self.frame_index, dtype=np.int64)
        t = len(self.timestamp_s)
        if self.objects is None:
            self.objects = np.full((t,) + PERSON_ARRAYS["objects"], np.nan, np.float32)
        if self.frame_index.shape != (t,):
            raise ValueError(f"LandmarkTrack.frame_index: expected shape {(t,)}, got {self.frame_index.shape}")
        for name, shape in PERSON_ARRAYS.items():
            arr = np.asarray(getattr(self, name), dtype=np.float32)
            if arr.shape != (t,) + shape:
                raise ValueError(f"LandmarkTrack.{name}: expected shape {(t,) + shape}, got {arr.shape}")
            setattr(self, name, arr)
        if t > 1 and np.any(np.diff(self.timestamp_s) <= 0):
            raise ValueError("LandmarkTrack.timestamp_s must be strictly increasing")

    def __len__(self) -> int:
        return len(self.timestamp_s)

    @property
    def aspect(self) -> float:
        """Width over height: multiply x by this to measure in image heights."""
        w, h = self.image_wh
        return float(w) / float(h)

    def to_square(self, xyz: np.ndarray) -> np.ndarray:
        """Normalised (x, y) -> (x * W/H, y): both axes in image heights."""
        out = np.array(xyz[..., :2], dtype=np.float32, copy=True)
        out[..., 0] *= self.aspect
        return out

    def person_at(self, i: int) -> "PersonLandmarks":
        """Row ``i`` as one frame's :class:`PersonLandmarks` (every array, object hits included)."""
        return PersonLandmarks(self.person_id, **{n: getattr(self, n)[i] for n in PERSON_ARRAYS})

    def slice(self, start: int, stop: int) -> "LandmarkTrack":
        return LandmarkTrack(self.person_id, self.image_wh, self.timestamp_s[start:stop],
                             self.frame_index[start:stop],
                             **{n: getattr(self, n)[start:stop] for n in PERSON_ARRAYS})

    @classmethod
    def from_frames(cls, frames: Sequence[FrameLandmarks], person_id: int,
                    image_wh: tuple) -> "LandmarkTrack":
        """Stack the frames for one person; frames where they are absent are NaN."""
        rows: Dict[str, list] = {n: [] for n in PERSON_ARRAYS}
        for fl in frames:
            person = next((p for p in fl.people if p.person_id == person_id), None)
            person = person or PersonLandmarks(person_id)
            for n in PERSON_ARRAYS:
                rows[n].append(getattr(person, n))
        stacked = {n: (np.stack(v) if v else np.zeros((0,) + PERSON_ARRAYS[n], np.float32))
                   for n, v in rows.items()}
        return cls(person_id, tuple(image_wh), np.array([f.timestamp_s for f in frames]),
                   np.array([f.frame_index for f in frames]), **stacked)
