"""Stage 2, several people: the Tasks ``PoseLandmarker`` with ``num_poses > 1``, pose only.

Holistic follows one person, whoever it locks on to; in a two-person
roleplay it jumps between trainee and customer. :class:`MultiPoseDetector`
finds up to ``num_poses`` bodies a frame with the same pose models Holistic
uses (pose_detection + pose_landmark_full from the mediapipe wheel, wrapped
into a ``.task`` bundle on first use by :func:`vision.detect.pose_bundle.pose_bundle`).

Clips run the person detector on every frame by default (IMAGE mode, each
frame on its own) and leave who-is-who to :mod:`vision.track`: in VIDEO mode
MediaPipe looks for people only when it has lost the ones it follows, so a
second person beside the first is never found. Measured on the two-person
clips of ../shared/media (``split: tune``, 5 frames/s, confidences 0.3):
``ntu_two_men_hugging`` 0 of 13 frames with both men in VIDEO mode, 6 of 13
in IMAGE mode; ``pexels_two_men_...phone`` 6 of 44 against 31 of 44; at about
the same cost a frame (``scripts/measure_tracking.py``). ``graph_tracking=True``
gives VIDEO mode (smoother landmarks for the people it keeps). Each person comes back as a
:class:`~vision.detect.landmarks.PersonLandmarks` with the pose filled
(``pose_xyz``, ``pose_visibility``, ``pose_world_xyz``) and face and hands
NaN. ``person_id`` is only the index in this frame: who is who across frames
is :mod:`vision.track`'s job.

Points outside the image or with low visibility are kept as MediaPipe gives
them, with their visibility, so later stages can treat them as not seen.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from vision.detect.native import ModelHandle, VideoClock, quiet_native_stderr
from vision.detect.landmarks import N_POSE, PersonLandmarks

#: Default confidences. MediaPipe's default is 0.5 for all three. On the
#: multi-person clips of ../shared/media (all ``split: tune``; IMAGE mode,
#: 5 frames/s) 0.5 found nobody in 35 of 47 frames of ``arm_wrestling_at_table``
#: (both boys are in every frame), 0.3 in 21; both men of the phone clip in 26
#: of 44 frames at 0.5, 31 at 0.3; the hug 4 against 6 of 13. Lower (0.15)
#: added bodies in the background without finding the subjects more often, so
#: detection and presence are 0.3. Tracking confidence (VIDEO mode only) stays 0.5.
DETECTION, PRESENCE, TRACKING = 0.3, 0.3, 0.5
#: At most this many people a frame: a roleplay has two; room for bystanders.
NUM_POSES = 4


def _points(landmarks) -> np.ndarray:
    out = np.full((N_POSE, 3), np.nan, np.float32)
    xyz = np.array([(p.x, p.y, p.z) for p in landmarks], np.float32).reshape(-1, 3)[:N_POSE]
    out[:len(xyz)] = xyz
    return out


def _visibility(landmarks) -> np.ndarray:
    out = np.full((N_POSE,), np.nan, np.float32)
    vis = [np.nan if p.visibility is None else p.visibility for p in landmarks][:N_POSE]
    out[:len(vis)] = vis
    return out


class MultiPoseDetector(ModelHandle):
    """Pose (33 points) of up to ``num_poses`` people a frame. Use as a context manager.

    ``still_images=True``: unrelated images, no timestamps. Otherwise frames
    of a clip, with increasing timestamps; each is still judged on its own
    (IMAGE mode, the person detector runs every frame) unless
    ``graph_tracking=True``: VIDEO mode, timestamps sent in whole ms (nudged up
    by 1 ms where two round alike), MediaPipe following the people it found.
    ``bundle``: a pose ``.task`` file; by default the one built from the
    wheel's models (cached, see :mod:`vision.detect.pose_bundle`).
    """

    def __init__(self, still_images: bool = False, num_poses: int = NUM_POSES,
                 min_detection: float = DETECTION, min_presence: float = PRESENCE,
                 min_tracking: float = TRACKING, bundle: Optional[Path] = None,
                 graph_tracking: bool = False):
        import mediapipe as mp  # imported here so that tests of other stages never load it
        from mediapipe.tasks.python import BaseOptions, vision as mpv

        from vision.detect.pose_bundle import pose_bundle

        if num_poses < 1:
            raise ValueError(f"num_poses must be >= 1, got {num_poses}")
        self._mp = mp
        self.still_images = still_images
        self.video_mode = graph_tracking and not still_images
        self.bundle = Path(bundle) if bundle is not None else pose_bundle()
        mode = mpv.RunningMode.VIDEO if self.video_mode else mpv.RunningMode.IMAGE
        self._names: Dict[str, str] = {
            "backend": f"mediapipe {mp.__version__} tasks PoseLandmarker ({mode.name} mode)",
            "pose": f"{self.bundle.name}: pose_detection + pose_landmark_full from the wheel",
            "options": (f"num_poses={num_poses} min_detection={min_detection} "
                        f"min_presence={min_presence} min_tracking={min_tracking}"),
        }
        with quiet_native_stderr():
            self._model = mpv.PoseLandmarker.create_from_options(mpv.PoseLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(self.bundle)), running_mode=mode,
                num_poses=num_poses, min_pose_detection_confidence=min_detection,
                min_pose_presence_confidence=min_presence, min_tracking_confidence=min_tracking))
        self._warm = False
        self._clock = VideoClock()

    @property
    def model_names(self) -> Dict[str, str]:
        return dict(self._names)

    def detect(self, image_bgr: np.ndarray, timestamp_s: float = 0.0) -> List[PersonLandmarks]:
        """Everyone found in ``image_bgr`` (``person_id`` 0, 1, ... in MediaPipe's order); [] if nobody."""
        ms = 0
        if not self.still_images:
            ms = self._clock.ms(timestamp_s)
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        if self._warm:
            res = self._run(image, ms)
        else:  # the first run logs about its delegates
            with quiet_native_stderr():
                res = self._run(image, ms)
            self._warm = True
        return [PersonLandmarks(i, pose_xyz=_points(lm), pose_visibility=_visibility(lm),
                                pose_world_xyz=_points(world))
                for i, (lm, world) in enumerate(zip(res.pose_landmarks, res.pose_world_landmarks))]

    def _run(self, image, ms: int):
        return self._model.detect_for_video(image, ms) if self.video_mode else self._model.detect(image)
