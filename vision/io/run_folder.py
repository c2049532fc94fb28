"""Reading a run folder for the outputs (render, clips, report), without the models.

:func:`load_run` gathers ``run.json``, ``events.jsonl`` and the subject's
landmark track. :class:`SubjectPoints` turns the track into pixel positions
once, for the whole run, and answers "which analysed frame goes with video
frame *i*": the nearest analysed frame at or before it (the landmarks were
analysed at a lower rate than the video), or none when that one is stale.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from vision.io.cache import CacheError, load_tracks
from vision.io.events import Event, read_events
from vision.detect.landmarks import LandmarkTrack


class RunFolderError(Exception):
    """The run folder or its source video is missing or unusable (one-line message)."""


@dataclass
class RunFolder:
    """What the outputs need from one run. ``fps`` is a float; ``frame_count`` may be 0 (unknown)."""

    dir: Path
    info: Dict
    events: List[Event]
    track: Optional[LandmarkTrack]
    source: Path
    kind: str  # "video", "folder" or "image"
    fps: float
    size_wh: Tuple[int, int]
    duration_s: float
    frame_count: int

    @property
    def is_still(self) -> bool:
        return self.kind == "image"

    @property
    def name(self) -> str:
        return self.source.name or self.dir.name


def read_run_json(run_dir: Path) -> Dict:
    path = run_dir / "run.json"
    if not path.is_file():
        raise RunFolderError(f"{run_dir}: not a run folder (no run.json); run `analyze` first")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path}: unreadable ({exc})") from None


def load_run(run_dir: str | Path, video: Optional[str | Path] = None, landmarks: bool = True,
             need_source: bool = True) -> RunFolder:
    """Load a run folder; ``video`` overrides the source path recorded in ``run.json``."""
    d = Path(run_dir)
    if not d.is_dir():
        raise RunFolderError(f"{d}: no such run folder")
    info = read_run_json(d)
    ev_path = d / "events.jsonl"
    if not ev_path.is_file():
        raise RunFolderError(f"{d}: no events.jsonl")
    try:
        events = sorted(read_events(ev_path), key=lambda e: (e.start_s, e.rule))
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{ev_path}: unreadable event log ({exc})") from None
    inp = info.get("input", {})
    source = Path(video or inp.get("path", ""))
    if need_source and not source.exists():
        hint = "" if video else "; pass --video PATH if the recording has moved"
        raise RunFolderError(f"source {source} not found{hint}")
    track = None
    if landmarks:
        try:
            tracks = load_tracks(d)
        except CacheError as exc:
            raise RunFolderError(str(exc)) from None
        subject = int(info.get("subject", 0))
        track = tracks.get(subject) or next(iter(tracks.values()))
    kind = inp.get("kind", "video")
    if video is not None and Path(video).is_file() and kind == "folder":
        kind = "video"
    fps = float(inp.get("fps") or 0.0) or (25.0 if kind == "video" else 1.0)
    size = (int(inp.get("width", 0)), int(inp.get("height", 0)))
    if track is not None and size[0] <= 0:
        size = tuple(int(v) for v in track.image_wh)
    return RunFolder(d, info, events, track, source, kind, fps, size,
                     float(inp.get("duration_s") or 0.0), int(inp.get("frame_count") or 0))


# --- pixel positions of the subject -------------------------------------------
POSE_CONNECTIONS = [  # MediaPipe Pose topology, the face points aside
    (11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24),
    (23, 25), (25, 27), (24, 26), (26, 28), (27, 29), (29, 31), (27, 31), (28, 30), (30, 32), (28, 32),
    (15, 17), (15, 19), (15, 21), (17, 19), (16, 18), (16, 20), (16, 22), (18, 20),
]
HAND_CONNECTIONS = [  # MediaPipe Hands topology
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10), (10, 11), (11, 12),
    (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (17, 18), (18, 19), (19, 20), (0, 17),
]


@dataclass
class FramePoints:
    """The subject's points on one analysed frame, in source pixels (x, y); NaN = not seen."""

    row: int
    frame_index: int
    pose_xy: np.ndarray  # (33, 2), only points seen well enough
    face_xy: np.ndarray  # (478, 2)
    hands_xy: List[np.ndarray]  # 2 x (21, 2): the person's left, right
    regions: Dict[str, np.ndarray]  # region -> (N, 2), as the features measured it
    touch_hands: List[np.ndarray]  # 2 x (15, 2): the hand points the features measured


class SubjectPoints:
    """Pixel positions of the subject's landmarks for every analysed frame.

    ``at_video_frame(i)`` picks the nearest analysed frame at or before video
    frame ``i``; one more than ``stale_frames`` video frames before ``i`` is
    not used (the analysis skipped or lost that stretch).
    """

    def __init__(self, track: Optional[LandmarkTrack]):
        # The features' own region and hand points, so a highlight shows what a rule measured.
        from vision.features.touch import face_region_points, hand_points
        from vision.features.skeleton import pose_points

        self.track = track
        if track is None or len(track) == 0:
            self.frame_index = np.zeros(0, np.int64)
            self.stale_frames = 0
            return
        self.frame_index = track.frame_index
        steps = np.diff(self.frame_index)
        step = float(np.median(steps)) if len(steps) else 1.0
        self.stale_frames = int(np.ceil(2.5 * step))
        h_px = float(track.image_wh[1])
        pose_sq = pose_points(track)
        self._pose = pose_sq * h_px  # square coordinates are in image heights
        self._regions = {k: v * h_px for k, v in face_region_points(track, pose_sq).items()}
        self._touch = [v * h_px for v in hand_points(track, pose_sq)]
        self._face = track.to_square(track.face_xyz) * h_px
        self._hands = [track.to_square(track.left_hand_xyz) * h_px, track.to_square(track.right_hand_xyz) * h_px]

    def row_at(self, video_frame: int) -> Optional[int]:
        if len(self.frame_index) == 0:
            return None
        row = int(np.searchsorted(self.frame_index, video_frame, side="right")) - 1
        if row < 0 or video_frame - int(self.frame_index[row]) > self.stale_frames:
            return None
        return row

    def at_row(self, row: int) -> FramePoints:
        return FramePoints(row, int(self.frame_index[row]), self._pose[row], self._face[row],
                           [h[row] for h in self._hands], {k: v[row] for k, v in self._regions.items()},
                           [h[row] for h in self._touch])

    def at_video_frame(self, video_frame: int) -> Optional[FramePoints]:
        row = self.row_at(video_frame)
        return None if row is None else self.at_row(row)

    def analysed_frame(self, video_frame: int) -> Optional[int]:
        """The analysed frame index shown with ``video_frame`` (None: none usable)."""
        row = self.row_at(video_frame)
        return None if row is None else int(self.frame_index[row])


def active_events(events: List[Event], analysed_frame: Optional[int]) -> List[Event]:
    """Events whose inclusive frame span holds the analysed frame."""
    if analysed_frame is None:
        return []
    return [e for e in events if e.start_frame <= analysed_frame <= e.end_frame]
