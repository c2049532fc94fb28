"""scripts/rejudge_versions.py: a rules file judged again on analysed runs, scored with the hidden set's scorer,
without writing the runs it was given."""
import importlib.util
from pathlib import Path

from conftest import MEDIA, REPO

SCRIPT = REPO / "scripts" / "rejudge_versions.py"


def _script():
    spec = importlib.util.spec_from_file_location("rejudge_versions", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_rule_switched_off_loses_its_hits_and_the_given_runs_are_untouched(media_runs, tmp_path):
    mod = _script()
    before = {p: p.read_bytes() for p in Path(media_runs).glob("*/events.jsonl")}
    repo = mod.judge(MEDIA / "labels.yaml", Path(media_runs), str(REPO / "rules.yaml"), "tune", tmp_path / "a")
    text = (REPO / "rules.yaml").read_text(encoding="utf-8")
    contact = "- {feature: hand_face_dist, below: 0.09, exit: 0.14}"
    assert text.count(contact) == 1  # gesture.face_touch's contact bar
    never = tmp_path / "rules.yaml"
    never.write_text(text.replace(contact, "- {feature: hand_face_dist, below: -1.0, exit: -1.0}"), encoding="utf-8")
    off = mod.judge(MEDIA / "labels.yaml", Path(media_runs), str(never), "tune", tmp_path / "b")
    assert repo["face_touch"]["tp"] >= 5  # the repo's rules find the tune touches
    assert off["face_touch"]["tp"] < repo["face_touch"]["tp"]  # the other touch ids (hair, nose) may still hit
    assert off["posture_bad"] == repo["posture_bad"]  # nothing else moved
    assert {p: p.read_bytes() for p in Path(media_runs).glob("*/events.jsonl")} == before
    assert "P 0.50 R 0.25" in mod.line("x", "phone", {"tp": 1, "fp": 1, "fn": 3})


def test_a_run_whose_object_hits_are_stale_is_named_in_the_notes(media_runs, tmp_path):
    """A copy made before the detector looked both ways is re-judged unlike a fresh analysis: the run is named
    with the fix, and a run made with the current pass is not."""
    import json
    import shutil

    mod = _script()
    name = "phone__suzie_closeup_landline_phone_call.mp4"
    runs = tmp_path / "runs"
    for run in (name, "face_touch__hagrid_call_gesture_man_hand_at_ear.jpg"):
        shutil.copytree(Path(media_runs) / run, runs / run)
    doc_path = runs / name / "run.json"
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    objects = doc["models"]["files"]["objects"]
    assert objects.pop("both_ways") is True and objects.pop("pass_version") == 2  # a fresh run says so
    doc_path.write_text(json.dumps(doc), encoding="utf-8")
    notes = []
    mod.judge(MEDIA / "labels.yaml", runs, str(REPO / "rules.yaml"), "tune", tmp_path / "a", notes)
    assert [run for run, _ in notes] == [name]
    assert "one way" in notes[0][1] and f"backfill_objects.py {runs / name}" in notes[0][1]  # the fix: the given run
