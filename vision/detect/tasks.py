"""Stage 2, Tasks path: landmarks from MediaPipe's Tasks API and the ``.task`` files of ``models/``.

MediaPipe is imported in two modules only: :mod:`vision.detect.holistic`, for the
legacy solutions whose models ship inside the wheel, and this one, the one
place for the Tasks API (``mediapipe.tasks``): the landmarkers, and the
writer that turns the wheel's own tflite files into ``.task`` bundles.

:class:`TasksDetector` runs ``PoseLandmarker`` (several people a frame if
asked), and ``FaceLandmarker`` / ``HandLandmarker`` when their ``.task`` files
are in ``models/``; otherwise the bundled legacy Face Mesh and Hands
(:class:`vision.detect.holistic.LegacyFaceHands`). Faces and hands are looked for in
crops around each pose's head and hands, and given to people by proximity
(:func:`assemble_people`, no MediaPipe: tested on synthetic people).
:func:`vision.detect.holistic.make_detector` chooses between this and Holistic.
See ``models/README.md``.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from vision.detect.holistic import LegacyFaceHands, _quiet_native_stderr
from vision.detect.landmarks import N_FACE, N_HAND, N_POSE, PersonLandmarks

#: Pose files in order of preference when several are present: the most accurate wins.
POSE_FILES = ("pose_landmarker_heavy.task", "pose_landmarker_full.task", "pose_landmarker_lite.task")
NOSE, LEFT_EAR, RIGHT_EAR, LEFT_WRIST, RIGHT_WRIST = 0, 7, 8, 15, 16
TORSO = [11, 12, 23, 24]  # shoulders and hips
SEEN = 0.5  # pose visibility above which a point counts for a person's extent
#: A face or hand is given to a person only within this many of its own box diagonals.
FACE_REACH, HAND_REACH = 1.0, 1.5
#: From one frame to the next a person keeps their id if their torso centre moved less than this many torso lengths.
TRACK_REACH = 0.5


@dataclass(frozen=True)
class TaskFiles:
    """The ``.task`` files found in a models folder (None where absent)."""

    pose: Optional[Path] = None
    face: Optional[Path] = None
    hand: Optional[Path] = None


def _first(models_dir: Path, stem: str, preferred: Sequence[str] = ()) -> Optional[Path]:
    named = [models_dir / n for n in preferred]
    found = named + sorted(p for p in models_dir.glob(f"{stem}*.task") if p not in named)
    return next((p for p in found if p.is_file()), None)


def find_task_files(models_dir: Path) -> TaskFiles:
    """The pose (heavy > full > lite > other ``pose_landmarker*.task`` by name), face and hand files found."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return TaskFiles()
    return TaskFiles(pose=_first(models_dir, "pose_landmarker", POSE_FILES),
                     face=_first(models_dir, "face_landmarker", ("face_landmarker.task",)),
                     hand=_first(models_dir, "hand_landmarker", ("hand_landmarker.task",)))


def _label(path: Path, data: bytes) -> str:
    return f"{path.name} (sha256 {hashlib.sha256(data).hexdigest()[:12]})"


# ---------------------------------------------------------------- assignment (no MediaPipe)

class Pose(NamedTuple):
    """One pose as the pose model gives it: normalised xyz (33, 3), visibility (33,), world xyz (33, 3) in metres."""

    xyz: np.ndarray
    visibility: np.ndarray
    world_xyz: np.ndarray


def prominence(pose: Pose, aspect: float) -> float:
    """How much a pose looks like the subject: its size times its centrality (a heuristic).

    Size is the square root of the area of the box around the points seen
    (visibility > 0.5) clipped to the image, in image heights; centrality is
    1 when the box is centred in the image and 0 when its centre is in a corner.
    """
    seen = pose.visibility > SEEN
    xy = pose.xyz[seen if seen.sum() >= 2 else slice(None), :2]
    xy = np.clip(xy, 0.0, 1.0) * np.array([aspect, 1.0])
    lo, hi = np.nanmin(xy, axis=0), np.nanmax(xy, axis=0)
    centre_off = np.hypot(*((lo + hi) / 2 - (aspect / 2, 0.5))) / np.hypot(aspect / 2, 0.5)
    return float(np.sqrt(np.prod(hi - lo)) * (1.0 - centre_off))


def body_scale(px: np.ndarray) -> float:
    """A person's size in pixels from their pose (33, 2) in pixels: shoulder width, or half the torso in profile."""
    torso = np.linalg.norm(px[[11, 12]].mean(axis=0) - px[[23, 24]].mean(axis=0))
    return float(max(np.linalg.norm(px[11] - px[12]), 0.5 * torso))


def _square(centre: np.ndarray, side: float, image_wh: Tuple[int, int]) -> Tuple[int, int, int, int]:
    x0, y0 = np.floor(centre - side / 2).astype(int)
    x1, y1 = np.ceil(centre + side / 2).astype(int)
    return max(0, x0), max(0, y0), min(image_wh[0], x1), min(image_wh[1], y1)


def head_box(pose: Pose, image_wh: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """Square box ``(x0, y0, x1, y1)`` in pixels, clipped to the image, around a pose's head: where to look for its face.

    Centred on the pose's face points (0 to 10); its side is the larger of
    three times their spread and the body scale (:func:`body_scale`, about
    2.5 face widths).
    """
    px = pose.xyz[:, :2] * image_wh
    face = px[NOSE:11]
    side = max(3.0 * float(np.ptp(face, axis=0).max()), body_scale(px), 32.0)
    return _square(face.mean(axis=0), side, image_wh)


def hand_boxes(pose: Pose, image_wh: Tuple[int, int]) -> List[Tuple[int, int, int, int]]:
    """Square boxes around a pose's left and right hand (wrist, pinky, index, thumb points): where hands are looked for.

    Centred on the pose's knuckle points; the side is the larger of seven
    wrist-to-knuckle distances and one body scale (about two hand lengths):
    of the sizes tried on ../shared/media, the one that found the most hands.
    A hand the pose puts outside the image gets no box.
    """
    px = pose.xyz[:, :2] * image_wh
    boxes = []
    for wrist, knuckles in ((LEFT_WRIST, [17, 19]), (RIGHT_WRIST, [18, 20])):
        centre = px[knuckles].mean(axis=0)
        if not (0 <= centre[0] < image_wh[0] and 0 <= centre[1] < image_wh[1]):
            continue
        side = max(7.0 * float(np.linalg.norm(centre - px[wrist])), body_scale(px), 32.0)
        boxes.append(_square(centre, side, image_wh))
    return boxes


def _diag(xy: np.ndarray) -> float:
    return float(np.hypot(*(np.nanmax(xy, axis=0) - np.nanmin(xy, axis=0))))


def greedy_match(cost: np.ndarray, reach: np.ndarray) -> Dict[int, int]:
    """item -> slot: closest pairs first, each item and slot at most once, only where ``cost <= reach[item]``."""
    items, slots = np.nonzero(cost <= reach[:, None])  # NaN costs never match
    order = np.argsort(cost[items, slots], kind="stable")
    out: Dict[int, int] = {}
    for i, j in zip(items[order], slots[order]):
        if i not in out and j not in out.values():
            out[int(i)] = int(j)
    return out


def person_ids(poses: Sequence[Pose], aspect: float,
               previous: Sequence[PersonLandmarks] = ()) -> List[int]:
    """An id for each pose: kept from ``previous`` (the last frame's people) where the torso barely moved,
    else the smallest free ids, the most :func:`prominent <prominence>` pose first.

    Without ``previous`` (stills, or nobody in the last frame) id 0 is the most
    prominent pose. With it, ids stick to people, so the subject does not
    flip between two people of about the same prominence from frame to frame.
    """
    sq = np.array([aspect, 1.0])
    ids: List[Optional[int]] = [None] * len(poses)
    if len(previous) and len(poses):
        before = np.array([p.pose_xyz[TORSO, :2].mean(axis=0) for p in previous]) * sq
        now = np.array([p.xyz[TORSO, :2].mean(axis=0) for p in poses]) * sq
        torso = np.array([np.linalg.norm((p.xyz[[11, 12], :2].mean(axis=0) - p.xyz[[23, 24], :2].mean(axis=0)) * sq)
                          for p in poses])
        matches = greedy_match(np.linalg.norm(now[:, None] - before[None], axis=-1), TRACK_REACH * torso)
        for i, j in matches.items():
            ids[i] = previous[j].person_id
    taken = {k for k in ids if k is not None}
    free = (k for k in range(len(poses) + len(taken)) if k not in taken)
    for i in sorted((i for i, k in enumerate(ids) if k is None), key=lambda i: -prominence(poses[i], aspect)):
        ids[i] = next(free)
    return ids  # type: ignore[return-value]


def assemble_people(poses: Sequence[Pose], faces: Sequence[np.ndarray], hands: Sequence[np.ndarray],
                    image_wh: Tuple[int, int], previous: Sequence[PersonLandmarks] = ()) -> List[PersonLandmarks]:
    """People from separately found poses, faces and hands, in order of ``person_id`` (see :func:`person_ids`).

    Each face goes to the pose whose nose and ears are nearest its centre;
    each hand to the nearest free pose wrist, so ``left``/``right`` follow the
    person's own wrists, not the hand model's guess. A face or hand too far
    from every pose (a bystander the pose model did not take) is dropped.
    """
    aspect = image_wh[0] / image_wh[1]
    sq = np.array([aspect, 1.0])
    ids = person_ids(poses, aspect, previous)
    ranked = [poses[i] for i in np.argsort(ids, kind="stable")]
    people = [PersonLandmarks(k, pose_xyz=p.xyz, pose_visibility=p.visibility, pose_world_xyz=p.world_xyz)
              for k, p in zip(sorted(ids), ranked)]
    if not people:
        return []
    if len(faces):
        heads = np.array([p.xyz[[NOSE, LEFT_EAR, RIGHT_EAR], :2].mean(axis=0) for p in ranked]) * sq
        centres = np.array([np.nanmean(f[:, :2], axis=0) for f in faces]) * sq
        cost = np.linalg.norm(centres[:, None] - heads[None], axis=-1)
        reach = np.array([FACE_REACH * _diag(f[:, :2] * sq) for f in faces])
        for f, k in greedy_match(cost, reach).items():
            people[k].face_xyz = np.asarray(faces[f], np.float32)
    if len(hands):
        wrists = np.array([p.xyz[w, :2] for p in ranked for w in (LEFT_WRIST, RIGHT_WRIST)]) * sq
        hand_wrists = np.array([h[0, :2] for h in hands]) * sq
        cost = np.linalg.norm(hand_wrists[:, None] - wrists[None], axis=-1)
        reach = np.array([HAND_REACH * _diag(h[:, :2] * sq) for h in hands])
        for h, slot in greedy_match(cost, reach).items():
            side = "left_hand_xyz" if slot % 2 == 0 else "right_hand_xyz"
            setattr(people[slot // 2], side, np.asarray(hands[h], np.float32))
    return people


# ---------------------------------------------------------------- MediaPipe Tasks

def _points(landmarks, n: int) -> np.ndarray:
    out = np.full((n, 3), np.nan, np.float32)
    xyz = np.array([(p.x, p.y, p.z) for p in landmarks], np.float32).reshape(-1, 3)[:n]
    out[:len(xyz)] = xyz
    return out


def _visibility(landmarks) -> np.ndarray:
    return np.array([np.nan if p.visibility is None else p.visibility for p in landmarks], np.float32)


class TasksDetector:
    """Pose (33) for up to ``num_poses`` people, with their faces (478) and hands (21 each).

    ``pose_task``: a pose landmarker bundle. ``face_task`` / ``hand_task``:
    official landmarker bundles, or None for the bundled legacy Face Mesh /
    Hands. The pose runs in VIDEO mode, tracking from frame to frame, with
    timestamps that must increase (sent to MediaPipe in whole ms, nudged up by
    1 ms where two frames round to the same ms), or in IMAGE mode with
    ``still_images=True``. Faces and hands are looked for in crops around each
    pose's head and hands (:func:`head_box`, :func:`hand_boxes`), each crop
    judged on its own (IMAGE mode), as Holistic does: on the full frame their
    detectors miss faces and hands that are small in it.

    People are numbered by :func:`person_ids`: in a still, 0 is the largest
    and most central; in a video, ids stay with people from frame to frame.
    With ``num_poses=1`` the pose model itself picks the one person (its most
    confident detection, as Holistic does). Use as a context manager.
    """

    #: Why this detector was chosen (set by :func:`vision.detect.holistic.make_detector`).
    selection: Optional[str] = None

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
        mode = mpv.RunningMode.IMAGE if still_images else mpv.RunningMode.VIDEO
        self._names: Dict[str, str] = {
            "backend": f"mediapipe {mp.__version__} tasks (pose in {mode.name} mode), num_poses={num_poses}"}

        def base(kind: str, path: Path, how: str = "") -> BaseOptions:
            data = Path(path).read_bytes()  # hash exactly the bytes that are loaded
            self._names[kind] = _label(Path(path), data) + how
            return BaseOptions(model_asset_buffer=data)

        # Crops are judged one by one (IMAGE mode); one may hold a neighbour's face or hand too, hence 2.
        crop = dict(running_mode=mpv.RunningMode.IMAGE)
        with _quiet_native_stderr():
            self._pose = mpv.PoseLandmarker.create_from_options(mpv.PoseLandmarkerOptions(
                base_options=base("pose", pose_task), running_mode=mode, num_poses=num_poses,
                min_pose_detection_confidence=min_confidence, min_pose_presence_confidence=min_confidence,
                min_tracking_confidence=min_confidence))
            self._face = None if face_task is None else mpv.FaceLandmarker.create_from_options(
                mpv.FaceLandmarkerOptions(
                    base_options=base("face", face_task, " on head crops"), num_faces=2, **crop,
                    min_face_detection_confidence=min_confidence, min_face_presence_confidence=min_confidence))
            self._hand = None if hand_task is None else mpv.HandLandmarker.create_from_options(
                mpv.HandLandmarkerOptions(
                    base_options=base("hands", hand_task, " on hand crops"), num_hands=2, **crop,
                    min_hand_detection_confidence=min_confidence, min_hand_presence_confidence=min_confidence))
        self._legacy = LegacyFaceHands(max_faces=0 if self._face else 2, max_hands=0 if self._hand else 2,
                                       min_confidence=min_confidence)
        self._names.update(self._legacy.model_names)
        self._warm = False
        self._last_t = -np.inf
        self._last_ms = -1
        self._previous: List[PersonLandmarks] = []  # VIDEO mode: the last frame's people, to keep ids

    @property
    def model_names(self) -> Dict[str, str]:
        names = {"detector": "TasksDetector", **{k: self._names[k] for k in ("backend", "pose", "face", "hands")}}
        return {**names, **({"selection": self.selection} if self.selection else {})}

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

    def detect(self, image_bgr: np.ndarray, timestamp_s: float) -> List[PersonLandmarks]:
        """Landmarks of everyone found in ``image_bgr``, in order of ``person_id``; [] if nobody is found."""
        ms = 0
        if not self.still_images:
            if timestamp_s <= self._last_t:
                raise ValueError(f"timestamps must increase: {timestamp_s} after {self._last_t}")
            self._last_t = timestamp_s
            ms = self._last_ms = max(int(round(timestamp_s * 1000.0)), self._last_ms + 1)
        if self._warm:
            return self._detect(image_bgr, ms)
        with _quiet_native_stderr():  # the first run logs about its delegates
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
                hands += [hd for hd in self._in_crop(rgb, box, self._hands) if not _seen_before(hd, hands)]
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


def _seen_before(hand: np.ndarray, hands: Sequence[np.ndarray]) -> bool:
    """The same hand found again in another crop: its wrist within a quarter of its size of one already found."""
    size = _diag(hand[:, :2])
    return any(np.linalg.norm(hand[0, :2] - other[0, :2]) < 0.25 * size for other in hands)


# ---------------------------------------------------------------- bundles from the wheel's own models

#: Bundle member -> (file under mediapipe/modules, input mean, input std); see the offline notes, point 3.
BUNDLED: Dict[str, Dict[str, Tuple[str, float, float]]] = {
    "pose": {"pose_detector.tflite": ("pose_detection/pose_detection.tflite", 127.5, 127.5),
             "pose_landmarks_detector.tflite": ("pose_landmark/pose_landmark_full.tflite", 0.0, 255.0)},
    "hand": {"hand_detector.tflite": ("palm_detection/palm_detection_full.tflite", 0.0, 255.0),
             "hand_landmarks_detector.tflite": ("hand_landmark/hand_landmark_full.tflite", 0.0, 255.0)},
}


def build_bundled_task(kind: str, out_path: Path) -> Path:
    """Write a ``.task`` bundle made from the tflite files inside the mediapipe wheel (no network).

    ``kind`` "pose" gives the same models as Holistic's pose
    (pose_landmarker_full), usable with ``num_poses > 1``; "hand" gives
    palm_detection_full + hand_landmark_full. Each member gets the image-input
    metadata the Tasks API needs (mean and std of its input normalisation).
    """
    import mediapipe as mp
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, model_asset_bundle_utils

    if kind not in BUNDLED:
        raise ValueError(f"kind must be one of {sorted(BUNDLED)}, got {kind!r}")
    modules = Path(mp.__file__).parent / "modules"
    members = {}
    for member, (source, mean, std) in BUNDLED[kind].items():
        writer = metadata_writer.MetadataWriter.create(bytearray((modules / source).read_bytes()))
        writer.add_general_info(Path(member).stem, f"{source} from mediapipe {mp.__version__}")
        writer.add_image_input(norm_mean=[mean], norm_std=[std])
        members[member] = bytes(writer.populate()[0])
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    model_asset_bundle_utils.create_model_asset_bundle(members, str(out_path))
    return out_path
