"""The landmark pool with the real models: one instance and two give the same run (vision.detect.pool)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import REPO
from vision.detect.landmarks import PERSON_ARRAYS
from vision.io.cache import load_tracks
from vision.judge.rules import load_rules
from vision.pipeline import analyze

pytestmark = pytest.mark.real

CLIP = REPO.parent / "shared" / "media" / "hands_gesture" / "woman_seated_talking_hands_clasped_gesturing.mp4"


def test_a_segmented_run_is_the_same_with_one_holistic_instance_or_two():
    """Every frame of the seated clip (225 frames: four segments of 64) with Holistic, segments taken by one
    instance and by two side by side: the landmarks are identical array for array. Each segment starts afresh
    whichever instance takes it, so ``--threads N`` gives the same run on any machine for every N >= 2."""
    from vision.detect.holistic import HolisticDetector
    from vision.detect.pool import CHUNK, DetectorPool
    from vision.io.frames import FrameSource

    runs = {}
    for n in (1, 2):
        with FrameSource(str(CLIP)) as src, DetectorPool(HolisticDetector, workers=n, chunk=CHUNK) as pool:
            runs[n] = [people for _, people in pool.run(src)]
    assert len(runs[1]) == len(runs[2]) == 225
    for a, b in zip(runs[1], runs[2]):
        assert len(a) == len(b)
        for p, q in zip(a, b):
            for name in PERSON_ARRAYS:
                np.testing.assert_array_equal(getattr(p, name), getattr(q, name), err_msg=name)


def test_analyze_with_one_instance_is_the_plain_model_loop(tmp_path):
    """The default analyze (one instance in its own thread) stores exactly the landmarks of a plain loop of
    Holistic over the same frames: the pool changes when the models run, not what they find."""
    from vision.detect.holistic import HolisticDetector
    from vision.io.frames import FrameSource

    rules = load_rules(REPO / "rules.yaml")
    res = analyze(str(CLIP), str(tmp_path / "run"), rules, sample_fps=10.0, progress=False, appearance=None)
    assert res.info["timings"]["model_instances"] == 1
    cached = load_tracks(str(tmp_path / "run"))[0]
    with FrameSource(str(CLIP), sample_fps=10.0) as src, HolisticDetector() as det:
        plain = [det.detect(f.image_bgr, f.timestamp_s) for f in src]
    assert len(plain) == len(cached)
    for i, people in enumerate(plain):
        np.testing.assert_array_equal(people[0].pose_xyz, cached.pose_xyz[i])
        np.testing.assert_array_equal(people[0].face_xyz, cached.face_xyz[i])
