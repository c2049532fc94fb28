"""Stage 2: landmarks from MediaPipe's legacy solutions (``mp.solutions``).

MediaPipe is imported in two modules only: this one, for the legacy solutions
whose models ship inside the wheel, and :mod:`vision.detect.tasks`, the one
place for the Tasks API (``mediapipe.tasks``) and the ``.task`` files of
``models/``. No other module imports mediapipe.

The default detector is MediaPipe Holistic from ``mediapipe==0.10.21``, whose
wheel bundles every model it needs (pose_landmark_full, face_landmark with
attention for 478 points with irises, hand_landmark_full), so it runs with no
network. :func:`make_detector` picks the Tasks detector instead when
``models/`` holds a pose ``.task`` file. See
``../shared/notes/mediapipe-offline.md``, ``models/README.md`` and the README.
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import numpy as np

from vision.detect.landmarks import N_FACE, N_HAND, N_POSE, PersonLandmarks

# MediaPipe logs through absl/glog to stderr; keep the terminal readable.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """MediaPipe's C++ side prints start-up chatter straight to fd 2; hide it while it starts."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


#: Lines MediaPipe's native side writes to stderr that tell a user nothing.
NOISE = ("inference_feedback_manager.cc", "Created TensorFlow Lite XNNPACK delegate",
         "All log messages before absl::InitializeLog()", "landmark_projection_calculator.cc",
         "gl_context.cc", "Initialized TensorFlow Lite runtime")


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Pass everything written to fd 2 through, except MediaPipe's start-up chatter.

    The models load lazily (the hand model when a hand first shows), so the
    chatter can come at any time: a thread reads a pipe in place of fd 2 and
    forwards each line or progress-bar update that is not noise.
    """
    import threading

    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    read_end, write_end = os.pipe()
    os.dup2(write_end, fd)
    os.close(write_end)

    def pump() -> None:
        buf = b""
        with os.fdopen(read_end, "rb", buffering=0) as r:
            while True:
                chunk = r.read(4096)
                if not chunk:
                    break
                buf += chunk
                while True:
                    cut = max(buf.rfind(b"\n"), buf.rfind(b"\r"))
                    if cut < 0:
                        break
                    head, buf = buf[:cut + 1], buf[cut + 1:]
                    for piece in _pieces(head):
                        if not any(n.encode() in piece for n in NOISE):
                            os.write(saved, piece)
        if buf and not any(n.encode() in buf for n in NOISE):
            os.write(saved, buf)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, fd)  # closes the pipe's last write end: the pump drains and ends
        thread.join(timeout=2.0)
        os.close(saved)


def _pieces(data: bytes) -> List[bytes]:
    """Split after every newline or carriage return, keeping them."""
    out, start = [], 0
    for i, b in enumerate(data):
        if b in (10, 13):
            out.append(data[start:i + 1])
            start = i + 1
    if start < len(data):
        out.append(data[start:])
    return out


def _xyz(landmark_list, n: int) -> np.ndarray:
    if landmark_list is None:
        return np.full((n, 3), np.nan, np.float32)
    return np.array([(p.x, p.y, p.z) for p in landmark_list.landmark], np.float32).reshape(n, 3)


def _visibility(landmark_list, n: int) -> np.ndarray:
    if landmark_list is None:
        return np.full((n,), np.nan, np.float32)
    return np.array([p.visibility for p in landmark_list.landmark], np.float32)


class HolisticDetector:
    """Pose (33), face (478 with irises) and both hands (21 each) for one person.

    ``still_images=True`` runs every frame independently (photos, folders of
    unrelated frames); otherwise landmarks are tracked from frame to frame,
    which needs strictly increasing timestamps. Use as a context manager.
    """

    #: Why this detector was chosen (set by :func:`make_detector`; shown in ``model_names``).
    selection: Optional[str] = None

    def __init__(self, still_images: bool = False):
        import mediapipe as mp  # imported here so that tests of other stages never load it

        self._mp = mp
        self.still_images = still_images
        self._warm = False
        with _quiet_native_stderr():
            self._holistic = mp.solutions.holistic.Holistic(
                static_image_mode=still_images,
                model_complexity=1,  # the only pose model bundled in the wheel
                smooth_landmarks=True,
                refine_face_landmarks=True,
                min_detection_confidence=0.5,
                min_tracking_confidence=0.5,
            )
        self._last_t = -np.inf

    @property
    def model_names(self) -> Dict[str, str]:
        return {
            "backend": f"mediapipe {self._mp.__version__} solutions.holistic (bundled models)",
            "pose": "pose_detection + pose_landmark_full (model_complexity=1)",
            "face": "face_landmark_with_attention (478 points, irises)",
            "hands": "hand_landmark_full via holistic hand re-crop",
            **({"selection": self.selection} if self.selection else {}),
        }

    def __enter__(self) -> "HolisticDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._holistic is not None:
            self._holistic.close()
            self._holistic = None

    def detect(self, image_bgr: np.ndarray, timestamp_s: float) -> List[PersonLandmarks]:
        """Landmarks of the person in ``image_bgr``; an empty list if nobody is found."""
        if not self.still_images and timestamp_s <= self._last_t:
            raise ValueError(f"timestamps must increase: {timestamp_s} after {self._last_t}")
        self._last_t = timestamp_s
        rgb = image_bgr[:, :, ::-1]
        rgb = np.ascontiguousarray(rgb)
        rgb.flags.writeable = False
        if self._warm:
            res = self._holistic.process(rgb)
        else:  # the graph's first run loads the models and logs about it
            with _quiet_native_stderr():
                res = self._holistic.process(rgb)
            self._warm = True
        if res.pose_landmarks is None and res.face_landmarks is None:
            return []
        return [PersonLandmarks(
            person_id=0,
            pose_xyz=_xyz(res.pose_landmarks, N_POSE),
            pose_visibility=_visibility(res.pose_landmarks, N_POSE),
            pose_world_xyz=_xyz(res.pose_world_landmarks, N_POSE),
            face_xyz=_xyz(res.face_landmarks, N_FACE),
            left_hand_xyz=_xyz(res.left_hand_landmarks, N_HAND),
            right_hand_xyz=_xyz(res.right_hand_landmarks, N_HAND),
        )]


class FaceBoxDetector:
    """Every face in a frame, as boxes: MediaPipe's bundled face detection.

    Uses ``mp.solutions.face_detection`` with ``model_selection=1`` (the
    full-range model, faces up to about 5 m away; bundled in the 0.10.21
    wheel, so it runs offline). Each frame is judged on its own. Used to blur
    bystanders' faces in the outputs; the landmarks come from
    :class:`HolisticDetector`. Use as a context manager.
    """

    def __init__(self, min_confidence: float = 0.5):
        import mediapipe as mp  # imported here so that tests of other stages never load it

        with _quiet_native_stderr():
            self._det = mp.solutions.face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=min_confidence)
        self._warm = False

    def __enter__(self) -> "FaceBoxDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._det is not None:
            self._det.close()
            self._det = None

    def detect(self, image_bgr: np.ndarray) -> tuple:
        """``(xyxy, score)``: boxes (N, 4) in pixels (x0, y0, x1, y1), clipped to the image, and scores (N,)."""
        h, w = image_bgr.shape[:2]
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        rgb.flags.writeable = False
        if self._warm:
            res = self._det.process(rgb)
        else:
            with _quiet_native_stderr():
                res = self._det.process(rgb)
            self._warm = True
        boxes, scores = [], []
        for d in res.detections or []:
            b = d.location_data.relative_bounding_box
            x0, y0 = max(0.0, b.xmin * w), max(0.0, b.ymin * h)
            x1, y1 = min(float(w), (b.xmin + b.width) * w), min(float(h), (b.ymin + b.height) * h)
            if x1 > x0 and y1 > y0:
                boxes.append((x0, y0, x1, y1))
                scores.append(float(d.score[0]) if d.score else 0.0)
        return (np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32))


class LegacyFaceHands:
    """Faces (478 points with irises) and hands (21 points) from the bundled legacy solutions.

    The fallbacks :class:`vision.detect.tasks.TasksDetector` uses where
    ``models/`` has no face or hand ``.task`` file: ``solutions.face_mesh``
    (``refine_landmarks=True``: face_landmark_with_attention) and
    ``solutions.hands`` (``model_complexity=1``: palm_detection_full +
    hand_landmark_full), both bundled in the wheel. ``max_faces=0`` or
    ``max_hands=0`` leaves that model out. Each image is judged on its own:
    the caller gives them crops around each pose's head and hands, as
    Holistic does, since their detectors miss faces and hands that are small
    in the frame, and assigns what they find to people.
    """

    def __init__(self, max_faces: int, max_hands: int, min_confidence: float = 0.5):
        import mediapipe as mp  # imported here so that tests of other stages never load it

        self._warm: Dict[str, bool] = {"face": False, "hands": False}
        with _quiet_native_stderr():
            self._face = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=max_faces, refine_landmarks=True,
                min_detection_confidence=min_confidence, min_tracking_confidence=min_confidence,
            ) if max_faces > 0 else None
            self._hands = mp.solutions.hands.Hands(
                static_image_mode=True, max_num_hands=max_hands, model_complexity=1,
                min_detection_confidence=min_confidence, min_tracking_confidence=min_confidence,
            ) if max_hands > 0 else None

    @property
    def model_names(self) -> Dict[str, str]:
        names = {}
        if self._face is not None:
            names["face"] = ("solutions.face_mesh on head crops: face_detection_short_range + "
                             "face_landmark_with_attention (bundled, 478 points, irises)")
        if self._hands is not None:
            names["hands"] = "solutions.hands on hand crops: palm_detection_full + hand_landmark_full (bundled)"
        return names

    def _run(self, kind: str, graph, rgb: np.ndarray):
        if self._warm[kind]:
            return graph.process(rgb)
        with _quiet_native_stderr():  # the first run loads the model and logs about it
            res = graph.process(rgb)
        self._warm[kind] = True
        return res

    def faces(self, rgb: np.ndarray) -> List[np.ndarray]:
        """Every face found in ``rgb`` (a crop), each (478, 3) normalised to it; [] when left out."""
        if self._face is None:
            return []
        res = self._run("face", self._face, rgb)
        return [_xyz(f, N_FACE) for f in res.multi_face_landmarks or []]

    def hands(self, rgb: np.ndarray) -> List[np.ndarray]:
        """Every hand found in ``rgb`` (a crop), each (21, 3) normalised to it; [] when left out."""
        if self._hands is None:
            return []
        res = self._run("hands", self._hands, rgb)
        return [_xyz(h, N_HAND) for h in res.multi_hand_landmarks or []]

    def close(self) -> None:
        for graph in (self._face, self._hands):
            if graph is not None:
                graph.close()
        self._face = self._hands = None


#: Where users drop official ``.task`` files (see ``models/README.md``).
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


def make_detector(still_images: bool, models_dir: Path = MODELS_DIR, num_poses: int = 1):
    """The landmark detector to use: Tasks when ``models_dir`` holds a pose ``.task`` file, else Holistic.

    ``num_poses`` (people per frame) applies to the Tasks detector only;
    Holistic follows one person. The detector's ``model_names`` says which
    was chosen and why (key ``selection``), and which files it loaded.
    """
    from vision.detect.tasks import TasksDetector, find_task_files

    models_dir = Path(models_dir)
    files = find_task_files(models_dir)
    if files.pose is None:
        det = HolisticDetector(still_images=still_images)
        det.selection = f"HolisticDetector: no pose_landmarker*.task in {models_dir}"
        return det
    det = TasksDetector(files.pose, still_images=still_images, num_poses=num_poses,
                        face_task=files.face, hand_task=files.hand)
    det.selection = f"TasksDetector: {files.pose.name} found in {models_dir}"
    return det
