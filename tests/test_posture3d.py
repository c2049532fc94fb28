"""Posture from the body's 3-D shape (vision/features/posture3d.py) and the posture rules of rules.yaml built on it.

Synthetic skeletons (builders.py) are built in metres, then turned about the vertical axis to face the camera
(front), at 45 deg (three-quarter) or side-on: the trunk and neck angles are known by construction.
"""
import dataclasses

import numpy as np
import pytest

from builders import make_frames, make_person, make_track, segments
from conftest import REPO
from vision.features.table import compute_features
from vision.judge.analyzer import PersonAnalyzer, analyze_track
from vision.judge.calibration import steadiest_window
from vision.judge.rules import load_rules

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # exact profiles divide by a zero face width

DEG = 1.0
#: front (0 and 30 deg), three-quarter (60 deg both ways: profile 0.5) and side (both ways): one body turned about
#: the vertical (rules.py VIEW_EDGES: profile = 1 - cos(turn), three-quarter from 0.35, about 50 deg)
VIEWS = [0.0, 30.0, 60.0, -60.0, "right", "left"]
L_EAR = 7


@pytest.fixture(scope="module")
def repo_rules():
    return load_rules(REPO / "rules.yaml")


def feats(spec):
    return {k: float(v[0]) for k, v in compute_features(make_track([spec])).values.items()}


def rules_fired(specs, rules, still=False):
    events, engine, _ = analyze_track(make_track(specs), rules, still=still)
    return {e.rule for e in events}, engine


@pytest.mark.parametrize("facing", VIEWS)
@pytest.mark.parametrize("pitch", [-25.0, 0.0, 20.0, 45.0])
def test_trunk_flexion_is_the_same_in_every_view_forward_positive(facing, pitch):
    assert feats(dict(facing=facing, trunk_pitch_deg=pitch))["trunk_flexion_deg"] == pytest.approx(pitch, abs=DEG)


@pytest.mark.parametrize("facing", VIEWS)
def test_neck_flexion_and_lateral_bend_are_the_same_in_every_view(facing):
    f = feats(dict(facing=facing, trunk_pitch_deg=10.0, neck_flexion_deg=25.0))
    assert f["neck_flexion_3d_deg"] == pytest.approx(25.0, abs=DEG)  # against the trunk, not the vertical
    assert feats(dict(facing=facing, neck_flexion_deg=-15.0))["neck_flexion_3d_deg"] == pytest.approx(-15.0, abs=DEG)
    assert feats(dict(facing=facing, side_lean_deg=12.0))["trunk_lateral_deg"] == pytest.approx(12.0, abs=DEG)
    assert feats(dict(facing=facing))["trunk_lateral_deg"] == pytest.approx(0.0, abs=DEG)


def test_swapped_left_right_labels_do_not_flip_the_sign_the_nose_picks_forward():
    """The pose model sometimes swaps left and right in profile: the body normal then points backward."""
    p = make_person(facing="right", trunk_pitch_deg=-25.0)
    swap = np.arange(33)
    for a, b in ((11, 12), (23, 24), (7, 8), (25, 26), (27, 28)):
        swap[[a, b]] = swap[[b, a]]
    swapped = dataclasses.replace(p, pose_xyz=p.pose_xyz[swap], pose_world_xyz=p.pose_world_xyz[swap],
                                  pose_visibility=p.pose_visibility[swap])
    assert feats(swapped)["trunk_flexion_deg"] == pytest.approx(-25.0, abs=DEG)


@pytest.mark.parametrize("head_yaw", [-70.0, 70.0])
def test_a_head_turn_does_not_flip_a_lean_back_into_a_slouch(head_yaw, repo_rules):
    """Side view, far ear hidden (as in real profiles): the nose swings past the near ear when the head turns
    away from the camera, which flipped the old nose-ear facing sign; the body's own normal does not move."""
    def lean(turn, pitch=-25.0):
        p = make_person(facing="right", trunk_pitch_deg=pitch, head_yaw_deg=turn)
        vis = p.pose_visibility.copy()
        vis[L_EAR] = 0.05  # facing right, the person's left ear is the far one
        return dataclasses.replace(p, pose_visibility=vis)

    f = feats(lean(head_yaw))
    assert f["trunk_flexion_deg"] == pytest.approx(-25.0, abs=DEG)
    assert f["trunk_pitch_deg"] == pytest.approx(-25.0, abs=DEG)  # the image angle takes the body's side too
    fired, _ = rules_fired(segments((4.0, lean(0.0, pitch=0.0)), (3.0, lean(head_yaw))), repo_rules)
    assert "sit.lean_back" in fired and "sit.slouch" not in fired


@pytest.mark.parametrize("facing", VIEWS)
def test_leaning_back_25_deg_fires_lean_back_in_every_view_and_20_deg_forward_does_not_slouch(facing, repo_rules):
    upright = dict(facing=facing)
    fired, engine = rules_fired(segments((4.0, upright), (3.0, dict(facing=facing, trunk_pitch_deg=-25.0))),
                                repo_rules)
    assert engine.baseline["trunk_flexion_deg"] == pytest.approx(0.0, abs=DEG)
    assert "sit.lean_back" in fired and "sit.slouch" not in fired
    slouched, _ = rules_fired(segments((4.0, upright), (3.0, dict(facing=facing, trunk_pitch_deg=30.0))), repo_rules)
    assert "sit.slouch" in slouched and "sit.lean_back" not in slouched
    within, _ = rules_fired(segments((4.0, upright), (3.0, dict(facing=facing, trunk_pitch_deg=15.0))), repo_rules)
    assert not within & {"sit.slouch", "sit.lean_back"}  # inside RULA's first band (0-20 deg)


@pytest.mark.parametrize("facing", [60.0, -60.0, "right", "left"])
def test_a_still_is_judged_against_the_standards_upright_in_three_quarter_and_side_views(facing, repo_rules):
    assert "sit.lean_back" in rules_fired([dict(facing=facing, trunk_pitch_deg=-25.0)], repo_rules, still=True)[0]
    assert "sit.slouch" in rules_fired([dict(facing=facing, trunk_pitch_deg=30.0)], repo_rules, still=True)[0]
    upright, engine = rules_fired([dict(facing=facing, trunk_pitch_deg=-10.0)], repo_rules, still=True)
    assert engine.baseline["trunk_flexion_deg"] == 0.0
    assert not upright & {"sit.slouch", "sit.lean_back"}


def test_a_front_view_still_is_judged_only_beyond_the_neutral_clamp(repo_rules):
    """From the front the lean runs along the camera axis (the model's guess): a photo is only accused when the
    trunk is past the clamp of a plausible neutral (20 deg) by the rule's whole band (20 deg)."""
    assert not rules_fired([dict(trunk_pitch_deg=30.0)], repo_rules, still=True)[0] & {"sit.slouch"}
    assert "sit.slouch" in rules_fired([dict(trunk_pitch_deg=45.0)], repo_rules, still=True)[0]


def test_unseen_hips_give_nan_angles_and_the_trunk_rules_are_not_judged(repo_rules):
    f = feats(dict(hips_visible=False, trunk_pitch_deg=-30.0))
    assert np.isnan(f["trunk_flexion_deg"]) and np.isnan(f["trunk_lateral_deg"])
    specs = segments((4.0, dict(hips_visible=False)), (3.0, dict(hips_visible=False, trunk_pitch_deg=-30.0)))
    fired, engine = rules_fired(specs, repo_rules)
    assert "sit.lean_back" not in fired
    assert engine.judged_s["sit.lean_back"] == 0.0


@pytest.mark.parametrize("facing", VIEWS)
@pytest.mark.parametrize("pitch", [100.0, 115.0])
def test_a_bow_past_90_deg_stays_forward_and_upright_sideways(facing, pitch):
    """The head bows with the trunk, so past 90 deg the nose points back along the horizontal: the sign must come
    from the chest's normal (a standing man's deep bend read -102 deg, a lean back, before)."""
    f = feats(dict(facing=facing, trunk_pitch_deg=pitch))
    assert f["trunk_flexion_deg"] == pytest.approx(pitch, abs=DEG)
    assert f["trunk_lateral_deg"] == pytest.approx(0.0, abs=DEG)  # not 180: out of the sagittal plane, not in a
    assert f["neck_flexion_3d_deg"] == pytest.approx(0.0, abs=DEG)  # frontal plane the trunk lies across


@pytest.mark.parametrize("facing", VIEWS)
@pytest.mark.parametrize("pitch", [125.0, 175.0, -130.0])
def test_a_trunk_past_the_plausible_bound_is_not_judged(facing, pitch, repo_rules):
    """Upside down (the pose model's skeleton when the head is cut off) is nobody sitting or standing: every
    posture feature is NaN, and the posture rules are not judged there."""
    f = feats(dict(facing=facing, trunk_pitch_deg=pitch))
    for name in ("trunk_flexion_deg", "trunk_lateral_deg", "neck_flexion_3d_deg", "trunk_pitch_deg",
                 "neck_flexion_deg", "head_height", "head_forward"):
        assert np.isnan(f[name]), name
    fired, engine = rules_fired(segments((4.0, dict(facing=facing)), (3.0, dict(facing=facing, trunk_pitch_deg=pitch))),
                                repo_rules)
    assert not fired & {"sit.slouch", "sit.lean_back"}
    for rule in ("sit.slouch", "sit.lean_back"):
        assert engine.judged_s[rule] == pytest.approx(4.0, abs=0.2)  # the upright stretch only


def test_unseen_ears_leave_the_trunk_and_drop_only_the_neck():
    p = make_person(trunk_pitch_deg=-25.0)
    vis = p.pose_visibility.copy()
    vis[[7, 8]] = 0.05
    f = feats(dataclasses.replace(p, pose_visibility=vis))
    assert np.isnan(f["neck_flexion_3d_deg"]) and f["trunk_flexion_deg"] == pytest.approx(-25.0, abs=DEG)


# --- calibration on the steadiest upright stretch ------------------------------------------------------------
def test_the_steadiest_upright_window_is_chosen_not_the_first_seconds():
    t = np.arange(0.0, 12.0, 0.1)
    rng = np.random.default_rng(0)
    v = np.where(t < 4.0, -30.0 + 8.0 * rng.standard_normal(len(t)),  # settling in, leaning back
                 np.where(t < 7.0, 2.0 + 0.2 * rng.standard_normal(len(t)), 10.0 * np.sin(t)))  # still, then moving
    v[(t > 4.5) & (t < 5.0)] = np.nan  # unseen rows are ignored, not counted as steady
    a, b = steadiest_window(t, v, (0.0, 10.0), 3.0, (-20.0, 20.0))
    assert 3.9 <= a <= 4.1 and b == pytest.approx(a + 3.0)
    assert steadiest_window(t, np.full(len(t), np.nan), (0.0, 10.0), 3.0, (-20.0, 20.0)) is None
    assert steadiest_window(t, np.full(len(t), -35.0), (0.0, 10.0), 3.0, (-20.0, 20.0)) is None  # never upright


def test_a_trainee_who_starts_leaning_back_is_calibrated_on_the_upright_stretch_and_stream_equals_offline(
        repo_rules):
    lean = dict(facing=60.0, trunk_pitch_deg=-30.0)
    specs = segments((3.0, lean), (4.0, dict(facing=60.0, trunk_pitch_deg=-5.0)), (3.0, lean), (2.0, dict(facing=60.0)))
    events, engine, _ = analyze_track(make_track(specs), repo_rules)
    assert engine.baseline["trunk_flexion_deg"] == pytest.approx(-5.0, abs=DEG)
    leans = [(e.start_s, e.end_s) for e in events if e.rule == "sit.lean_back"]
    assert leans and leans[0][0] < 1.0 and any(s >= 7.0 for s, _ in leans)  # the start is judged too, once calibrated
    pa = PersonAnalyzer(repo_rules, 0, (640, 480))
    online = []
    for frame in make_frames(specs):
        online += pa.push(frame)
        if frame.timestamp_s < 10.0 - 1e-9:
            assert pa.engine is None  # held back until the search span (10 s) has passed
    online += pa.finish()
    key = lambda e: (e.start_s, e.rule)  # noqa: E731
    assert [e.to_json() for e in sorted(online, key=key)] == [e.to_json() for e in sorted(events, key=key)]
    assert pa.baseline == engine.baseline


@pytest.mark.parametrize("facing", [0.0, 60.0, "right"])
def test_a_head_dropped_forward_past_rula_s_20_deg_band_is_a_slouch_in_every_view(facing, repo_rules):
    upright = dict(facing=facing)
    bowed, _ = rules_fired(segments((4.0, upright), (3.0, dict(facing=facing, neck_flexion_deg=30.0))), repo_rules)
    assert "sit.slouch" in bowed
    nod, _ = rules_fired(segments((4.0, upright), (3.0, dict(facing=facing, neck_flexion_deg=15.0))), repo_rules)
    assert "sit.slouch" not in nod  # RULA's 10-20 deg band: not yet


def test_the_calibration_settings_are_checked_at_load():
    from vision.judge.rules import RulesError, parse_rules

    text = (REPO / "rules.yaml").read_text(encoding="utf-8")
    with pytest.raises(RulesError, match="calibration.still.trunk_flexion_deg.views"):
        parse_rules(text.replace("views: [three-quarter, side]}", "views: [profile]}"))
    with pytest.raises(RulesError, match="calibration.stable_on"):
        parse_rules(text.replace("stable_on: trunk_flexion_deg", "stable_on: trunk_flexon_deg"))
    with pytest.raises(RulesError, match="calibration.search_s"):
        parse_rules(text.replace("search_s: 10.0", "search_s: -1"))
