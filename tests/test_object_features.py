"""Object evidence in the features and rules: stored hits injected (no models), the vote over time, and what a
phone or a cup does to the phone, eating and face-touch rules."""
import dataclasses

import numpy as np
import pytest

from conftest import REPO
from builders import make_frames, make_person, make_track, object_runs, with_object
from vision.detect.landmarks import LandmarkTrack
from vision.features.objects import MIN_SCORE
from vision.features.table import compute_features
from vision.judge.analyzer import PersonAnalyzer, analyze_track
from vision.judge.rules import load_rules

FPS = 10.0


@pytest.fixture(scope="module")
def rules():
    """The repository's rules.yaml: these tests check its phone, eating and face-touch entries."""
    return load_rules(REPO / "rules.yaml")


def _track(people, fps=FPS):
    return LandmarkTrack.from_frames(make_frames(people, fps), 0, (640, 480))


def _rules_fired(rules, people, still=False):
    events, _, _ = analyze_track(_track(people), rules, still=still, baseline={})
    return {e.rule for e in events}


def test_the_phone_vote_is_the_share_of_detector_runs_in_the_trailing_2_s():
    """Runs every 0.5 s; frames between runs (NaN) are skipped; before the first run the vote is NaN (not judged)."""
    base = make_person(hand_at="lap")
    seen, empty = with_object(base, "phone"), with_object(base, None)
    nobody_looked = dataclasses.replace(base)  # objects all NaN: the detector did not run
    people = [nobody_looked] * 3 + object_runs([seen] * 10 + [empty] * 20)
    vote = compute_features(_track(people))["phone_vote_2s"]
    assert np.isnan(vote[:3]).all()
    assert vote[3] == 1.0 and vote[12] == 1.0  # 2 runs (t = 0.3, 0.8), both with a phone
    assert vote[22] == pytest.approx(0.5)  # runs at 0.8, 1.3 (phone) and 1.8, 2.3 (none) in (0.2, 2.2]
    assert vote[-1] == 0.0


def test_a_weak_phone_hit_does_not_count():
    """A phone-like hit below MIN_SCORE (a hand, a cup called 'cell phone') is no vote."""
    weak = with_object(make_person(hand_at="lap"), "phone", score=MIN_SCORE["phone"] - 0.05)
    assert compute_features(_track([weak] * 5))["phone_vote_2s"][-1] == 0.0


def test_a_phone_in_the_lap_is_phone_use_when_the_head_bows_to_it(rules):
    """Object branch: a phone held in the lap with the head bowed to it for 3 s is a phone event; the same pose
    with the detector finding nothing is not, and neither is a phone held at the lap while looking ahead."""
    bowed, ahead = make_person(hand_at="lap", neck_flexion_deg=30), make_person(hand_at="lap")
    assert "gesture.phone" in _rules_fired(rules, object_runs([with_object(bowed, "phone")] * 30))
    assert "gesture.phone" not in _rules_fired(rules, object_runs([with_object(bowed, None)] * 30))
    assert "gesture.phone" not in _rules_fired(rules, object_runs([with_object(ahead, "phone")] * 30))


def test_a_phone_held_up_in_front_of_the_chest_is_phone_use(rules):
    """A phone held up below the chin (where one looks at it), head level: a phone event."""
    up = make_person(hand_at="chin", hand_dist=0.3)
    assert "gesture.phone" in _rules_fired(rules, object_runs([with_object(up, "phone")] * 30))


def test_a_phone_like_hit_held_at_the_chest_with_the_eyes_ahead_is_not_phone_use(rules):
    """A presenter's clicker, half a shoulder width below the chin, head level and eyes on the audience, read as a
    phone in every run: not phone use; the same hit held up to where the eyes look at it is."""
    def fired(below_chin):
        held = with_object(make_person(hand_at="chin", hand_dist=below_chin), "phone")
        return "gesture.phone" in _rules_fired(rules, object_runs([held] * 30))

    assert not fired(0.5)
    assert fired(0.2)


def test_a_phone_at_the_ear_is_a_call_not_a_face_touch(rules):
    """A hand at the ear holding a phone: gesture.phone, and no face touch."""
    ear = make_person(hand_at="ear")
    fired = _rules_fired(rules, object_runs([with_object(ear, "phone")] * 30))
    assert "gesture.phone" in fired and "gesture.face_touch" not in fired


def test_two_detector_runs_in_four_confirm_a_phone_held_at_the_chest_and_one_is_a_stray_hit(rules):
    """Where the vote only confirms another cue (the head bowed to something held at the chest), two runs of the
    about 4 in the trailing 2 s confirm a phone (vote 0.5); one run in four (0.25) is a stray hit, as no run is."""
    bowed = make_person(hand_at="chest", hand_dist=0.3, neck_flexion_deg=30)

    def phone(every_fourth):
        """Of each four detector runs (one every 5 frames), those that see a phone; the head level is the neutral."""
        runs = [with_object(bowed, "phone" if (i // 5) % 4 in every_fourth else None) for i in range(40)]
        events, _, table = analyze_track(_track(object_runs(runs)), rules, baseline={"head_pitch_deg": 0.0})
        return "gesture.phone" in {e.rule for e in events}, np.nanmax(table["phone_vote_2s"])

    assert phone({2, 3}) == (True, pytest.approx(0.5))
    assert phone({3}) == (False, pytest.approx(0.25))
    assert phone(set()) == (False, 0.0)


def test_a_hand_on_the_cheek_with_no_phone_is_a_face_touch_not_a_call(rules):
    """A hand resting at the ear or cheek where the detector looked and saw no phone: a face touch, no call."""
    for where in ("ear", "cheek"):
        fired = _rules_fired(rules, object_runs([with_object(make_person(hand_at=where), None)] * 30))
        assert "gesture.face_touch" in fired and "gesture.phone" not in fired, where


def test_a_hand_on_the_nose_mouth_or_eyes_is_a_touch_even_where_the_detector_calls_it_a_phone(rules):
    """The detector reads a hand pressed on the face as a phone: on the nose, mouth or eyes that hit is no phone and
    does not clear the touch, in a still and in video; the same hit with the hand at the ear stays a call."""
    for where in ("nose", "mouth", "eyes"):
        hit = with_object(make_person(hand_at=where), "phone")
        for fired in (_rules_fired(rules, [hit], still=True), _rules_fired(rules, object_runs([hit] * 30))):
            assert "gesture.face_touch" in fired and "gesture.phone" not in fired, where
    ear = _rules_fired(rules, [with_object(make_person(hand_at="ear"), "phone")], still=True)
    assert "gesture.phone" in ear and "gesture.face_touch" not in ear


def test_a_still_with_a_phone_in_hand_is_judged_on_its_one_run(rules):
    """A still: the detector runs on it, one run is the whole vote."""
    lap = make_person(hand_at="lap", neck_flexion_deg=30)
    assert "gesture.phone" in _rules_fired(rules, [with_object(lap, "phone")], still=True)
    assert "gesture.phone" not in _rules_fired(rules, [with_object(lap, None)], still=True)


def test_a_cup_at_the_mouth_counts_only_where_its_box_reaches_the_mouth():
    """mouth_object: a drink box on the lips scores; the same cup held at the lap scores 0; not looked: NaN."""
    p = make_person(hand_at="lap")
    at = compute_features(_track([with_object(p, "drink", crop="mouth", score=0.7)]))["mouth_object"][0]
    away = compute_features(_track([with_object(p, "drink", crop="right_hand", score=0.7)]))["mouth_object"][0]
    unseen = compute_features(_track([p]))["mouth_object"][0]
    assert at == pytest.approx(0.7, abs=1e-3) and away == 0.0 and np.isnan(unseen)


def test_streaming_gives_the_offline_events_with_object_hits(rules):
    """The votes are causal: pushing frame by frame gives exactly the events of the whole track at once."""
    lap, ear = make_person(hand_at="lap"), make_person(hand_at="ear")
    people = object_runs([with_object(lap, None)] * 10 + [with_object(lap, "phone")] * 25 +
                         [with_object(ear, None)] * 20 + [with_object(ear, "phone")] * 25)
    frames = make_frames(people, FPS)
    offline, _, _ = analyze_track(LandmarkTrack.from_frames(frames, 0, (640, 480)), rules, baseline={})
    live = PersonAnalyzer(rules, 0, (640, 480), baseline={})
    streamed = [e for f in frames for e in live.push(f)] + live.finish()
    key = lambda e: (e.rule, e.start_frame, e.end_frame)  # noqa: E731
    assert sorted(map(key, streamed)) == sorted(map(key, offline))
    assert "gesture.phone" in {e.rule for e in offline}


def test_hand_face_size_is_the_hand_at_the_face_not_the_larger_one():
    """The other hand held toward the camera (drawn three times larger) does not change the touching hand's size."""
    p = make_person(hand_at="cheek", other_hand="chest")
    big = p.left_hand_xyz.copy()
    big[:, :2] = big[0, :2] + 3.0 * (big[:, :2] - big[0, :2])
    alone = compute_features(make_track([make_person(hand_at="cheek")]))["hand_face_size"][0]
    both = compute_features(make_track([dataclasses.replace(p, left_hand_xyz=big)]))["hand_face_size"][0]
    assert both == pytest.approx(alone, rel=1e-3) and alone < 0.62


def test_a_hand_holding_food_at_the_chin_is_not_a_face_touch_but_a_bare_hand_is(rules):
    """Precedence: a hand at the chin where the detector sees food in the hand crop (peeling fruit under the chin,
    a bite on its way) is not a face touch; the same hand where it looked and saw nothing is one."""
    chin = make_person(hand_at="chin")
    assert "gesture.face_touch" not in _rules_fired(rules, object_runs([with_object(chin, "food")] * 30))
    assert "gesture.face_touch" in _rules_fired(rules, object_runs([with_object(chin, None)] * 30))


def test_a_weak_food_hit_in_the_hand_does_not_clear_a_face_touch(rules):
    """A hit below MIN_SCORE['hand'] (a brush or a cigarette read as a utensil) leaves the face touch standing."""
    chin = with_object(make_person(hand_at="chin"), "utensil", score=MIN_SCORE["hand"] - 0.05)
    assert compute_features(_track([chin] * 5))["hand_object_vote_2s"][-1] == 0.0
    assert "gesture.face_touch" in _rules_fired(rules, object_runs([chin] * 30))


def test_hand_object_reads_the_hand_crops_only():
    """hand_object: a cup in a hand crop scores; a cup found in the mouth or lap crop does not; not run: NaN."""
    p = make_person(hand_at="lap")
    looked = ("left_hand", "right_hand", "mouth", "lap")
    held = compute_features(_track([with_object(p, "drink", crop="left_hand", score=0.7, looked=looked)]))
    lap = compute_features(_track([with_object(p, "drink", crop="lap", score=0.7, looked=looked)]))
    assert held["hand_object"][0] == pytest.approx(0.7, abs=1e-3) and lap["hand_object"][0] == 0.0
    assert np.isnan(compute_features(_track([p]))["hand_object"][0])


def test_a_phone_in_the_lap_crop_is_phone_use_only_with_the_head_bowed_to_it(rules):
    """The lap crop's phone is its own evidence (phone_lap, not phone_held): with the head bowed to the lap it is a
    phone event; with the head level it is not (the lap crop alone is no phone held up)."""
    looked = ("left_hand", "right_hand", "lap")
    bowed, ahead = make_person(hand_at="lap", neck_flexion_deg=30), make_person(hand_at="lap")
    in_lap = with_object(bowed, "phone", crop="lap", looked=looked)
    values = compute_features(_track([in_lap]))
    assert values["phone_lap"][0] == pytest.approx(0.8, abs=1e-3) and values["phone_held"][0] == 0.0
    assert "gesture.phone" in _rules_fired(rules, object_runs([in_lap] * 30))
    level = with_object(ahead, "phone", crop="lap", looked=looked)
    assert "gesture.phone" not in _rules_fired(rules, object_runs([level] * 30))
