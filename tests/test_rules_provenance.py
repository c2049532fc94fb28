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


RULE_THRESHOLD = re.compile(r"\b(above|below|exit):\s*-?\d")
FEATURE = re.compile(r"feature:\s*(\w+)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def bare_rule_thresholds(text: str) -> list:
    """Lines of the `rules:` section setting `above:`/`below:`/`exit:` to a number with no source: no comment on
    the line, no comment line directly above it at its own indentation (a comment indented deeper continues the
    line before), and its feature not named in the rule's block comment (comment lines at the rule's key level)."""
    lines = text.splitlines()
    start = lines.index("rules:")
    bare, block = [], []
    for no in range(start + 1, len(lines)):
        line = lines[no]
        if line.startswith("  - id:"):  # a new rule: its block comment is every `    # ...` line up to the next
            end = next((k for k in range(no + 1, len(lines)) if lines[k].startswith("  - id:")), len(lines))
            block = " ".join(x for x in lines[no:end] if _indent(x) == 4 and x.lstrip().startswith("#"))
        if not RULE_THRESHOLD.search(line) or "#" in line:
            continue
        above = lines[no - 1]
        if above.lstrip().startswith("#") and _indent(above) == _indent(line):
            continue
        feature = FEATURE.search(line)
        if feature and re.search(rf"\b{feature.group(1)}\b", block):
            continue
        bare.append(f"{no + 1}: {line.strip()}")
    return bare


def test_every_numeric_rule_threshold_line_has_a_comment():
    """In `rules:`, each `above:`/`below:`/`exit:` number has a comment on its line or directly above, or its
    feature is named in the rule's block comment (a standard, geometry or a tune measurement)."""
    bare = bare_rule_thresholds(RULES.read_text(encoding="utf-8"))
    assert not bare, "rule thresholds without a source comment:\n" + "\n".join(bare)


def _without_comment(text: str, key: str) -> str:
    """``text`` with the line holding ``key`` stripped of its trailing comment and of the comment block above it."""
    lines = text.splitlines()
    i = next(k for k, x in enumerate(lines) if key in x)
    lines[i] = lines[i].split("#")[0].rstrip()
    while lines[i - 1].lstrip().startswith("#") and _indent(lines[i - 1]) == _indent(lines[i]):
        del lines[i - 1]
        i -= 1
    return "\n".join(lines)


def test_a_rule_threshold_whose_comment_is_removed_is_reported():
    """The rule check names a condition line once its own comment (on the line, or the block above) is gone."""
    text = RULES.read_text(encoding="utf-8")
    for key in ("{feature: hand_mouth_dist, below: 0.08, exit: 0.2}", "{feature: smile, above: 0.04, exit: 0.0}",
                "{feature: fingertip_mouth_dist, below: 0.04, exit: 0.06}"):
        bare = bare_rule_thresholds(_without_comment(text, key))
        assert len(bare) == 1 and key in bare[0], bare


def test_a_rule_block_comment_covers_only_the_features_it_names():
    """A rule's block comment covers a line only if it names that line's feature; a comment indented deeper than a
    line (the continuation of the line before) does not cover it."""
    text = ("rules:\n  - id: x\n    # trunk_side_deg: a source\n    all:\n      - {feature: trunk_side_deg, above: 1}\n"
            "      - {feature: a, above: 1}   # a source\n        # which goes on here\n      - {feature: b, below: 2}\n")
    assert [b.split(": ", 1)[1] for b in bare_rule_thresholds(text)] == ["- {feature: b, below: 2}"]
    renamed = text.replace("# trunk_side_deg: a source", "# the trunk: a source")
    assert [b.split(": ", 1)[1] for b in bare_rule_thresholds(renamed)] == \
        ["- {feature: trunk_side_deg, above: 1}", "- {feature: b, below: 2}"]
