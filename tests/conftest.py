"""Shared fixtures: small rules files whose behaviour the tests know by heart.

The ``real`` marker (real MediaPipe on ../shared/media) is declared in
pyproject.toml; nothing here touches it, and nothing here loads a model.
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
