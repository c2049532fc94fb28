"""Frames in which nothing moved skip the models (vision.detect.still): which frames are still, how their landmarks
are interpolated, and that a pool run with the gate sends exactly the other frames to the detector."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from vision.detect.landmarks import N_POSE, PersonLandmarks
from vision.detect.pool import DetectorPool
from vision.detect.still import (CELL_SW, GRID, MAX_SPAN_S, StillCount, StillGate, change, fill_still, interpolate, mark_still, small_grey,
                                 still_flags)


def _frame(i: int, image: np.ndarray, fps: float = 25.0):
    return SimpleNamespace(index=i, timestamp_s=i / fps, image_bgr=image)


def _scene(w: int = 320, h: int = 180, square_at: int = 40, grey: int = 90) -> np.ndarray:
    """A textured background with a bright square (a hand) at column ``square_at``."""
    rng = np.random.default_rng(0)
    img = np.repeat(rng.integers(0, 200, (h, w, 1), np.uint8), 3, axis=2)
    img[60:80, square_at:square_at + 20] = 250
    img[:, :, 0] = np.clip(img[:, :, 0].astype(int) + grey - 90, 0, 255)
    return img


def test_small_grey_keeps_the_aspect_and_the_longer_side():
    assert small_grey(np.zeros((360, 640, 3), np.uint8)).shape == (90, 160)
    assert small_grey(np.zeros((1024, 576, 3), np.uint8)).shape == (160, 90)


def test_the_cells_are_a_hand_of_the_person_at_most_a_sixteenth_of_the_frame():
    """A small person (CCTV, a wide shot) gets cells of their own hand's size, and a picture fine enough for
    them; a person filling the frame, or one whose size is unknown, the frame's grid."""
    assert StillGate.for_person(None).cell_px(1920, 1080) == 1920 / GRID
    assert StillGate.for_person(float("nan")).cell is None and StillGate.for_person(0.0).cell is None
    small = StillGate.for_person(60.0)  # shoulders 60 px apart in a 1920 x 1080 frame
    assert small.cell_px(1920, 1080) == pytest.approx(CELL_SW * 60.0)
    assert StillGate.for_person(400.0).cell_px(640, 360) == 640 / GRID  # at most the frame's grid
    img = np.zeros((1080, 1920, 3), np.uint8)
    assert small_grey(img, small.cell_px(1920, 1080)).shape == (round(1080 * 10 / 25.2), round(1920 * 10 / 25.2))
    assert small_grey(img, 0.5).shape == (1080, 1920)  # never enlarged


def test_a_hand_moving_in_a_wide_shot_is_seen_with_the_persons_cells_not_the_frames():
    """A 16 x 16 px hand moves by its own size in a 1920 x 1080 frame: within one of the frame's 120-px cells
    it changes a few grey levels (still, at the default threshold); in cells of the person's hand it changes
    them by far more."""
    a = np.full((1080, 1920, 3), 100, np.uint8)
    b = a.copy()
    a[500:516, 900:916] = 220
    b[500:516, 916:932] = 220
    frame_grid, person = StillGate(), StillGate.for_person(60.0)
    coarse = change(small_grey(a, frame_grid.cell_px(1920, 1080)), small_grey(b, frame_grid.cell_px(1920, 1080)))
    fine = change(small_grey(a, person.cell_px(1920, 1080)), small_grey(b, person.cell_px(1920, 1080)))
    assert coarse <= frame_grid.max_change < 20 < fine


def test_change_is_the_largest_cell_not_the_whole_picture():
    """A small thing moving in a large still picture changes one cell a lot: the whole picture's mean change would
    be diluted GRID x GRID times and call it still."""
    a = small_grey(_scene(square_at=40))
    b = small_grey(_scene(square_at=60))  # the square moved by its own width
    assert change(a, a) == 0.0
    whole = float(np.abs(a - b).mean())
    assert change(a, b) > 30 > 4 * whole
    lighter = small_grey(_scene(grey=92))  # a uniform change of 2 levels in one channel: ~0.2 in grey
    assert change(a, lighter) < 1.0
    assert change(a, small_grey(np.zeros((90, 90, 3), np.uint8))) == float("inf")  # another size: never still


def _at(pictures, fps=10.0):
    return [(i / fps, p) for i, p in enumerate(pictures)]


def test_still_runs_are_bounded_by_the_span_never_first_or_last():
    z = np.zeros((9, 16), np.float32)
    # 10 frames a second, 0.2 s span: one still frame between two landmarked ones
    assert list(still_flags(_at([z] * 7), 1.0, 0.2)) == [False, True, False, True, False, True, False]
    # 25 a second: four still frames between landmarked ones 0.2 s apart
    assert list(still_flags(_at([z] * 12, 25.0), 1.0, 0.2)) == [False, True, True, True, True, False,
                                                                 True, True, True, True, False, False]
    assert list(still_flags(_at([z] * 7, 25.0), 1.0, 0.0)) == [False] * 7  # no span: nothing is still
    assert not any(still_flags(_at([z] * 7, 10.0), 1.0))  # the default span at the default 10 a second: none
    assert list(still_flags(_at([z] * 7, 30.0), 1.0))[:4] == [False, True, True, False]  # at 30: two in a row
    assert list(still_flags(_at([z] * 2), 1.0)) == [False, False]
    assert list(still_flags(_at([z]), 1.0)) == [False]
    assert list(still_flags([], 1.0)) == []


def test_a_frame_is_still_only_if_nothing_moved_before_and_after_it():
    z = np.zeros((90, 160), np.float32)  # a small_grey picture: 16 x 9 cells of 10 x 10
    moved = z.copy()
    moved[40:50, 40:50] = 10.0  # one cell changed by 10 grey levels
    # frame 1: the change after it is too big; frame 2: the change before it; frame 4: still on both sides
    assert list(still_flags(_at([z, z, moved, moved, moved, moved]), 5.0, 0.2)) == [False, False, False, True, False,
                                                                               False]
    assert list(still_flags(_at([z, z, moved, moved]), 10.0, 0.2)) == [False, True, False, False]  # at it: still


def test_mark_still_keeps_the_frames_in_order_with_their_flags():
    img = _scene()
    frames = [_frame(i, img, fps=10.0) for i in range(5)]
    out = list(mark_still(iter(frames), StillGate(1.0, 0.2)))
    assert [f.index for f, _ in out] == [0, 1, 2, 3, 4]
    assert [s for _, s in out] == [False, True, False, True, False]


def _person(value: float, pid: int = 0, hand_seen: bool = True) -> PersonLandmarks:
    p = PersonLandmarks(pid, pose_xyz=np.full((N_POSE, 3), value), pose_visibility=np.full(N_POSE, 0.9))
    if hand_seen:
        p.left_hand_xyz[:] = value
    return p


def test_interpolation_is_linear_in_time_and_never_invents_what_one_side_did_not_see():
    before = [_person(1.0), _person(5.0, pid=1)]
    after = [_person(3.0, hand_seen=False)]  # person 1 gone, person 0's hand lost
    out = interpolate(before, after, 0.25)
    assert [p.person_id for p in out] == [0]
    np.testing.assert_allclose(out[0].pose_xyz, 1.5)
    np.testing.assert_allclose(out[0].pose_visibility, 0.9)
    assert np.isnan(out[0].left_hand_xyz).all()  # seen before, not after: not seen
    assert np.isnan(out[0].face_xyz).all()  # seen on neither side


def test_fill_still_interpolates_by_timestamp_and_counts():
    fr = [SimpleNamespace(timestamp_s=t) for t in (0.0, 0.1, 0.3, 0.4, 0.5)]
    results = [((fr[0], False), [_person(0.0)]), ((fr[1], True), None), ((fr[2], True), None),
               ((fr[3], False), [_person(4.0)]), ((fr[4], False), [])]
    count = StillCount()
    out = list(fill_still(results, count))
    assert [f for f, _ in out] == fr
    np.testing.assert_allclose(out[1][1][0].pose_xyz, 1.0)  # 0.1 s of 0.4 s: a quarter of the way
    np.testing.assert_allclose(out[2][1][0].pose_xyz, 3.0)
    assert count.still == 2
    with pytest.raises(ValueError):
        list(fill_still([((fr[0], True), None)]))  # nothing before it


class _Counting:
    """A stand-in detector: each frame's one person has every pose coordinate equal to its frame index."""

    def __init__(self):
        self.seen = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def detect(self, image_bgr, timestamp_s):
        i = int(round(timestamp_s * 25))
        self.seen.append(i)
        return [_person(float(i))]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_pool_run_with_the_gate_sends_only_the_moving_frames_to_the_models(workers):
    """The square jumps between frames 6 and 7, the rest is still (25 frames a second, 0.12 s span): the detector
    sees every frame but the interpolated ones (two in three where nothing moves; 6 and 7 border the jump; 11 is
    the last), and an interpolated frame's landmarks lie on the line between the landmarked frames either side."""
    still_img, moved_img = _scene(square_at=40), _scene(square_at=200)
    images = [still_img] * 7 + [moved_img] * 5
    frames = [_frame(i, img) for i, img in enumerate(images)]
    dets = []

    def open_one():
        dets.append(_Counting())
        return dets[-1]

    count = StillCount()
    with DetectorPool(open_one, workers, chunk=4 if workers > 1 else None) as pool:
        out = list(pool.run(frames, gate=StillGate(max_change=2.0), count=count))  # MAX_SPAN_S 0.12: three frames at 25
    seen = sorted(i for d in dets for i in d.seen)
    assert seen == [0, 3, 6, 7, 10, 11]
    assert [f.index for f, _ in out] == list(range(12))
    for i in (1, 2, 4, 5, 8, 9):
        np.testing.assert_allclose(out[i][1][0].pose_xyz, float(i), rtol=1e-5)  # on the line from 0 to 3, 3 to 6...
    assert count.still == 6
    with DetectorPool(open_one, 1) as pool:
        assert [f.index for f, _ in pool.run(frames)] == list(range(12))  # no gate: every frame to the models
    assert sorted(dets[-1].seen) == list(range(12))
    assert MAX_SPAN_S == 0.12  # the premise of the frames the detector saw above
