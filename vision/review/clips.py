"""``clips``: one short feedback clip per event, from a run folder.

Each clip runs from ``pre_s`` before the event to ``post_s`` after its last
frame (inclusive), clipped to the recording, so it lasts ``pre + (end_s -
start_s) + one frame + post`` seconds. Burnt in under the picture: the
event's message (zh + en), its clause and where the clip is (before, during,
after the event); on the picture: the subject's landmarks, and while the
event holds the offending region (e.g. the hand and the touched face region)
outlined, strongest around the peak frame.

Files are named ``<start seconds>s_<rule>.mp4`` (``0003.20s_gesture.face_touch.mp4``)
so that they sort by time, then rule; ``clips.json`` beside them lists which
event each file shows. All clips are cut in one pass over the source. A
still image gives one PNG per event.
"""
from __future__ import annotations

import difflib
import fnmatch
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from vision.io.events import Event
from vision.review.overlay import (Layout, Panel, TimelineStrip, compose, draw_customer, draw_focus, draw_subject,
                                   event_rgb, focus_of, make_layout)
from vision.review.privacy import HOLD_S, FaceBlurrer, TrackedFaces
from vision.review.render import CustomerPose, VideoOptions, n_video_frames, resize, write_image
from vision.io.run_folder import RunFolder, SubjectPoints, load_run
from vision.io.run_meta import record_output
from vision.review.text import TextPainter
from vision.io.video_in import check_size, iter_frames
from vision.io.video_out import H264Writer

SEVERITIES = ("info", "low", "medium", "high")
CLIP_LINES = 3
INDEX_NAME = "clips.json"
PEAK_HOLD_S = 0.3  # the highlight is strongest this long either side of the peak frame


class ClipsError(Exception):
    """The clip options do not fit the run (one-line message)."""


@dataclass
class ClipOptions(VideoOptions):
    out_dir: Optional[Path] = None  # default: RUN_DIR/clips
    pre_s: float = 2.0
    post_s: float = 2.0
    rules: Sequence[str] = ()  # rule ids or shell patterns (gesture.*); empty: all
    severities: Sequence[str] = ()  # empty: all
    kinds: Sequence[str] = ("violation",)  # "violation", "desired"; empty: both
    min_duration_s: float = 0.0
    max_per_rule: Optional[int] = None  # keep the longest N of each rule


@dataclass
class Clip:
    event: Event
    path: Path
    first_frame: int
    last_frame: int  # inclusive, as planned; the video may end sooner
    frames: int = 0
    size_wh: Tuple[int, int] = (0, 0)


@dataclass
class ClipsResult:
    clips: List[Clip]
    out_dir: Path
    seconds: float
    source_frames: int = 0  # source frames decoded and drawn
    faces_blurred: int = 0
    skipped: Dict[str, int] = field(default_factory=dict)


# --- choosing and naming -----------------------------------------------------------
def select_events(events: List[Event], opt: ClipOptions, known_rules: Sequence[str] = ()) -> List[Event]:
    """The events to cut, in time order. A ``--rule`` pattern matching no rule of the run is an error."""
    ids = sorted(set(known_rules) | {e.rule for e in events})
    for pat in opt.rules:
        if not any(fnmatch.fnmatchcase(i, pat) for i in ids):
            near = difflib.get_close_matches(pat, ids, n=1)
            hint = f"; did you mean {near[0]}?" if near else f" (rules: {', '.join(ids) or 'none'})"
            raise ClipsError(f"--rule {pat}: matches no rule of this run{hint}")
    out = [e for e in events
           if (not opt.rules or any(fnmatch.fnmatchcase(e.rule, p) for p in opt.rules))
           and (not opt.severities or e.severity in opt.severities)
           and (not opt.kinds or e.kind in opt.kinds)
           and e.duration_s >= opt.min_duration_s - 1e-9]
    if opt.max_per_rule is not None:
        by_rule: Dict[str, List[Event]] = {}
        for e in out:
            by_rule.setdefault(e.rule, []).append(e)
        keep = {id(e) for evs in by_rule.values()
                for e in sorted(evs, key=lambda e: (-e.duration_s, e.start_s))[:opt.max_per_rule]}
        out = [e for e in out if id(e) in keep]
    return sorted(out, key=lambda e: (e.start_s, e.rule, e.person))


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "rule"


def clip_name(e: Event, digits: int = 4, ext: str = ".mp4") -> str:
    """``0003.20s_gesture.face_touch.mp4``: zero-padded start time, then the rule id."""
    person = f"_p{e.person}" if e.person else ""
    return f"{e.start_s:0{digits + 3}.2f}s_{_safe(e.rule)}{person}{ext}"


def clip_names(events: List[Event], duration_s: float, ext: str = ".mp4") -> List[str]:
    """Names for all clips of a run: as wide as the recording needs, made unique."""
    digits = max(4, len(str(int(max([duration_s] + [e.end_s for e in events])))))
    used: set = set()
    out = []
    for e in events:
        name = base = clip_name(e, digits, ext)
        n = 1
        while name in used:  # "_2" sorts after the first of the same name ("." < "_")
            n += 1
            name = base[:-len(ext)] + f"_{n}{ext}"
        used.add(name)
        out.append(name)
    return out


def clip_window(e: Event, fps: float, n_frames: Optional[int], pre_s: float, post_s: float) -> Tuple[int, int]:
    """First and last (inclusive) source frame of an event's clip, within the recording."""
    first = max(0, e.start_frame - int(round(pre_s * fps)))
    last = e.end_frame + int(round(post_s * fps))
    if n_frames:
        last = min(last, n_frames - 1)
    return first, max(first, last)


# --- drawing one clip frame -----------------------------------------------------------
def clip_lines(e: Event, painter: TextPainter, layout: Layout, phase: str) -> List[tuple]:
    """The message (zh · en), the clause and where the clip is, as :data:`CLIP_LINES` panel lines.

    The message and the clause wrap; the position line goes first when space runs out.
    """
    size = layout.font_px
    width = layout.frame_w - 16 - (size * 2) // 3 - 8
    message = painter.wrap(f"{e.message_zh} · {e.message_en}", size, width)[:2]
    room = CLIP_LINES - len(message)
    clause = painter.wrap(e.clause, size - 2, width)
    if len(clause) > room:
        clause = clause[:room - 1] + [painter.fit(" ".join(clause[room - 1:]), size - 2, width)]
    when = {"before": "之前 before", "during": "发生中 during", "after": "之后 after"}[phase]
    info = f"{when} · {e.start_s:.2f}–{e.end_s:.2f} s · {e.severity}"
    lines = [(m, event_rgb(e) if k == 0 else None, False) for k, m in enumerate(message)]
    lines += [(c, None, True) for c in clause]
    if len(lines) < CLIP_LINES:
        lines.append((info, None, True))
    return lines[:CLIP_LINES]


class _ClipDrawer:
    """Draws the frames of one clip and writes them."""

    def __init__(self, clip: Clip, run: RunFolder, layout: Layout, painter: TextPainter, opt: ClipOptions,
                 regions: Sequence[str]):
        self.clip, self.run, self.layout = clip, run, layout
        self.panel = Panel(layout, painter)
        e = clip.event
        peak = (e.peak or {}).get("frame")
        self.peak = int(peak) if peak is not None else None
        self.strip = TimelineStrip([e], 0, self.panel.strip_wh, window=(clip.first_frame, clip.last_frame + 1),
                                   peak_frame=self.peak)
        self.lines = {ph: clip_lines(e, painter, layout, ph) for ph in ("before", "during", "after")}
        self.focus = focus_of(e, regions)
        self.hold = PEAK_HOLD_S * run.fps
        clip.size_wh = layout.frame_wh
        self.writer = None if run.is_still else H264Writer(clip.path, run.fps, layout.frame_wh, crf=opt.crf)

    def add(self, idx: int, image: np.ndarray, points: SubjectPoints, customer: Optional[CustomerPose] = None) -> None:
        e = self.clip.event
        pts = points.at_video_frame(idx)
        analysed = points.analysed_frame(idx)
        video = resize(image, self.layout.video_wh)
        if customer is not None:
            draw_customer(video, customer.at(points, idx), self.layout.scale, self.panel.painter, self.layout.font_px)
        draw_subject(video, pts, self.layout.scale)
        if analysed is not None and e.start_frame <= analysed <= e.end_frame:
            phase = "during"
            strong = self.peak is not None and abs(idx - self.peak) <= self.hold
            draw_focus(video, pts, self.focus, self.layout.scale, event_rgb(e), strong=strong)
        else:
            phase = "before" if idx < e.start_frame else "after"
        frame = compose(video, self.panel.render(self.lines[phase], self.strip, idx, idx / self.run.fps),
                        self.layout)
        if self.writer is None:
            write_image(self.clip.path, frame)
        else:
            self.writer.write(frame)
        self.clip.frames += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()


# --- the command ----------------------------------------------------------------------
def make_clips(run_dir: str | Path, options: Optional[ClipOptions] = None, progress=None) -> ClipsResult:
    """Cut the selected events' clips in one pass over the source; writes ``clips.json`` too."""
    opt = options or ClipOptions()
    if opt.pre_s < 0 or opt.post_s < 0:
        raise ClipsError(f"--pre and --post must be >= 0, got {opt.pre_s} and {opt.post_s}")
    t0 = time.perf_counter()
    run = load_run(run_dir, opt.video)
    known = run.info.get("rules", {}).get("enabled", [])
    events = select_events(run.events, opt, known)
    out_dir = Path(opt.out_dir or run.dir / "clips")
    out_dir.mkdir(parents=True, exist_ok=True)
    points = SubjectPoints(run.track, run.pixels)
    n_frames = n_video_frames(run, points) if run.frame_count else None
    ext = ".png" if run.is_still else ".mp4"
    clips = []
    for e, name in zip(events, clip_names(events, run.duration_s, ext)):
        first, last = clip_window(e, run.fps, n_frames, opt.pre_s, opt.post_s)
        clips.append(Clip(e, out_dir / name, 0 if run.is_still else first, 0 if run.is_still else last))
    result = ClipsResult(clips, out_dir, 0.0)
    if not clips:
        _write_index(out_dir, run, clips, opt)
        result.seconds = time.perf_counter() - t0
        return result
    painter = TextPainter(opt.font)
    layout = make_layout(run.size_wh, CLIP_LINES, opt.height)
    starts = sorted(clips, key=lambda c: c.first_frame)
    open_: List[_ClipDrawer] = []
    nxt = 0
    wanted = _coverage(clips)
    tracked, customer = TrackedFaces.of_run(run), CustomerPose(run)
    with FaceBlurrer(opt.privacy, hold_frames=int(round(HOLD_S * run.fps)), tracked=tracked) as blurrer:
        try:
            for idx, image in iter_frames(run.source, run.kind, wanted.__contains__, max(wanted)):
                if result.source_frames == 0:
                    check_size(image, run.size_wh, run.source)
                while nxt < len(starts) and starts[nxt].first_frame <= idx:
                    open_.append(_ClipDrawer(starts[nxt], run, layout, painter, opt, points.region_names))
                    nxt += 1
                blurrer.apply(image, points.at_video_frame(idx), idx)
                result.source_frames += 1
                for d in list(open_):
                    if d.clip.first_frame <= idx <= d.clip.last_frame:
                        d.add(idx, image, points, customer)
                    if idx >= d.clip.last_frame:
                        d.close()
                        open_.remove(d)
                if progress is not None:
                    progress(result.source_frames, len(wanted))
            for d in open_:  # the recording ended before these clips' planned end
                d.close()
        except BaseException:
            for d in open_:
                d.abort()
            raise
        result.faces_blurred = blurrer.blurred
    result.clips = [c for c in clips if c.frames > 0]
    result.skipped = {"past_the_end": len(clips) - len(result.clips)}
    _write_index(out_dir, run, result.clips, opt)
    result.seconds = time.perf_counter() - t0
    return result


def _coverage(clips: List[Clip]) -> set:
    out: set = set()
    for c in clips:
        out.update(range(c.first_frame, c.last_frame + 1))
    return out


def _write_index(out_dir: Path, run: RunFolder, clips: List[Clip], opt: ClipOptions) -> None:
    """``clips.json``: file -> event, so the report can link each event to its clip.

    Clips that the previous ``clips.json`` listed and this one does not are removed.
    """
    index = out_dir / INDEX_NAME
    keep = {c.path.name for c in clips}
    try:
        old = json.loads(index.read_text(encoding="utf-8")).get("clips", []) if index.is_file() else []
    except (ValueError, OSError):
        old = []
    for item in old:
        name = Path(str(item.get("file", ""))).name
        if name and name not in keep and name != INDEX_NAME:
            (out_dir / name).unlink(missing_ok=True)
    doc = {"run": str(run.dir.resolve()), "pre_s": opt.pre_s, "post_s": opt.post_s, "privacy": opt.privacy,
           "kinds": list(opt.kinds) or ["violation", "desired"],
           "clips": [{"file": c.path.name, "rule": c.event.rule, "person": c.event.person,
                      "start_frame": c.event.start_frame, "end_frame": c.event.end_frame,
                      "start_s": c.event.start_s, "end_s": c.event.end_s, "first_frame": c.first_frame,
                      "last_frame": c.last_frame, "frames": c.frames, "size_wh": list(c.size_wh)}
                     for c in clips]}
    tmp = out_dir / (INDEX_NAME + ".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(index)
    record_output(run.dir, "clips", out_dir)
