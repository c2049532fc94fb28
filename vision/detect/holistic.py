"""Stage 2, default backend: MediaPipe Holistic, with the models inside the mediapipe wheel.

``mediapipe==0.10.21`` bundles every model Holistic needs (pose_detection +
pose_landmark_full, face_landmark_with_attention for 478 points with irises,
hand_recrop + hand_landmark_full), so it runs with nothing but the wheel and
no network. One person a frame. See ``../shared/notes/mediapipe-offline.md``.
The other backend is :mod:`vision.detect.tasks`; :func:`vision.detect.base.open_detector`
chooses between them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import numpy as np

from vision.detect.landmarks import N_FACE, N_HAND, N_POSE, PersonLandmarks
from vision.detect.models import wheel_entry
from vision.detect.native import ModelHandle, landmark_array, landmark_visibility, quiet_native_stderr

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
            self._model.reset()

    def detect(self, image_bgr: np.ndarray, timestamp_s: float) -> List[PersonLandmarks]:
        """Landmarks of the person in ``image_bgr``; an empty list if nobody is found."""
        if not self.still_images and timestamp_s <= self._last_t:
            raise ValueError(f"timestamps must increase: {timestamp_s} after {self._last_t}")
        self._last_t = timestamp_s
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        rgb.flags.writeable = False
        if self._warm:
            res = self._model.process(rgb)
        else:  # the graph's first run loads the models and logs about it
            with quiet_native_stderr():
                res = self._model.process(rgb)
            self._warm = True
        if res.pose_landmarks is None and res.face_landmarks is None:
            return []
        return [PersonLandmarks(
            person_id=0,
            pose_xyz=landmark_array(res.pose_landmarks, N_POSE),
            pose_visibility=landmark_visibility(res.pose_landmarks, N_POSE),
            pose_world_xyz=landmark_array(res.pose_world_landmarks, N_POSE),
            face_xyz=landmark_array(res.face_landmarks, N_FACE),
            left_hand_xyz=landmark_array(res.left_hand_landmarks, N_HAND),
            right_hand_xyz=landmark_array(res.right_hand_landmarks, N_HAND),
        )]
