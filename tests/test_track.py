"""Tracking (vision.track.tracker): stable ids across frames, on synthetic skeletons (no model).

Each test builds people with ``builders.make_person`` at known positions, feeds
them frame by frame and checks the ids that come out.
"""
from __future__ import annotations

from typing import List, Sequence

import numpy as np

from builders import make_person
from vision.detect.landmarks import FrameLandmarks, PersonLandmarks
from vision.track.tracker import PoseTracker, TrackerOptions, seen_mask, track_frames

WH = (640, 480)
FPS = 10.0


def _frames(rows: Sequence[Sequence[PersonLandmarks]]) -> List[FrameLandmarks]:
    """Frames 1/FPS apart; the detector's own numbering (0, 1, ...) is shuffled to show ids do not come from it."""
    out = []
    for i, people in enumerate(rows):
        people = list(people)[::-1] if i % 2 else list(people)
        out.append(FrameLandmarks(i, i / FPS, [PersonLandmarks(k, p.pose_xyz, p.pose_visibility, p.pose_world_xyz)
                                              for k, p in enumerate(people)]))
    return out


def _hips_x(p: PersonLandmarks) -> float:
    return float(p.pose_xyz[[23, 24], 0].mean() * WH[0])


def _ids_by_side(frames: Sequence[FrameLandmarks]):
    """For each frame, the person ids ordered by their hip x (left to right)."""
    return [[p.person_id for p in sorted(fl.people, key=_hips_x)] for fl in frames]


def test_two_people_crossing_keep_their_ids():
    """A near person walking right passes in front of a far person walking left: after the crossing,
    the id that was on the left is on the right (nobody swapped ids)."""
    rows = []
    for i in range(30):
        x = 120 + 400 * i / 29
        near = make_person(hip_px=(x, 400), px_per_m=300)
        far = make_person(hip_px=(640 - x, 330), px_per_m=200)
        rows.append([near, far])
    out = track_frames(_frames(rows), WH, FPS)
    assert all(len(fl.people) == 2 for fl in out)
    first, last = _ids_by_side(out)[0], _ids_by_side(out)[-1]
    assert sorted(first) == [0, 1]
    assert last == first[::-1]  # the near (left at the start) person is now on the right, same id
    near_id = first[0]
    for fl in out:  # the near person (larger shoulders) keeps one id all along
        big = max(fl.people, key=lambda p: abs(p.pose_xyz[11, 0] - p.pose_xyz[12, 0]))
        assert big.person_id == near_id


def _pair(k: int, hidden: Sequence[int]) -> List[PersonLandmarks]:
    """A person standing at x=160 (absent in the ``hidden`` frames) and another at x=480, swaying slightly."""
    sway = 6 * np.sin(k / 3)
    out = [] if k in hidden else [make_person(hip_px=(160 + sway, 380))]
    return out + [make_person(hip_px=(480 - sway, 380))]


def test_a_short_occlusion_keeps_the_id():
    """Someone hidden for 0.4 s (within keep_s) comes back at the same place with the same id."""
    out = track_frames(_frames([_pair(k, range(10, 14)) for k in range(25)]), WH, FPS)
    assert _ids_by_side(out[:10]) == [[0, 1]] * 10
    assert all(len(fl.people) == 1 and fl.people[0].person_id == 1 for fl in out[10:14])
    assert _ids_by_side(out[14:]) == [[0, 1]] * 11


def test_a_longer_occlusion_is_reidentified():
    """Hidden for 2 s (longer than keep_s, shorter than reid_s): re-identified, not a new person."""
    out = track_frames(_frames([_pair(k, range(10, 30)) for k in range(45)]), WH, FPS)
    assert {p.person_id for fl in out for p in fl.people} == {0, 1}
    assert _ids_by_side(out[-5:]) == [[0, 1]] * 5


def test_someone_new_far_from_where_anyone_left_gets_a_new_id():
    """After the left person leaves for 2 s, a person appearing at the bottom right is a third person."""
    rows = [_pair(k, range(10, 45)) for k in range(45)]
    rows += [[make_person(hip_px=(480, 380)), make_person(hip_px=(600, 470), px_per_m=150)] for _ in range(10)]
    out = track_frames(_frames(rows), WH, FPS)
    assert {p.person_id for fl in out[-5:] for p in fl.people} == {1, 2}


def test_a_detection_with_nothing_seen_is_not_a_person():
    """An all-NaN body, or one whose points are all below visibility, gets no id and starts no track."""
    ghost = PersonLandmarks(0)
    faint = make_person(hip_px=(480, 380))
    faint = PersonLandmarks(0, faint.pose_xyz, np.full(33, 0.1, np.float32), faint.pose_world_xyz)
    assert not seen_mask(ghost).any() and not seen_mask(faint).any()
    rows = [[make_person(hip_px=(160, 380)), ghost if k % 2 else faint] for k in range(10)]
    out = track_frames(_frames(rows), WH, FPS)
    assert [[p.person_id for p in fl.people] for fl in out] == [[0]] * 10
    tracker = PoseTracker(WH, FPS)
    assert all(tracker.update([ghost]) == [] for _ in range(5))


def test_a_one_frame_ghost_gets_no_id():
    """A body seen in a single frame never confirms (confirm_frames=2): it is dropped, ids stay 0 and 1."""
    rows = [_pair(k, ()) for k in range(10)]
    rows[5] = rows[5] + [make_person(hip_px=(320, 250), px_per_m=120)]
    out = track_frames(_frames(rows), WH, FPS)
    assert [len(fl.people) for fl in out] == [2] * 10
    assert {p.person_id for fl in out for p in fl.people} == {0, 1}


def test_confirming_frames_are_kept_under_the_final_id():
    """Offline tracking gives a new person's first frame (before confirmation) their id too."""
    rows = [_pair(k, range(0, 3)) for k in range(10)]
    out = track_frames(_frames(rows), WH, FPS)
    assert [len(fl.people) for fl in out[3:]] == [2] * 7
    live = PoseTracker(WH, FPS)
    counts = [len(live.update(fl.people)) for fl in _frames(rows)]
    assert counts[3] == 1 and counts[4] == 2  # live: the returning person shows once confirmed


def test_one_person_fast_path_keeps_one_id_and_splits_on_a_far_return():
    """With one body a frame: one id through short gaps; a new id after a long gap far away."""
    rows = [[make_person(hip_px=(200, 380))] if k not in range(8, 12) else [] for k in range(20)]
    out = track_frames(_frames(rows), WH, FPS)
    assert {p.person_id for fl in out for p in fl.people} == {0}
    rows += [[]] * 40 + [[make_person(hip_px=(520, 380), px_per_m=200)]] * 5
    out = track_frames(_frames(rows), WH, FPS)
    assert [p.person_id for p in out[-1].people] == [1]


def test_options_are_in_seconds_not_frames():
    """The same 0.4 s gap keeps the id at 30 frames/s as at 10 frames/s."""
    rows = [_pair(k, range(30, 42)) for k in range(60)]
    frames = [FrameLandmarks(fl.frame_index, fl.frame_index / 30.0, fl.people) for fl in _frames(rows)]
    out = track_frames(frames, WH, 30.0, TrackerOptions())
    assert {p.person_id for fl in out for p in fl.people} == {0, 1}


def test_the_same_body_found_twice_is_one_person():
    """A body repeated with a few pixels' jitter (the pose model does that) is dropped: two people, not three."""
    rows = []
    for k in range(10):
        a, b = _pair(k, ())
        twin = make_person(hip_px=(a.pose_xyz[23:25, 0].mean() * WH[0] + 3, 382))
        rows.append([a, twin, b])
    out = track_frames(_frames(rows), WH, FPS)
    assert [len(fl.people) for fl in out] == [2] * 10
    assert {p.person_id for fl in out for p in fl.people} == {0, 1}


def test_a_still_numbers_everyone_from_the_left():
    """One frame: no confirmation needed; ids 0, 1, 2 go left to right; a duplicate and a ghost are not people."""
    people = [make_person(hip_px=(500, 380)), make_person(hip_px=(100, 380)), make_person(hip_px=(300, 380)),
              make_person(hip_px=(302, 381)), PersonLandmarks(9)]
    out = track_frames([FrameLandmarks(0, 0.0, people)], WH, 1.0)
    assert [(p.person_id, round(_hips_x(p))) for p in out[0].people] == [(0, 100), (1, 300), (2, 500)]


def test_two_bodies_resolved_to_one_person_in_a_frame_keep_one_body(monkeypatch, tmp_path):
    """When re-identification resolves two tracks of one frame to the same person (a new track joined to an old
    one still coasting), that frame keeps one body for the person, the one with more points seen; the cache
    refuses a frame holding one id twice (its readers take one row a person)."""
    from types import SimpleNamespace

    import pytest

    from vision.io.cache import LandmarkCacheWriter

    full = make_person(hip_px=(200, 400), px_per_m=300)
    partial = make_person(hip_px=(450, 400), px_per_m=300)
    partial.pose_xyz[:11] = np.nan  # the head not seen: fewer points
    one = SimpleNamespace(id=7)
    monkeypatch.setattr(PoseTracker, "resolve", lambda self, obj: one)  # every track resolves to one identity
    out = track_frames(_frames([[full, partial]] * 6), WH, FPS)
    assert all([p.person_id for p in fl.people] == [0] for fl in out)
    assert all(int(seen_mask(fl.people[0]).sum()) == int(seen_mask(full).sum()) for fl in out)
    writer = LandmarkCacheWriter(tmp_path, WH, {})
    with pytest.raises(ValueError, match=r"person ids \[0, 0\]: each person once a frame"):
        writer.append(FrameLandmarks(0, 0.0, [full, PersonLandmarks(0, partial.pose_xyz)]))
