"""vision.io.frames: every input kind yields timed frames; bad input is one clear InputError, never a crash."""
import json

import cv2
import numpy as np
import pytest

from builders import ear_touch_detector, make_person
from vision.io.cache import load_tracks
from vision.io.events import read_events
from vision.io.frames import DEFAULT_FOLDER_FPS, FrameSource, InputError
from vision.pipeline import analyze

N_FRAMES, FPS, WH = 40, 10.0, (64, 48)


def write_video(path, n=N_FRAMES, fps=FPS):
    """A small MJPG .avi whose frame i has brightness 5 * i."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, WH)
    assert w.isOpened()
    for i in range(n):
        w.write(np.full((WH[1], WH[0], 3), 5 * i, np.uint8))
    w.release()
    return path


@pytest.fixture
def video(tmp_path):
    return write_video(tmp_path / "clip.avi")


def read_all(path, **kw):
    with FrameSource(path, **kw) as src:
        frames = list(src)
    return frames, src.info


def input_error(path, **kw) -> str:
    with pytest.raises(InputError) as exc:
        read_all(path, **kw)
    msg = str(exc.value)
    assert "\n" not in msg, "user errors are one line"
    return msg


def test_a_video_yields_every_frame_with_index_time_and_float_fps(video):
    frames, info = read_all(video)
    assert (info.kind, info.fps, info.width, info.height) == ("video", 10.0, 64, 48)
    assert isinstance(info.fps, float)
    assert [f.index for f in frames] == list(range(N_FRAMES))
    np.testing.assert_allclose([f.timestamp_s for f in frames], np.arange(N_FRAMES) / FPS, atol=1e-6)
    assert frames[0].image_bgr.shape == (48, 64, 3) and frames[0].image_bgr.dtype == np.uint8
    assert info.warnings == [] and info.frames_read == N_FRAMES


def test_sample_fps_thins_the_frames(video):
    frames, _ = read_all(video, sample_fps=5.0)
    assert [f.index for f in frames] == list(range(0, N_FRAMES, 2))


def test_start_and_end_select_a_time_range_inclusive(video):
    frames, _ = read_all(video, start_s=1.0, end_s=2.0)
    assert [f.index for f in frames] == list(range(10, 21))


def test_missing_file_is_an_input_error(tmp_path):
    assert "no such file or folder" in input_error(tmp_path / "nope.mp4")


def test_a_text_file_named_mp4_is_not_a_video(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("these are my notes, not a video\n", encoding="utf-8")
    assert "not a video" in input_error(path)


def test_an_empty_file_is_not_a_video(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    assert "not a video" in input_error(path)


def test_a_video_with_zero_frames_says_it_has_no_frames(tmp_path):
    path = write_video(tmp_path / "zero.avi", n=0)
    assert "no decodable frames" in input_error(path)


def test_a_truncated_video_yields_what_is_readable_and_warns(video, tmp_path):
    data = video.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    frames, info = read_all(cut)
    assert 0 < len(frames) < N_FRAMES
    assert [f.index for f in frames] == list(range(len(frames)))  # in order, none skipped
    for f in frames[:5]:  # the readable frames are the real ones
        assert abs(int(f.image_bgr.mean()) - 5 * f.index) <= 3
    assert len(info.warnings) == 1
    w = info.warnings[0]
    assert "truncated" in w and f"decoded {len(frames)} of {N_FRAMES}" in w and "\n" not in w


def test_end_before_start_and_negative_fps_are_input_errors(video):
    assert input_error(video, start_s=5.0, end_s=2.0) == "--end (2.0) must be after --start (5.0)"
    assert input_error(video, sample_fps=-3.0) == "--fps must be >= 0 (0 = every frame), got -3"


def test_fps_zero_means_every_frame(video):
    """--fps 0 is what the help promises: every frame, not an error."""
    every, _ = read_all(video)
    zero, _ = read_all(video, sample_fps=0.0)
    assert [f.index for f in zero] == [f.index for f in every]


def test_a_folder_of_frames_is_timed_at_the_folder_fps(tmp_path):
    for i in range(4):
        cv2.imwrite(str(tmp_path / f"f{i:03d}.png"), np.full((48, 64, 3), 40 * i, np.uint8))
    (tmp_path / "readme.txt").write_text("not a frame", encoding="utf-8")
    frames, info = read_all(tmp_path)
    assert info.kind == "folder" and info.fps == DEFAULT_FOLDER_FPS
    assert [f.index for f in frames] == [0, 1, 2, 3]
    np.testing.assert_allclose([f.timestamp_s for f in frames], np.arange(4) / DEFAULT_FOLDER_FPS)
    assert [int(f.image_bgr.mean()) for f in frames] == [0, 40, 80, 120]  # sorted by name


def test_a_folder_without_images_is_an_input_error(tmp_path):
    (tmp_path / "readme.txt").write_text("x", encoding="utf-8")
    assert "folder holds no images" in input_error(tmp_path)


def test_a_single_image_is_one_still_frame_at_zero(tmp_path):
    path = tmp_path / "photo.jpg"
    cv2.imwrite(str(path), np.zeros((48, 64, 3), np.uint8))
    frames, info = read_all(path)
    assert info.is_still and [(f.index, f.timestamp_s) for f in frames] == [(0, 0.0)]


def test_an_unreadable_image_is_an_input_error(tmp_path):
    path = tmp_path / "photo.png"
    path.write_text("not a png", encoding="utf-8")
    assert "not a readable image" in input_error(path)


PersonEveryFrame = ear_touch_detector(WH, (32, 40), 40.0)  # a face touch every frame, no models


def test_analysing_a_truncated_video_keeps_what_was_readable_and_reports_partial(video, tmp_path, rules):
    data = video.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    res = analyze(str(cut), str(tmp_path / "run"), rules, progress=False, detector_factory=PersonEveryFrame)
    assert res.status == "partial"  # the CLI exits 3 on this status
    assert len(res.warnings) == 1 and "truncated" in res.warnings[0]
    n = res.info["timings"]["frames_analysed"]
    assert 0 < n < N_FRAMES
    last_t = (n - 1) / FPS
    assert [(e.rule, e.start_s, e.end_s) for e in res.events] == [("gesture.face_touch", 0.0, pytest.approx(last_t))]
    assert read_events(tmp_path / "run" / "events.jsonl") == res.events
    meta = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert meta["status"] == "partial" and meta["input"]["frames_read"] == n
    assert len(load_tracks(tmp_path / "run")[0]) == n


class FakeCamera:
    """Stands in for cv2.VideoCapture(device): a few grey frames, then the camera stops."""

    def __init__(self, device, frames=5):
        self.device, self.left = device, frames

    def isOpened(self):  # noqa: N802 (OpenCV's name)
        return self.device == 0

    def read(self):
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.full((48, 64, 3), 128, np.uint8)

    def get(self, prop):
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self):
        pass


def test_a_live_camera_gives_clock_timed_frames_and_says_when_it_stops(monkeypatch):
    """camera:0 reads the device until it stops: increasing times from 0, a warning at the end."""
    import vision.io.frames as frames_mod

    monkeypatch.setattr(frames_mod.cv2, "VideoCapture", FakeCamera)
    with FrameSource("camera:0") as src:
        got = list(src)
    assert src.kind == "camera" and src.info.width == 64 and src.info.height == 48
    assert [f.index for f in got] == [0, 1, 2, 3, 4]
    times = [f.timestamp_s for f in got]
    assert times[0] >= 0.0 and all(b > a for a, b in zip(times, times[1:]))
    assert any("stopped" in w for w in src.info.warnings)


def test_a_camera_that_cannot_be_opened_is_a_clear_error(monkeypatch):
    import vision.io.frames as frames_mod

    monkeypatch.setattr(frames_mod.cv2, "VideoCapture", FakeCamera)
    with pytest.raises(InputError, match="camera:3: the camera cannot be opened"):
        FrameSource("camera:3")
    with pytest.raises(InputError, match="camera:N with N a device number"):
        FrameSource("camera:front")


def test_a_live_camera_run_tracks_and_reports_events_as_they_close(monkeypatch, tmp_path, rules):
    """analyze('camera:0'): tracking (not still) mode, a face touch that ends is handed to on_event while the
    camera still runs, the run is named after the camera, and 'partial' when the camera stops on its own."""
    import time

    import vision.io.frames as frames_mod

    class SlowCamera(FakeCamera):
        def read(self):
            time.sleep(0.02)  # about 50 frames a second, timed by the clock
            return super().read()

    monkeypatch.setattr(frames_mod.cv2, "VideoCapture", lambda d: SlowCamera(d, frames=50))
    modes, seen = [], []
    fit = dict(image_wh=WH, hip_px=(32, 40), px_per_m=40.0)  # the whole person in the 64x48 picture
    touching, resting = make_person(hand_at="ear", **fit), make_person(hand_at="lap", **fit)

    class TouchThenRest(PersonEveryFrame):
        def __init__(self, still_images=False):
            super().__init__(still_images)
            modes.append(still_images)
            self.n = 0

        def detect(self, image_bgr, timestamp_s):
            self.n += 1
            return [touching if self.n <= 20 else resting]

    from vision.judge.analyzer import PersonOptions

    res = analyze("camera:0", str(tmp_path / "live"), rules, progress=False, detector_factory=TouchThenRest,
                  appearance=None, on_event=seen.append,
                  options=PersonOptions(calibration_window_s=(0.0, 0.1)),  # events wait for the calibration
                  threads=1)  # one stand-in counts every frame
    assert modes == [False]
    meta = json.loads((tmp_path / "live" / "run.json").read_text(encoding="utf-8"))
    assert meta["input"]["path"] == "camera:0" and meta["input"]["kind"] == "camera"
    assert res.status == "partial"
    touches = [e for e in read_events(tmp_path / "live" / "events.jsonl") if e.rule == "gesture.face_touch"]
    assert len(touches) == 1
    assert [e.to_json() for e in seen if e.rule == "gesture.face_touch"] == [touches[0].to_json()]
