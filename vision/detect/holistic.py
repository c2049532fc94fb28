"""Stage 2, default backend: MediaPipe Holistic, with the models inside the mediapipe wheel.

``mediapipe==0.10.21`` bundles every model Holistic needs (pose_detection +
pose_landmark_full, face_landmark_with_attention for 478 points with irises,
hand_recrop + hand_landmark_full), so it runs with nothing but the wheel and
no network. One person a frame. See ``../shared/notes/mediapipe-offline.md``.
The other backend is :mod:`vision.detect.tasks`; :func:`vision.detect.base.open_detector`
chooses between them.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np

from vision.detect.landmarks import N_FACE, N_HAND, N_POSE, PersonLandmarks
from vision.detect.models import wheel_entry
from vision.detect.native import ModelHandle, landmark_array, landmark_visibility, quiet_native_stderr
from vision.detect.pipelined import GraphStream, Ticket

#: run.json role -> the model file under ``mediapipe/`` that Holistic loads for it.
HOLISTIC_MODELS = {
    "pose_detector": "modules/pose_detection/pose_detection.tflite",
    "pose": "modules/pose_landmark/pose_landmark_full.tflite",
    "face": "modules/face_landmark/face_landmark_with_attention.tflite",
    "hand_recrop": "modules/holistic_landmark/hand_recrop.tflite",
    "hands": "modules/hand_landmark/hand_landmark_full.tflite",
}


class HolisticDetector(ModelHandle):
    """Pose (33), face (478 with irises) and both hands (21 each) for one person.

    ``still_images=True`` runs every frame independently (photos, folders of
    unrelated frames); otherwise landmarks are tracked from frame to frame,
    which needs strictly increasing timestamps. Use as a context manager.

    The frames go through a :class:`~vision.detect.pipelined.GraphStream`:
    :meth:`detect_async` returns at once, so a caller that keeps a few frames in
    flight lets the face and hand models of one frame run beside the pose model
    of the next (the landmarks are those of :meth:`detect`, frame for frame;
    stills have nothing to wait for between images at all).
    """

    def __init__(self, still_images: bool = False):
        import mediapipe as mp  # imported here so that tests of other stages never load it

        self.still_images = still_images
        self._warm = False
        self._wheel = Path(mp.__file__).parent
        with quiet_native_stderr():
            self._model = mp.solutions.holistic.Holistic(
                static_image_mode=still_images,
                model_complexity=1,  # the only pose model bundled in the wheel
                smooth_landmarks=True,
                refine_face_landmarks=True,
                min_detection_confidence=0.5,
                min_tracking_confidence=0.5,
            )
        self._last_t = -np.inf
        self._stream = GraphStream(self._model)  # stills too: each image alone, several in the graph at once

    @property
    def model_names(self) -> Dict[str, object]:
        """run.json's ``models``: backend ``holistic``, no models folder, the wheel's files with their sha256."""
        return {"backend": "holistic", "models_dir": None,
                "files": {role: wheel_entry(self._wheel, rel) for role, rel in HOLISTIC_MODELS.items()}}

    def reset(self) -> None:
        """Forget the frames before: tracking and smoothing start afresh, as at the start of a video. A
        :class:`~vision.detect.pool.DetectorPool` of several instances does this before each segment, so the
        landmarks do not depend on which instance took the segment before."""
        if not self.still_images:
            self._stream.reset()

    def detect(self, image_bgr: np.ndarray, timestamp_s: float) -> List[PersonLandmarks]:
        """Landmarks of the person in ``image_bgr``; an empty list if nobody is found."""
        return self.detect_async(image_bgr, timestamp_s).result()

    def detect_async(self, image_bgr: np.ndarray, timestamp_s: float) -> "Pending":
        """:meth:`detect` without the wait: the frame goes in at once, ``.result()`` waits for its landmarks.
        The graph works on the frames in the order they went in, whatever order the results are taken in."""
        if not self.still_images and timestamp_s <= self._last_t:
            raise ValueError(f"timestamps must increase: {timestamp_s} after {self._last_t}")
        self._last_t = timestamp_s
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])  # writeable: the graph copies it (pipelined.GraphStream)
        if self._warm:
            return Pending(ticket=self._stream.submit(rgb))
        t0 = time.perf_counter()
        with quiet_native_stderr():  # the graph's first frame loads the models and logs about it
            people = _people(self._stream.submit(rgb).result())
        self._warm = True
        return Pending(people=people, span=(t0, time.perf_counter()))


class Pending:
    """One frame's landmarks, computed or on their way (:meth:`HolisticDetector.detect_async`)."""

    def __init__(self, ticket: Optional[Ticket] = None, people: Optional[List[PersonLandmarks]] = None,
                 span: Tuple[float, float] = (0.0, 0.0)):
        self._ticket, self._people, self._span = ticket, people, span

    def result(self) -> List[PersonLandmarks]:
        if self._people is None:
            self._people = _people(self._ticket.result())
            self._span = (self._ticket.submitted, self._ticket.finished)
            self._ticket = None
        return self._people

    @property
    def span(self) -> Tuple[float, float]:
        """``(submitted, finished)`` in ``time.perf_counter`` seconds; valid once :meth:`result` returned."""
        return self._span


def _people(res: Mapping[str, object]) -> List[PersonLandmarks]:
    """Holistic's outputs of one frame as the person found, or [] if nobody is (no pose, no face)."""
    if res["pose_landmarks"] is None and res["face_landmarks"] is None:
        return []
    return [PersonLandmarks(
        person_id=0,
        pose_xyz=landmark_array(res["pose_landmarks"], N_POSE),
        pose_visibility=landmark_visibility(res["pose_landmarks"], N_POSE),
        pose_world_xyz=landmark_array(res["pose_world_landmarks"], N_POSE),
        face_xyz=landmark_array(res["face_landmarks"], N_FACE),
        left_hand_xyz=landmark_array(res["left_hand_landmarks"], N_HAND),
        right_hand_xyz=landmark_array(res["right_hand_landmarks"], N_HAND),
    )]
