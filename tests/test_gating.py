"""Evidence gating: what is not in the picture is not judged (issue 7, failure class 1)."""
import dataclasses

import numpy as np
import pytest

from builders import make_frames, make_person, make_track
from conftest import REPO
from vision.detect.landmarks import LandmarkTrack
from vision.features.skeleton import EDGE_MARGIN, face_in_picture, pose_points, seen_track
from vision.features.table import compute_features
from vision.judge.analyzer import analyze_track
from vision.judge.rules import load_rules

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

FACE_RULES = {"gesture.face_touch", "gesture.nose_pick", "gesture.teeth_pick", "gesture.hair",
              "gesture.makeup_mirror", "gesture.eating", "face.smile"}
#: Fingertip on the mouth, smiling: face-touch and smile events when the face is in the picture.
TOUCHING = dict(hand_at="mouth", smile=0.08, px_per_m=500.0)


def _events(hip_y: float, seconds: float = 3.0):
    track = make_track([dict(TOUCHING, hip_px=(320, hip_y))] * int(seconds * 10))
    events, _, table = analyze_track(track, load_rules(REPO / "rules.yaml"))
    return {e.rule for e in events}, table, track


def test_a_head_above_the_top_edge_gives_no_face_family_event_while_the_same_person_in_view_does():
    """Seen from the neck down (pose and mesh face points extrapolated above the top edge, the hand's
    lower points in the picture): no face touch, eating or smile; the same pose 150 px lower fires them."""
    seen, _, _ = _events(hip_y=460.0)
    assert {"gesture.face_touch", "face.smile"} <= seen  # the control: the rule works on this person
    rules, table, track = _events(hip_y=310.0)
    mouth_y = track.face_xyz[:, 13, 1]
    assert np.all(mouth_y < -EDGE_MARGIN)  # the face is above the picture
    assert np.nanmax(track.right_hand_xyz[:, :, 1]) > 0.0  # part of the hand is in it
    assert not rules & FACE_RULES
    assert np.isnan(table["hand_face_dist"]).all() and np.isnan(table["smile"]).all()


def test_pose_points_outside_the_frame_by_more_than_the_margin_are_nan_at_the_edge_they_stay():
    person = make_person(px_per_m=500.0, hip_px=(320, 310))
    track = make_track([person])
    pose = pose_points(track)
    xy = track.pose_xyz[0, :, :2]
    assert np.isnan(pose[0, xy[:, 1] < -EDGE_MARGIN, 0]).all()  # the head, above the picture
    inside = ((xy >= 0.0) & (xy <= 1.0)).all(axis=1) & (track.pose_visibility[0] >= 0.5)
    assert inside.sum() >= 6  # shoulders, elbows, hips
    assert not np.isnan(pose[0, inside, 0]).any()


def test_a_face_mesh_with_its_mouth_outside_the_picture_is_dropped_whole_and_a_cut_forehead_is_kept():
    """The face counts when eyes, nose and mouth are in the picture (a close-up may cut the forehead)."""
    track = make_track([make_person(px_per_m=500.0, hip_px=(320, 310)),
                        make_person(px_per_m=500.0, hip_px=(320, 400))])
    forehead_y = track.face_xyz[1, 10, 1]
    assert forehead_y < -EDGE_MARGIN < track.face_xyz[1, 13, 1]  # row 1: forehead cut, mouth in
    assert face_in_picture(track).tolist() == [False, True]
    gated = seen_track(track)
    assert np.isnan(gated.face_xyz[0]).all() and not np.isnan(gated.face_xyz[1]).any()
    table = compute_features(track)
    assert np.isnan(table["mouth_open"][0]) and not np.isnan(table["mouth_open"][1])


# --- sitting, standing or not judged (failure class 5) ---------------------------------------------------------

def waist_up(**kw):
    """Hips in the picture, knees and feet not (a desk, a table or the bottom edge hides them)."""
    from dataclasses import replace

    person = make_person(**kw)
    vis = person.pose_visibility.copy()
    vis[25:] = 0.05
    return replace(person, pose_visibility=vis)


def _posture_run(specs, posture="auto"):
    rules = load_rules(REPO / "rules.yaml")
    specs = [waist_up(**s) if isinstance(s, dict) and s.pop("waist_up", False) else s for s in map(dict, specs)]
    events, engine, _ = analyze_track(make_track(specs), rules, posture=posture)
    from vision.run_record import judged
    return {e.rule for e in events}, judged(engine, rules, (len(specs) - 1) / 10.0)


def test_head_and_shoulders_with_the_head_sunk_gives_no_slouch_and_says_posture_unknown():
    """Head and shoulders only (a person at a wall or on camera): sitting or standing cannot be told, so no slouch
    and no sitting-upright share; run.json's judged names posture_unknown as the reason."""
    specs = [dict(hips_visible=False)] * 30 + [dict(hips_visible=False, trunk_pitch_deg=35.0)] * 40
    rules, judged = _posture_run(specs)
    assert not {r for r in rules if r.startswith(("sit.", "stand."))}
    for rid in ("sit.slouch", "sit.upright", "stand.upright"):
        assert judged[rid]["judged_s"] == 0.0
        assert judged[rid]["reasons"].get("posture_unknown", 0.0) > 6.0


def test_posture_sitting_judges_the_same_waist_up_footage_with_the_sitting_rules():
    """--posture sitting: the waist-up person who slouches after calibration gets sit.slouch."""
    specs = [dict(waist_up=True)] * 30 + [dict(waist_up=True, trunk_pitch_deg=35.0)] * 40
    rules, judged = _posture_run(specs, posture="sitting")
    assert "sit.slouch" in rules and "posture_unknown" not in judged["sit.slouch"]["reasons"]


def test_posture_standing_judges_standing_rules_on_waist_up_footage_and_silences_sitting_ones():
    """--posture standing on waist-up footage: stand.upright is judged (and holds for an upright person),
    no sitting rule is."""
    rules, judged = _posture_run([dict(waist_up=True)] * 40, posture="standing")
    assert "stand.upright" in rules
    assert judged["stand.upright"]["judged_s"] > 3.0
    assert not {r for r in rules if r.startswith("sit.")}


def test_seated_at_a_table_with_the_legs_hidden_is_never_called_standing():
    """Thighs invented straight under a table but shanks unseen: not standing (the whole leg must be seen)."""
    from dataclasses import replace

    person = make_person()
    pose, vis = person.pose_xyz.copy(), person.pose_visibility.copy()
    pose[[25, 26], 0] = pose[[23, 24], 0]
    pose[[25, 26], 1] = pose[[23, 24], 1] + 0.25  # knees straight below the hips, as if standing
    vis[27:] = 0.05  # ankles and feet hidden by the table
    table = compute_features(make_track([replace(person, pose_xyz=pose, pose_visibility=vis)] * 5))
    assert not (table["standing_now"] == 1.0).any()
    assert not (table["standing"] == 1.0).any()


def _side_legs(thigh_deg: float):
    """A person seen side-on with the whole leg in the picture, thighs ``thigh_deg`` from vertical (0 standing)."""
    from builders import with_legs

    return with_legs(make_person(facing="right", hip_px=(300, 150), px_per_m=200.0), thigh_deg, 200.0)


def test_one_frames_leg_reading_does_not_turn_a_standing_person_into_a_sitting_one():
    """One frame of seated legs inside a standing stretch (a glitch of the pose model) leaves the decision standing;
    two in a row within a second (table.CONFIRM_S) change it."""
    stand, sit = _side_legs(0.0), _side_legs(90.0)
    once = compute_features(make_track([stand] * 20 + [sit] + [stand] * 20))
    assert once["standing_now"][20] == 0.0  # the reading is there
    assert np.all(once["standing"][1:] == 1.0)  # the first reading waits for a second one
    twice = compute_features(make_track([stand] * 20 + [sit] * 2 + [stand] * 20))
    assert twice["standing"][21] == 0.0 and twice["standing"][23] == 1.0


def test_a_photo_is_decided_on_its_one_leg_reading():
    sit = _side_legs(90.0)
    assert compute_features(make_track([sit]), still=True)["standing"][0] == 0.0
    assert np.isnan(compute_features(make_track([sit]))["standing"][0])  # one frame of a video: not yet


def test_a_thigh_pointing_up_past_120_deg_is_no_seat():
    """A knee well above the hip (legs the pose model invented) is no sitting reading; a low seat's 110 deg is."""
    table = compute_features(make_track([_side_legs(140.0), _side_legs(110.0)]))
    assert np.isnan(table["standing_now"][0]) and table["standing_now"][1] == 0.0
    assert table["thigh_incline_deg"][0] == pytest.approx(140.0, abs=1.0)


def test_a_face_mesh_away_from_the_pose_face_does_not_vouch_for_it():
    """The mesh counts as seeing the pose's face only where their noses agree (within MESH_POSE_APART): a mesh on
    somebody else's face, half a shoulder width off, leaves the pose's face unevidenced, so after MESH_GAP_S of it a
    hand there is not judged for a touch; the same mesh on the face is seen, and the touch is judged."""
    from vision.features.touch import MESH_GAP_S, MESH_POSE_APART

    on = make_person(hand_at="cheek")
    off = dataclasses.replace(on, face_xyz=on.face_xyz + np.array([0.12, 0.0, 0.0], np.float32))
    n = int((MESH_GAP_S + 1.0) * 10)

    def run(person):
        track = LandmarkTrack.from_frames(make_frames([person] * n, 10.0), 0, (640, 480))
        table = compute_features(track)
        events, _, _ = analyze_track(track, load_rules(REPO / "rules.yaml"), baseline={})
        return table, {e.rule for e in events}

    table, fired = run(on)
    assert table["face_mesh_seen"][0] == 1.0 and "gesture.face_touch" in fired
    table, fired = run(off)
    apart = np.linalg.norm((off.face_xyz[1, :2] - on.pose_xyz[0, :2]) * [640 / 480, 1.0])
    assert apart / np.nanmedian(table["body_scale"]) > MESH_POSE_APART
    assert table["face_mesh_seen"][0] == 0.0 and np.isnan(table["hand_face_dist"][-1])
    assert "gesture.face_touch" not in fired
