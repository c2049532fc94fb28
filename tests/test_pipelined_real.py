"""Holistic fed without waiting gives exactly the landmarks of ``process()`` frame by frame (real models)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import REPO

pytestmark = pytest.mark.real

CLIPS = [REPO.parent / "shared" / "media" / p for p in (
    "hands_gesture/woman_seated_talking_hands_clasped_gesturing.mp4",  # one person talking, hands moving
    "two_person/arm_wrestling_at_table.mp4",  # two people: the graph loses and finds hands
)]


def _arrays(res) -> dict:
    out = {}
    for name in ("pose_landmarks", "pose_world_landmarks", "face_landmarks", "left_hand_landmarks",
                 "right_hand_landmarks"):
        lms = res[name] if isinstance(res, dict) else getattr(res, name)
        out[name] = None if lms is None else np.array([(p.x, p.y, p.z, p.visibility) for p in lms.landmark])
    return out


@pytest.mark.parametrize("clip, still", [(CLIPS[0], False), (CLIPS[1], False), (CLIPS[1], True)],
                         ids=["seated", "arm_wrestling", "arm_wrestling_stills"])
def test_holistic_fed_without_waiting_equals_process_frame_by_frame(clip, still):
    """Every frame of the clip, with up to 16 frames in the graph at once, against a second Holistic
    whose ``process`` waits for each frame: the same outputs, bit for bit, on every frame. ``still``: every
    frame judged alone (static image mode, as the crops of a two-person run are)."""
    import mediapipe as mp

    from vision.detect.pipelined import GraphStream
    from vision.io.frames import FrameSource

    def holistic():
        return mp.solutions.holistic.Holistic(static_image_mode=still, model_complexity=1, smooth_landmarks=True,
                                              refine_face_landmarks=True)

    with FrameSource(str(clip)) as src:
        frames = [np.ascontiguousarray(f.image_bgr[:, :, ::-1]) for f in src]
    if still:
        frames = frames[::2]  # stills cost more each (the person is detected afresh every time)
    plain_model, piped_model = holistic(), holistic()
    try:
        plain = [_arrays(plain_model.process(rgb)) for rgb in frames]
        stream, tickets, piped = GraphStream(piped_model), [], []
        for rgb in frames:
            tickets.append(stream.submit(rgb))
            if len(tickets) > 16:
                piped.append(_arrays(tickets.pop(0).result()))
        piped += [_arrays(t.result()) for t in tickets]
    finally:
        plain_model.close()
        piped_model.close()
    assert len(piped) == len(plain) == len(frames) > 100
    seen = 0
    for i, (a, b) in enumerate(zip(plain, piped)):
        for name in a:
            assert (a[name] is None) == (b[name] is None), (i, name)
            if a[name] is not None:
                np.testing.assert_array_equal(a[name], b[name], err_msg=f"frame {i} {name}")
                seen += 1
    assert seen > len(frames) // 2  # landmarks on most frames: the comparison had content


def test_a_frame_buffer_reused_at_once_after_submit_changes_nothing():
    """The caller overwrites its (read-only to MediaPipe) frame buffer as soon as submit returns, as a decoder
    reusing its buffer would: the outputs still equal ``process`` on the true frames, since the graph works on
    its own copy (by reference it would read the overwritten pixels, or freed memory)."""
    import mediapipe as mp

    from vision.detect.pipelined import GraphStream
    from vision.io.frames import FrameSource

    with FrameSource(str(CLIPS[0])) as src:
        frames = [np.ascontiguousarray(f.image_bgr[:, :, ::-1]) for f in src][:60]
    plain_model = mp.solutions.holistic.Holistic(refine_face_landmarks=True)
    piped_model = mp.solutions.holistic.Holistic(refine_face_landmarks=True)
    try:
        plain = [_arrays(plain_model.process(rgb)) for rgb in frames]
        stream, tickets = GraphStream(piped_model), []
        buf = np.empty_like(frames[0])
        view = buf.view()
        view.flags.writeable = False  # what MediaPipe would take by reference
        for rgb in frames:
            buf[...] = rgb
            tickets.append(stream.submit(view))
            buf[...] = 0  # the caller reuses its buffer at once
        piped = [_arrays(t.result()) for t in tickets]
    finally:
        plain_model.close()
        piped_model.close()
    for i, (a, b) in enumerate(zip(plain, piped)):
        for name in a:
            assert (a[name] is None) == (b[name] is None), (i, name)
            if a[name] is not None:
                np.testing.assert_array_equal(a[name], b[name], err_msg=f"frame {i} {name}")
