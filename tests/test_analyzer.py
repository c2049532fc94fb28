"""vision.judge.analyzer: streaming (PersonAnalyzer) and offline (analyze_track) agree; calibration is per person."""
import numpy as np
import pytest

from builders import jittered, make_frames, make_track, segments
from conftest import REPO, one_rule
from vision.judge.analyzer import PersonAnalyzer, analyze_track
from vision.judge.rules import load_rules

# Exact profile views divide by a zero face width inside features.py (the answer there is NaN, on purpose).
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

UPRIGHT = dict(facing="right")
SLOUCH = dict(facing="right", trunk_pitch_deg=30.0)
TOUCH = dict(facing="right", hand_at="ear")  # from the front, fingertip on the ear


def stream(specs, rules, **kw):
    """Push frames one by one; returns (events, the analyzer)."""
    pa = PersonAnalyzer(rules, 0, (640, 480), **kw)
    events = []
    for frame in make_frames(specs):
        events += pa.push(frame)
    return events + pa.finish(), pa


def as_json(events):
    return sorted((e.to_json() for e in events), key=lambda d: (d["start_s"], d["rule"]))


AT_MOUTH = dict(facing="right", hand_at="mouth")
#: 2 s of chewing at 2 Hz (the lips part for 0.2 s of every 0.5 s: 4 openings at a chewing rate)
CHEW = [dict(facing="right", mouth_open=0.1 * (i % 5 in (2, 3))) for i in range(20)]
#: 26.5 s (longer than the streaming buffer): calibrate upright, slouch, nobody, a face touch, three trips to
#: the mouth with chewing (temporal features), a hand held near the mouth, a lean back.
SCENARIO = (segments((3.0, UPRIGHT), (1.0, UPRIGHT), (3.0, SLOUCH), (2.0, UPRIGHT), (0.5, None), (1.0, TOUCH),
                     (1.0, UPRIGHT))
            + (segments((0.5, AT_MOUTH), (0.5, UPRIGHT)) + CHEW) * 3
            + segments((2.0, dict(facing="right", hand_at="mouth", hand_dist=0.2)),
                       (3.0, dict(facing="right", trunk_pitch_deg=-25.0)), (1.0, UPRIGHT)))


@pytest.mark.parametrize("rules_from,block", [("fixture", 1), ("repo", 1), ("repo", 7), ("repo", 16)])
def test_streaming_frame_by_frame_gives_exactly_the_offline_events(rules_from, block, rules):
    """Whatever the block the streaming analyzer judges frames in (1: every frame at once; 7: blocks that
    straddle every episode edge; 16: the default), the events, baseline and time shares are the offline ones."""
    rs = rules if rules_from == "fixture" else load_rules(REPO / "rules.yaml")
    offline, engine, _ = analyze_track(make_track(SCENARIO), rs)
    online, pa = stream(SCENARIO, rs, block=block)
    assert as_json(online) == as_json(offline)
    assert pa.baseline == engine.baseline
    assert pa.engine.time_share() == engine.time_share()
    if rules_from == "fixture":
        assert [(e.rule, e.start_s, e.end_s) for e in offline] == [
            ("sit.slouch", 4.0, 6.9), ("gesture.face_touch", 9.5, 10.4), ("gesture.face_touch", 11.5, 11.9),
            ("gesture.face_touch", 14.5, 14.9), ("gesture.face_touch", 17.5, 17.9), ("sit.lean_back", 22.5, 25.4)]
        assert [e.evidence["region"] for e in offline[1:5]] == ["ear", "mouth", "mouth", "mouth"]
    else:
        assert "gesture.eating" in {e.rule for e in offline}  # the trips feed the temporal features


@pytest.mark.parametrize("block", [1, 7, 16])
def test_a_face_the_mesh_lost_is_judged_for_2_s_streaming_as_offline(block):
    """The mesh sees the face, then loses it while a hand is on the ear for 4 s, then sees it again: the touch is
    judged (an event) for the first 2 s only, and the carried time of the last mesh frame crosses blocks exactly."""
    specs = segments((1.0, UPRIGHT), (4.0, dict(TOUCH, face=False)), (1.0, TOUCH), (1.0, UPRIGHT))
    rs = one_rule("hand_face_dist", "below", 0.09)
    offline, _, table = analyze_track(make_track(specs), rs)
    online, _ = stream(specs, rs, block=block)
    assert as_json(online) == as_json(offline)
    assert [(e.start_s, e.end_s) for e in offline] == [(1.0, 2.9), (5.0, 5.9)]
    assert np.isnan(table["hand_face_dist"][30:50]).all()


def test_streaming_equals_offline_for_a_hand_held_near_the_mouth_longer_than_the_buffer():
    specs = segments((1.0, dict(hand_at="lap")), (2.0, dict(hand_at="mouth")),
                     (15.0, dict(hand_at="mouth", hand_dist=0.2)))
    rs = one_rule("hand_mouth_time_3s", "above", 1.0)
    offline, _, _ = analyze_track(make_track(specs), rs)
    online, _ = stream(specs, rs)
    assert as_json(online) == as_json(offline)


def test_events_stream_out_as_they_close_not_only_at_the_end(rules):
    """At most a block late: the slouch ending at 6.9 s is out before 8.5 s (16 frames at 10 fps later)."""
    pa = PersonAnalyzer(rules, 0, (640, 480))
    closed_at = []
    for frame in make_frames(SCENARIO):
        if pa.push(frame):
            closed_at.append(frame.timestamp_s)
    assert closed_at and closed_at[0] < 8.6  # the slouch (ends 6.9) is out before the clip ends


def test_baseline_is_the_median_over_the_calibration_window(rules):
    """A person who sits leaning back 10 deg is judged against that, not against 0."""
    lean = dict(facing="right", trunk_pitch_deg=-10.0)
    specs = segments((3.0, lean), (3.0, dict(facing="right", trunk_pitch_deg=12.0)), (1.0, lean))
    events, engine, _ = analyze_track(make_track(specs), rules)
    assert engine.baseline["trunk_pitch_deg"] == pytest.approx(-10.0, abs=0.5)
    # 12 deg is a slouch for this person (22 deg forward of their own upright)
    assert [(e.rule, e.start_s) for e in events] == [("sit.slouch", 3.0)]
    # ... and nothing for someone calibrated upright
    upright = segments((3.0, UPRIGHT), (3.0, dict(facing="right", trunk_pitch_deg=12.0)))
    assert analyze_track(make_track(upright), rules)[0] == []


def test_baseline_is_clamped_so_a_slouch_during_calibration_is_still_a_slouch(rules):
    specs = segments((3.0, dict(facing="right", trunk_pitch_deg=25.0)),
                     (2.0, dict(facing="right", trunk_pitch_deg=25.0)),
                     (2.0, dict(facing="right", trunk_pitch_deg=35.0)))
    events, engine, _ = analyze_track(make_track(specs), rules)
    assert engine.baseline["trunk_pitch_deg"] == 10.0  # clamp [-15, 10]
    assert [(e.rule, e.start_s, e.end_s) for e in events] == [("sit.slouch", 5.0, 6.9)]


def test_an_explicit_calibration_window_is_used_online_and_offline(rules):
    specs = segments((5.0, SLOUCH), (3.0, UPRIGHT), (3.0, SLOUCH))
    _, engine, _ = analyze_track(make_track(specs), rules, calibration_window_s=(5.0, 8.0))
    assert engine.baseline["trunk_pitch_deg"] == pytest.approx(0.0, abs=0.5)
    online, pa = stream(specs, rules, calibration_window_s=(5.0, 8.0))
    assert pa.baseline == engine.baseline
    assert [e.start_s for e in online if e.rule == "sit.slouch"] == [0.0, 8.0]


def test_the_rules_calibration_window_counts_from_when_the_subject_is_first_seen(rules):
    """Nobody for 5 s, then 3 s upright: the baseline is the upright, and streaming agrees."""
    specs = [None] * 50 + segments((3.0, UPRIGHT), (2.0, SLOUCH))
    offline, engine, _ = analyze_track(make_track(specs), rules)
    assert engine.baseline["trunk_pitch_deg"] == pytest.approx(0.0, abs=0.5)
    assert [(e.rule, e.start_s, e.end_s) for e in offline] == [("sit.slouch", 8.0, 9.9)]
    online, pa = stream(specs, rules)
    assert as_json(online) == as_json(offline) and pa.baseline == engine.baseline


def test_a_feature_not_seen_in_the_window_falls_back_to_the_middle_of_the_clamp_range(rules):
    """Calibrated in a front view (no side-view trunk pitch): baseline = middle of [-15, 10]."""
    specs = segments((3.5, {}), (2.0, SLOUCH))
    _, engine, _ = analyze_track(make_track(specs), rules)
    assert engine.baseline["trunk_pitch_deg"] == pytest.approx(-2.5)


def test_a_given_baseline_skips_calibration(rules):
    events, pa = stream(segments((2.0, SLOUCH), (0.5, UPRIGHT)), rules, baseline={"trunk_pitch_deg": 0.0})
    assert pa.baseline == {"trunk_pitch_deg": 0.0}
    assert [(e.rule, e.start_s, e.end_s) for e in events] == [("sit.slouch", 0.0, 1.9)]


def test_a_still_image_logs_what_it_shows_at_time_zero(rules):
    events, _ = stream([TOUCH], rules, still=True)
    assert [(e.rule, e.start_s, e.end_s) for e in events] == [("gesture.face_touch", 0.0, 0.0)]
    offline, _, _ = analyze_track(make_track([TOUCH]), rules, still=True)
    assert as_json(offline) == as_json(events)


def test_a_track_with_nobody_in_it_gives_no_events(rules):
    events, _ = stream([None] * 50, rules)
    assert events == []
    assert np.isnan(analyze_track(make_track([None] * 50), rules)[2]["trunk_pitch_deg"]).all()


def test_streaming_equals_offline_with_the_landmark_filter_on_jittery_landmarks():
    """With the landmark filter on (rules.yaml's tuned parameters), live and offline give exactly the same
    events and baseline."""
    import dataclasses
    rs = load_rules(REPO / "rules.yaml")
    rs = dataclasses.replace(rs, smoothing=dataclasses.replace(rs.smoothing, enabled=True))
    assert rs.smoothing.active
    specs = jittered(SCENARIO, 0.003, seed=7)
    offline, engine, _ = analyze_track(make_track(specs), rs)
    online, pa = stream(specs, rs)
    assert as_json(online) == as_json(offline)
    assert pa.baseline == engine.baseline
    assert {e.rule for e in offline} >= {"sit.slouch", "sit.lean_back"}
