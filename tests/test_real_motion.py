"""The movement rules on real footage where their answer is known from the labels: no clip of
../shared/media labels face.nod, sit.sit_down_gently or walk.steady, so these check only that they
stay silent, or are not judged, where the labels make them impossible."""
from __future__ import annotations

from pathlib import Path

import pytest

from vision.io.events import read_events
from vision.judge.rules import load_rules
from vision.pipeline import analyze

REPO = Path(__file__).resolve().parent.parent
MEDIA = REPO.parent / "shared" / "media"
pytestmark = [pytest.mark.real, pytest.mark.skipif(not MEDIA.exists(), reason="../shared/media not beside the repo")]
MOVES = {"face.nod", "sit.sit_down_gently", "walk.steady"}


def run(tmp_path, name, fps=10.0):
    out = tmp_path / name.replace("/", "__")
    res = analyze(str(MEDIA / name), str(out), load_rules(REPO / "rules.yaml"), sample_fps=fps, progress=False,
                  appearance=None)
    return {e.rule for e in read_events(out / "events.jsonl")}, res


def test_a_still_photo_shows_no_movement(tmp_path):
    """One frame: nothing moves, so no nod, sit-down or walk (tune still)."""
    rules, _ = run(tmp_path, "standing/three_business_people_standing.jpg", fps=None)
    assert not rules & MOVES


def test_seated_throughout_is_no_sit_down_and_no_walk(tmp_path):
    """sideview_man_posture_sequence (tune): seated in every segment, side view: no sit-down, no walk, and no
    nod (profile: outside face.nod's views), though the cuts between stills jump the hips and head."""
    rules, _ = run(tmp_path, "sitting/sideview_man_posture_sequence.mp4")
    assert not rules & MOVES


def test_chest_up_framing_leaves_sit_down_and_walk_unjudged(tmp_path):
    """man_standing_service_bow (tune): he walks in and out chest-up, legs never seen: the leg rules do not fire."""
    rules, _ = run(tmp_path, "standing/man_standing_service_bow.mp4")
    assert not rules & {"sit.sit_down_gently", "walk.steady"}
