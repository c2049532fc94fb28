"""The several-people probe on a long video seeks to its few frames instead of decoding every frame between
them (vision.io.frames.seek_frames, vision.people_run.several)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from vision import people_run
from vision.io.frames import FrameSource, InputError, seek_frames

FPS, WH, N = 10.0, (64, 48), 200


@pytest.fixture
def video(tmp_path):
    """An MJPG clip (every frame a keyframe) whose frame i has blue = i: which frame came back is visible."""
    path = tmp_path / "long.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, WH)
    for i in range(N):
        img = np.zeros((WH[1], WH[0], 3), np.uint8)
        img[:, :, 0] = i
        w.write(img)
    w.release()
    return path


def test_seeking_lands_on_the_frame_at_each_time(video):
    times = [0.0, 3.0, 7.5, 12.3, 19.9]
    frames = list(seek_frames(video, times))
    assert [f.timestamp_s for f in frames] == times
    for f in frames:
        assert f.index == round(f.timestamp_s * FPS)
        assert abs(float(np.median(f.image_bgr[:, :, 0])) - f.index) <= 2, f.index  # the frame of that index


def test_a_time_past_the_end_is_skipped_and_a_missing_file_is_an_input_error(video, tmp_path):
    assert [f.index for f in seek_frames(video, [1.0, 500.0])] == [10]
    with pytest.raises(InputError):
        list(seek_frames(tmp_path / "nothing.avi", [0.0]))


def test_probe_times_spread_over_the_span_and_stop_at_the_probe_s_frame_count():
    assert people_run.probe_times(0.0, 9.0, 0.5) == [0.0, 2.0, 4.0, 6.0, 8.0]
    long = people_run.probe_times(30.0, 1800.0, people_run.probe_rate(1800.0))
    assert len(long) == people_run.PROBE_FRAMES and long[0] == 30.0 and long[-1] < 30.0 + 1800.0


class _Counting:
    """A multi-person detector that sees one body and remembers the times it was shown."""

    def __init__(self, still_images=False):
        self.times = []

    def __enter__(self):
        _Counting.last = self
        return self

    def __exit__(self, *exc):
        return False

    def detect(self, image, t):
        self.times.append(t)
        return []


@pytest.mark.parametrize("gap, seeks", [(5, True), (10_000, False)])
def test_a_long_video_is_probed_by_seeking_a_short_one_by_decoding(video, monkeypatch, gap, seeks):
    """With frames between probe frames beyond SEEK_GAP_FRAMES the probe seeks (no decode of the whole
    video); below it the straight decode, as before. Both look at the same times."""
    monkeypatch.setattr(people_run, "SEEK_GAP_FRAMES", gap)
    decoded, sought = [], []
    real_decode, real_seek = people_run.decode_again, people_run.seek_frames
    monkeypatch.setattr(people_run, "decode_again", lambda *a: decoded.append(a) or real_decode(*a))
    monkeypatch.setattr(people_run, "seek_frames", lambda *a: sought.append(a) or real_seek(*a))
    with FrameSource(str(video)) as src:
        log = {}
        assert people_run.several(str(video), src, None, 0.0, None, _Counting, log) is False
    assert bool(sought) == seeks and bool(decoded) != seeks
    assert _Counting.last.times == pytest.approx([0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0])
    assert log["frames"] == 10
