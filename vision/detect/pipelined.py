"""A legacy MediaPipe solution graph fed frames without waiting for each one's landmarks.

``SolutionBase.process`` adds one frame and waits until the whole graph is
idle, so Holistic's face and hand models of frame t never run beside the pose
model of frame t+1, and the second core mostly waits. :class:`GraphStream`
adds frames as they come and hands each one's outputs back in order once every
output stream has passed its timestamp (the solution observes timestamp
bounds, so a stream that produced nothing for a frame still says so). The
graph, its inputs and its timestamps (33333 us apart, as ``process`` gives
them) are the same, and its tracking loops wait for the frame before, so the
landmarks are exactly those of ``process`` frame by frame (tested on real
clips); only the wall time changes (README, *Speed*)::

    stream = GraphStream(mp.solutions.holistic.Holistic(...))
    tickets = [stream.submit(rgb) for rgb in frames]   # a few in flight
    outputs = [t.result() for t in tickets]            # {stream name: content or None}, in order
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Deque, Dict, Optional

#: seconds between checks for a graph error while waiting for a frame's outputs
POLL_S = 0.5
#: ``process``'s timestamp step (us): it simulates 30 fps whatever the video's rate, and so do we
STEP_US = 33333


class Ticket:
    """One submitted frame; :meth:`result` waits for its outputs."""

    def __init__(self, stream: "GraphStream", ts: int):
        self._stream, self.ts = stream, ts
        self.submitted, self.finished = time.perf_counter(), float("nan")  # perf_counter seconds
        self._done = threading.Event()
        self._packets: Dict[str, Any] = {}

    def result(self) -> Dict[str, Optional[object]]:
        """``{output stream: content}`` for this frame (None where the stream gave nothing). Raises the
        graph's error if it failed meanwhile, instead of waiting for outputs that will never come."""
        while not self._done.wait(POLL_S):
            self._stream.raise_if_failed()
        return {name: None if pkt is None else self._stream.content(name, pkt)
                for name, pkt in self._packets.items()}


class GraphStream:
    """Frames into ``solution``'s graph without waiting, outputs back per frame (see the module doc).

    Takes over the solution's output observers: use :meth:`submit` from then
    on, never ``solution.process``. :meth:`reset` restarts the graph, as
    ``solution.reset`` does, once every frame submitted has its outputs.
    """

    def __init__(self, solution):
        self._solution = solution
        self._names = list(solution._output_stream_type_info)
        (self._input, self._input_type), = solution._input_stream_type_info.items()
        self._lock = threading.Lock()
        self._seen = {name: -1 for name in self._names}  # each stream's latest timestamp (packet or bound)
        self._got: Dict[tuple, Any] = {}
        self._pending: Deque[Ticket] = deque()
        self._ts = 0
        solution._graph_outputs = self  # the solution's observers call __setitem__ (process would clear it)

    # -- the solution's observers: called from the graph's threads --
    def __setitem__(self, name: str, packet) -> None:
        with self._lock:
            ts = packet.timestamp.value
            if not packet.is_empty():
                self._got[(name, ts)] = packet
            self._seen[name] = max(self._seen[name], ts)
            settled = min(self._seen.values())
            while self._pending and self._pending[0].ts <= settled:
                ticket = self._pending.popleft()
                ticket._packets = {n: self._got.pop((n, ticket.ts), None) for n in self._names}
                ticket.finished = time.perf_counter()
                ticket._done.set()

    def clear(self) -> None:  # the solution's own process() calls this; nothing to do
        pass

    def submit(self, image_rgb) -> Ticket:
        """Add one RGB frame (HxWx3 uint8); returns at once. The graph gets its own copy: MediaPipe keeps a
        *read-only* array by reference, which ``process`` can afford (it waits) but a frame in flight cannot (the
        caller's array may be freed or reused before the graph reads it: a crash, or another frame's pixels)."""
        if not image_rgb.flags.writeable:
            image_rgb = image_rgb.copy()  # writeable: the packet copies it
        self._ts += STEP_US
        ticket = Ticket(self, self._ts)
        with self._lock:
            self._pending.append(ticket)
        self._solution._graph.add_packet_to_input_stream(
            stream=self._input, packet=self._solution._make_packet(self._input_type, image_rgb).at(self._ts))
        return ticket

    def content(self, name: str, packet):
        return self._solution._get_packet_content(self._solution._output_stream_type_info[name], packet)

    def raise_if_failed(self) -> None:
        if self._solution._graph.has_error():
            self._solution._graph.wait_until_idle()  # raises the graph's error
            raise RuntimeError("the landmark graph failed")

    def reset(self) -> None:
        """Every frame submitted settles, then the graph starts afresh (tracking and smoothing forgotten)."""
        self._solution._graph.wait_until_idle()
        self._solution.reset()
        with self._lock:
            self._seen = {name: -1 for name in self._names}  # a closed graph reports its streams done
            self._got.clear()
