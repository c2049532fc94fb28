"""The real models on real footage with the head cut off: the pose model invents a face on the torso (visibility
about 1.0), and nothing of the face family may be reported from it (issue 7's first failure class)."""
import importlib.util
import json
from pathlib import Path

import pytest

from vision.io.events import read_events
from vision.judge.rules import load_rules
from vision.pipeline import analyze

REPO = Path(__file__).resolve().parent.parent
MEDIA = REPO.parent / "shared" / "media"
FACE_FAMILY = {"gesture.face_touch", "gesture.nose_pick", "gesture.teeth_pick", "gesture.hair",
               "gesture.makeup_mirror", "gesture.eating", "face.smile"}

pytestmark = pytest.mark.real


def _augment():
    spec = importlib.util.spec_from_file_location("augment_eval", REPO / "scripts" / "augment_eval.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("clip", ["hands_gesture/woman_seated_talking_hands_clasped_gesturing.mp4",
                                  "standing/ted_woman_hands_clasped_then_open_palm_gestures.mp4"])
def test_a_trainee_whose_head_is_out_of_the_picture_gets_no_face_event(media_runs, tmp_path, clip):
    """Cut below the lowest face point the original's run saw, the clip still shows the hands at the chest, where
    the invented face sits: no face-family event (before the face gate: a face touch on each), and the face-touch
    rule is mostly not judged."""
    aug = _augment()
    bottom = aug.face_bottom(media_runs, MEDIA, clip)
    assert bottom is not None and bottom + aug.NOHEAD_MARGIN < 1.0 - aug.NOHEAD_KEEP
    src = tmp_path / "headless.mp4"
    aug.write_video(MEDIA / clip, src, aug.transform("nohead", bottom + aug.NOHEAD_MARGIN))
    out = tmp_path / "run"
    analyze(str(src), str(out), load_rules(REPO / "rules.yaml"), sample_fps=10.0, progress=False)
    rules = {e.rule for e in read_events(out / "events.jsonl")}
    assert not rules & FACE_FAMILY, rules & FACE_FAMILY
    judged = json.loads((out / "run.json").read_text())["judged"]
    touch = judged["gesture.face_touch"]
    assert touch["not_judged_s"] > touch["judged_s"]
