"""Stage 2, ``--backend tasks``: MediaPipe's Tasks API with the ``.task`` files of a models folder.

:class:`TasksDetector` runs ``PoseLandmarker`` (several people a frame if
asked), and ``FaceLandmarker`` / ``HandLandmarker`` when their ``.task`` files
are in the models folder; otherwise the wheel's legacy Face Mesh and Hands
(:class:`LegacyFaceHands`). Faces and hands are looked for in crops around
each pose's head and hands and given to people by proximity
(:mod:`vision.detect.people`). :func:`vision.detect.base.open_detector`
opens it; see ``models/README.md``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from vision.detect.landmarks import N_FACE, N_HAND, N_POSE, PersonLandmarks
from vision.detect.models import sha256_of, wheel_entry
from vision.detect.native import VideoClock, landmark_array, quiet_native_stderr
from vision.detect.people import NOSE, Pose, assemble_people, hand_boxes, head_box, seen_before


def _points(landmarks, n: int) -> np.ndarray:
    out = np.full((n, 3), np.nan, np.float32)
    xyz = np.array([(p.x, p.y, p.z) for p in landmarks], np.float32).reshape(-1, 3)[:n]
    out[:len(xyz)] = xyz
    return out


def _visibility(landmarks) -> np.ndarray:
    return np.array([np.nan if p.visibility is None else p.visibility for p in landmarks], np.float32)


class LegacyFaceHands:
    """Faces (478 points with irises) and hands (21 points) from the bundled legacy solutions.

    What :class:`TasksDetector` uses where the models folder has no face or
    hand ``.task`` file: ``solutions.face_mesh`` (``refine_landmarks=True``:
    face_detection_short_range + face_landmark_with_attention) and
    ``solutions.hands`` (``model_complexity=1``: palm_detection_full +
    hand_landmark_full), both bundled in the wheel. ``max_faces=0`` or
    ``max_hands=0`` leaves that model out. Each image (a crop around a pose's
    head or hand) is judged on its own.
    """

    #: run.json role -> the file under ``mediapipe/`` each fallback loads.
    FACE_MODELS = {"face_detector": "modules/face_detection/face_detection_short_range.tflite",
                   "face": "modules/face_landmark/face_landmark_with_attention.tflite"}
    HAND_MODELS = {"palm_detector": "modules/palm_detection/palm_detection_full.tflite",
                   "hands": "modules/hand_landmark/hand_landmark_full.tflite"}

    def __init__(self, max_faces: int, max_hands: int, min_confidence: float = 0.5):
        import mediapipe as mp  # imported here so that tests of other stages never load it

        self._wheel = Path(mp.__file__).parent
        self._warm: Dict[str, bool] = {"face": False, "hands": False}
        with quiet_native_stderr():
            self._face = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=max_faces, refine_landmarks=True,
                min_detection_confidence=min_confidence, min_tracking_confidence=min_confidence,
            ) if max_faces > 0 else None
            self._hands = mp.solutions.hands.Hands(
                static_image_mode=True, max_num_hands=max_hands, model_complexity=1,
                min_detection_confidence=min_confidence, min_tracking_confidence=min_confidence,
            ) if max_hands > 0 else None

    def files(self) -> Dict[str, Dict[str, str]]:
        """run.json ``models.files`` entries of the fallbacks in use."""
        used = {**(self.FACE_MODELS if self._face is not None else {}),
                **(self.HAND_MODELS if self._hands is not None else {})}
        return {role: wheel_entry(self._wheel, rel) for role, rel in used.items()}

    def _run(self, kind: str, graph, rgb: np.ndarray):
        if self._warm[kind]:
            return graph.process(rgb)
        with quiet_native_stderr():  # the first run loads the model and logs about it
            res = graph.process(rgb)
        self._warm[kind] = True
        return res

    def faces(self, rgb: np.ndarray) -> List[np.ndarray]:
        """Every face found in ``rgb`` (a crop), each (478, 3) normalised to it; [] when left out."""
        if self._face is None:
            return []
        res = self._run("face", self._face, rgb)
        return [landmark_array(f, N_FACE) for f in res.multi_face_landmarks or []]

    def hands(self, rgb: np.ndarray) -> List[np.ndarray]:
        """Every hand found in ``rgb`` (a crop), each (21, 3) normalised to it; [] when left out."""
        if self._hands is None:
            return []
        res = self._run("hands", self._hands, rgb)
        return [landmark_array(h, N_HAND) for h in res.multi_hand_landmarks or []]

    def close(self) -> None:
        for graph in (self._face, self._hands):
            if graph is not None:
                graph.close()
        self._face = self._hands = None


class TasksDetector:
    """Pose (33) for up to ``num_poses`` people, with their faces (478) and hands (21 each).

    ``pose_task``: a pose landmarker bundle. ``face_task`` / ``hand_task``:
    official landmarker bundles, or None for the bundled legacy Face Mesh /
    Hands. The pose runs in VIDEO mode, tracking from frame to frame, with
    timestamps that must increase (sent to MediaPipe in whole ms, nudged up by
    1 ms where two frames round to the same ms), or in IMAGE mode with
    ``still_images=True``. Faces and hands are looked for in crops around each
    pose's head and hands (``people.head_box``, ``people.hand_boxes``), each
    crop judged on its own (IMAGE mode), as Holistic does: on the full frame
    their detectors miss faces and hands that are small in it.

    People are numbered by ``people.person_ids``: in a still, 0 is the largest
    and most central; in a video, ids stay with people from frame to frame.
    With ``num_poses=1`` the pose model itself picks the one person (its most
    confident detection, as Holistic does). Use as a context manager.
    """

    def __init__(self, pose_task: Path, still_images: bool = False, num_poses: int = 1,
                 face_task: Optional[Path] = None, hand_task: Optional[Path] = None,
                 min_confidence: float = 0.5):
        import mediapipe as mp  # imported here so that tests of other stages never load it
        from mediapipe.tasks.python import BaseOptions, vision as mpv

        if num_poses < 1:
            raise ValueError(f"num_poses must be >= 1, got {num_poses}")
        self._mp = mp
        self.still_images = still_images
        self.num_poses = num_poses
        self.models_dir = Path(pose_task).resolve().parent
        mode = mpv.RunningMode.IMAGE if still_images else mpv.RunningMode.VIDEO
        self._files: Dict[str, Dict[str, str]] = {}

        def base(role: str, path: Path) -> BaseOptions:
            data = Path(path).read_bytes()  # hash exactly the bytes that are loaded
            self._files[role] = {"file": Path(path).name, "sha256": sha256_of(data)}
            return BaseOptions(model_asset_buffer=data)

        # Crops are judged one by one (IMAGE mode); one may hold a neighbour's face or hand too, hence 2.
        crop = dict(running_mode=mpv.RunningMode.IMAGE)
        self._pose_options = mpv.PoseLandmarkerOptions(
            base_options=base("pose", pose_task), running_mode=mode, num_poses=num_poses,
            min_pose_detection_confidence=min_confidence, min_pose_presence_confidence=min_confidence,
            min_tracking_confidence=min_confidence)
        with quiet_native_stderr():
            self._pose = mpv.PoseLandmarker.create_from_options(self._pose_options)
            self._face = None if face_task is None else mpv.FaceLandmarker.create_from_options(
                mpv.FaceLandmarkerOptions(
                    base_options=base("face", face_task), num_faces=2, **crop,
                    min_face_detection_confidence=min_confidence, min_face_presence_confidence=min_confidence))
            self._hand = None if hand_task is None else mpv.HandLandmarker.create_from_options(
                mpv.HandLandmarkerOptions(
                    base_options=base("hands", hand_task), num_hands=2, **crop,
                    min_hand_detection_confidence=min_confidence, min_hand_presence_confidence=min_confidence))
        self._legacy = LegacyFaceHands(max_faces=0 if self._face else 2, max_hands=0 if self._hand else 2,
                                       min_confidence=min_confidence)
        self._files.update(self._legacy.files())
        self._warm = False
        self._clock = VideoClock()
        self._previous: List[PersonLandmarks] = []  # VIDEO mode: the last frame's people, to keep ids

    @property
    def model_names(self) -> Dict[str, object]:
        """run.json's ``models``: backend ``tasks``, the models folder, each file loaded with its sha256.

        Roles ``pose``, ``face``, ``hands`` name the ``.task`` files; where a
        face or hand file was absent, the wheel's legacy models that took its
        place (``face_detector`` + ``face``, ``palm_detector`` + ``hands``).
        """
        return {"backend": "tasks", "models_dir": str(self.models_dir), "files": dict(self._files)}

    def __enter__(self) -> "TasksDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for task in (self._pose, self._face, self._hand):
            if task is not None:
                task.close()
        self._pose = self._face = self._hand = None
        self._legacy.close()

    def reset(self) -> None:
        """Forget the frames before (a new segment of a :class:`~vision.detect.pool.DetectorPool`): the pose
        landmarker starts afresh, as at the start of a video (the face and hand models judge crops one by one)."""
        if self.still_images or self._pose is None:
            return
        from mediapipe.tasks.python import vision as mpv

        self._pose.close()
        with quiet_native_stderr():
            self._pose = mpv.PoseLandmarker.create_from_options(self._pose_options)
        self._previous = []

    def detect(self, image_bgr: np.ndarray, timestamp_s: float) -> List[PersonLandmarks]:
        """Landmarks of everyone found in ``image_bgr``, in order of ``person_id``; [] if nobody is found."""
        ms = 0
        if not self.still_images:
            ms = self._clock.ms(timestamp_s)
        if self._warm:
            return self._detect(image_bgr, ms)
        with quiet_native_stderr():  # the first run logs about its delegates
            people = self._detect(image_bgr, ms)
        self._warm = True
        return people

    def _detect(self, image_bgr: np.ndarray, ms: int) -> List[PersonLandmarks]:
        h, w = image_bgr.shape[:2]
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        res = self._pose.detect(image) if self.still_images else self._pose.detect_for_video(image, ms)
        poses = [Pose(_points(lm, N_POSE), _visibility(lm), _points(world, N_POSE))
                 for lm, world in zip(res.pose_landmarks, res.pose_world_landmarks)]
        faces, hands = [], []
        for pose in poses:
            head = pose.xyz[NOSE:11, :2].mean(axis=0)
            found = self._in_crop(rgb, head_box(pose, (w, h)), self._faces)
            if found:  # the face nearest this pose's head, not a neighbour's
                faces.append(min(found, key=lambda f: float(np.linalg.norm(f[:, :2].mean(axis=0) - head))))
            for box in hand_boxes(pose, (w, h)):
                hands += [hd for hd in self._in_crop(rgb, box, self._hands) if not seen_before(hd, hands)]
        people = assemble_people(poses, faces, hands, (w, h), self._previous)
        if not self.still_images:
            self._previous = people
        return people

    def _faces(self, crop: np.ndarray) -> List[np.ndarray]:
        if self._face is None:
            return self._legacy.faces(crop)
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=crop)
        return [_points(f, N_FACE) for f in self._face.detect(image).face_landmarks]

    def _hands(self, crop: np.ndarray) -> List[np.ndarray]:
        if self._hand is None:
            return self._legacy.hands(crop)
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=crop)
        return [_points(hd, N_HAND) for hd in self._hand.detect(image).hand_landmarks]

    @staticmethod
    def _in_crop(rgb: np.ndarray, box: Tuple[int, int, int, int], find) -> List[np.ndarray]:
        """What ``find`` sees in ``rgb[box]``, in whole-image coordinates (z, like x, in image widths)."""
        x0, y0, x1, y1 = box
        if min(x1 - x0, y1 - y0) < 16:
            return []
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        crop.flags.writeable = False
        h, w = rgb.shape[:2]
        scale = np.array([(x1 - x0) / w, (y1 - y0) / h, (x1 - x0) / w], np.float32)
        offset = np.array([x0 / w, y0 / h, 0.0], np.float32)
        return [pts * scale + offset for pts in find(crop)]
