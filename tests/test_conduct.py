"""The rest of the code of conduct on synthetic people whose answer is known by construction:
sitting or standing, standing rules, crossed arms, brows, gaze toward the customer, camera views."""
from __future__ import annotations

from pathlib import Path

from dataclasses import replace

import numpy as np
import pytest
from builders import IMAGE_WH, feature_table, make_person, make_track

from vision.features import geometry as g
from vision.judge.analyzer import analyze_track
from vision.judge.engine import Engine
from vision.features.table import compute_features
from vision.detect.landmarks import LandmarkTrack

REPO = Path(__file__).resolve().parent.parent
from vision.judge.rules import load_rules, parse_rules

PX_PER_M = 300.0


def _move(person, idx, dxy_m):
    """Move pose points by (dx, dy) metres in the image (y down), world and image alike."""
    pose, world = person.pose_xyz.copy(), person.pose_world_xyz.copy()
    for i in idx:
        pose[i, 0] += dxy_m[0] * PX_PER_M / IMAGE_WH[0]
        pose[i, 1] += dxy_m[1] * PX_PER_M / IMAGE_WH[1]
        world[i, :2] += dxy_m
    return replace(person, pose_xyz=pose, pose_world_xyz=world)


STAND_PX_PER_M = 200.0  # a smaller person, hips higher in the frame, so the legs fit in it


def standing_person(**kw):
    """The builder's person is seated (thighs toward the camera); put knees and ankles under the hips."""
    p = make_person(px_per_m=STAND_PX_PER_M, hip_px=(320, 180), **kw)
    pose, world = p.pose_xyz.copy(), p.pose_world_xyz.copy()
    for hip, knee, ankle, heel, toe in ((23, 25, 27, 29, 31), (24, 26, 28, 30, 32)):
        for i, down in ((knee, 0.45), (ankle, 0.9), (heel, 0.92), (toe, 0.92)):
            pose[i, :2] = pose[hip, :2] + (0.0, down * STAND_PX_PER_M / IMAGE_WH[1])
            world[i] = world[hip] + (0.0, down, 0.0)
    return replace(p, pose_xyz=pose, pose_world_xyz=world)


def track_of(people, fps=10.0):
    from vision.detect.landmarks import FrameLandmarks

    frames = [FrameLandmarks(i, i / fps, [p]) for i, p in enumerate(people)]
    return LandmarkTrack.from_frames(frames, 0, IMAGE_WH)


def test_the_builders_seated_person_is_sitting_and_a_standing_one_standing():
    """standing_now: thighs toward the camera or horizontal -> 0; legs straight under the hips -> 1."""
    seated = compute_features(make_track([{}, {"facing": "right"}]))
    assert list(seated["standing_now"]) == [0.0, 0.0]
    standing = compute_features(track_of([standing_person(), standing_person(facing="right")]))
    assert list(standing["standing_now"]) == [1.0, 1.0]


def test_no_legs_no_posture_decision_and_the_last_one_holds_for_five_seconds():
    """Hips and legs out of view: standing_now is NaN; `standing` keeps the last decision 5 s, then NaN."""
    people = [standing_person()] * 2 + [make_person(hips_visible=False)] * 70
    f = compute_features(track_of(people))
    assert np.isnan(f["standing_now"][2:]).all()
    assert f["standing"][2 + 40] == 1.0  # 4 s later
    assert np.isnan(f["standing"][2 + 60])  # 6 s later


def test_sit_rules_apply_when_sitting_not_when_standing_and_not_when_the_posture_is_unknown():
    """The repo's sit.upright holds for a seated person (or one the user says sits), never for a standing
    one, and is not judged for a person whose legs are unseen (unknown posture)."""
    rules = load_rules("rules.yaml")
    for people, posture, expect in (([make_person()] * 40, "auto", True),
                                    ([make_person(hips_visible=False)] * 40, "auto", False),
                                    ([make_person(hips_visible=False)] * 40, "sitting", True),
                                    ([standing_person()] * 40, "auto", False)):
        events, _, _ = analyze_track(track_of(people), rules, posture=posture)
        assert ("sit.upright" in {e.rule for e in events}) is expect


def test_stand_upright_and_feet_for_a_still_standing_person():
    """A standing person, trunk vertical, feet under the hips: stand.upright and stand.feet, no leaning."""
    rules = load_rules("rules.yaml")
    people = [standing_person()] * 40
    events, _, table = analyze_track(track_of(people), rules)
    found = {e.rule for e in events}
    assert {"stand.upright", "stand.feet"} <= found
    assert "stand.no_leaning" not in found
    assert table["hip_sway_2s"][-1] == pytest.approx(0.0, abs=1e-6)


def test_sideways_lean_while_standing_is_leaning():
    """Trunk tilted 15 degrees sideways for 3 s while standing: stand.no_leaning, and not upright then (from the
    step on, or one frame after it: the landmark filter, rules.yaml ``smoothing:``, may lag an instant step)."""
    rules = load_rules("rules.yaml")
    people = [standing_person()] * 30 + [standing_person(side_lean_deg=15.0)] * 30
    events, _, table = analyze_track(track_of(people), rules)
    lean = [e for e in events if e.rule == "stand.no_leaning"]
    assert len(lean) == 1 and 3.0 <= lean[0].start_s <= 3.1 + 1e-9
    assert table["trunk_side_deg"][-1] == pytest.approx(15.0, abs=0.5)


def test_crossed_arms_are_seen_from_the_front_only():
    """Wrists moved across the mid line at stomach height: arms_crossed 1; NaN in a side view."""
    p = make_person(hand_at="hip", other_hand="hip")  # hands by the hips: not crossed
    folded = make_person(hand_at="chest", other_hand="chest")
    sh_mid_x = (p.pose_xyz[11, 0] + p.pose_xyz[12, 0]) / 2 * IMAGE_WH[0] / PX_PER_M
    crossed = folded
    for wrist, target_dx in ((15, -0.08), (16, 0.08)):  # person's left wrist to image left (their right) ...
        dx = sh_mid_x + target_dx - folded.pose_xyz[wrist, 0] * IMAGE_WH[0] / PX_PER_M
        crossed = _move(crossed, [wrist], (dx, 0.0))
    f = compute_features(track_of([p, crossed]))
    assert list(f["arms_crossed"]) == [0.0, 1.0]
    side = compute_features(make_track([{"facing": "right"}]))
    assert np.isnan(side["arms_crossed"][0])


def test_brows_drawn_down_lower_brow_raise_by_the_distance_moved():
    """Moving both mid-brow points 5 mm toward the eyes lowers brow_raise by 5 mm over the face height."""
    p = make_person()
    face = p.face_xyz.copy()
    face[[105, 334]] = face[[159, 386]] + (0.0, -0.02 * PX_PER_M / IMAGE_WH[1], 0.0)
    lowered = face.copy()
    lowered[[105, 334], 1] += 0.005 * PX_PER_M / IMAGE_WH[1]
    f = compute_features(track_of([replace(p, face_xyz=face), replace(p, face_xyz=lowered)]))
    from builders import FACE_H

    assert f["brow_raise"][0] - f["brow_raise"][1] == pytest.approx(0.005 / FACE_H, rel=0.02)


@pytest.mark.parametrize("yaw", [25.0, -25.0])
def test_gaze_toward_the_customer_side(yaw):
    """A head turned 25 degrees: gaze 25 degrees off the camera, and 15 off the customer on that side."""
    f_cam = compute_features(make_track([{"facing": yaw}]), customer_side="camera")
    gaze = f_cam["gaze_yaw_deg"][0]
    assert abs(gaze) == pytest.approx(25.0, abs=4.0)  # head turn plus the small iris offset a turn projects
    assert f_cam["gaze_off_target_deg"][0] == pytest.approx(abs(gaze))
    side = "right" if gaze > 0 else "left"
    f_side = compute_features(make_track([{"facing": yaw}]), customer_side=side)
    assert f_side["gaze_off_target_deg"][0] == pytest.approx(40.0 - abs(gaze), abs=1e-6)


def test_unknown_customer_side_is_refused():
    with pytest.raises(ValueError, match="customer side"):
        compute_features(make_track([{}]), customer_side="behind")


def test_missing_pass_lets_a_gate_through_only_when_unseen():
    """`missing: pass`: NaN meets the threshold; a seen value is compared as usual."""
    rs = parse_rules("""
rules:
  - id: r
    clause: c
    message: {zh: 中, en: e}
    all:
      - {feature: standing, below: 0.5, missing: pass}
      - {feature: smile, above: 0.1}
    min_duration_s: 0
""", "t.yaml")
    table = feature_table(standing=[np.nan, 0.0, 1.0, np.nan], smile=[0.2, 0.2, 0.2, np.nan])
    enter, _ = rs.rules[0].masks(table.values, {})
    assert list(enter) == [True, True, False, False]


def test_a_rule_outside_its_views_is_not_judged_and_says_so():
    """views: [front] on a side view: no event, and not_judged reports the time and the valid views."""
    rs = parse_rules("""
rules:
  - id: r
    clause: c
    message: {zh: 中, en: e}
    views: [front]
    all:
      - {feature: smile, above: 0.1}
    min_duration_s: 0
""", "t.yaml")
    table = feature_table(smile=[0.5] * 10, profile=[0.9] * 10, body_scale=[0.2] * 10)
    eng = Engine(rs, 0, {})
    assert eng.feed(table) + eng.finish() == []
    nj = eng.not_judged()["r"]
    assert nj["wrong_view_frames"] == 10 and nj["valid_views"] == ["front"]
    assert nj["wrong_view_s"] == pytest.approx(0.9)
    front = feature_table(smile=[0.5] * 10, profile=[0.1] * 10, body_scale=[0.2] * 10)
    eng = Engine(rs, 0, {})
    assert len(eng.feed(front) + eng.finish()) == 1 and eng.not_judged() == {}


def test_unknown_view_names_are_refused_with_a_suggestion():
    from vision.judge.rules import RulesError

    with pytest.raises(RulesError, match=r"rules\[0\] \(r\)\.views\[0\]: unknown view 'frontal'; did you mean 'front'"):
        parse_rules("""
rules:
  - id: r
    clause: c
    message: {zh: 中, en: e}
    views: [frontal]
    all: [{feature: smile, above: 0.1}]
""", "t.yaml")


def test_trailing_last_is_a_causal_forward_fill_with_a_limit():
    t = np.arange(8.0)
    v = np.array([np.nan, 1.0, np.nan, np.nan, 0.0, np.nan, np.nan, np.nan])
    out = g.trailing_last(v, t, 2.0)
    np.testing.assert_array_equal(out, [np.nan, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, np.nan])
    np.testing.assert_array_equal(g.trailing_last(v, t, 2.0, from_index=5), out[5:])


def test_detector_entries_are_checked_with_suggestions_naming_the_entry():
    """detectors: the common keys are checked by rules.py; unknown ids, thresholds and texts by the detector's
    own code, each error naming the entry and suggesting the right key; known values reach the detector."""
    from vision.judge.gesture_registry import check_detectors, make_detectors
    from vision.judge.rules import RulesError

    text = open("rules.yaml", encoding="utf-8").read()
    guide = "palm_up_min: 0.5           # cos"
    rs = parse_rules(text.replace(guide, "palm_up_min: 0.7           # cos"), "t.yaml")
    check_detectors(rs)
    (det, _, _) = make_detectors(0, False, rs.detectors)  # guide, give, take
    assert det.o.palm_up_min == 0.7 and det.say["palm_up"]["en"] == "palm not up"
    with pytest.raises(RulesError, match=r"t\.yaml: detectors\[0\] \(hand\.guide_form\)\.options\.palm_up: unknown key; "
                                         r"did you mean 'palm_up_min'"):
        check_detectors(parse_rules(text.replace(guide, "palm_up: 0.7           # cos"), "t.yaml"))
    with pytest.raises(RulesError, match=r"detectors\[0\] \(hand\.guide_from\)\.id: no detector judges "
                                         r"'hand\.guide_from'; did you mean 'hand\.guide_form'"):
        check_detectors(parse_rules(text.replace("id: hand.guide_form", "id: hand.guide_from"), "t.yaml"))
    with pytest.raises(RulesError, match=r"height_band: must be a list of 2 numbers"):
        check_detectors(parse_rules(text.replace("height_band: [0.2, 1.4]", "height_band: 0.3"), "t.yaml"))
    with pytest.raises(RulesError, match=r"\(hand\.two_hand_give\)\.messages\.one_hnd: unknown key; did you mean 'one_hand'"):
        check_detectors(parse_rules(text.replace("      one_hand: {zh:", "      one_hnd: {zh:", 1), "t.yaml"))
    with pytest.raises(RulesError, match=r"detectors\[1\] \(hand\.two_hand_give\)\.severty: unknown key; "
                                         r"did you mean 'severity'"):
        parse_rules(text.replace("    severity: medium\n    message: {zh: 双手递送", "    severty: medium\n"
                                 "    message: {zh: 双手递送"), "t.yaml")
    off = parse_rules(text.replace("  - id: hand.two_hand_give\n", "  - id: hand.two_hand_give\n    enabled: false\n"),
                      "t.yaml")
    assert "hand.two_hand_give" not in off.detectors and "hand.two_hand_give" in off.catalogue()


def test_every_id_the_tool_can_emit_is_in_the_rules_file_with_texts():
    """The catalogue: every rule and detector id of rules.yaml has a clause, severity and zh/en messages, and
    the detector code judges no id that is not in the file."""
    from vision.judge.appearance import APPEARANCE_RULES
    from vision.judge.gesture_registry import GESTURES

    cat = load_rules("rules.yaml").catalogue()
    assert set(GESTURES) | set(APPEARANCE_RULES) <= set(cat)
    for rid, entry in cat.items():
        assert entry["clause"] and entry["message_zh"] and entry["message_en"], rid
        assert entry["severity"] in ("info", "low", "medium", "high") and isinstance(entry["enabled"], bool), rid


def test_a_hand_held_in_front_of_the_face_is_not_a_touch():
    """Same fingertip on the nose: a hand of normal size touches; one 1.8x bigger (nearer the camera) does not.
    With the hand model lost (pose points only) the size is unknown and the touch still counts."""
    rules = load_rules("rules.yaml")
    at_nose = make_person(hand_at="nose")
    tip = at_nose.right_hand_xyz[8].copy()
    big = replace(at_nose, right_hand_xyz=tip + 1.8 * (at_nose.right_hand_xyz - tip))
    sizes = compute_features(track_of([at_nose, big]))["hand_face_size"]
    assert sizes[1] == pytest.approx(1.8 * sizes[0], rel=1e-3) and sizes[0] < 0.62 < sizes[1]
    for person, expect in ((at_nose, True), (big, False), (make_person(hand_at="nose", hand_model=False), True)):
        events, _, table = analyze_track(track_of([person] * 10), rules)
        assert ("gesture.face_touch" in {e.rule for e in events}) is expect, table["hand_face_size"][0]


def test_every_core_and_stretch_behaviour_of_the_code_is_an_enabled_entry():
    """conduct.md's core and stretch ids are enabled entries of rules.yaml (enabled: false would not count),
    the two-person ones (walk.escort, hand.two_hand_take) included."""
    import re

    conduct = REPO.parent / "shared" / "conduct.md"
    if not conduct.is_file():
        pytest.fail("../shared/conduct.md is not checked out beside the repo")
    wanted = {m.group(1) for m in re.finditer(r"^\| ([a-z_]+\.[a-z_]+|arms_crossed) \|.*\| (?:core|stretch) \|\s*$",
                                              conduct.read_text(encoding="utf-8"), re.M)}
    assert len(wanted) >= 30 and {"walk.escort", "hand.two_hand_take"} <= wanted  # the table was read
    cat = load_rules("rules.yaml").catalogue()
    missing = sorted(i for i in wanted if not cat.get(i, {}).get("enabled"))
    assert missing == []
