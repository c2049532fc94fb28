"""Every threshold of rules.yaml's detectors and appearance sections says where it comes from."""
import re
from pathlib import Path

RULES = Path(__file__).resolve().parent.parent / "rules.yaml"
NUMBER_KEY = re.compile(r"^\s+\w+:\s*\[?\s*-?\d")  # `key: 0.5` or `key: [0.2, 1.4]`


def _section(text: str, start: str, end: str) -> list:
    lines = text.splitlines()
    a = lines.index(start)
    b = next(i for i in range(a + 1, len(lines)) if lines[i].startswith(end))
    return list(enumerate(lines[a:b], a + 1))


def test_no_threshold_is_carried_over_without_a_source():
    """rules.yaml no longer marks any threshold "(carried over)": each names a standard, geometry or tune."""
    assert "(carried over)" not in RULES.read_text(encoding="utf-8")


def bare_thresholds(text: str) -> list:
    """Lines of `detectors:` and `appearance:` (up to `defaults:`) setting a number with no comment on the
    line or in a comment block directly above it."""
    lines = text.splitlines()
    return [f"{no}: {line.strip()}" for no, line in _section(text, "detectors:", "defaults:")
            if NUMBER_KEY.match(line) and "#" not in line and not lines[no - 2].lstrip().startswith("#")]


def test_every_numeric_detector_and_appearance_threshold_line_has_a_comment():
    """In `detectors:` and `appearance:`, a line setting a number has a comment saying its source."""
    bare = bare_thresholds(RULES.read_text(encoding="utf-8"))
    assert not bare, "thresholds without a source comment:\n" + "\n".join(bare)


def test_a_threshold_whose_comment_is_removed_is_reported():
    """The check names a threshold line once its comment is gone (detector options and appearance alike)."""
    text = RULES.read_text(encoding="utf-8")
    for key in ("out_enter: 0.45", "skin_delta_e: 16.0"):
        line = next(x for x in text.splitlines() if key in x)
        bare = bare_thresholds(text.replace(line, line.split("#")[0].rstrip()))
        assert len(bare) == 1 and key in bare[0]
