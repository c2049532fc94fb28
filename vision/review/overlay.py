"""Drawing on output frames: the subject's landmarks, the highlighted moment,
the banner of active rules (Chinese and English) and the timeline strip.

An output frame is the (scaled) source picture with a panel below it, so the
text never hides the face or hands it talks about::

    +---------------------------+
    |  video, landmarks drawn   |
    +---------------------------+
    | banner lines (zh · en)    |   panel
    | timeline strip  |  t      |
    +---------------------------+

Pure drawing: no file or model access here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from vision.io.events import Event
from vision.io.run_folder import HAND_CONNECTIONS, POSE_CONNECTIONS, FramePoints
from vision.review.text import TextPainter
from vision.io.video_out import even_size

MIN_VIDEO_H, MAX_VIDEO_H = 360, 720
#: A narrow (portrait) video gets dark bars at its sides so the banner text fits.
MIN_FRAME_W = 480
SEVERITY_RGB = {"high": (226, 59, 59), "medium": (240, 146, 36), "low": (236, 201, 50), "info": (70, 180, 100)}
DESIRED_RGB = (70, 180, 100)
PANEL_BGR = (32, 28, 26)
MUTED_RGB = (170, 170, 170)


def event_rgb(e: Event) -> Tuple[int, int, int]:
    return DESIRED_RGB if e.kind == "desired" else SEVERITY_RGB.get(e.severity, (200, 120, 200))


def bgr(rgb: Sequence[int]) -> Tuple[int, int, int]:
    return int(rgb[2]), int(rgb[1]), int(rgb[0])


# --- layout -----------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    """Sizes of an output frame: the video area scaled by ``scale``, the panel below it.

    The frame is at least :data:`MIN_FRAME_W` wide; a narrower video is centred.
    """

    scale: float
    video_wh: Tuple[int, int]
    frame_w: int
    panel_h: int
    font_px: int
    line_h: int
    lines: int
    strip_h: int

    @property
    def frame_wh(self) -> Tuple[int, int]:
        return self.frame_w, self.video_wh[1] + self.panel_h

    @property
    def video_x(self) -> int:
        return (self.frame_w - self.video_wh[0]) // 2


def make_layout(src_wh: Tuple[int, int], lines: int, height: Optional[int] = None) -> Layout:
    """Video height ``height``, or the source's brought within 360..720 px; ``lines`` banner lines."""
    w, h = int(src_wh[0]), int(src_wh[1])
    target = height or min(max(h, MIN_VIDEO_H), MAX_VIDEO_H)
    scale = target / h
    vw, vh = even_size(int(round(w * scale)), int(round(h * scale)))
    font = int(np.clip(round(min(vh / 24, max(vw, MIN_FRAME_W) / 26)), 13, 24))
    line_h = int(round(font * 1.45))
    strip_h = max(8, font // 2 + 4)
    panel = 6 + lines * line_h + 4 + max(strip_h, line_h) + 6
    panel += panel % 2
    return Layout(vw / w, (vw, vh), max(vw, MIN_FRAME_W), panel, font, line_h, lines, strip_h)


# --- the subject, drawn lightly -----------------------------------------------
def _pt(p: np.ndarray, s: float) -> Tuple[int, int]:
    return int(round(p[0] * s)), int(round(p[1] * s))


def draw_subject(video: np.ndarray, pts: Optional[FramePoints], scale: float, alpha: float = 0.55) -> None:
    """Skeleton, face-mesh points and hands, blended at ``alpha`` so the person stays visible."""
    if pts is None:
        return
    layer = video.copy()
    pose = pts.pose_xy
    for a, b in POSE_CONNECTIONS:
        if not (np.isnan(pose[a, 0]) or np.isnan(pose[b, 0])):
            cv2.line(layer, _pt(pose[a], scale), _pt(pose[b], scale), (235, 235, 235), 2, cv2.LINE_AA)
    for i in range(11, 33):
        if not np.isnan(pose[i, 0]):
            cv2.circle(layer, _pt(pose[i], scale), 3, (255, 255, 255), -1, cv2.LINE_AA)
    face = pts.face_xy[~np.isnan(pts.face_xy[:, 0])] * scale
    if len(face):
        xy = np.round(face).astype(int)
        ok = (xy[:, 0] >= 0) & (xy[:, 0] < video.shape[1]) & (xy[:, 1] >= 0) & (xy[:, 1] < video.shape[0])
        layer[xy[ok, 1], xy[ok, 0]] = (200, 230, 120)
    for hand, colour in zip(pts.hands_xy, ((240, 200, 90), (90, 200, 240))):
        if np.isnan(hand[0, 0]):
            continue
        for a, b in HAND_CONNECTIONS:
            cv2.line(layer, _pt(hand[a], scale), _pt(hand[b], scale), colour, 1, cv2.LINE_AA)
        for p in hand:
            cv2.circle(layer, _pt(p, scale), 2, colour, -1, cv2.LINE_AA)
    cv2.addWeighted(layer, alpha, video, 1.0 - alpha, 0.0, dst=video)


CUSTOMER_BGR = (230, 170, 60)  # a light blue: the customer, apart from the trainee's white
CUSTOMER_TAG = "customer / 客户"


def draw_customer(video: np.ndarray, pose_xy: Optional[np.ndarray], scale: float, painter: Optional[TextPainter],
                  font_px: int, alpha: float = 0.4) -> None:
    """The customer's skeleton (source pixels, NaN: not seen), thinner and fainter than the trainee's, in
    :data:`CUSTOMER_BGR`, with a small "customer / 客户" tag just under the shoulders. Their face is not drawn."""
    if pose_xy is None or not np.isfinite(pose_xy[11:, 0]).any():
        return
    layer = video.copy()
    for a, b in POSE_CONNECTIONS:
        if not (np.isnan(pose_xy[a, 0]) or np.isnan(pose_xy[b, 0])):
            cv2.line(layer, _pt(pose_xy[a], scale), _pt(pose_xy[b], scale), CUSTOMER_BGR, 1, cv2.LINE_AA)
    for i in range(11, 33):
        if not np.isnan(pose_xy[i, 0]):
            cv2.circle(layer, _pt(pose_xy[i], scale), 2, CUSTOMER_BGR, -1, cv2.LINE_AA)
    cv2.addWeighted(layer, alpha, video, 1.0 - alpha, 0.0, dst=video)
    if painter is None:
        return
    body = pose_xy[11:][np.isfinite(pose_xy[11:, 0])] * scale
    shoulders = pose_xy[[11, 12]][np.isfinite(pose_xy[[11, 12], 0])] * scale
    anchor = shoulders if len(shoulders) else body  # on the chest, below the (blurred) face
    size = max(11, font_px - 4)
    w = painter.text_size(CUSTOMER_TAG, size)[0]
    x = int(np.clip(anchor[:, 0].mean() - w / 2, 0, max(0, video.shape[1] - w)))
    y = int(np.clip(anchor[:, 1].mean() + 0.4 * size, 0, max(0, video.shape[0] - 1.3 * size)))
    painter.draw(video, CUSTOMER_TAG, (x, y), size, (CUSTOMER_BGR[2], CUSTOMER_BGR[1], CUSTOMER_BGR[0]))


# --- the offending moment ---------------------------------------------------------
@dataclass(frozen=True)
class Focus:
    """What to highlight for an event: a face region (and the hand at it), or the trunk."""

    region: Optional[str] = None
    hand: bool = False
    trunk: bool = False


def focus_of(e: Event, regions: Sequence[str]) -> Focus:
    """From the event's evidence: its ``region``, else the region its peak feature names.

    ``regions``: the face regions the run measured (``SubjectPoints.region_names``).
    """
    region = e.evidence.get("region")
    feature = str((e.peak or {}).get("feature") or "")
    if region in regions:
        return Focus(region, hand=True)
    for r in regions:
        if feature.startswith(f"hand_{r}_"):
            return Focus(r, hand=True)
    if feature.startswith(("smile", "mouth")):
        return Focus("mouth")
    if feature.startswith(("trunk", "profile", "shoulder", "torso")):
        return Focus(trunk=True)
    if feature.startswith(("head", "neck")):
        return Focus("forehead", trunk=True)
    return Focus()


def _closest_hand(pts: FramePoints, region: np.ndarray) -> Optional[np.ndarray]:
    best, best_d = None, np.inf
    for hand in pts.touch_hands:
        ok = hand[~np.isnan(hand[:, 0])]
        if not len(ok) or not len(region):
            continue
        d = float(np.min(np.linalg.norm(ok[:, None] - region[None], axis=-1)))
        if d < best_d:
            best, best_d = ok, d
    return best


def draw_focus(video: np.ndarray, pts: Optional[FramePoints], focus: Focus, scale: float,
               rgb: Tuple[int, int, int], strong: bool = False) -> None:
    """Outline the region (and the hand closest to it, or the trunk line); ``strong`` at the peak."""
    if pts is None:
        return
    colour = bgr(rgb)
    thick = 3 if strong else 2
    radius = max(6, int(0.035 * video.shape[0]))
    if focus.region:
        reg = pts.regions.get(focus.region, np.zeros((0, 2)))
        reg = reg[~np.isnan(reg[:, 0])] * scale
        if len(reg) >= 3:
            hull = cv2.convexHull(np.round(reg).astype(np.int32))
            layer = video.copy()
            cv2.fillConvexPoly(layer, hull, colour, cv2.LINE_AA)
            cv2.addWeighted(layer, 0.35, video, 0.65, 0.0, dst=video)
            cv2.polylines(video, [hull], True, colour, thick, cv2.LINE_AA)
        for p in reg if len(reg) < 3 else []:
            cv2.circle(video, _pt(p, 1.0), radius, colour, thick, cv2.LINE_AA)
        if focus.hand and len(reg):
            hand = _closest_hand(pts, reg / scale)
            if hand is not None:
                (cx, cy), r = cv2.minEnclosingCircle((hand * scale).astype(np.float32))
                cv2.circle(video, (int(cx), int(cy)), int(r) + radius // 2, colour, thick, cv2.LINE_AA)
    if focus.trunk:
        pose = pts.pose_xy
        sh, hip = _mean_seen(pose[[11, 12]]), _mean_seen(pose[[23, 24]])
        if sh is not None and hip is not None:
            a, b = _pt(hip, scale), _pt(sh, scale)
            length = int(np.hypot(b[0] - a[0], b[1] - a[1]))
            cv2.line(video, a, (a[0], a[1] - length), (200, 200, 200), 1, cv2.LINE_AA)
            cv2.line(video, a, b, colour, thick + 1, cv2.LINE_AA)
    if strong:
        cv2.rectangle(video, (1, 1), (video.shape[1] - 2, video.shape[0] - 2), colour, 3)


def _mean_seen(points: np.ndarray) -> Optional[np.ndarray]:
    seen = points[~np.isnan(points[:, 0])]
    return seen.mean(0) if len(seen) else None


# --- timeline strip -------------------------------------------------------------------
class TimelineStrip:
    """Rows of event spans over ``[0, n_frames)``, pre-drawn once; :meth:`draw` adds the playhead.

    Positions are frame indices (the events' own ``start_frame``/``end_frame``),
    so the bars line up with the banner exactly.
    """

    def __init__(self, events: List[Event], n_frames: int, size_wh: Tuple[int, int],
                 window: Optional[Tuple[int, int]] = None, peak_frame: Optional[int] = None):
        w, h = size_wh
        self.lo, self.hi = window or (0, max(1, n_frames))
        self.hi = max(self.hi, self.lo + 1)
        self.w = w
        img = np.full((h, w, 3), (70, 64, 60), np.uint8)
        rules = list(dict.fromkeys(e.rule for e in events))
        rows = max(1, len(rules))
        for e in events:
            k = rules.index(e.rule)
            y0, y1 = int(k * h / rows), int((k + 1) * h / rows)
            x0, x1 = self.x(e.start_frame), self.x(e.end_frame + 1)
            cv2.rectangle(img, (x0, y0), (max(x1 - 1, x0 + 1), max(y1 - 2, y0)), bgr(event_rgb(e)), -1)
        if peak_frame is not None:
            x = self.x(peak_frame)
            cv2.line(img, (x, 0), (x, h - 1), (255, 255, 255), 1)
        self.image = img

    def x(self, frame: float) -> int:
        return int(np.clip(round((frame - self.lo) / (self.hi - self.lo) * (self.w - 1)), 0, self.w - 1))

    def draw(self, canvas: np.ndarray, xy: Tuple[int, int], frame: int) -> None:
        x0, y0 = xy
        h, w = self.image.shape[:2]
        canvas[y0:y0 + h, x0:x0 + w] = self.image
        x = x0 + self.x(frame)
        cv2.line(canvas, (x, y0 - 2), (x, y0 + h + 1), (255, 255, 255), 2)


# --- the panel under the video ---------------------------------------------------------
class Panel:
    """Builds the panel: text lines (cached per distinct content), a strip and a time label."""

    def __init__(self, layout: Layout, painter: TextPainter):
        self.layout = layout
        self.painter = painter
        self._cache: Dict[tuple, np.ndarray] = {}
        w = layout.frame_w
        self.label_w = painter.text_size("0000.0 s", layout.font_px - 2)[0] + 10
        self.strip_xy = (8, layout.panel_h - 6 - (max(layout.strip_h, layout.line_h) + layout.strip_h) // 2)
        self.strip_wh = (max(8, w - 16 - self.label_w), layout.strip_h)

    def _base(self, lines: Tuple[Tuple[str, Optional[Tuple[int, int, int]], bool], ...]) -> np.ndarray:
        """``lines``: (text, chip colour or None, muted) per line."""
        hit = self._cache.get(lines)
        if hit is not None:
            return hit
        L = self.layout
        img = np.full((L.panel_h, L.frame_w, 3), PANEL_BGR, np.uint8)
        for k, (text, chip, muted) in enumerate(lines[:L.lines]):
            y = 6 + k * L.line_h
            size = L.font_px - (2 if muted else 0)
            c = (L.font_px * 2) // 3  # every line is indented past the colour chip's place
            if chip is not None:
                top = y + (L.line_h - c) // 2
                cv2.rectangle(img, (8, top), (8 + c, top + c), bgr(chip), -1)
            x = 8 + c + 8
            self.painter.draw(img, text, (x, y + (L.line_h - int(size * 1.3)) // 2), size,
                              MUTED_RGB if muted else (255, 255, 255), max_width=L.frame_w - x - 8)
        if len(self._cache) > 256:
            self._cache.clear()
        self._cache[lines] = img
        return img

    def render(self, lines, strip: Optional[TimelineStrip], frame: int, time_s: float) -> np.ndarray:
        img = self._base(tuple(lines)).copy()
        if strip is not None:
            strip.draw(img, self.strip_xy, frame)
        L = self.layout
        label = f"{time_s:.1f} s"
        x = L.frame_w - 8 - self.painter.text_size(label, L.font_px - 2)[0]
        y = self.strip_xy[1] + self.layout.strip_h // 2 - int((L.font_px - 2) * 1.3) // 2
        self.painter.draw(img, label, (x, y), L.font_px - 2, MUTED_RGB)
        return img


def banner_lines(active: List[Event], n_lines: int) -> List[tuple]:
    """One line per active rule, violations first (by severity), as ``(text, colour, muted)``."""
    order = {"high": 0, "medium": 1, "low": 2, "info": 3}
    evs = sorted({e.rule: e for e in active}.values(),
                 key=lambda e: (e.kind == "desired", order.get(e.severity, 9), e.rule))
    if not evs:
        return [("—", None, True)]
    lines = [(f"{e.message_zh} · {e.message_en}", event_rgb(e), False) for e in evs]
    if len(lines) > n_lines:
        lines = lines[:n_lines - 1] + [(f"+{len(lines) - n_lines + 1} 条 · more", None, True)]
    return lines


def compose(video: np.ndarray, panel: np.ndarray, layout: Layout) -> np.ndarray:
    """The output frame: the video centred above the panel."""
    w, h = layout.frame_wh
    if video.shape[1] == w:
        return np.concatenate([video, panel], axis=0)
    out = np.empty((h, w, 3), np.uint8)
    out[:video.shape[0]] = PANEL_BGR
    x = layout.video_x
    out[:video.shape[0], x:x + video.shape[1]] = video
    out[video.shape[0]:] = panel
    return out
