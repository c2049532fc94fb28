"""``.task`` bundles made from the tflite files inside the mediapipe wheel, offline.

The Tasks backend needs ``.task`` bundles; these are built from the same
models Holistic uses (``../shared/notes/mediapipe-offline.md``, point 3), so
``--backend tasks`` works with no download. ``scripts/make_pose_bundle.py``
is the command for it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple


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
