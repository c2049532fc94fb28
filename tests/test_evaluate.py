"""vision.evaluate: events matched to labels one to one; false positives only where the clip assesses the rule."""
import json

import yaml

from vision.evaluate import FAMILIES, Score, evaluate, not_judged_during, score_clip
from vision.io.events import Event


def ev(rule, start, end):
    return Event(rule, "violation", start, end, int(start * 10), int(end * 10), 0, "medium", "", "", "")


def score(clip, events, rules, pooled=None, wrong_view=()):
    scores = {}
    excused = lambda rule, s, e: "camera view" if rule in wrong_view else None  # noqa: E731
    score_clip({"file": "x.mp4", **clip}, events, rules, 0.25, scores, pooled=pooled, excused=excused)
    return scores


def test_one_event_per_labelled_episode_is_a_hit():
    s = score({"events": [{"rule": "sit.slouch", "start": 2.0, "end": 5.0}]}, [ev("sit.slouch", 2.1, 4.8)],
              ["sit.slouch"])["sit.slouch"]
    assert (s.tp, s.fp, s.fn) == (1, 0, 0)
    assert len(s.onset_errors) == 1 and abs(s.onset_errors[0] - 0.1) < 1e-9


def test_two_events_for_one_episode_are_one_hit_and_one_false_positive():
    """One to one: the event nearest in onset is the hit, the other a false positive (the clip assesses the rule)."""
    s = score({"events": [{"rule": "sit.slouch", "start": 2.0, "end": 8.0}]},
              [ev("sit.slouch", 2.2, 3.0), ev("sit.slouch", 5.0, 7.5)], ["sit.slouch"])["sit.slouch"]
    assert (s.tp, s.fp, s.fn) == (1, 1, 0)
    assert abs(s.onset_errors[0] - 0.2) < 1e-9


def test_one_event_cannot_hit_two_labels():
    """An event spanning two labelled episodes matches one of them; the other is a miss."""
    clip = {"events": [{"rule": "gesture.phone", "start": 1.0, "end": 2.0},
                       {"rule": "gesture.phone", "start": 3.0, "end": 4.0}]}
    s = score(clip, [ev("gesture.phone", 1.0, 4.0)], ["gesture.phone"])["gesture.phone"]
    assert (s.tp, s.fp, s.fn) == (1, 0, 1)


def test_events_are_ignored_where_the_clip_says_nothing_about_the_rule():
    s = score({"events": [{"rule": "sit.slouch", "start": 0, "end": 1}]}, [ev("gesture.phone", 0, 1)],
              ["sit.slouch", "gesture.phone"])
    assert "gesture.phone" not in s or s["gesture.phone"].fp == 0


def test_an_event_of_an_absent_rule_is_a_false_positive():
    s = score({"absent": ["gesture.phone"]}, [ev("gesture.phone", 0, 1)], ["gesture.phone"])["gesture.phone"]
    assert (s.tp, s.fp, s.fn, s.absent_clips) == (0, 1, 0, 1)


def test_family_pooling_matches_any_member_once():
    """Pooled: a nose-pick label is hit by a face-touch event; a second member event on it is a false positive."""
    members = FAMILIES["face-touch family"]
    clip = {"events": [{"rule": "gesture.nose_pick", "start": 1.0, "end": 3.0}]}
    s = score(clip, [ev("gesture.face_touch", 1.0, 2.0), ev("gesture.hair", 2.5, 3.0)], list(members),
              pooled=members)[members[0]]
    assert (s.tp, s.fp, s.fn) == (1, 1, 0)


def test_a_miss_where_the_view_cannot_be_judged_is_not_judged():
    s = score({"events": [{"rule": "arms_crossed", "start": 0, "end": 5}]}, [], ["arms_crossed"],
              wrong_view={"arms_crossed"})["arms_crossed"]
    assert (s.tp, s.fn, s.not_judged) == (0, 0, 1)
    assert Score(tp=1, fp=1, fn=0).f1 == 2 * 0.5 * 1.0 / 1.5


# --- not judged during the labelled interval (run.json judged[rule].spans) ----------------------------------
def meta_with(spans_by_rule, fps=10.0):
    return {"input": {"sample_fps": fps}, "judged": {r: {"judged_s": 1.0, "not_judged_s": 1.0,
                                                         "reasons": {"camera_view": 1.0}, "spans": sp}
                                                     for r, sp in spans_by_rule.items()}}


def test_a_miss_is_excused_only_when_the_rule_was_not_judged_during_the_label():
    """Not judged 0-2 s: a label at 1-2 s is excused, a label at 5-8 s of the same clip is a miss."""
    ex = not_judged_during(meta_with({"sit.slouch": [[0.0, 2.0, "camera_view"]]}))
    assert ex("sit.slouch", 1.0, 2.0) == "camera_view"
    assert ex("sit.slouch", 5.0, 8.0) is None
    assert ex("sit.slouch", 1.5, 4.5) is None  # 0.55 s of 3 s not judged: under half, a miss
    assert ex("sit.lean_back", 1.0, 2.0) is None  # another rule


def test_the_reason_covering_most_of_the_label_is_given_and_a_still_needs_its_instant_covered():
    ex = not_judged_during(meta_with({"gesture.eating": [[0.0, 0.5, "camera_view"], [0.6, 3.0, "not_seen"]]}))
    assert ex("gesture.eating", 0.0, 3.0) == "not_seen"
    still = not_judged_during(meta_with({"gesture.phone": [[0.0, 0.0, "pose_only"]]}))
    assert still("gesture.phone", 0.0, 0.0) == "pose_only"
    assert not_judged_during(meta_with({"gesture.phone": []}))("gesture.phone", 0.0, 0.0) is None


def test_a_family_label_is_excused_only_when_every_member_was_not_judged():
    meta = meta_with({"sit.slouch": [[0.0, 9.0, "camera_view"]], "sit.lean_back": []})
    assert not_judged_during(meta)(("sit.slouch", "sit.lean_back"), 1.0, 3.0) is None
    meta["judged"]["sit.lean_back"]["spans"] = [[0.0, 9.0, "camera_view"]]
    assert not_judged_during(meta)(("sit.slouch", "sit.lean_back"), 1.0, 3.0) == "camera_view"


def test_a_run_without_spans_falls_back_to_camera_view_anywhere_in_the_clip():
    meta = {"input": {}, "judged": {"sit.slouch": {"judged_s": 1, "not_judged_s": 1, "reasons": {"camera_view": 1}},
                                    "face.smile": {"judged_s": 2, "not_judged_s": 0, "reasons": {}}}}
    assert not_judged_during(meta)("sit.slouch", 40.0, 41.0) == "camera view"
    assert not_judged_during(meta)("face.smile", 0.0, 1.0) is None


def test_evaluate_reads_the_spans_of_a_synthetic_run_folder(tmp_path, rules):
    """Two labels of one rule, one inside a not-judged span: one NJ and one miss, and run.json checks spans."""
    from vision.io.frames import SourceInfo
    from vision.io.run_meta import RunMetaError, write_run_json
    from vision.run_record import input_meta, new_run_json
    import pytest

    clip = tmp_path / "media" / "clip.mp4"
    clip.parent.mkdir()
    clip.write_bytes(b"")
    rid = rules.enabled[0].id
    info = SourceInfo(str(clip), "video", 10.0, 100, 64, 48, 10.0)
    doc = new_run_json(input_meta(str(clip), info, 0.0, None, 10.0), rules, {}, 0)
    doc.update(status="complete", status_reason=None,
               judged={rid: {"judged_s": 8.0, "not_judged_s": 2.0, "reasons": {"camera_view": 2.0},
                             "spans": [[1.0, 3.0, "camera_view"]]}})
    run = tmp_path / "runs" / "clip"
    run.mkdir(parents=True)
    write_run_json(run, doc)
    (run / "events.jsonl").write_text("", encoding="utf-8")
    labels = tmp_path / "media" / "labels.yaml"
    labels.write_text(yaml.safe_dump({"clips": [{"file": "clip.mp4", "split": "tune", "events": [
        {"rule": rid, "start": 1.5, "end": 2.5}, {"rule": rid, "start": 6.0, "end": 7.0}]}]}), encoding="utf-8")
    s = evaluate(labels, tmp_path / "runs")["rules"][rid]
    assert (s["tp"], s["fn"], s["not_judged"]) == (0, 1, 1)
    doc["judged"][rid]["spans"] = [[3.0, 1.0, "camera_view"]]
    with pytest.raises(RunMetaError, match=r"spans\[0\]"):
        write_run_json(run, doc)
    assert json.loads((run / "run.json").read_text())["judged"][rid]["spans"] == [[1.0, 3.0, "camera_view"]]
