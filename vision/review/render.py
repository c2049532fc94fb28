"""``render``: the source video annotated from a run folder (no landmark model is run).

Every source frame is drawn with the landmarks of the nearest analysed frame
at or before it, the rules active at that moment as a banner in Chinese and
English under the picture, and a timeline strip of the whole recording with
the current position. Written as H.264 mp4 (yuv420p) at the source's frame
rate; a still image gives an annotated PNG instead.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import cv2
import numpy as np

from vision.io.events import Event
from vision.review.overlay import (Panel, TimelineStrip, banner_lines, compose, draw_customer, draw_focus,
                                   draw_subject, event_rgb, focus_of, make_layout)
from vision.review.privacy import HOLD_S, FaceBlurrer, TrackedFaces
from vision.io.run_folder import RunFolder, SubjectPoints, active_events, load_run, track_pixels
from vision.io.run_meta import record_output
from vision.review.text import TextPainter
from vision.io.video_in import check_size, iter_frames
from vision.io.video_out import H264Writer, VideoWriteError

MAX_BANNER_LINES = 4


@dataclass
class VideoOptions:
    """What every video output shares (the annotated video, the clips)."""

    video: Optional[Path] = None  # the source, when it has moved since the analysis
    height: Optional[int] = None  # video height in pixels (default: the source's, within 360..720)
    privacy: str = "auto"  # see vision.review.privacy
    font: Optional[str] = None
    crf: int = 23  # H.264 quality (lower: better, larger)


@dataclass
class RenderOptions(VideoOptions):
    out: Optional[Path] = None  # default: RUN_DIR/annotated.mp4 (annotated.png for a still image)


@dataclass
class RenderResult:
    path: Path
    frames: int
    seconds: float
    faces_blurred: int

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("nan")


def n_video_frames(run: RunFolder, points: SubjectPoints) -> int:
    """Frames in the source as best known before reading it (the container's count can be wrong)."""
    guesses = [run.frame_count, int(round(run.duration_s * run.fps))]
    guesses += [e.end_frame + 1 for e in run.events]
    if len(points.frame_index):
        guesses.append(int(points.frame_index[-1]) + 1)
    return max(1, *guesses)


def max_simultaneous(events: List[Event]) -> int:
    """Most rules active together on any frame (banner lines needed)."""
    edges = sorted([(e.start_frame, 1) for e in events] + [(e.end_frame + 1, -1) for e in events])
    best = cur = 0
    for _, step in edges:
        cur += step
        best = max(best, cur)
    return best


def write_image(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise OSError(f"{path}: cannot encode image")
    data.tofile(str(path))


def resize(image: np.ndarray, wh) -> np.ndarray:
    h, w = image.shape[:2]
    if (w, h) == tuple(wh):
        return image.copy()
    return cv2.resize(image, tuple(wh), interpolation=cv2.INTER_AREA if wh[0] < w else cv2.INTER_LINEAR)


class CustomerPose:
    """The customer's pose in source pixels on each analysed frame (run.json ``customer.id``; none: nothing)."""

    def __init__(self, run: RunFolder):
        cid = (run.info.get("customer") or {}).get("id")
        track = run.tracks.get(cid) if cid is not None and run.track is not None else None
        self.pose = track_pixels(track)[0] if track is not None and cid != run.track.person_id else None

    def at(self, points: SubjectPoints, video_frame: int) -> Optional[np.ndarray]:
        row = points.row_at(video_frame) if self.pose is not None else None
        return None if row is None else self.pose[row]


def render(run_dir: str | Path, options: Optional[RenderOptions] = None, progress=None) -> RenderResult:
    """Write the annotated video of a run; returns where, how many frames and how fast."""
    opt = options or RenderOptions()
    t0 = time.perf_counter()
    run = load_run(run_dir, opt.video)
    painter = TextPainter(opt.font)
    points = SubjectPoints(run.track, run.pixels)
    lines = min(MAX_BANNER_LINES, max(1, max_simultaneous(run.events)))
    layout = make_layout(run.size_wh, lines, opt.height)
    panel = Panel(layout, painter)
    n_frames = n_video_frames(run, points)
    strip = TimelineStrip(run.events, n_frames, panel.strip_wh)
    default = run.dir / ("annotated.png" if run.is_still else "annotated.mp4")
    out = Path(opt.out or default)
    want = ".png" if run.is_still else ".mp4"
    if out.suffix.lower() != want:
        raise VideoWriteError(f"--out {out}: must end in {want} ({'a still image' if run.is_still else 'H.264 in mp4'})")
    frames = 0
    customer = CustomerPose(run)
    with FaceBlurrer(opt.privacy, hold_frames=int(round(HOLD_S * run.fps)), tracked=TrackedFaces.of_run(run)) as blurrer:
        writer = None if run.is_still else H264Writer(out, run.fps, layout.frame_wh, crf=opt.crf)
        try:
            for idx, image in iter_frames(run.source, run.kind):
                if frames == 0:
                    check_size(image, run.size_wh, run.source)
                frame = annotate_frame(image, idx, run, points, layout, panel, strip, blurrer, customer)
                if writer is None:
                    write_image(out, frame)
                else:
                    writer.write(frame)
                frames += 1
                if progress is not None:
                    progress(frames, n_frames)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        if writer is not None:
            writer.close()
        blurred = blurrer.blurred
    record_output(run.dir, "annotated", out)
    return RenderResult(out, frames, time.perf_counter() - t0, blurred)


def annotate_frame(image: np.ndarray, idx: int, run: RunFolder, points: SubjectPoints, layout, panel: Panel,
                   strip: TimelineStrip, blurrer: FaceBlurrer, customer: Optional[CustomerPose] = None) -> np.ndarray:
    """One output frame: faces blurred, landmarks (and the customer's skeleton) and highlights drawn, the banner
    and strip below."""
    pts = points.at_video_frame(idx)
    blurrer.apply(image, pts, idx)
    video = resize(image, layout.video_wh)
    if customer is not None:
        draw_customer(video, customer.at(points, idx), layout.scale, panel.painter, layout.font_px)
    draw_subject(video, pts, layout.scale)
    active = active_events(run.events, points.analysed_frame(idx))
    for e in active:
        if e.kind != "desired":
            draw_focus(video, pts, focus_of(e, points.region_names), layout.scale, event_rgb(e))
    lines = banner_lines(active, layout.lines)
    return compose(video, panel.render(lines, strip, idx, idx / run.fps), layout)
