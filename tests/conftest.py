"""Shared fixtures: small rules files whose behaviour the tests know by heart.

The ``real`` marker (real MediaPipe on ../shared/media) is declared in
pyproject.toml. ``media_runs`` analyses every labelled file of ../shared/media
once per test session (about two minutes), for every real test that needs
those runs; nothing else here loads a model.
"""
from __future__ import annotations

import sys
from pathlib import Path
from textwrap import dedent

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
sys.path.insert(0, str(TESTS))  # so test modules can `import builders`

from vision.judge.rules import RuleSet, parse_rules  # noqa: E402

#: A slouch (relative to the person's calibrated upright), a lean back, a face
#: touch and a desired "smile": a copy of the repo's rules reduced to what
#: the tests need, so edits to ../rules.yaml do not move these tests.
RULES_YAML = dedent("""\
    version: 1
    calibration:
      window_s: [0.0, 3.0]
      clamp:
        trunk_pitch_deg: [-15.0, 10.0]
    defaults:
      min_duration_s: 0.5
      merge_gap_s: 0.5
      severity: medium
    rules:
      - id: sit.slouch
        clause: "1.3 坐姿: 座立端正"
        message: {zh: 弯腰驼背，低头, en: "Slouching, trunk rounded forward"}
        all:
          - {feature: trunk_pitch_deg, above: 20, exit: 15, relative: true}
        min_duration_s: 1.0
        evidence: [trunk_pitch_deg]
      - id: sit.lean_back
        clause: "1.3 坐姿: 不得仰靠座位的背部"
        message: {zh: 身体后仰靠在椅背上, en: Leaning back against the chair}
        all:
          - {feature: trunk_pitch_deg, below: -15, exit: -11, relative: true}
        min_duration_s: 1.0
      - id: gesture.face_touch
        clause: "1.1.8 接待客户过程中不良动作 (触摸面部)"
        message: {zh: 用手触摸面部, en: Touching the face}
        all:
          - {feature: hand_face_dist, below: 0.09, exit: 0.14}
        min_duration_s: 0.3
        region_from: "hand_{region}_dist"
        evidence: [hand_face_dist, hand_nose_dist]
      - id: face.smile
        kind: desired
        clause: "1.1.2 面带微笑"
        severity: info
        message: {zh: 面带微笑, en: Smiling}
        all:
          - {feature: smile, above: 0.04, exit: 0.0}
        min_duration_s: 0.3
    """)


def one_rule(feature: str = "smile", op: str = "above", enter: float = 0.5, exit=None,
             min_duration_s: float = 0.0, merge_gap_s: float = 0.0, kind: str = "violation") -> RuleSet:
    """A rules file with a single rule ``r`` on one feature (engine tests)."""
    exit_part = f", exit: {exit}" if exit is not None else ""
    return parse_rules(dedent(f"""\
        rules:
          - id: r
            kind: {kind}
            clause: c
            message: {{zh: 中文, en: english}}
            all:
              - {{feature: {feature}, {op}: {enter}{exit_part}}}
            min_duration_s: {min_duration_s}
            merge_gap_s: {merge_gap_s}
        """), "test.yaml")


@pytest.fixture
def rules_text() -> str:
    return RULES_YAML


@pytest.fixture
def rules() -> RuleSet:
    return parse_rules(RULES_YAML, "test_rules.yaml")


@pytest.fixture
def repo_rules_path() -> Path:
    return REPO / "rules.yaml"


MEDIA = REPO.parent / "shared" / "media"


@pytest.fixture(scope="session")
def media_runs(tmp_path_factory):
    """Every labelled file of ../shared/media analysed once at the default 10 fps (stills and frame folders as
    they come), with the repo's rules: run folders named like score.py expects (``/`` -> ``__``)."""
    from vision.evaluate import load_labels
    from vision.judge.rules import load_rules
    from vision.pipeline import analyze

    if not (MEDIA / "labels.yaml").is_file():
        pytest.fail("../shared/media is not checked out beside the repo")
    out = tmp_path_factory.mktemp("media_runs")
    rules = load_rules(REPO / "rules.yaml")
    for clip in load_labels(MEDIA / "labels.yaml")["clips"]:
        src = MEDIA / clip["file"]
        fps = None if clip["kind"] == "image" or src.is_dir() else 10.0
        analyze(str(src), str(out / clip["file"].replace("/", "__")), rules, sample_fps=fps, progress=False)
    return out
