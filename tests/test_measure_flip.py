"""scripts/measure_flip.py counts a cup or food as at the mouth the way the feature ``mouth_object`` does: a box
within its reach of the pose's mouth, in any crop; one elsewhere in the picture is not evidence at the mouth."""
import dataclasses
import importlib.util

import numpy as np

from builders import make_person
from conftest import REPO
from vision.detect.objects import ObjectHit
from vision.features.objects import AT_MOUTH_GAP

SCRIPT = REPO / "scripts" / "measure_flip.py"
WH = (640, 480)


def _script():
    spec = importlib.util.spec_from_file_location("measure_flip", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_only_a_box_at_the_mouth_counts_as_a_cup_at_the_mouth():
    mod = _script()
    person = make_person(hand_at="lap")
    x, y, reach = mod.mouth_reach(person, WH, 100.0)
    assert reach == AT_MOUTH_GAP * 100.0
    at_lips = ObjectHit("cup", "drink", 0.45, (x - 10, y + reach / 2, x + 10, y + 40), "right_hand")
    on_table = ObjectHit("bowl", "utensil", 0.6, (x - 20, y + 3 * reach, x + 20, y + 4 * reach), "mouth")
    groups, crops = mod.EVIDENCE["mouth"][1:]
    assert mod.best([at_lips, on_table], groups, crops, (x, y, reach)) == 0.45  # the bowl below is not at the mouth
    assert mod.best([at_lips, on_table], groups, crops) == 0.6  # anywhere in the crops: what the hands measure
    assert mod.best([on_table], groups, crops, (x, y, reach)) == 0.0


def test_no_mouth_seen_gives_no_reach():
    mod = _script()
    person = make_person(hand_at="lap")
    pose = person.pose_xyz.copy()
    pose[9] = np.nan
    assert mod.mouth_reach(dataclasses.replace(person, pose_xyz=pose), WH, 100.0) is None
    assert mod.mouth_reach(person, WH, None) is None
