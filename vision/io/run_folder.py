"""A run folder: its layout, and reading it back for the outputs (render, clips, report)::

    RUN/run.json          what the run was (schema: ``run_meta.py``), written first, updated as it goes
    RUN/events.jsonl      one event a line;  RUN/events.csv  the same for a spreadsheet
    RUN/landmarks/        the landmark cache, with the subject's pixel points the outputs draw
    RUN/annotated.mp4     after ``render`` (annotated.png for a still image)
    RUN/clips/            after ``clips`` (clips.json lists them)
    RUN/report.html       after ``report``

:func:`load_run` gathers ``run.json``, ``events.jsonl`` and the subject's
landmark track and stored pixel points, never the models nor the features:
what is drawn is what the run measured. :class:`SubjectPoints` answers
"which analysed frame goes with video frame *i*": the nearest analysed frame
at or before it (the landmarks were analysed at a lower rate than the video),
or none when that one is stale.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from vision.io.cache import PX_PREFIX, CacheError, load_pixels, load_tracks
from vision.io.events import Event, read_events
from vision.io.run_meta import RunMetaError
from vision.io.run_meta import read_run_json as _read_meta
from vision.detect.landmarks import LandmarkTrack

#: What a run writes into its folder (files and folders), analysis first, then the outputs.
RUN_ENTRIES = ("run.json", "events.jsonl", "events.csv", "landmarks")
OUTPUT_ENTRIES = ("annotated.mp4", "annotated.png", "clips", "report.html")


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
    pixels: Optional[Dict[str, np.ndarray]] = None  # the stored ``px_`` arrays, one row per analysed frame
    tracks: Dict[int, LandmarkTrack] = field(default_factory=dict)  # every cached person, over all analysed frames

    @property
    def catalogue(self) -> Dict[str, Dict]:
        """Rule id -> kind, severity, clause, messages, experimental: as the run judged them."""
        return self.info["rules"]["catalogue"]

    @property
    def is_still(self) -> bool:
        return self.kind == "image"

    @property
    def name(self) -> str:
        return self.source.name or self.dir.name

    @property
    def subject_id(self) -> int:
        return int((self.info.get("subject") or {}).get("id") or 0)

    @property
    def people(self) -> List[Dict]:
        """run.json's ``people`` (id, role, seconds on screen, first and last seen); one trainee if absent."""
        listed = [dict(p) for p in self.info.get("people") or []]
        return listed or [{"id": self.subject_id, "role": "trainee", "seconds_on_screen": self.duration_s,
                           "first_s": 0.0, "last_s": self.duration_s}]

    def role_of(self, person_id: int) -> str:
        """``trainee``, ``customer`` or ``other`` (run.json's roles; the subject is the trainee)."""
        if person_id == self.subject_id:
            return "trainee"
        if person_id == (self.info.get("customer") or {}).get("id"):
            return "customer"
        return next((str(p.get("role")) for p in self.people if p.get("id") == person_id), "other")


def read_run_json(run_dir: Path) -> Dict:
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        raise RunFolderError(f"{run_dir}: not a run folder (no run.json); run `analyze` first")
    try:
        return dict(_read_meta(run_dir))
    except RunMetaError as exc:
        raise RunFolderError(str(exc)) from None


def used_entries(out_dir: str | Path) -> List[str]:
    """The run files and outputs already in ``out_dir`` (empty: a fresh folder)."""
    d = Path(out_dir)
    return [name for name in RUN_ENTRIES + OUTPUT_ENTRIES if (d / name).exists()]


def prepare_out_dir(out_dir: str | Path, overwrite: bool = False) -> List[str]:
    """Make ``out_dir`` ready for a new run; returns what was cleared.

    A folder that holds another run is refused unless ``overwrite``; then that
    run's files and outputs (and only those) are removed.
    """
    d = Path(out_dir)
    if d.exists() and not d.is_dir():
        raise RunFolderError(f"--out {d}: is a file, not a folder")
    found = used_entries(d)
    if found and not overwrite:
        raise RunFolderError(f"--out {d}: already holds a run ({', '.join(found)}); "
                             "pass --overwrite to replace it, or choose another folder")
    for name in found:
        path = d / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    d.mkdir(parents=True, exist_ok=True)
    return found


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
    track, pixels, tracks = None, {}, {}
    if landmarks:
        try:
            tracks = load_tracks(d)
            pixels = load_pixels(d)
        except CacheError as exc:
            raise RunFolderError(str(exc)) from None
        if not pixels:
            raise RunFolderError(f"{d}: made by an older version (no stored pixel points); bring it up to date "
                                 f"with `analyze --from-landmarks {d} --out {d}`")
        subject = info["subject"]["id"]  # None: nobody was found to judge
        track = (tracks.get(int(subject)) if subject is not None else None) or next(iter(tracks.values()))
        tracks = {pid: t for pid, t in tracks.items() if pid == track.person_id or np.isfinite(t.pose_xyz).any()}
    kind = inp.get("kind", "video")
    if video is not None and Path(video).is_file() and kind == "folder":
        kind = "video"
    fps = float(inp.get("fps") or 0.0) or (25.0 if kind == "video" else 1.0)
    size = (int(inp.get("width", 0)), int(inp.get("height", 0)))
    if track is not None and size[0] <= 0:
        size = tuple(int(v) for v in track.image_wh)
    return RunFolder(d, info, events, track, source, kind, fps, size,
                     float(inp.get("duration_s") or 0.0), int(inp.get("frame_count") or 0), pixels, tracks)


# --- pixel positions of the subject -------------------------------------------
#: Pose points of another person count from this visibility (as the features count the subject's).
POSE_VISIBLE = 0.5


def track_pixels(track: LandmarkTrack) -> Tuple[np.ndarray, np.ndarray]:
    """``(pose_xy, face_xy)`` of any cached person in source pixels over every analysed frame, (T, 33, 2) and
    (T, 478, 2); pose points seen with visibility under :data:`POSE_VISIBLE` are NaN."""
    wh = np.array(track.image_wh, np.float32)
    pose = track.pose_xyz[..., :2] * wh
    pose[~(np.nan_to_num(track.pose_visibility, nan=0.0) >= POSE_VISIBLE)] = np.nan
    return pose, track.face_xyz[..., :2] * wh


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
    touch_hands: List[np.ndarray]  # 2 x (N, 2): the hand points the features measured


class SubjectPoints:
    """Pixel positions of the subject's landmarks for every analysed frame.

    ``at_video_frame(i)`` picks the nearest analysed frame at or before video
    frame ``i``; one more than ``stale_frames`` video frames before ``i`` is
    not used (the analysis skipped or lost that stretch).
    """

    def __init__(self, track: Optional[LandmarkTrack], pixels: Optional[Dict[str, np.ndarray]] = None):
        self.track = track
        if track is None or len(track) == 0:
            self.frame_index = np.zeros(0, np.int64)
            self.stale_frames = 0
            return
        px = pixels or {}
        if len(px.get(PX_PREFIX + "pose", ())) != len(track):
            raise RunFolderError(f"the stored pixel points have {len(px.get(PX_PREFIX + 'pose', ()))} rows, "
                                 f"the landmark track {len(track)}: the landmark cache is damaged")
        self.frame_index = track.frame_index
        steps = np.diff(self.frame_index)
        step = float(np.median(steps)) if len(steps) else 1.0
        self.stale_frames = int(np.ceil(2.5 * step))
        h_px = float(track.image_wh[1])  # square coordinates are in image heights
        # The features' own pose, region and hand points, stored by the run: a highlight shows what a rule measured.
        self._pose = px[PX_PREFIX + "pose"]
        region = PX_PREFIX + "region_"
        self._regions = {k[len(region):]: v for k, v in px.items() if k.startswith(region)}
        self._touch = [px[PX_PREFIX + "touch_left"], px[PX_PREFIX + "touch_right"]]
        self._face = track.to_square(track.face_xyz) * h_px
        self._hands = [track.to_square(track.left_hand_xyz) * h_px, track.to_square(track.right_hand_xyz) * h_px]

    @property
    def region_names(self) -> List[str]:
        """The face regions the run measured (nose, mouth, ..., hair)."""
        return list(getattr(self, "_regions", {}))

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
