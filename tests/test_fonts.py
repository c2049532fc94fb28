"""The CJK font: $CONDUCT_COACH_FONT, then fontconfig (only a font that draws Chinese), then the Debian paths.

Fontconfig and the glyph check are replaced by stand-ins, so the order is
tested whatever fonts this machine has; the last test checks the real
glyph check on real fonts when they are installed.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from vision.review import text
from vision.review.text import FONT_ENV, FontMissing, find_cjk_font

WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.fixture
def fonts(tmp_path, monkeypatch):
    """Three font files: one fontconfig lists that draws no Chinese, one it lists that does, one Debian path."""
    paths = {name: tmp_path / f"{name}.ttc" for name in ("latin", "cjk", "debian")}
    for p in paths.values():
        p.write_bytes(b"font")
    monkeypatch.delenv(FONT_ENV, raising=False)
    monkeypatch.setattr(text, "fontconfig_cjk_fonts", lambda: [paths["latin"], paths["cjk"]])
    monkeypatch.setattr(text, "draws_chinese", lambda p: p != paths["latin"])
    monkeypatch.setattr(text, "CANDIDATES", [str(tmp_path / "absent.ttc"), str(paths["debian"])])
    return paths


def test_the_environment_variable_comes_first(fonts, monkeypatch):
    """$CONDUCT_COACH_FONT wins over fontconfig and the Debian paths."""
    monkeypatch.setenv(FONT_ENV, str(fonts["debian"]))
    assert find_cjk_font() == fonts["debian"]


def test_an_environment_font_that_is_not_there_is_named(fonts, monkeypatch, tmp_path):
    """A $CONDUCT_COACH_FONT pointing nowhere is a one-line error naming the variable, not a silent fallback."""
    monkeypatch.setenv(FONT_ENV, str(tmp_path / "gone.ttf"))
    with pytest.raises(FontMissing, match=r"^\$CONDUCT_COACH_FONT .*gone\.ttf: no such file$"):
        find_cjk_font()


def test_fontconfig_comes_next_skipping_fonts_without_chinese(fonts):
    """Fontconfig's first font that really draws Chinese is taken; one that cannot is passed over."""
    assert find_cjk_font() == fonts["cjk"]


def test_the_debian_paths_come_last(fonts, monkeypatch):
    """With fontconfig finding nothing usable, the first Debian path that exists is taken."""
    monkeypatch.setattr(text, "fontconfig_cjk_fonts", lambda: [fonts["latin"]])
    assert find_cjk_font() == fonts["debian"]


def test_no_font_at_all_is_one_line_naming_the_package(fonts, monkeypatch):
    """Nothing anywhere: one line that names fonts-wqy-microhei and the variable."""
    monkeypatch.setattr(text, "fontconfig_cjk_fonts", lambda: [])
    monkeypatch.setattr(text, "CANDIDATES", [])
    with pytest.raises(FontMissing) as exc:
        find_cjk_font()
    msg = str(exc.value)
    assert "\n" not in msg and "fonts-wqy-microhei" in msg and FONT_ENV in msg


def test_fontconfig_order_kept_and_only_fonts_covering_chinese(monkeypatch):
    """fc-match's order of preference, restricted to what fc-list says covers Chinese, each file once."""
    out = {"fc-match": ["/f/dejavu.ttf", "/f/noto-cjk.ttc", "/f/wqy.ttc", "/f/noto-cjk.ttc"],
           "fc-list": ["/f/wqy.ttc", "/f/noto-cjk.ttc"]}
    monkeypatch.setattr(text, "_fc", lambda *args: out[args[0]])
    assert text.fontconfig_cjk_fonts() == [Path("/f/noto-cjk.ttc"), Path("/f/wqy.ttc")]


def test_no_fontconfig_means_no_fontconfig_fonts():
    """A missing fc-match binary gives no candidates, not an error."""
    assert text._fc("/nonexistent/fc-match", ":lang=zh") == []


@pytest.mark.skipif(not (WQY.is_file() and DEJAVU.is_file()), reason="needs fonts-wqy-microhei and DejaVu")
def test_the_glyph_check_tells_a_cjk_font_from_a_latin_one():
    """WenQuanYi draws Chinese; DejaVu Sans (what fc-match ':lang=zh' can answer first) does not."""
    assert text.draws_chinese(WQY) and not text.draws_chinese(DEJAVU)
