"""Rules that need both people (issue 8), on synthetic subject + customer sequences whose answer is known by
construction: attention toward where the customer is, give vs take, walk.escort; streaming equals offline."""
from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np
import pytest
from builders import IMAGE_WH, make_person
from people_builders import CUSTOMER_ID, hands_out, reach_profile, two_people, walking_pair

from vision.detect.landmarks import FrameLandmarks, LandmarkTrack
from vision.features.pair import FULL_SIDE_SW, SIDE_DEG
from vision.features.table import compute_features
from vision.io.events import Event
from vision.judge.analyzer import PersonAnalyzer, analyze_track
from vision.judge.rules import load_rules

RULES = load_rules(Path(__file__).resolve().parents[1] / "rules.yaml")
SW_PX = 0.38 * 300.0  # the builder's shoulder width in pixels at 300 px/m


def _seated(x_px: float, facing=0.0, **kw):
    return make_person(hip_px=(x_px, 360), facing=facing, **kw)


def _streamed(frames, rules=RULES, customer_id=CUSTOMER_ID, **kw) -> List[Event]:
    pa = PersonAnalyzer(rules, 0, IMAGE_WH, customer_id=customer_id, **kw)
    events = [e for f in frames for e in pa.push(f)] + pa.finish()
    return sorted(events, key=lambda e: (e.start_s, e.rule, e.kind))


def _sorted(events):
    return sorted(events, key=lambda e: (e.start_s, e.rule, e.kind))


# --- face.attention toward where the customer is -------------------------------------------------------------

def test_gaze_target_follows_the_customers_head_on_the_side_convention():
    """A customer 1 m or more aside is that side's 40 deg; half as far, half as much; in line with the camera, 0."""
    for dx_sw, expect in ((2.7, SIDE_DEG), (-2.7, -SIDE_DEG), (FULL_SIDE_SW / 2, SIDE_DEG / 2), (0.0, 0.0)):
        _, s, c = two_people([_seated(320)], [_seated(320 + dx_sw * SW_PX)])
        assert compute_features(s, customer=c)["gaze_target_deg"][0] == pytest.approx(expect, abs=0.5), dx_sw


def test_customer_out_of_frame_is_not_judged_unless_a_side_was_given():
    """Customer tracked but not seen: no target (NaN) by default; the given side when the user gave one;
    no customer tracked at all: the camera, as before tracking."""
    _, s, c = two_people([_seated(200)] * 2, [_seated(500), None])
    assert np.isnan(compute_features(s, customer=c)["gaze_target_deg"][1])
    assert compute_features(s, "left", customer=c)["gaze_target_deg"][1] == -SIDE_DEG
    assert compute_features(s, "left", customer=c)["gaze_target_deg"][0] == pytest.approx(SIDE_DEG)  # seen: wins
    assert compute_features(s)["gaze_target_deg"][1] == 0.0


def test_attention_is_toward_the_tracked_customer_not_the_camera():
    """Looking 40 deg to the image's right at a customer there is attention; looking at the camera is not,
    although it would be with no customer tracked (customer_side camera)."""
    looks_right = [_seated(200, facing=40.0)] * 20
    at_camera = [_seated(200)] * 20
    customer = [_seated(560)] * 20  # 3.2 shoulder widths to the right: the full 40 deg
    for subject, expect in ((looks_right, True), (at_camera, False)):
        _, s, c = two_people(subject, customer)
        events, _, _ = analyze_track(s, RULES, customer_track=c)
        assert ("face.attention" in {e.rule for e in events}) is expect
    events, _, _ = analyze_track(two_people(at_camera, customer)[1], RULES)
    assert "face.attention" in {e.rule for e in events}


# --- hand.two_hand_take and hand.two_hand_give ----------------------------------------------------------------

def handover_scene(subject_start_s, customer_start_s, seconds=5.0, subject_sides=("left", "right"),
                   subject_facing=40.0, customer_seen=True):
    """The subject on the left looking at the customer on the right; each holds their hands out from a given time
    (None: never)."""
    n = int(seconds * 10)
    rs = reach_profile(subject_start_s, seconds) if subject_start_s is not None else np.zeros(n)
    rc = reach_profile(customer_start_s, seconds) if customer_start_s is not None else np.zeros(n)
    subject = [hands_out(_seated(200, facing=subject_facing), float(r), subject_sides) for r in rs]
    customer = [hands_out(_seated(560), float(r)) if customer_seen else None for r in rc]
    return two_people(subject, customer)


def _hand_events(frames, s, c, **kw):
    events, _, _ = analyze_track(s, RULES, customer_track=c, **kw)
    return [e for e in events if e.rule.startswith("hand.two_hand")]


def test_customer_reaching_first_makes_a_two_handed_take():
    """The customer holds something out (1.0 s), the subject reaches for it with both hands (2.0 s) looking at
    them: hand.two_hand_take, desired; no give."""
    (ev,) = _hand_events(*handover_scene(2.0, 1.0))
    assert (ev.rule, ev.kind, ev.evidence["direction"]) == ("hand.two_hand_take", "desired", "take")
    assert ev.evidence["looking"]["pass"] is True and ev.start_s > 2.0


def test_subject_reaching_first_is_a_give():
    """The subject reaches out first (1.0 s), the customer after (2.0 s): hand.two_hand_give; no take."""
    (ev,) = _hand_events(*handover_scene(1.0, 2.0))
    assert (ev.rule, ev.kind, ev.evidence["direction"]) == ("hand.two_hand_give", "desired", "give")


def test_one_handed_take_is_a_violation():
    """Taking with one hand (the right) after the customer reached out: a hand.two_hand_take violation."""
    (ev,) = _hand_events(*handover_scene(2.0, 1.0, subject_sides=("right",)))
    assert (ev.rule, ev.kind, ev.severity) == ("hand.two_hand_take", "violation", "medium")
    assert ev.evidence["two_hands"]["pass"] is False


def test_take_looking_away_from_the_customer_is_a_violation():
    """Both hands, but the subject looks 40 deg the other way the whole time: the take fails "looking"."""
    (ev,) = _hand_events(*handover_scene(2.0, 1.0, subject_facing=-40.0))
    assert (ev.rule, ev.kind) == ("hand.two_hand_take", "violation")
    assert ev.evidence["looking"]["pass"] is False and ev.evidence["two_hands"]["pass"] is True


def test_without_a_customer_seen_a_handover_is_reported_as_before():
    """Customer out of frame, or not tracked: the direction is unknown, so hand.two_hand_give as before tracking
    (no direction in the evidence), never a take."""
    frames, s, c = handover_scene(2.0, 1.0, customer_seen=False)
    (unseen,) = _hand_events(frames, s, c)
    (untracked,) = _hand_events(frames, s, None)
    for ev in (unseen, untracked):
        assert ev.rule == "hand.two_hand_give" and ev.kind == "desired" and "direction" not in ev.evidence
    assert untracked == unseen


# --- walk.escort ----------------------------------------------------------------------------------------------

def _escort(way, gap_m, **kw):
    frames, s, c = walking_pair(way, gap_m, **kw)
    events, engine, table = analyze_track(s, RULES, customer_track=c)
    return [e for e in events if e.rule == "walk.escort"], engine, table


@pytest.mark.parametrize("gap_m, expect", [(1.0, True), (-1.0, False), (3.0, False), (0.1, False)])
def test_escort_across_the_image_one_metre_ahead(gap_m, expect):
    """Walking across: one metre ahead (2.6 shoulder widths) is the desired escort; behind, 3 m ahead or level
    is not. "On the left" is depth here: not judged (NaN)."""
    events, _, table = _escort("right", gap_m)
    assert bool(events) is expect
    walking = table["pair_walking"] == 1.0
    assert walking.sum() >= 30 and np.isnan(table["escort_left"]).all()
    assert np.nanmedian(table["escort_ahead"][walking]) == pytest.approx(gap_m / 0.38, rel=0.02)


@pytest.mark.parametrize("way, gap_m, expect", [("toward", 0.6, True), ("toward", -0.6, False),
                                                ("away", -0.6, True), ("away", 0.6, False)])
def test_escort_toward_or_away_judges_the_customers_left(way, gap_m, expect):
    """Toward the camera the customer's left is the image's right; away from it, the image's left. Ahead is
    depth there: not judged (NaN)."""
    events, _, table = _escort(way, gap_m)
    assert bool(events) is expect
    assert (table["pair_walking"] == 1.0).sum() >= 30 and np.isnan(table["escort_ahead"]).all()


def test_escort_is_not_judged_without_the_customer_or_when_standing():
    """Customer out of frame: no escort event and no judged time; two people standing still: not walking."""
    events, engine, _ = _escort("right", 1.0, customer_visible=False)
    assert events == [] and engine.judged_s["walk.escort"] == 0.0
    _, s, c = two_people([_seated(200)] * 30, [_seated(500)] * 30)
    events, engine, table = analyze_track(s, RULES, customer_track=c)
    assert engine.judged_s["walk.escort"] == 0.0 and set(table["pair_walking"][5:]) == {0.0}


# --- streaming = offline --------------------------------------------------------------------------------------

def test_streaming_with_a_customer_gives_the_offline_events():
    """PersonAnalyzer(customer_id=1) frame by frame gives exactly analyze_track(customer_track=...)'s events:
    a take, attention, the customer leaving the frame, an escort."""
    frames, s, c = handover_scene(2.0, 1.0, seconds=6.0)
    frames = frames[:45] + [type(f)(f.frame_index, f.timestamp_s, f.people[:1]) for f in frames[45:]]  # leaves
    w_frames, _, _ = walking_pair("right", 1.0)
    w_frames = [FrameLandmarks(f.frame_index + 60, f.timestamp_s + 6.0, f.people) for f in w_frames]
    frames = frames + w_frames
    s = LandmarkTrack.from_frames(frames, 0, IMAGE_WH)
    c = LandmarkTrack.from_frames(frames, CUSTOMER_ID, IMAGE_WH)
    offline, _, _ = analyze_track(s, RULES, customer_track=c)
    assert {"hand.two_hand_take", "face.attention", "walk.escort"} <= {e.rule for e in offline}
    assert _streamed(frames) == _sorted(offline)


def test_customer_id_none_is_todays_analysis():
    """No customer: the same events as an analysis that never heard of customers (customer_side camera)."""
    frames, s, _ = handover_scene(2.0, 1.0)
    assert _streamed(frames, customer_id=None) == _sorted(analyze_track(s, RULES, customer_side="camera")[0])


# --- real footage ---------------------------------------------------------------------------------------------

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"


def _clips_without(rule: str) -> List[str]:
    if not (MEDIA / "labels.yaml").exists():
        return []
    from vision.evaluate import load_labels

    return [c["file"] for c in load_labels(MEDIA / "labels.yaml")["clips"] if rule in (c.get("absent") or [])]


@pytest.mark.real
@pytest.mark.parametrize("clip", _clips_without("hand.two_hand_take"))
def test_no_take_where_labels_say_absent(media_runs, clip):
    """No hand.two_hand_take in the pipeline's own event log (whatever customer the pipeline tracks)."""
    from vision.io.events import read_events

    log = media_runs / clip.replace("/", "__") / "events.jsonl"
    assert log.is_file()
    assert [e.start_s for e in read_events(log) if e.rule == "hand.two_hand_take"] == []
