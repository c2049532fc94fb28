"""Still frames on real footage at every frame (real models): a talking trainee at a desk has many, a dancer none,
and skipping them keeps what the run finds."""
from __future__ import annotations

import pytest

from conftest import REPO
from vision.io.cache import load_tracks
from vision.judge.rules import load_rules
from vision.pipeline import analyze

pytestmark = pytest.mark.real

MEDIA = REPO.parent / "shared" / "media"


def _run(name: str, out, every_frame: bool = False):
    return analyze(str(MEDIA / name), str(out), load_rules(REPO / "rules.yaml"), sample_fps=None, progress=False,
                   every_frame=every_frame)


def test_a_seated_talking_clip_skips_the_models_on_its_still_frames_and_finds_the_same(tmp_path):
    """The bench clip (25 frames a second): about 30 % of its frames are still (measured: 68 of 225); the run
    with them interpolated finds events of the same rules as the one with every frame through the models, and
    its cache has every frame."""
    name = "hands_gesture/woman_seated_talking_hands_clasped_gesturing.mp4"
    gated, every = _run(name, tmp_path / "gated"), _run(name, tmp_path / "every", every_frame=True)
    n = gated.info["timings"]["frames_analysed"]
    assert n == every.info["timings"]["frames_analysed"] == 225
    assert 0.2 * n <= gated.info["timings"]["frames_interpolated"] <= 0.4 * n
    assert "frames_interpolated" not in every.info["timings"]
    assert gated.info["options"]["every_frame"] is False and every.info["options"]["every_frame"] is True
    assert gated.info["timings"]["probe"]["body_px"] > 100  # the seated woman, about a third of the frame wide
    assert {e.rule for e in gated.events} == {e.rule for e in every.events}
    assert len(load_tracks(gated.out_dir)[0]) == n


def test_a_dancer_moves_in_every_frame_so_none_is_still(tmp_path):
    res = _run("standing/man_dancing_standing.mp4", tmp_path / "dance")
    assert res.info["timings"]["frames_analysed"] > 90 and res.info["timings"]["frames_interpolated"] == 0
