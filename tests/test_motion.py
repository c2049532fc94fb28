"""Movement rules on synthetic motion whose answer is known by construction: face.nod (a head pitch
oscillation), sit.sit_down_gently (hips dropping onto a seat fast or slowly), walk.steady (a steady or
surging pace); none fires where its evidence is unseen; streaming equals offline."""
from __future__ import annotations

import numpy as np
import pytest
from builders import IMAGE_WH, make_frames, make_track, nodding, sitting_down, walking

from vision.detect.landmarks import FrameLandmarks, LandmarkTrack
from vision.features.table import compute_features
from vision.judge.analyzer import PersonAnalyzer, analyze_track
from vision.judge.rules import load_rules

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
RULES = load_rules("rules.yaml")


def track_of(people, fps=10.0) -> LandmarkTrack:
    return LandmarkTrack.from_frames([FrameLandmarks(i, i / fps, [p]) for i, p in enumerate(people)], 0, IMAGE_WH)


def fired(track: LandmarkTrack, rule: str):
    events, engine, table = analyze_track(track, RULES)
    return [e for e in events if e.rule == rule], engine, table


# --- face.nod --------------------------------------------------------------------------------------------------
def test_head_nod_depth_is_the_amplitude_of_a_down_and_up_movement():
    """head_nod_deg reads the nod's amplitude once a full down-and-up has been seen; 0 for a still head."""
    f = compute_features(make_track(nodding(15.0, 1.0, 3.0)))
    assert np.nanmax(f["head_nod_deg"]) == pytest.approx(15.0, abs=0.5)
    assert f["head_nod_deg"][5] == pytest.approx(0.0, abs=0.1)  # at the bottom of the first nod: not back up yet
    still = compute_features(make_track([{}] * 30))
    assert np.nanmax(still["head_nod_deg"]) == pytest.approx(0.0, abs=1e-6)


def test_nodding_is_seen_and_a_still_or_lowered_head_is_not_a_nod():
    """Three 15-deg nods: face.nod; a still head, a 4-deg tremor, or a head that goes down and stays: none.
    (The landmark filter, rules.yaml ``smoothing:``, reads a 0.8-s nod ~2 deg shallower and a frame later.)"""
    events, _, _ = fired(make_track([{}] * 30 + nodding(15.0, 0.8, 2.4)), "face.nod")
    assert len(events) == 1 and 3.0 < events[0].start_s <= 3.8 and events[0].peak["value"] >= 12.5
    assert fired(make_track([{}] * 60), "face.nod")[0] == []
    assert fired(make_track([{}] * 30 + nodding(4.0, 0.8, 3.2)), "face.nod")[0] == []
    down = [{}] * 30 + [dict(neck_flexion_deg=min(20.0, 2.0 * i)) for i in range(40)]
    assert fired(make_track(down), "face.nod")[0] == []


def test_a_nod_is_not_judged_without_a_face_or_in_profile():
    """No face mesh: head_nod_deg is NaN and face.nod is not judged; side-on it is outside the rule's views."""
    _, engine, table = fired(make_track([dict(face=False)] * 30 + nodding(15.0, 0.8, 2.4, face=False)), "face.nod")
    assert np.isnan(table["head_nod_deg"]).all() and engine.judged_s["face.nod"] == 0.0
    events, engine, _ = fired(make_track(nodding(15.0, 0.8, 4.0, facing="right")), "face.nod")
    assert events == [] and engine.not_judged()["face.nod"]["wrong_view_frames"] > 30


# --- sit.sit_down_gently -----------------------------------------------------------------------------------------
def test_dropping_onto_the_seat_is_sitting_down_heavily():
    """Hips drop a thigh length in 0.4 s: sit.sit_down_gently fires once, right after the seat is reached."""
    events, _, table = fired(track_of(sitting_down(0.4)), "sit.sit_down_gently")
    assert len(events) == 1 and 2.0 <= events[0].start_s <= 2.6
    assert events[0].peak["value"] > 3.0 and table["standing_now"][0] == 1.0 and table["standing_now"][-1] == 0.0


def test_lowering_onto_the_seat_slowly_is_gentle():
    """The same descent over 1.5 s peaks below 2 shoulder widths a second: no event."""
    events, _, table = fired(track_of(sitting_down(1.5)), "sit.sit_down_gently")
    assert events == [] and np.nanmax(table["sit_down_speed_3s"]) < 2.0


def test_sitting_down_is_not_judged_with_the_legs_out_of_view():
    """Hips and legs unseen: no posture decision, so the fast drop is not judged and nothing fires."""
    events, engine, table = fired(track_of(sitting_down(0.4, hips_visible=False)), "sit.sit_down_gently")
    assert events == [] and engine.judged_s["sit.sit_down_gently"] == 0.0
    assert np.isnan(table["standing_now"]).all()


def test_someone_already_seated_who_drops_is_not_sitting_down():
    """Seated throughout (no standing in the last 3 s): a fast hip movement is no sit-down."""
    seated = sitting_down(0.4)[-1]
    events, _, _ = fired(track_of([seated] * 40), "sit.sit_down_gently")
    assert events == []


# --- walk.steady -------------------------------------------------------------------------------------------------
def test_a_steady_walk_is_walk_steady():
    """Crossing the image at a constant 0.6 m/s (1.6 shoulder widths a second): walk.steady holds."""
    events, _, table = fired(track_of(walking([0.6], 1.0, 5.0)), "walk.steady")
    assert len(events) == 1 and events[0].end_s - events[0].start_s >= 2.5  # once 2 s of pace are seen
    assert np.nanmedian(table["walk_speed"]) == pytest.approx(0.6 / 0.38, rel=0.02)


def test_a_surging_walk_is_not_steady():
    """Surging between 0.8 and 0.4 m/s every second: walking throughout, but the pace is not steady."""
    events, _, table = fired(track_of(walking([0.8, 0.4], 1.0, 6.0)), "walk.steady")
    assert events == []
    assert np.nanmin(table["walk_speed"][5:]) > 1.0  # walking all along: the gate is not why it is silent
    assert np.nanmin(table["walk_pace_cv_3s"]) > 0.2  # never steady enough to enter


def test_walking_is_not_judged_with_the_legs_out_of_view_or_when_standing_still():
    """Legs unseen: walk_speed is NaN and walk.steady is not judged; standing still is not walking."""
    events, engine, table = fired(track_of(walking([0.6], 1.0, 5.0, hips_visible=False)), "walk.steady")
    assert events == [] and np.isnan(table["walk_speed"]).all() and engine.judged_s["walk.steady"] == 0.0
    assert fired(track_of(walking([0.0], 1.0, 5.0)), "walk.steady")[0] == []


# --- streaming ---------------------------------------------------------------------------------------------------
def test_movement_rules_stream_exactly_as_offline():
    """A nod, a heavy sit-down and a walk, pushed frame by frame, give exactly the offline events."""
    people = [make_frames([s])[0].people[0] for s in [{}] * 30 + nodding(15.0, 0.8, 2.4)]
    people += sitting_down(0.4) + walking([0.6], 1.0, 7.0) + walking([0.8, 0.4], 1.0, 4.0)
    track = track_of(people)
    offline, _, _ = analyze_track(track, RULES)
    pa = PersonAnalyzer(RULES, 0, IMAGE_WH)
    online = []
    for i, p in enumerate(people):
        online += pa.push(FrameLandmarks(i, i / 10.0, [p]))
    online += pa.finish()
    key = lambda e: (e.start_s, e.rule, e.kind)  # noqa: E731
    assert [e.to_json() for e in sorted(online, key=key)] == [e.to_json() for e in sorted(offline, key=key)]
    assert {"face.nod", "sit.sit_down_gently", "walk.steady"} <= {e.rule for e in offline}
