"""The landmark pool with the real models: one instance and two give the same run (vision.detect.pool)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import REPO
from vision.detect.landmarks import PERSON_ARRAYS
from vision.io.cache import load_tracks
from vision.io.events import read_events
from vision.judge.rules import load_rules
from vision.pipeline import analyze

pytestmark = pytest.mark.real

CLIP = REPO.parent / "shared" / "media" / "hands_gesture" / "woman_seated_talking_hands_clasped_gesturing.mp4"


def test_one_holistic_instance_and_two_give_the_same_landmarks_and_events(tmp_path):
    """Every frame of the seated clip (225 frames: four segments of 64), Holistic alone and two instances side by
    side: the landmark cache is identical array for array, and so are the events. Segments start afresh
    whichever instance takes them, so a run does not depend on the machine's cores."""
    rules = load_rules(REPO / "rules.yaml")
    runs = {}
    for n in (1, 2):
        res = analyze(str(CLIP), str(tmp_path / f"t{n}"), rules, sample_fps=None, progress=False, threads=n)
        assert res.info["timings"]["model_instances"] == n
        runs[n] = (load_tracks(str(tmp_path / f"t{n}"))[0], read_events(tmp_path / f"t{n}" / "events.jsonl"))
    (one, ev1), (two, ev2) = runs[1], runs[2]
    assert len(one) == len(two) == 225
    for name in PERSON_ARRAYS:
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name), err_msg=name)
    assert ev1 and [e.to_json() for e in ev1] == [e.to_json() for e in ev2]
