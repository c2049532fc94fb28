"""People from separately found poses, faces and hands (no MediaPipe here: tested on synthetic people).

The Tasks backend (:mod:`vision.detect.tasks`) finds poses on the whole frame,
then faces and hands in crops around each pose's head and hands
(:func:`head_box`, :func:`hand_boxes`), and gives each face and hand to the
person whose nose or wrist is nearest (:func:`assemble_people`), so
``left``/``right`` are always that person's own sides. :func:`person_ids`
numbers people: the most prominent first, then ids stay with people from
frame to frame.
"""
from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from vision.detect.landmarks import PersonLandmarks

NOSE, LEFT_EAR, RIGHT_EAR, LEFT_WRIST, RIGHT_WRIST = 0, 7, 8, 15, 16
TORSO = [11, 12, 23, 24]  # shoulders and hips
SEEN = 0.5  # pose visibility above which a point counts for a person's extent
#: A face or hand is given to a person only within this many of its own box diagonals.
FACE_REACH, HAND_REACH = 1.0, 1.5
#: From one frame to the next a person keeps their id if their torso centre moved less than this many torso lengths.
TRACK_REACH = 0.5


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


def seen_before(hand: np.ndarray, hands: Sequence[np.ndarray]) -> bool:
    """The same hand found again in another crop: its wrist within a quarter of its size of one already found."""
    size = _diag(hand[:, :2])
    return any(np.linalg.norm(hand[0, :2] - other[0, :2]) < 0.25 * size for other in hands)
