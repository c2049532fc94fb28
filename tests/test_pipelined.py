"""Frames fed to a MediaPipe graph without waiting (vision.detect.pipelined): outputs settle per frame, in
order, only once every output stream has passed the frame; a failed graph raises instead of hanging.
The graph here is a fake that delivers packets when the test says so; the real Holistic graph is compared
with ``process()`` in test_pipelined_real.py."""
from __future__ import annotations

import time

import numpy as np
import pytest

from vision.detect import pipelined
from vision.detect.pipelined import GraphStream


def _image(value: int) -> np.ndarray:
    return np.full((2, 3, 3), value, np.uint8)


class _Packet:
    def __init__(self, ts: int, value=None):
        self.timestamp = type("T", (), {"value": ts})()
        self.value = value

    def is_empty(self) -> bool:
        return self.value is None

    def at(self, ts: int) -> "_Packet":
        return _Packet(ts, self.value)


class _Graph:
    def __init__(self):
        self.added, self.failed, self.idle_calls = [], False, 0

    def add_packet_to_input_stream(self, stream, packet):
        self.added.append((stream, packet.timestamp.value, packet.value))

    def has_error(self):
        return self.failed

    def wait_until_idle(self):
        self.idle_calls += 1
        if self.failed:
            raise RuntimeError("CalculatorGraph::Run() failed: boom")


class _Solution:
    """What GraphStream uses of a legacy SolutionBase: its graph, stream types and packet helpers."""

    def __init__(self):
        self._graph = _Graph()
        self._output_stream_type_info = {"pose": "proto", "face": "proto"}
        self._input_stream_type_info = {"image": "image_frame"}
        self._graph_outputs = {}
        self.resets = 0

    def _make_packet(self, kind, data):
        self.made_from = data
        return _Packet(0, data)

    def _get_packet_content(self, kind, packet):
        return ("content", packet.value)

    def reset(self):
        self.resets += 1

    def emit(self, stream: str, ts: int, value=None):  # what the graph's observer callback does
        self._graph_outputs[stream] = _Packet(ts, value)


def test_frames_go_in_at_process_timestamps_and_settle_only_when_every_stream_passed_them():
    sol = _Solution()
    stream = GraphStream(sol)
    img_a, img_b = _image(1), _image(2)
    a, b = stream.submit(img_a), stream.submit(img_b)
    step = pipelined.STEP_US
    assert [(s, t) for s, t, _ in sol._graph.added] == [("image", step), ("image", 2 * step)]
    assert sol._graph.added[0][2] is img_a and sol._graph.added[1][2] is img_b
    sol.emit("pose", step, "p-a")
    assert not a._done.is_set()  # the face stream has not passed frame a yet
    sol.emit("face", step)  # a timestamp bound: no face in frame a
    assert a._done.is_set() and not b._done.is_set()
    assert a.result() == {"pose": ("content", "p-a"), "face": None}
    sol.emit("face", 2 * step, "f-b")
    sol.emit("pose", 2 * step)
    assert b.result() == {"pose": None, "face": ("content", "f-b")}
    assert b.finished >= b.submitted


def test_a_bound_that_jumps_ahead_settles_every_frame_before_it():
    sol = _Solution()
    stream = GraphStream(sol)
    tickets = [stream.submit(_image(i)) for i in range(3)]
    sol.emit("face", 3 * pipelined.STEP_US)
    sol.emit("pose", pipelined.STEP_US, "first")
    assert [t._done.is_set() for t in tickets] == [True, False, False]
    sol.emit("pose", 3 * pipelined.STEP_US)
    assert all(t._done.is_set() for t in tickets)
    assert tickets[0].result()["pose"] == ("content", "first")
    assert tickets[2].result() == {"pose": None, "face": None}


def test_a_failed_graph_raises_its_error_instead_of_waiting_forever(monkeypatch):
    monkeypatch.setattr(pipelined, "POLL_S", 0.01)
    sol = _Solution()
    ticket = GraphStream(sol).submit(_image(0))
    sol._graph.failed = True
    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match="boom"):
        ticket.result()
    assert time.perf_counter() - t0 < 5


def test_reset_waits_for_the_graph_and_forgets_the_closed_run_s_bounds():
    sol = _Solution()
    stream = GraphStream(sol)
    stream.submit(_image(0))
    sol.emit("pose", 2 ** 62)  # a closing graph reports its streams done
    sol.emit("face", 2 ** 62)
    stream.reset()
    assert sol.resets == 1 and sol._graph.idle_calls == 1
    after = stream.submit(_image(1))
    assert after.ts > pipelined.STEP_US  # timestamps go on increasing across the restart, as process() does
    assert not after._done.is_set()  # not settled by the old run's "done"


def test_a_read_only_frame_is_copied_before_it_goes_into_the_graph():
    """MediaPipe keeps a read-only array by reference; a frame in flight must not depend on the caller's
    buffer (freed or reused as soon as submit returns), so the graph is handed a writeable copy of it."""
    sol = _Solution()
    frame = np.zeros((4, 6, 3), np.uint8)
    frame.flags.writeable = False
    GraphStream(sol).submit(frame)
    assert sol.made_from.flags.writeable and not np.shares_memory(sol.made_from, frame)
    own = np.zeros((4, 6, 3), np.uint8)  # a writeable frame: MediaPipe copies it itself
    GraphStream(sol).submit(own)
    assert sol.made_from is own
