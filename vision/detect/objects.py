"""Object evidence: what a person holds, from the COCO detector in ``models/``, looked for around the hands and face.

The detector (SSD MobileNet v1, COCO, 300x300, Apache-2.0; provenance in
``models/README.md``) resizes whatever it is given to 300x300, so a phone in
a hand is a few pixels on the whole frame and is missed; measured on the
shared phone photos: found in 1 of 8 on the whole frame, 6 of 8 on crops
around the wrists. So :func:`crop_boxes` cuts a square around each hand and
the mouth, sized by the person's own shoulder width, and
:class:`ObjectDetector` runs on each crop and maps the boxes back to
full-frame pixels.

Only the labels that matter to the code of conduct are kept
(:data:`OBJECT_GROUPS`: phone-like, drink, utensil, food); the detector's
``remote`` is kept as phone-like (a phone is often called ``remote``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from vision.detect.landmarks import N_OBJECT_CROPS, N_OBJECT_GROUPS, PersonLandmarks
from vision.detect.models import models_dir
from vision.detect.native import ModelHandle, quiet_native_stderr

#: COCO labels by what they mean for a rule.
OBJECT_GROUPS: Dict[str, Tuple[str, ...]] = {
    "phone": ("cell phone", "remote"),
    "drink": ("cup", "bottle", "wine glass"),
    "utensil": ("fork", "knife", "spoon", "bowl"),
    "food": ("banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake"),
}
GROUP_OF = {label: group for group, labels in OBJECT_GROUPS.items() for label in labels}
#: The axes of ``PersonLandmarks.objects``: (group, crop, [score, x0, y0, x1, y1]).
GROUP_NAMES: Tuple[str, ...] = tuple(OBJECT_GROUPS)
CROP_NAMES: Tuple[str, ...] = ("left_hand", "right_hand", "mouth", "lap")
assert (len(GROUP_NAMES), len(CROP_NAMES)) == (N_OBJECT_GROUPS, N_OBJECT_CROPS)

# Pose indices (MediaPipe pose): shoulders, wrists, hand points, mouth corners, hips.
L_SHOULDER, R_SHOULDER = 11, 12
L_HIP, R_HIP = 23, 24
HAND_POINTS = {"left_hand": (15, 17, 19, 21), "right_hand": (16, 18, 20, 22)}
MOUTH = (9, 10)
#: A crop's side, in shoulder widths: a hand holding a phone spans about one shoulder width
#: (hand ~0.45 SW plus a phone ~0.35 SW, either way from the wrist: geometry).
CROP_SW = {"left_hand": 1.2, "right_hand": 1.2, "mouth": 1.2, "lap": 1.6}
#: The lap crop (a phone in the lap or under the table) is cut when a hand is this far below the shoulder line
#: (shoulder widths): the chest ends about 0.6 SW below the shoulders (adult proportions: geometry). It is centred
#: between the low hands and the hips (below the hands where the hips are not seen) and spans 1.6 SW, the hips'
#: width (about 0.75 SW) with the thighs' reach either way (geometry).
LAP_BELOW_SW = 0.6
LAP_DOWN_SW = 0.3  # without the hips: the crop's centre this far below the hands (a phone held below the wrists)
#: Two crops are looked at in one detector call (the square holding both) when their intersection over union
#: reaches this: both hands together at the mouth, or a hand on the mouth crop. The detector is sensitive to the
#: crop: on the tune drinking clip a joint box of crops overlapping by 60 % scored the mug at the lips 0.31 instead
#: of 0.41 (below the 0.4 that counts), and a hand crop looked at through the larger lap crop read a hand at the
#: face as a phone (a tune still); so only near-identical crops share a call: IoU 0.8 is two equal squares offset
#: by about a tenth of their side (geometry); the lap crop, 1.6/1.2 the side of a hand's, never reaches it.
MERGE_OVERLAP = 0.8
#: The detector's own reporting floor when a crop is looked at both ways: a score under the kept 0.3 one way still
#: counts toward the mean (below 0.1 it counts as 0, at most 0.05 off the mean).
RAW_FLOOR = 0.1
#: Smallest crop side in pixels: below this the detector sees a few pixels of object at 300x300 anyway.
MIN_CROP_PX = 48
SEEN = 0.5  # pose visibility from which a point counts (as for every pose feature)
HAND_SEEN = 0.2  # pose hand points count from 0.2 (the pose model rates hands at the face low)


@dataclass(frozen=True)
class ObjectHit:
    """One detected object: COCO ``label``, its ``group``, ``score`` 0..1, ``box_xyxy`` in frame pixels, and the crop."""

    label: str
    group: str
    score: float
    box_xyxy: Tuple[float, float, float, float]
    crop: str

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.box_xyxy
        if x1 < x0 or y1 < y0:
            raise ValueError(f"ObjectHit box_xyxy must have x1 >= x0 and y1 >= y0, got {self.box_xyxy}")


def _centre(xyz: np.ndarray, vis: np.ndarray, idx: Tuple[int, ...], min_vis: float, wh: Tuple[int, int]):
    pts = xyz[list(idx), :2] * np.asarray(wh, dtype=np.float64)
    ok = (vis[list(idx)] >= min_vis) & ~np.isnan(pts).any(axis=1)
    inside = ok & (pts[:, 0] >= 0) & (pts[:, 0] < wh[0]) & (pts[:, 1] >= 0) & (pts[:, 1] < wh[1])
    if not inside.any():
        return None
    return pts[inside].mean(axis=0)


def crop_boxes(person: PersonLandmarks, image_wh: Tuple[int, int],
               scale_px: Optional[float] = None) -> Dict[str, Tuple[int, int, int, int]]:
    """Square crops (pixels, xyxy, clipped to the frame) around each seen hand and the mouth.

    ``scale_px``: the person's body scale in pixels, one shoulder width (the features' ``body_scale``, which
    holds in profile where the shoulders collapse); without it, the shoulder width seen in the picture.
    Nothing for a part not seen inside the picture (a hand out of frame has no crop), and nothing at all
    without a scale.
    """
    wh = (int(image_wh[0]), int(image_wh[1]))
    xyz, vis = person.pose_xyz.astype(np.float64), np.nan_to_num(person.pose_visibility, nan=0.0)
    sw = float(scale_px) if scale_px is not None else np.nan
    if not sw > 0:
        sh = xyz[[L_SHOULDER, R_SHOULDER], :2] * np.asarray(wh, dtype=np.float64)
        if np.isnan(sh).any() or (vis[[L_SHOULDER, R_SHOULDER]] < SEEN).any():
            return {}
        sw = float(np.linalg.norm(sh[0] - sh[1]))
    if not sw > 0:
        return {}
    centres = {name: _centre(xyz, vis, idx, HAND_SEEN, wh) for name, idx in HAND_POINTS.items()}
    centres["mouth"] = _centre(xyz, vis, MOUTH, SEEN, wh)
    centres["lap"] = _lap_centre(xyz, vis, [centres["left_hand"], centres["right_hand"]], sw, wh)
    boxes = {}
    for name, c in centres.items():
        if c is None:
            continue
        half = max(CROP_SW[name] * sw, MIN_CROP_PX) / 2.0
        x0, y0 = max(0, int(c[0] - half)), max(0, int(c[1] - half))
        x1, y1 = min(wh[0], int(c[0] + half)), min(wh[1], int(c[1] + half))
        if x1 - x0 >= MIN_CROP_PX // 2 and y1 - y0 >= MIN_CROP_PX // 2:
            boxes[name] = (x0, y0, x1, y1)
    return boxes


def _lap_centre(xyz: np.ndarray, vis: np.ndarray, hands: List[Optional[np.ndarray]], sw: float,
                wh: Tuple[int, int]) -> Optional[np.ndarray]:
    """Where to look for a phone in the lap: between the hands held below the chest and the hips; None when no
    hand is below the chest (or the shoulders are not seen, so the chest is not known)."""
    shoulders = _centre(xyz, vis, (L_SHOULDER, R_SHOULDER), SEEN, wh)
    if shoulders is None:
        return None
    low = [h for h in hands if h is not None and h[1] - shoulders[1] > LAP_BELOW_SW * sw]
    if not low:
        return None
    hands_c = np.mean(low, axis=0)
    hips = _centre(xyz, vis, (L_HIP, R_HIP), SEEN, wh)
    if hips is None or hips[1] < shoulders[1]:
        return hands_c + np.array([0.0, LAP_DOWN_SW * sw])
    return (hands_c + hips) / 2.0


def _overlap(a: Tuple[int, int, int, int], b: Tuple[int, int, int, int]) -> float:
    """Intersection over union of two boxes (0..1)."""
    inter = max(min(a[2], b[2]) - max(a[0], b[0]), 0) * max(min(a[3], b[3]) - max(a[1], b[1]), 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _joint(a: Tuple[int, int, int, int], b: Tuple[int, int, int, int]) -> Tuple[int, int, int, int]:
    """The square around both boxes (the detector squeezes its input to a square: a long box would distort), centred
    on their joint box; it may reach past the frame, where the detector sees nothing (clipped by the caller)."""
    x0, y0, x1, y1 = min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])
    half = max(x1 - x0, y1 - y0) / 2.0
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    return (int(cx - half), int(cy - half), int(cx + half), int(cy + half))


def merge_crops(crops: Dict[str, Tuple[int, int, int, int]]) -> List[Tuple[Tuple[int, int, int, int], Tuple[str, ...]]]:
    """The detector calls for ``crops``: crops overlapping by :data:`MERGE_OVERLAP` (IoU) or more are looked at once,
    on the square holding both, and what is found there counts for each of them. In :data:`CROP_NAMES` order, greedy."""
    calls: List[Tuple[Tuple[int, int, int, int], Tuple[str, ...]]] = []
    for name in sorted(crops, key=lambda n: CROP_NAMES.index(n) if n in CROP_NAMES else len(CROP_NAMES)):
        box = crops[name]
        for i, (joint, names) in enumerate(calls):
            if all(_overlap(crops[n], box) >= MERGE_OVERLAP for n in names):
                calls[i] = (_joint(joint, box), names + (name,))
                break
        else:
            calls.append((box, (name,)))
    return calls


class ObjectDetector(ModelHandle):
    """MediaPipe's ``ObjectDetector`` on crops of a frame; a context manager.

    ``detect(image_bgr, crops)`` returns the hits of the groups in :data:`OBJECT_GROUPS` with a score of at
    least ``score_threshold``, boxes in full-frame pixels, each tagged with the crop it was found in.

    ``both_ways`` (the default): each crop is looked at as it is and mirrored, and a group's score is the mean of
    its best score either way (:func:`mean_both_ways`). The detector is not symmetric: on the tune split 14 % of
    the runs inside labelled phone use and 4 % of the others fall on different sides of 0.5 when the crop is
    mirrored (``scripts/measure_flip.py``), so a plain score says as much about the camera's side as about the
    object. The mean is the same whichever way the picture faces, and the noise of the two looks averages out.
    """

    def __init__(self, model_path: Path, score_threshold: float = 0.3, max_results: int = 5,
                 both_ways: bool = True) -> None:
        from mediapipe.tasks.python.core.base_options import BaseOptions
        from mediapipe.tasks.python.vision import ObjectDetector as _Detector, ObjectDetectorOptions
        from mediapipe.tasks.python.vision.core.vision_task_running_mode import VisionTaskRunningMode

        model_path = Path(model_path)
        if not model_path.is_file():
            raise FileNotFoundError(f"object detector model not found: {model_path}")
        self.model_path = model_path
        self.score_threshold, self.both_ways = float(score_threshold), bool(both_ways)
        floor = min(self.score_threshold, RAW_FLOOR) if self.both_ways else self.score_threshold
        opts = ObjectDetectorOptions(base_options=BaseOptions(model_asset_buffer=model_path.read_bytes()),
                                     running_mode=VisionTaskRunningMode.IMAGE,
                                     score_threshold=floor, max_results=max_results,
                                     category_allowlist=sorted(GROUP_OF))
        with quiet_native_stderr():
            self._model = _Detector.create_from_options(opts)

    def detect(self, image_bgr: np.ndarray, crops: Dict[str, Tuple[int, int, int, int]]) -> List[ObjectHit]:
        """One detector call per crop."""
        return self.detect_calls(image_bgr, [(box, (name,)) for name, box in crops.items()])

    def detect_calls(self, image_bgr: np.ndarray,
                     calls: List[Tuple[Tuple[int, int, int, int], Tuple[str, ...]]]) -> List[ObjectHit]:
        """One look per ``(box, crop names)`` (:func:`merge_crops`), two with ``both_ways``; a hit is tagged with each
        name."""
        if not self.both_ways:
            return self.detect_one_way(image_bgr, calls)
        hits = mean_both_ways(self.detect_one_way(image_bgr, calls), self.detect_one_way(image_bgr, calls, mirror=True))
        return [h for h in hits if h.score >= self.score_threshold]

    def detect_one_way(self, image_bgr: np.ndarray, calls: List[Tuple[Tuple[int, int, int, int], Tuple[str, ...]]],
                       mirror: bool = False) -> List[ObjectHit]:
        """One detector call per ``(box, crop names)``, the crop as it is or mirrored left to right (``mirror``:
        boxes mapped back to the frame); hits from the detector's own floor up."""
        import mediapipe as mp

        hits: List[ObjectHit] = []
        for (x0, y0, x1, y1), names in calls:
            x0, y0 = max(0, x0), max(0, y0)  # a joint square may reach past the frame
            crop = image_bgr[y0:y1, x0:x1, ::-1]
            if crop.size == 0:
                continue
            crop = np.ascontiguousarray(crop[:, ::-1] if mirror else crop)
            result = self._model.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=crop))
            for d in result.detections:
                cat = d.categories[0]
                label = cat.category_name
                if label not in GROUP_OF:
                    continue
                b = d.bounding_box
                bx = crop.shape[1] - b.origin_x - b.width if mirror else b.origin_x
                box = (x0 + bx, y0 + b.origin_y, x0 + bx + b.width, y0 + b.origin_y + b.height)
                hits.extend(ObjectHit(label, GROUP_OF[label], float(cat.score), tuple(float(v) for v in box), name)
                            for name in names)
        return hits


def mean_both_ways(plain: List[ObjectHit], mirrored: List[ObjectHit]) -> List[ObjectHit]:
    """One hit per (crop, group) seen either way: the mean of the group's best score in the crop as it is and in
    the mirrored crop (0 where a way found none), with the label and box of the better of the two."""
    def best(hits: List[ObjectHit]) -> Dict[Tuple[str, str], ObjectHit]:
        out: Dict[Tuple[str, str], ObjectHit] = {}
        for h in hits:
            if (h.crop, h.group) not in out or h.score > out[h.crop, h.group].score:
                out[h.crop, h.group] = h
        return out

    a, b = best(plain), best(mirrored)
    out = []
    for key in sorted(set(a) | set(b)):
        ha, hb = a.get(key), b.get(key)
        top = max((h for h in (ha, hb) if h is not None), key=lambda h: h.score)
        score = ((ha.score if ha else 0.0) + (hb.score if hb else 0.0)) / 2.0
        out.append(ObjectHit(top.label, top.group, score, top.box_xyxy, top.crop))
    return out


def best_scores(hits: List[ObjectHit]) -> Dict[str, float]:
    """The highest score per ``"{group}@{crop}"`` (e.g. ``phone@right_hand``); absent keys were not found."""
    out: Dict[str, float] = {}
    for h in hits:
        key = f"{h.group}@{h.crop}"
        out[key] = max(out.get(key, 0.0), h.score)
    return out


def encode_hits(hits: List[ObjectHit], looked: Dict[str, Tuple[int, int, int, int]],
                image_wh: Tuple[int, int]) -> np.ndarray:
    """The best hit per (group, crop) as ``PersonLandmarks.objects``: crops in ``looked`` score 0 where nothing was
    found, crops not looked at stay NaN (not run); boxes in normalised image coordinates."""
    out = np.full((N_OBJECT_GROUPS, N_OBJECT_CROPS, 5), np.nan, np.float32)
    w, h = float(image_wh[0]), float(image_wh[1])
    for c, crop in enumerate(CROP_NAMES):
        if crop in looked:
            out[:, c, 0] = 0.0
    for hit in hits:
        if hit.crop not in CROP_NAMES:
            continue
        gi, ci = GROUP_NAMES.index(hit.group), CROP_NAMES.index(hit.crop)
        if hit.score > out[gi, ci, 0] or np.isnan(out[gi, ci, 0]):
            x0, y0, x1, y1 = hit.box_xyxy
            out[gi, ci] = (hit.score, x0 / w, y0 / h, x1 / w, y1 / h)
    return out


MODEL_FILE = "coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.tflite"


def default_model_path(models: Optional[str | Path] = None) -> Optional[Path]:
    """The COCO detector file in the models folder (``--models``, ``$CONDUCT_COACH_MODELS``, the package's), if there."""
    p = models_dir(models) / MODEL_FILE
    return p if p.is_file() else None
