"""Several detector instances on one recording (vision.detect.pool): order, one call a frame, bounded memory."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from vision.detect.pool import AHEAD, DetectorPool


class Recorder:
    """A stand-in detector: remembers which frames it saw, in which thread, and whether it was opened and closed."""

    instances: list = []

    def __init__(self, delay_s: float = 0.0, fail_at: int = -1):
        self.seen, self.threads, self.delay_s, self.fail_at = [], set(), delay_s, fail_at
        self.resets = []
        self.entered = self.exited = False
        Recorder.instances.append(self)

    def __enter__(self):
        self.entered = True
        return self

    def __exit__(self, *exc):
        self.exited = True

    @property
    def model_names(self):
        return {"backend": "recorder"}

    def reset(self):
        self.resets.append(len(self.seen))  # how many frames it had seen when told to start afresh

    def detect(self, image_bgr, timestamp_s):
        self.threads.add(threading.get_ident())
        if self.delay_s:
            time.sleep(self.delay_s * (1 + (int(timestamp_s * 10) % 3)))  # uneven: later frames may finish first
        if int(round(timestamp_s * 10)) == self.fail_at:
            raise RuntimeError(f"bad frame at {timestamp_s}")
        self.seen.append(timestamp_s)
        return [f"person at {timestamp_s:.1f}"]


def frames(n):
    return [SimpleNamespace(index=i, timestamp_s=i / 10, image_bgr=np.zeros((2, 2, 3), np.uint8)) for i in range(n)]


@pytest.fixture(autouse=True)
def fresh_instances():
    Recorder.instances = []


def test_results_come_back_in_input_order_each_frame_landmarked_once():
    """Two instances with uneven detect times: every frame is detected exactly once, by instance i % 2, each
    instance sees strictly increasing timestamps (as a tracking graph needs), and the output keeps input order."""
    with DetectorPool(lambda: Recorder(delay_s=0.002), workers=2, chunk=1) as pool:
        out = list(pool.run(frames(25)))
    assert [f.index for f, _ in out] == list(range(25))
    assert [people for _, people in out] == [[f"person at {i / 10:.1f}"] for i in range(25)]
    a, b = Recorder.instances
    assert a.seen == [i / 10 for i in range(0, 25, 2)] and b.seen == [i / 10 for i in range(1, 25, 2)]
    assert len(a.threads) == len(b.threads) == 1 and a.threads != b.threads  # one thread each, never shared
    assert all(d.entered and d.exited for d in Recorder.instances)
    assert pool.seconds > 0


@pytest.mark.parametrize("chunk", [3, 16])
def test_runs_of_chunk_frames_go_to_each_instance_in_turn(chunk):
    """chunk=3 over 20 frames: instance 0 takes 0-2, 6-8, ...; instance 1 takes 3-5, 9-11, ...: each tracks
    consecutive frames, and the output is still in input order."""
    with DetectorPool(lambda: Recorder(delay_s=0.001), workers=2, chunk=chunk) as pool:
        out = [f.index for f, _ in pool.run(frames(20))]
    assert out == list(range(20))
    a, b = Recorder.instances
    assert a.seen == [i / 10 for i in range(20) if (i // chunk) % 2 == 0]
    assert b.seen == [i / 10 for i in range(20) if (i // chunk) % 2 == 1]


def test_every_segment_after_the_first_starts_afresh_whatever_the_instances():
    """chunk=3, 20 frames: a reset before frames 3, 6, ..., 18 however many instances share them (instance 0 of
    two takes 6, 12, 18; instance 1 takes 3, 9, 15; one instance takes them all), so each segment is landmarked
    the same way by one instance or two."""
    with DetectorPool(Recorder, workers=2, chunk=3) as pool:
        list(pool.run(frames(20)))
    a, b = Recorder.instances
    assert a.resets == [3, 6, 9] and b.resets == [0, 3, 6]  # frames seen by that instance when reset
    Recorder.instances = []
    with DetectorPool(Recorder, workers=1, chunk=3) as pool:
        list(pool.run(frames(20)))
    assert Recorder.instances[0].resets == [3, 6, 9, 12, 15, 18]


def test_frames_in_flight_stay_bounded():
    """The pool reads ahead at most workers * chunk + AHEAD frames beyond what it has given back: memory does not
    grow with the recording even when the caller is slow."""
    read = []

    def source():
        for f in frames(40):
            read.append(f.index)
            yield f

    with DetectorPool(Recorder, workers=2, chunk=4) as pool:
        for f, _ in pool.run(source()):
            assert len(read) - f.index <= 2 * 4 + AHEAD
            time.sleep(0.001)
    assert len(read) == 40


def test_an_error_in_one_frame_is_raised_there_after_the_frames_before_it():
    """A detector failing on frame 7 raises in the caller at frame 7; frames 0-6 were given back first and the
    graphs are closed afterwards."""
    got = []
    with pytest.raises(RuntimeError, match="bad frame at 0.7"):
        with DetectorPool(lambda: Recorder(fail_at=7), workers=2, chunk=1) as pool:
            for f, _ in pool.run(frames(20)):
                got.append(f.index)
    assert got == list(range(7))
    assert all(d.exited for d in Recorder.instances)


def test_stopping_early_closes_every_instance():
    """A caller that breaks off (Ctrl-C, a damaged file) leaves no graph open and no frame running."""
    with DetectorPool(lambda: Recorder(delay_s=0.001), workers=2, chunk=1) as pool:
        for f, _ in pool.run(frames(50)):
            if f.index == 3:
                break
    assert all(d.exited for d in Recorder.instances)
    assert sum(len(d.seen) for d in Recorder.instances) < 50


def test_one_instance_tracks_throughout_and_several_need_segments():
    """open_pool: by default one instance, never reset; two or more work on segments of CHUNK frames. A pool of
    no instance, of segments of no frame, or of several instances without segments is refused."""
    from vision.detect.pool import CHUNK, open_pool

    assert (open_pool(Recorder).workers, open_pool(Recorder).chunk) == (1, None)
    assert (open_pool(Recorder, 2).workers, open_pool(Recorder, 2).chunk) == (2, CHUNK)
    with DetectorPool(Recorder) as pool:
        list(pool.run(frames(3 * CHUNK)))
    assert Recorder.instances[-1].resets == []
    for workers, chunk in ((0, 16), (2, 0), (2, None)):
        with pytest.raises(ValueError, match="workers must be at least 1 and chunk at least 1"):
            DetectorPool(Recorder, workers=workers, chunk=chunk)


def test_two_instances_give_the_same_run_as_one(tmp_path, rules):
    """analyze by default (one instance, run.json says so) and with two, on a detector without memory: the same
    events and landmark cache (the order and the bookkeeping of the pool lose nothing)."""
    import cv2

    from tests.builders import ear_touch_detector
    from vision.io.cache import load_tracks
    from vision.io.events import read_events
    from vision.pipeline import analyze

    video = tmp_path / "clip.avi"
    wr = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for i in range(40):
        wr.write(np.full((48, 64, 3), i * 5 % 255, np.uint8))
    wr.release()
    det = ear_touch_detector((64, 48), hip_px=(32, 40), px_per_m=40.0)
    runs = {}
    for n in (None, 2):
        out = tmp_path / f"run{n}"
        res = analyze(str(video), str(out), rules, progress=False, detector_factory=det, appearance=None, threads=n)
        runs[n or 1] = ([(e.rule, e.start_s, e.end_s) for e in read_events(out / "events.jsonl")],
                        load_tracks(str(out))[0].pose_xyz)
        assert res.info["timings"]["model_instances"] == (n or 1)  # one unless told
    assert runs[1][0] and runs[1][0] == runs[2][0]
    np.testing.assert_array_equal(runs[1][1], runs[2][1])


class AsyncRecorder:
    """A detector fed without waiting: ``detect_async`` returns a pending result; the test counts how many
    frames were submitted and not yet taken."""

    def __init__(self):
        self.submitted, self.taken, self.most_in_flight = 0, 0, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    @property
    def model_names(self):
        return {"backend": "async"}

    def detect(self, image_bgr, timestamp_s):
        raise AssertionError("a detector with detect_async is fed without waiting")

    def detect_async(self, image_bgr, timestamp_s):
        self.submitted += 1
        self.most_in_flight = max(self.most_in_flight, self.submitted - self.taken)
        t0, owner = time.perf_counter(), self

        class Pending:
            span = (t0, t0 + 0.01)  # each frame "took" 10 ms of the graph's time

            def result(self):
                owner.taken += 1
                return [SimpleNamespace(t=timestamp_s)]

        return Pending()


def test_an_async_detector_gets_frames_without_waiting_in_order_with_a_few_in_flight():
    from vision.detect.pool import PIPELINE_DEPTH

    frames = [SimpleNamespace(image_bgr=None, timestamp_s=i / 10) for i in range(100)]
    det = AsyncRecorder()
    with DetectorPool(lambda: det) as pool:
        out = [(f.timestamp_s, people[0].t) for f, people in pool.run(frames)]
    assert out == [(i / 10, i / 10) for i in range(100)]
    assert 2 < det.most_in_flight <= PIPELINE_DEPTH + 1
    # the graph's busy time: frames overlap, so 10 ms each at most, never the submit-to-result wall time
    assert 0 < pool.seconds <= 100 * 0.01 + 1e-6
