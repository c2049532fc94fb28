"""vision.features.table on synthetic people whose right answer is known by construction (see builders.py).

Tolerances: angles within 1 deg, body-scaled distances within 0.01 shoulder
widths, unless a test says otherwise.
"""
import warnings
from dataclasses import replace

import numpy as np
import pytest

from builders import NECK, SW, make_person, make_track, segments
from vision.features.table import FEATURES, REGIONS, compute_features, instant_features, temporal_features
from vision.detect.landmarks import FrameLandmarks, LandmarkTrack

DEG, SW_TOL = 1.0, 0.01
HAND_FEATURES = ([f"hand_{r}_dist" for r in REGIONS]
                 + ["hand_face_dist", "hand_y_below_chin", "hand_mouth_margin", "hand_nose_margin",
                    "hand_ear_margin", "call_sign"])


@pytest.fixture(autouse=True)
def _quiet():
    # profile views divide by a zero face width on purpose (NaN/inf is the answer there)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def feats(**spec):
    """Features of one frame of one person."""
    table = compute_features(make_track([spec], image_wh=spec.pop("image_wh", (640, 480))))
    return {k: float(v[0]) for k, v in table.values.items()}


def test_every_computed_feature_is_documented_in_FEATURES_and_vice_versa():
    assert set(compute_features(make_track([{}])).values) == set(FEATURES)


def test_body_scale_is_one_shoulder_width_in_image_heights():
    f = feats(px_per_m=300.0, image_wh=(640, 480))
    assert f["body_scale"] == pytest.approx(0.38 * 300 / 480, rel=1e-3)


# --- posture ---------------------------------------------------------------
@pytest.mark.parametrize("facing", ["right", "left"])
@pytest.mark.parametrize("pitch", [-30.0, 0.0, 20.0])
def test_trunk_pitch_in_a_side_view_is_signed_forward_positive(facing, pitch):
    f = feats(facing=facing, trunk_pitch_deg=pitch)
    assert f["profile"] > 0.9
    assert f["trunk_pitch_deg"] == pytest.approx(pitch, abs=DEG)


def test_facing_says_which_image_side_the_nose_points_to():
    assert feats(facing="right")["facing"] == pytest.approx(1.0)
    assert feats(facing="left")["facing"] == pytest.approx(-1.0)
    assert abs(feats()["facing"]) < 0.05


def test_front_view_flexion_comes_from_world_landmarks_and_the_side_view_image_angle_is_nan():
    f = feats(trunk_pitch_deg=20.0)
    assert f["profile"] < 0.1
    assert f["trunk_flexion_deg"] == pytest.approx(20.0, abs=DEG)
    assert np.isnan(f["trunk_pitch_deg"])  # documented: NaN in other views
    assert feats(trunk_pitch_deg=-10.0)["trunk_flexion_deg"] == pytest.approx(-10.0, abs=DEG)


def test_neck_flexion_and_head_forward_in_a_side_view():
    upright = feats(facing="right")
    bowed = feats(facing="right", neck_flexion_deg=25.0)
    assert upright["neck_flexion_deg"] == pytest.approx(0.0, abs=DEG)
    assert bowed["neck_flexion_deg"] == pytest.approx(25.0, abs=DEG)
    # the ears, 0.21 m up the neck from the shoulder line, move 0.21 m * sin(25 deg) ahead
    assert bowed["head_forward"] == pytest.approx((NECK + 0.01) * np.sin(np.radians(25)) / SW, abs=SW_TOL)
    assert upright["head_forward"] == pytest.approx(0.0, abs=SW_TOL)


def test_sideways_lean_gives_shoulder_tilt_and_trunk_side_angle():
    f = feats(side_lean_deg=10.0)
    assert f["shoulder_tilt_deg"] == pytest.approx(10.0, abs=DEG)
    assert f["trunk_side_deg"] == pytest.approx(10.0, abs=DEG)
    assert feats()["trunk_side_deg"] == pytest.approx(0.0, abs=DEG)


def test_torso_yaw_from_world_landmarks_and_profile_grows_with_the_turn():
    assert feats(facing=30.0)["torso_yaw_deg"] == pytest.approx(30.0, abs=DEG)
    assert feats()["profile"] == pytest.approx(0.0, abs=0.02)
    assert feats(facing=30.0)["profile"] == pytest.approx(1 - np.cos(np.radians(30)), abs=0.02)
    assert feats(facing="right")["profile"] == pytest.approx(1.0, abs=0.02)


def test_head_yaw_from_the_mesh_is_zero_facing_and_follows_a_small_turn():
    assert feats()["head_yaw_deg"] == pytest.approx(0.0, abs=DEG)
    # the feature reads arcsin(tan(yaw)) off the mesh: 15.5 deg for a 15 deg turn
    assert feats(facing=15.0)["head_yaw_deg"] == pytest.approx(15.0, abs=1.5)
    assert feats(facing="right")["head_yaw_deg"] == pytest.approx(90.0, abs=DEG)


def test_head_pitch_is_positive_when_the_head_bows():
    assert feats()["head_pitch_deg"] == pytest.approx(0.0, abs=DEG)
    assert feats(neck_flexion_deg=20.0)["head_pitch_deg"] == pytest.approx(20.0, abs=DEG)
    assert feats(neck_flexion_deg=-10.0)["head_pitch_deg"] == pytest.approx(-10.0, abs=DEG)


def test_nose_below_ears_grows_when_the_head_bows():
    assert feats(neck_flexion_deg=30.0)["nose_below_ears"] > feats()["nose_below_ears"] + 0.1


def test_upper_body_only_when_hips_are_not_seen():
    assert feats()["upper_body_only"] == 0.0
    f = feats(hips_visible=False)
    assert f["upper_body_only"] == 1.0
    assert np.isnan(f["trunk_flexion_deg"]) and np.isnan(f["torso_yaw_deg"])


# --- hands and face ----------------------------------------------------------
def test_hand_at_the_nose_is_near_and_at_the_hip_is_far():
    at_nose, at_hip = feats(hand_at="nose"), feats(hand_at="hip")
    assert at_nose["hand_nose_dist"] == pytest.approx(0.0, abs=1e-3)
    assert at_nose["hand_face_dist"] < 0.01
    assert at_hip["hand_nose_dist"] > 1.0
    assert at_hip["hand_face_dist"] > 1.0


@pytest.mark.parametrize("region", REGIONS)
def test_hand_placed_at_a_region_gives_zero_distance_to_that_region(region):
    f = feats(hand_at=region)
    assert f[f"hand_{region}_dist"] == pytest.approx(0.0, abs=1e-3)
    assert f["hand_face_dist"] == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize("d", [0.1, 0.3, 0.6])
def test_hand_distance_is_in_shoulder_widths(d):
    """The fingertip d shoulder widths below the chin's lowest point: hand_chin_dist == d."""
    assert feats(hand_at="chin", hand_dist=d)["hand_chin_dist"] == pytest.approx(d, abs=SW_TOL)


def test_distances_do_not_change_with_image_size_aspect_or_position():
    """Body-scaled: a bigger image, a wider image, a smaller or moved person give the same features."""
    specs = segments((1.0, dict(hand_at="mouth", hand_dist=0.2)), (1.0, dict(hand_at="ear", mouth_open=0.1)),
                     (1.0, dict(trunk_pitch_deg=15.0, smile=0.1)), (1.0, dict(facing="right", hand_at="nose")))
    ref = compute_features(make_track(specs))
    variants = [
        dict(image_wh=(1280, 960)),  # twice the image, same pixels: the person is half as big in it
        dict(image_wh=(960, 480)),  # wider: x is normalised by another width
        dict(px_per_m=150.0, hip_px=(200, 300)),  # farther from the camera, and elsewhere
    ]
    for v in variants:
        wh = v.pop("image_wh", (640, 480))
        other = compute_features(make_track([{**s, **v} for s in specs], image_wh=wh))
        for name in FEATURES:
            if name in ("body_scale", "hip_x", "hip_y"):  # in image units / a position in the image, by design
                continue
            np.testing.assert_allclose(other[name], ref[name], atol=2e-3, rtol=1e-3, equal_nan=True,
                                       err_msg=f"{name} changed with {v or wh}")


def test_missing_hand_gives_nan_distances_never_zero():
    f = feats(hand_at=None)
    for name in HAND_FEATURES:
        assert np.isnan(f[name]), f"{name} = {f[name]} with no hand seen"


def test_a_hand_seen_only_by_the_pose_model_still_gives_distances():
    f = feats(hand_at="ear", hand_model=False)
    assert np.isfinite(f["hand_ear_dist"]) and f["hand_ear_dist"] < 0.3
    assert np.isnan(f["call_sign"])  # the hand shape needs the hand model


def test_no_face_mesh_gives_nan_mouth_and_head_pitch_but_pose_keeps_the_face_regions():
    """The mesh saw the face a second before (a hand now covers it): the pose's nose stands in; a photo without the
    mesh keeps the pose's face too."""
    table = compute_features(make_track([{}] + [{"face": False}] * 9 + [{"face": False, "hand_at": "nose"}]))
    f = {k: float(v[-1]) for k, v in table.values.items()}
    for name in ("mouth_open", "smile", "mouth_width", "head_pitch_deg"):
        assert np.isnan(f[name]), name
    assert f["face_mesh_gap_s"] == pytest.approx(1.0)
    assert f["hand_nose_dist"] == pytest.approx(0.0, abs=1e-3)  # pose nose point
    still = compute_features(make_track([{"face": False, "hand_at": "nose"}]), still=True)
    assert still["face_mesh_gap_s"][0] == 0.0 and still["hand_nose_dist"][0] == pytest.approx(0.0, abs=1e-3)


def test_a_face_the_mesh_never_saw_or_lost_long_ago_is_not_judged():
    """A video in which the mesh never finds the face (the head out of the picture: the pose invents one) gives no
    hand-to-face measure at all; one the mesh lost 2 s ago neither, until the mesh finds it again."""
    from vision.features.touch import FACE_GATED

    never = compute_features(make_track([{"face": False, "hand_at": "nose"}] * 30))
    assert np.isnan(never["face_mesh_gap_s"]).all()
    for name in FACE_GATED:
        assert np.isnan(never[name]).all(), name
    assert np.isfinite(never["body_scale"]).all()  # the body is still judged
    lost = compute_features(make_track([{}] * 5 + [{"face": False, "hand_at": "nose"}] * 25 + [{"hand_at": "nose"}]))
    gap = lost["face_mesh_gap_s"]
    assert gap[4] == 0.0 and gap[24] == pytest.approx(2.0) and gap[25] == pytest.approx(2.1) and gap[30] == 0.0
    assert np.isfinite(lost["hand_nose_dist"][[5, 24, 30]]).all()
    assert np.isnan(lost["hand_nose_dist"][25:30]).all() and np.isnan(lost["hand_face_size"][25:30]).all()


def test_a_frame_with_nobody_gives_nan_for_every_instant_feature():
    values = instant_features(make_track([None]))
    assert [k for k, v in values.items() if not np.isnan(v[0])] == []


def test_low_visibility_pose_points_are_not_seen():
    p = make_person()
    p.pose_visibility[[11, 12]] = 0.3  # both shoulders below MIN_VISIBILITY
    track = LandmarkTrack.from_frames([FrameLandmarks(0, 0.0, [p])], 0, (640, 480))
    f = instant_features(track)
    assert np.isnan(f["shoulder_tilt_deg"][0]) and np.isnan(f["upper_body_only"][0])


def test_hand_margins_say_which_region_the_hand_touches():
    assert feats(hand_at="mouth")["hand_mouth_margin"] > 0.05
    assert feats(hand_at="nose")["hand_nose_margin"] > 0.02
    assert feats(hand_at="ear")["hand_ear_margin"] > 0.05
    assert feats(hand_at="eyes")["hand_mouth_margin"] < 0
    assert feats(hand_at="eyes")["hand_nose_margin"] < 0


def test_the_face_centre_is_the_nose_mouth_or_eyes_and_the_chin_is_no_rival():
    """hand_centre_dist/margin: a hand on the nose, mouth or eyes touches the middle of the face; at the cheek or ear
    it does not (margin < 0); at the chin it is as far from the middle as the mouth is, not on it."""
    for where in ("nose", "mouth", "eyes"):
        f = feats(hand_at=where)
        assert f["hand_centre_dist"] < 0.02 and f["hand_centre_margin"] > 0.02, where
    for where in ("cheek", "ear"):
        assert feats(hand_at=where)["hand_centre_margin"] < 0, where
    chin = feats(hand_at="chin")
    assert chin["hand_centre_dist"] == pytest.approx(chin["hand_mouth_dist"]) and chin["hand_centre_dist"] > 0.09
    assert np.isnan(feats(hand_at=None)["hand_centre_dist"])


def test_mouth_open_smile_and_mouth_width_from_the_mesh():
    neutral = feats()
    assert neutral["mouth_open"] == pytest.approx(0.0, abs=1e-3)
    assert neutral["smile"] == pytest.approx(0.0, abs=1e-3)
    assert neutral["mouth_width"] == pytest.approx(0.42, abs=1e-3)
    f = feats(mouth_open=0.2, smile=0.1)
    assert f["mouth_open"] == pytest.approx(0.2, abs=1e-3)
    assert f["smile"] == pytest.approx(0.1, abs=1e-3)


def test_smile_does_not_depend_on_head_roll():
    assert feats(side_lean_deg=15.0, smile=0.1)["smile"] == pytest.approx(0.1, abs=1e-3)


def test_a_bowed_head_with_a_neutral_mouth_is_not_a_smile():
    assert abs(feats(neck_flexion_deg=20.0)["smile"]) < 0.02


def test_call_sign_needs_thumb_and_little_finger_out():
    assert feats(hand_at="ear", hand_shape="call")["call_sign"] == 1.0
    assert feats(hand_at="ear", hand_shape="point")["call_sign"] == 0.0
    assert feats(hand_at="ear", hand_shape="open")["call_sign"] == 0.0


def test_hands_in_front_and_hand_height_relative_to_the_chin():
    chest, lap = feats(hand_at="chest"), feats(hand_at="lap")
    assert chest["hands_in_front"] == 1.0 and lap["hands_in_front"] == 0.0
    assert chest["hand_y_below_chin"] > 0
    assert feats(hand_at="forehead")["hand_y_below_chin"] < 0


# --- temporal ------------------------------------------------------------------
AWAY, AT_MOUTH = dict(hand_at="lap"), dict(hand_at="mouth")


def test_hand_mouth_trips_count_constructed_trips_in_the_trailing_10s():
    specs = segments((1.0, AWAY), (0.5, AT_MOUTH), (1.0, AWAY), (0.5, AT_MOUTH), (1.0, AWAY),
                     (0.5, AT_MOUTH), (12.0, AWAY))
    trips = compute_features(make_track(specs))["hand_mouth_trips_10s"]
    assert trips[9] == 0  # before the first trip
    assert trips[int(5.4 * 10)] == 3  # after the third
    assert trips[-1] == 0  # all three more than 10 s ago


def test_hand_hovering_between_the_thresholds_is_one_trip_not_many():
    near = [dict(hand_at="mouth", hand_dist=d) for d in (0.05, 0.2, 0.05, 0.25, 0.1, 0.2)]
    specs = segments((1.0, AWAY)) + [near[i % len(near)] for i in range(30)]
    assert compute_features(make_track(specs))["hand_mouth_trips_10s"][-1] == 1


def test_hand_not_seen_for_a_frame_at_the_mouth_is_not_a_new_trip():
    specs = segments((1.0, AWAY)) + [AT_MOUTH if i % 5 else dict(hand_at=None) for i in range(30)]
    assert compute_features(make_track(specs))["hand_mouth_trips_10s"][-1] == 1


def test_hand_mouth_time_and_mouth_motion_over_their_windows():
    specs = segments((1.0, AWAY), (2.0, AT_MOUTH), (5.0, AWAY))
    t = compute_features(make_track(specs))
    assert t["hand_mouth_time_3s"][29] == pytest.approx(2.0, abs=1e-6)
    assert t["hand_mouth_time_3s"][-1] == 0.0
    chew = [dict(mouth_open=0.2 * (i % 2)) for i in range(40)]  # open, shut, open, ...
    m = compute_features(make_track(chew))["mouth_motion_2s"]
    assert m[-1] == pytest.approx(0.1, abs=1e-3)
    assert compute_features(make_track([{}] * 40))["mouth_motion_2s"][-1] == pytest.approx(0.0, abs=1e-6)


def test_temporal_features_are_causal_a_prefix_gives_the_prefix_of_the_full_result():
    specs = segments((1.0, AWAY), (0.5, AT_MOUTH), (1.5, dict(hand_at="mouth", hand_dist=0.2, mouth_open=0.1)),
                     (0.7, AWAY), (0.5, AT_MOUTH), (12.0, dict(hand_at=None, mouth_open=0.05)), (2.0, AT_MOUTH))
    track = make_track(specs)
    inst = instant_features(track)
    full = temporal_features(inst, track.timestamp_s)
    for k in (5, 17, 33, 60, 150, len(track)):
        part = temporal_features({n: v[:k] for n, v in inst.items()}, track.timestamp_s[:k])
        for name, v in part.items():
            np.testing.assert_array_equal(v, full[name][:k], err_msg=f"{name} on the first {k} rows")
    tail = temporal_features(inst, track.timestamp_s, from_index=100)
    for name, v in tail.items():
        np.testing.assert_array_equal(v, full[name][100:], err_msg=name)


def test_a_ratio_over_a_zero_length_is_not_seen_rather_than_infinite():
    """A face mesh collapsed onto one point (eye width 0) gives NaN ratios, never inf."""
    person = make_person()
    flat = replace(person, face_xyz=np.broadcast_to(person.face_xyz[1], person.face_xyz.shape).copy())
    values = instant_features(make_track([flat]))
    assert not any(np.isinf(v).any() for v in values.values())
    assert np.isnan(values["eye_open"][0])
