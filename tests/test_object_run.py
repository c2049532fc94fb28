"""vision.object_run: when the object pass runs (a time grid plus a run when a hand reaches the face) and which
crops share one detector call. The detector is a stand-in: no model is loaded."""
import dataclasses

import numpy as np

from builders import make_person
from vision.detect.objects import MERGE_OVERLAP, crop_boxes, merge_crops
from vision.object_run import ObjectPass, hand_near_face, subject_scale_px

WH = (640, 480)


class _FindsNothing:
    """Counts the detector calls and finds nothing."""

    def __init__(self):
        self.calls = []

    def detect_calls(self, image, calls):
        self.calls.append(calls)
        return []


def _pass(rate_hz=2.0):
    p = ObjectPass("unused.tflite", WH, still=False, rate_hz=rate_hz)
    p._det = _FindsNothing()
    return p


def _run(p, times, people):
    image = np.zeros((WH[1], WH[0], 3), np.uint8)
    ran = []
    for t, person in zip(times, people):
        before = p.runs
        p.offer(image, t, dataclasses.replace(person) if person is not None else None)
        if p.runs > before:
            ran.append(round(t, 6))
    return ran


def test_the_grid_runs_on_the_first_frame_of_each_half_second_and_holds_across_skipped_frames():
    """At 10 fps and 2 Hz the runs fall on 0.0, 0.5, 1.0, ...; a pass that skips the first 7 frames (a resumed
    run's cached ones) and is offered the rest runs first at 1.0 s, as the whole run does."""
    times = [i / 10 for i in range(30)]
    lap = [make_person(hand_at="lap")] * 30
    whole = _run(_pass(), times, lap)
    assert whole == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    resumed = _pass()
    for t, person in zip(times[:7], lap[:7]):
        resumed.skip(t, person)
    assert resumed.runs == 0
    assert _run(resumed, times[7:], lap[7:]) == [t for t in whole if t >= 0.7]


def test_a_hand_entering_the_face_region_gets_a_run_on_top_of_the_grid():
    """A hand arriving at the cheek at 0.7 s is looked at then (one extra run); staying there adds none."""
    times = [i / 10 for i in range(20)]
    people = [make_person(hand_at="lap")] * 7 + [make_person(hand_at="cheek")] * 13
    p = _pass()
    assert _run(p, times, people) == [0.0, 0.5, 0.7, 1.0, 1.5]
    assert p.extra_runs == 1


def test_hand_near_face_is_false_for_a_hand_in_the_lap_and_when_nothing_is_seen():
    cheek, lap = make_person(hand_at="cheek"), make_person(hand_at="lap")
    assert hand_near_face(cheek, WH, subject_scale_px(cheek, WH))
    assert not hand_near_face(lap, WH, subject_scale_px(lap, WH))
    assert not hand_near_face(cheek, WH, None)


def test_hands_below_the_chest_get_a_lap_crop_between_them_and_the_hips():
    """Hands in the lap: a lap crop below the shoulders' chest line; a hand at the face: none."""
    lap = make_person(hand_at="lap")
    boxes = crop_boxes(lap, WH, subject_scale_px(lap, WH))
    assert "lap" in boxes
    sh_y = lap.pose_xyz[[11, 12], 1].mean() * WH[1]
    assert (boxes["lap"][1] + boxes["lap"][3]) / 2 > sh_y
    face = make_person(hand_at="cheek", other_hand=None)
    assert "lap" not in crop_boxes(face, WH, subject_scale_px(face, WH))


def test_overlapping_crops_share_one_detector_call_and_separate_ones_do_not():
    """Two crops overlapping by MERGE_OVERLAP (IoU) or more: one call on the square holding both, found objects
    counted for both; offset crops (IoU 0.6) and a larger crop around a smaller one: one call each."""
    a, b, c = (100, 100, 200, 200), (105, 103, 205, 203), (400, 100, 500, 200)  # a and b: IoU 0.85
    calls = merge_crops({"left_hand": a, "right_hand": b, "mouth": c})
    assert calls == [((100, 99, 205, 204), ("left_hand", "right_hand")), (c, ("mouth",))]  # the square around both
    assert MERGE_OVERLAP > 0.7 and len(merge_crops({"left_hand": a, "right_hand": (115, 110, 215, 210)})) == 2
    lap = (70, 70, 230, 230)  # a larger crop around a hand's: looked at on its own
    assert len(merge_crops({"left_hand": a, "lap": lap})) == 2


def test_both_hands_together_make_one_detector_call():
    """Both hands together at the chin (the left hand's points on the right's): their crops are one region, looked
    at in one call counted once, and what it finds counts for both hands."""
    both = make_person(hand_at="chin", hand_dist=0.3)
    for left, right in zip((15, 17, 19, 21), (16, 18, 20, 22)):
        both.pose_xyz[left], both.pose_visibility[left] = both.pose_xyz[right], both.pose_visibility[right]
    crops = crop_boxes(both, WH, subject_scale_px(both, WH))
    p = _pass()
    _run(p, [0.0], [both])
    assert {"left_hand", "right_hand"} <= set(crops)
    assert p.calls == len(crops) - 1
    assert ("left_hand", "right_hand") in [names for _, names in p._det.calls[0]]
