"""Evidence gating: what is not in the picture is not judged (issue 7, failure class 1)."""
import numpy as np
import pytest

from builders import make_person, make_track
from conftest import REPO
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
