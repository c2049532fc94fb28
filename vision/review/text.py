"""Text on frames, Chinese included: a CJK font found on the system, drawn with Pillow.

OpenCV's ``putText`` knows only ASCII (Chinese comes out as ``???``), so
text is drawn with Pillow in a CJK font. The font is, first to last:
``$CONDUCT_COACH_FONT``; the font fontconfig prefers among those that
cover Chinese (``fc-match -s :lang=zh``, kept only if ``fc-list :lang=zh``
lists it and it really draws Chinese); then the usual Debian places
(WenQuanYi Micro Hei from ``fonts-wqy-microhei``, the documented default,
then Noto CJK). A font that lacks Chinese glyphs (it would draw every
character as the same box) is refused at load time.

Drawn text is cached as an RGBA patch per (text, size, colour), so a banner
that stays the same for many frames is rasterised once.
"""
from __future__ import annotations

import os
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

FONT_ENV = "CONDUCT_COACH_FONT"
CANDIDATES = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
]
INSTALL_HINT = "install Debian's fonts-wqy-microhei (apt-get install -y fonts-wqy-microhei) or set CONDUCT_COACH_FONT"
#: Two different Chinese characters: a font without Chinese glyphs draws both as the same box.
PROBE = ("用", "坐")

Color = Tuple[int, int, int]  # RGB


class FontMissing(Exception):
    """No usable CJK font, or Pillow is missing (one-line message)."""


def _pil():
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        raise FontMissing("Pillow is needed to draw text on video: pip install Pillow") from None
    return Image, ImageDraw, ImageFont


def find_cjk_font(explicit: Optional[str] = None) -> Path:
    """The first usable CJK font: ``explicit``, ``$CONDUCT_COACH_FONT``, fontconfig's, then :data:`CANDIDATES`."""
    for given, how in ((explicit, "font"), (os.environ.get(FONT_ENV), f"${FONT_ENV}")):
        if given:
            p = Path(given)
            if not p.is_file():
                raise FontMissing(f"{how} {p}: no such file")
            return p
    for c in fontconfig_cjk_fonts():
        if draws_chinese(c):
            return c
    for c in CANDIDATES:
        if Path(c).is_file():
            return Path(c)
    raise FontMissing(f"no CJK font found for the Chinese text: {INSTALL_HINT}")


def _fc(*args: str) -> List[str]:
    """Lines fontconfig's command prints; [] when fontconfig is not installed or fails."""
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def fontconfig_cjk_fonts() -> List[Path]:
    """Fonts covering Chinese, in fontconfig's order of preference (``fc-match -s``, only those ``fc-list`` lists)."""
    covering = set(_fc("fc-list", "--format", "%{file}\\n", ":lang=zh"))
    return [Path(f) for f in dict.fromkeys(_fc("fc-match", "-s", "--format", "%{file}\\n", ":lang=zh"))
            if f in covering]


def draws_chinese(path: Path) -> bool:
    """Whether the font at ``path`` draws Chinese characters (see :data:`PROBE`)."""
    try:
        _checked_font(str(path), 16)
    except FontMissing:
        return False
    return True


def glyph_mask(font, text: str) -> np.ndarray:
    """The text as Pillow rasterises it (a 2-D uint8 coverage mask)."""
    mask = font.getmask(text)
    return np.array(mask, np.uint8).reshape(mask.size[1], mask.size[0])


@lru_cache(maxsize=None)
def _checked_font(path: str, size: int):
    _, _, ImageFont = _pil()
    try:
        font = ImageFont.truetype(path, size)
    except OSError as exc:
        raise FontMissing(f"font {path} cannot be read ({exc}); {INSTALL_HINT}") from None
    a, b = (glyph_mask(font, ch) for ch in PROBE)
    if a.size == 0 or not a.any() or (a.shape == b.shape and np.array_equal(a, b)):
        raise FontMissing(f"font {path} has no Chinese glyphs; {INSTALL_HINT}")
    return font


class TextPainter:
    """Draws lines of mixed Chinese and Latin text onto BGR frames.

    ``font_path`` defaults to :func:`find_cjk_font`; the font is checked for
    Chinese glyphs on first use of each size.
    """

    def __init__(self, font_path: Optional[str | Path] = None):
        self.font_path = str(font_path or find_cjk_font())
        _checked_font(self.font_path, 16)  # fail early, with the one-line message
        self._cache: dict = {}

    def font(self, size: int):
        return _checked_font(self.font_path, int(size))

    def text_size(self, text: str, size: int) -> Tuple[int, int]:
        x0, y0, x1, y1 = self.font(size).getbbox(text)
        return int(x1), int(max(y1, size))

    def patch(self, text: str, size: int, color: Color = (255, 255, 255)) -> np.ndarray:
        """The text as an RGBA array (H, W, 4), height about ``1.25 * size``."""
        key = (text, int(size), tuple(color))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        Image, ImageDraw, _ = _pil()
        font = self.font(size)
        w = max(1, int(font.getlength(text)) + 2)
        h = int(round(size * 1.3))
        img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        ImageDraw.Draw(img).text((1, h // 2), text, font=font, fill=tuple(color) + (255,), anchor="lm")
        arr = np.asarray(img)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[key] = arr
        return arr

    def draw(self, frame_bgr: np.ndarray, text: str, xy: Tuple[int, int], size: int,
             color: Color = (255, 255, 255), max_width: Optional[int] = None) -> int:
        """Blend ``text`` onto the frame with its top-left at ``xy``; returns the drawn width.

        Text wider than ``max_width`` is cut and ends with an ellipsis.
        """
        if max_width is not None:
            text = self.fit(text, size, max_width)
        p = self.patch(text, size, color)
        blend_rgba(frame_bgr, p, xy)
        return p.shape[1]

    def fit(self, text: str, size: int, max_width: int) -> str:
        font = self.font(size)
        if font.getlength(text) <= max_width:
            return text
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if font.getlength(text[:mid] + "…") <= max_width:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo] + "…"

    def wrap(self, text: str, size: int, max_width: int) -> List[str]:
        """Break text into lines no wider than ``max_width``: at spaces in Latin text, anywhere in Chinese."""
        font = self.font(size)
        lines: List[str] = []
        line = ""
        for token in _tokens(text):
            trial = line + token
            if line and font.getlength(trial.rstrip()) > max_width:
                lines.append(line.rstrip())
                line = token.lstrip()
            else:
                line = trial
        if line.strip():
            lines.append(line.rstrip())
        return lines or [""]


def _tokens(text: str) -> Sequence[str]:
    """Words with their trailing space for Latin text; single characters for CJK."""
    out: List[str] = []
    word = ""
    for ch in text:
        if ord(ch) >= 0x2E80:  # CJK and full-width punctuation: a break is allowed on either side
            if word:
                out.append(word)
                word = ""
            out.append(ch)
        else:
            word += ch
            if ch == " ":
                out.append(word)
                word = ""
    if word:
        out.append(word)
    return out


def blend_rgba(frame_bgr: np.ndarray, rgba: np.ndarray, xy: Tuple[int, int]) -> None:
    """Alpha-blend an RGBA patch onto a BGR frame in place, clipped at the frame's edges."""
    x, y = int(xy[0]), int(xy[1])
    H, W = frame_bgr.shape[:2]
    h, w = rgba.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x1 <= x0 or y1 <= y0:
        return
    p = rgba[y0 - y:y1 - y, x0 - x:x1 - x]
    alpha = p[..., 3:4].astype(np.float32) / 255.0
    region = frame_bgr[y0:y1, x0:x1].astype(np.float32)
    src = p[..., 2::-1].astype(np.float32)  # RGB -> BGR
    frame_bgr[y0:y1, x0:x1] = (region * (1.0 - alpha) + src * alpha + 0.5).astype(np.uint8)
