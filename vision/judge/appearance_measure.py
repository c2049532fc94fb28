"""The three appearance measurements (clause 1.2 仪表) on one kept frontal view.

Measurements: NaN when the region is not seen (never 0); colours in CIELAB
(L 0..100; ΔE = Euclidean Lab distance) and HSV (hue in degrees, S and V
0..1); FH = face height, SW = shoulder width, both in pixels of the view.

* ``hair_unusual_share`` (0..1) -> ``look.hair_colour`` (不得染奇异颜色).
  Hair band: the top of the face oval shifted up by 0.02..0.30 FH (as wide as
  the forehead). Skipped: pixels like the cheek skin (below), like the
  background (ΔE < ``bg_delta_e`` to the median of a patch 0.55..0.75 FH above
  the head) and under a hand. A kept pixel is *unusual* when S >=
  ``hair_sat_min``, V >= ``hair_val_min`` and its hue is outside the
  brown/orange/blond range ``hair_natural_hue_deg`` (5..50 deg): black, grey
  and any unsaturated or dark pixel, brown, blond and auburn are natural;
  blue, green, purple, pink and crimson/fire red (hue 330..5) are not.
  Violation: share > ``hair_unusual_max``.
* ``brow_hair_share`` / ``forehead_hair_share`` (0..1) -> ``look.fringe``.
  Forehead band: from 0.03 FH above the upper brow line up to the top of the
  face oval; the brow band is its lowest ``brow_band_frac``. Skin = distance
  < ``skin_delta_e`` to the nearest cheek patch's median (mesh 50, 280, 205,
  425; lightness weighted 0.25 above the patch, 0.6 below); anything else is
  hair. ``fringe_rule="brows"`` (前发不过眉): violation when brow_hair_share >
  ``fringe_brow_max``; ``"forehead"`` (men, 前发不附额): when
  forehead_hair_share > ``fringe_forehead_max``.
* ``centre_unlike_share`` (0..1) -> ``look.jacket_closed`` (不得敞怀). The
  torso is rectified: columns across it in SW from the centre line, rows down
  it as a fraction of shoulder-mid -> hip-mid (hips 1.5 SW below the
  shoulders when unseen). Rows ``jacket_rows`` lie below a closed jacket's V
  and above its hem. Share of centre-strip pixels (|x| <= 0.07 SW) whose ΔE
  to the nearer side strip's median (0.22 <= |x| <= 0.38 SW) is >
  ``jacket_delta_e``: an open front shows the shirt there. Violation: share >
  ``jacket_unlike_max``. ``edge_ratio`` (mean across-torso Lab gradient within
  0.2 SW of the centre over the rest) is evidence only. Needs a frontal torso
  (SW >= 1.1 FH) seen down to the rows; hands are masked out.

Every threshold named here is an ``options`` key of its ``look.*`` entry in
``rules.yaml`` (``skin_delta_e``: the ``appearance:`` section).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

TOP, CHIN, NOSE_TIP, SIDE_R, SIDE_L = 10, 152, 1, 234, 454  # SIDE_R: the person's right (image left)
EYE_R, EYE_L = (33, 133, 159, 145), (263, 362, 386, 374)  # outer, inner, upper lid, lower lid
OVAL_TOP = [54, 103, 67, 109, 10, 338, 297, 332, 284]  # image left -> right in a frontal view
BROW_UPPER = [70, 63, 105, 66, 107, 336, 296, 334, 293, 300]
CHEEKS = [50, 280, 205, 425]
FRONTAL_POINTS = [TOP, CHIN, NOSE_TIP, SIDE_R, SIDE_L, *EYE_R, *EYE_L]
L_SH, R_SH, L_HIP, R_HIP = 11, 12, 23, 24
POSE_HANDS = [15, 16, 17, 18, 19, 20, 21, 22]
HAIR_BAND = (0.02, 0.30)  # FH above the top of the face oval
MIN_PIXELS = 30  # fewer sampled pixels: the region is not measured (NaN)


@dataclass(frozen=True)
class AppearanceThresholds:
    """Every threshold of the three checks (units in the module docstring), from rules.yaml."""

    hair_sat_min: float
    hair_val_min: float
    hair_natural_hue_deg: Tuple[float, float]  # may wrap through 0: (-10, 50) = 350..50
    hair_unusual_max: float
    bg_delta_e: float
    skin_delta_e: float
    brow_band_frac: float
    fringe_brow_max: float
    fringe_forehead_max: float
    jacket_rows: Tuple[float, float]
    jacket_delta_e: float
    jacket_unlike_max: float

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            vals = v if isinstance(v, tuple) else (v,)
            floor = -180.0 if f.name == "hair_natural_hue_deg" else 0.0  # a hue range may wrap through 0
            if any(not math.isfinite(x) or x < floor for x in vals) or (len(vals) == 2 and vals[0] >= vals[1]):
                raise ValueError(f"AppearanceThresholds.{f.name}: must be finite and >= {floor:g}"
                                 f"{' with low < high' if len(vals) == 2 else ''}, got {v}")


@dataclass(eq=False)
class KeptView:
    """One kept frontal view: a small crop and its landmarks in crop pixels (NaN = not seen)."""

    score: float
    frame_index: int
    timestamp_s: float
    person_id: int
    crop_bgr: np.ndarray
    face_px: np.ndarray  # (478, 2)
    pose_px: np.ndarray  # (33, 2); NaN below visibility 0.5 (hand points: 0.2)
    hands_px: np.ndarray  # (42, 2): left hand then right hand
    frontal: Dict[str, float] = field(default_factory=dict)


def frontalness(face_px: np.ndarray) -> Dict[str, float]:
    """Yaw and roll (deg), face height (px) and eye opening (lid gap over eye width) of a face mesh in pixels."""
    f = face_px
    half_w = float(np.linalg.norm(f[SIDE_L] - f[SIDE_R])) / 2
    off = abs(f[NOSE_TIP, 0] - (f[SIDE_L, 0] + f[SIDE_R, 0]) / 2)
    yaw = math.degrees(math.asin(min(1.0, off / half_w))) if half_w > 0 else 90.0
    eye = f[EYE_R[0]] - f[EYE_L[0]]  # points to the image left in an upright face
    roll = abs(math.degrees(math.atan2(-eye[1], -eye[0])))
    lids = np.linalg.norm(f[EYE_R[2]] - f[EYE_R[3]]) + np.linalg.norm(f[EYE_L[2]] - f[EYE_L[3]])
    widths = np.linalg.norm(f[EYE_R[0]] - f[EYE_R[1]]) + np.linalg.norm(f[EYE_L[0]] - f[EYE_L[1]])
    return {"yaw_deg": yaw, "roll_deg": roll, "face_px": float(np.linalg.norm(f[TOP] - f[CHIN])),
            "eye_open": float(lids / widths) if widths > 0 else math.nan}


# -- pixel helpers ---------------------------------------------------------------
def _lab(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab)


def _poly_mask(shape: Tuple[int, int], pts: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    if np.all(np.isfinite(pts)):
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    return mask.astype(bool)


def _disc_mask(shape: Tuple[int, int], pts: np.ndarray, radius: float) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    for x, y in pts[np.all(np.isfinite(pts), axis=1)]:
        cv2.circle(mask, (int(round(x)), int(round(y))), max(1, int(round(radius))), 1, -1)
    return mask.astype(bool)


def _hand_mask(view: KeptView, radius: float) -> np.ndarray:
    return _disc_mask(view.crop_bgr.shape[:2], np.vstack([view.hands_px, view.pose_px[POSE_HANDS]]), radius)


def _face_axes(view: KeptView) -> Tuple[np.ndarray, float]:
    """Unit vector up the face (chin -> top) and the face height, in crop pixels."""
    up = view.face_px[TOP] - view.face_px[CHIN]
    fh = float(np.linalg.norm(up))
    return up / fh, fh


def _skin_distance(lab: np.ndarray, view: KeptView, hands: np.ndarray) -> Optional[np.ndarray]:
    """Per-pixel distance to the nearest cheek patch's median colour; None if no cheek is seen.

    Each patch is its own reference: a face lit from one side has two skin tones.
    """
    _, fh = _face_axes(view)
    best = None
    for i in CHEEKS:
        sel = _disc_mask(hands.shape, view.face_px[[i]], 0.04 * fh) & ~hands
        if sel.sum() < MIN_PIXELS // 3:
            continue
        d = lab - np.median(lab[sel], axis=0)
        d[..., 0] *= np.where(d[..., 0] > 0, 0.25, 0.6)  # lit foreheads are brighter; hair is mostly darker
        dist = np.sqrt(np.sum(d * d, axis=-1))
        best = dist if best is None else np.minimum(best, dist)
    return best


# -- the three measurements on one view -------------------------------------------
def measure_hair_colour(view: KeptView, th: AppearanceThresholds) -> Dict[str, float]:
    """Share of unusually coloured pixels in the hair band above the forehead, and the band's colour."""
    out = {"hair_unusual_share": math.nan, "hair_hue_deg": math.nan, "hair_sat": math.nan,
           "hair_pixels": 0, "hair_kept_share": math.nan}
    up, fh = _face_axes(view)
    top, shape = view.face_px[OVAL_TOP], view.crop_bgr.shape[:2]
    band = _poly_mask(shape, np.vstack([top + up * HAIR_BAND[0] * fh, (top + up * HAIR_BAND[1] * fh)[::-1]]))
    if band.sum() < MIN_PIXELS:
        return out
    lab = _lab(view.crop_bgr)
    hands = _hand_mask(view, 0.12 * fh)
    keep = band & ~hands
    skin = _skin_distance(lab, view, hands)
    if skin is not None:
        keep &= skin >= th.skin_delta_e
    side = np.array([up[1], -up[0]]) * 0.25 * np.linalg.norm(view.face_px[SIDE_L] - view.face_px[SIDE_R])
    c = view.face_px[TOP]
    bg = _poly_mask(shape, np.vstack([c + up * 0.55 * fh - side, c + up * 0.55 * fh + side,
                                      c + up * 0.75 * fh + side, c + up * 0.75 * fh - side])) & ~hands
    if bg.sum() >= MIN_PIXELS:
        keep &= np.linalg.norm(lab - np.median(lab[bg], axis=0), axis=-1) >= th.bg_delta_e
    out.update(hair_pixels=int(keep.sum()), hair_kept_share=float(keep.sum() / band.sum()))
    if keep.sum() < MIN_PIXELS:
        return out
    hsv = cv2.cvtColor(view.crop_bgr.astype(np.float32) / 255.0, cv2.COLOR_BGR2HSV)[keep]
    h, s, v = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    lo, hi = th.hair_natural_hue_deg
    unusual = (s >= th.hair_sat_min) & (v >= th.hair_val_min) & ((h - lo) % 360 > hi - lo)
    rad = np.radians(h)  # saturation-weighted circular mean hue
    hue = math.degrees(math.atan2(float(np.sum(s * np.sin(rad))), float(np.sum(s * np.cos(rad))))) % 360
    out.update(hair_unusual_share=float(unusual.mean()), hair_sat=float(np.median(s)), hair_hue_deg=hue)
    return out


def measure_fringe(view: KeptView, th: AppearanceThresholds) -> Dict[str, float]:
    """Hair (not-skin) share of the forehead band and of its lowest part, just above the brows."""
    out = {"brow_hair_share": math.nan, "forehead_hair_share": math.nan}
    up, fh = _face_axes(view)
    brows, top = view.face_px[BROW_UPPER] + up * 0.03 * fh, view.face_px[OVAL_TOP]
    shape = view.crop_bgr.shape[:2]
    hands = _hand_mask(view, 0.12 * fh)
    height = float(np.dot(top.mean(axis=0) - brows.mean(axis=0), up))
    skin = _skin_distance(_lab(view.crop_bgr), view, hands)
    if skin is None or not height > 0:
        return out
    forehead = _poly_mask(shape, np.vstack([brows, top[::-1]])) & ~hands
    low = _poly_mask(shape, np.vstack([brows, (brows + up * th.brow_band_frac * height)[::-1]])) & forehead
    hair = skin >= th.skin_delta_e
    for name, region in (("forehead_hair_share", forehead), ("brow_hair_share", low)):
        if region.sum() >= MIN_PIXELS:
            out[name] = float(hair[region].mean())
    return out


def measure_jacket(view: KeptView, th: AppearanceThresholds) -> Dict[str, float]:
    """Share of the torso's centre strip unlike both sides (an open front), and the edge ratio."""
    out = {"centre_unlike_share": math.nan, "side_delta_e": math.nan, "edge_ratio": math.nan}
    p, (_, fh) = view.pose_px, _face_axes(view)
    if not np.all(np.isfinite(p[[L_SH, R_SH]])):
        return out
    across = p[L_SH] - p[R_SH]  # image left -> right in a frontal view
    sw = float(np.linalg.norm(across))
    if sw < 1.1 * fh:  # side-on: the centre line is not where we would look
        return out
    w, s_mid, h_mid = across / sw, (p[L_SH] + p[R_SH]) / 2, (p[L_HIP] + p[R_HIP]) / 2
    down = h_mid - s_mid if np.all(np.isfinite(h_mid)) else np.array([-w[1], w[0]]) * 1.5 * sw
    (t0, t1), cols, half = th.jacket_rows, 72, 0.45 * sw
    rows = max(8, int(round(cols * (t1 - t0) * np.linalg.norm(down) / (2 * half))))
    ex, ey, origin = w * (2 * half / cols), down * ((t1 - t0) / rows), s_mid + down * t0 - w * half
    m = np.array([[ex[0], ey[0], origin[0]], [ex[1], ey[1], origin[1]]], np.float32)  # (col, row) -> crop px
    rect = cv2.warpAffine(view.crop_bgr, m, (cols, rows), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    seen = (~_hand_mask(view, 0.15 * sw)).astype(np.uint8)
    valid = cv2.warpAffine(seen, m, (cols, rows), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
    lab = _lab(rect)
    x = (np.arange(cols) + 0.5) / cols * 0.9 - 0.45  # SW from the centre line
    centre = valid & (np.abs(x) <= 0.07)
    sides = [valid & (x >= 0.22) & (x <= 0.38), valid & (x <= -0.22) & (x >= -0.38)]
    refs = [np.median(lab[s], axis=0) for s in sides if s.sum() >= MIN_PIXELS]
    if centre.sum() < MIN_PIXELS or not refs:
        return out
    d = np.min([np.linalg.norm(lab[centre] - r, axis=-1) for r in refs], axis=0)
    out["centre_unlike_share"] = float(np.mean(d > th.jacket_delta_e))
    if len(refs) == 2:
        out["side_delta_e"] = float(np.linalg.norm(refs[0] - refs[1]))
    grad = np.linalg.norm(np.diff(lab, axis=1), axis=-1)
    both, xm = valid[:, 1:] & valid[:, :-1], np.abs(x[1:] + x[:-1]) / 2
    inner, outer = both & (xm <= 0.2), both & (xm > 0.2)
    if inner.sum() >= MIN_PIXELS and outer.sum() >= MIN_PIXELS and grad[outer].mean() > 0:
        out["edge_ratio"] = float(grad[inner].mean() / grad[outer].mean())
    return out
