"""Tracking against hand annotations: does the subject keep one id, and is it the one chosen?

The annotations (``tests/data/subjects.yaml``) give a box around the labelled
subject at a few times; between two keys at most ``max_gap_s`` apart the box
is interpolated, and frames inside a ``skip`` interval are not judged. In a
judged frame, the annotated subject is the tracked person with the largest
share of seen keypoints inside the box (at least :data:`INSIDE`); none
qualifying is a miss. Used by ``scripts/measure_tracking.py`` and the real-media test.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from vision.detect.landmarks import FrameLandmarks, PersonLandmarks
from vision.track.tracker import seen_mask

#: Share of a person's seen keypoints that must lie in the annotated box for them to be the subject there.
INSIDE = 0.6


def box_at(entry: Dict, t: float, max_gap_s: float) -> Optional[np.ndarray]:
    """The annotated subject box ``[x0, y0, x1, y1]`` at ``t`` (interpolated), or None where not judged."""
    if any(a <= t <= b for a, b in entry.get("skip", [])):
        return None
    keys = np.asarray(entry["keys"], np.float64)
    if len(keys) == 1:
        return keys[0, 1:]
    i = int(np.searchsorted(keys[:, 0], t))
    if i == 0 or i == len(keys):
        return None
    (t0, *b0), (t1, *b1) = keys[i - 1], keys[i]
    if t1 - t0 > max_gap_s:
        return None
    w = (t - t0) / (t1 - t0)
    return (1 - w) * np.asarray(b0) + w * np.asarray(b1)


def who_is_in(people: Sequence[PersonLandmarks], box: np.ndarray) -> Optional[int]:
    """Id of the person with the largest share (>= :data:`INSIDE`) of seen keypoints inside ``box``."""
    best, best_share = None, INSIDE
    for p in people:
        seen = seen_mask(p)
        if not seen.any():
            continue
        xy = p.pose_xyz[seen, :2]
        share = float(np.mean((xy[:, 0] >= box[0]) & (xy[:, 0] <= box[2]) & (xy[:, 1] >= box[1]) & (xy[:, 1] <= box[3])))
        if share >= best_share:
            best, best_share = p.person_id, share
    return best


@dataclass
class SubjectCheck:
    """``judged``: frames with an annotated box; ``found``: of those, frames where a track was on it;
    ``switches``: times the id on the annotated subject changed; ``ids``: those ids in order of appearance;
    ``agree``: of the found frames, the share where it was the chosen subject."""

    judged: int
    found: int
    switches: int
    ids: List[int]
    agree: float


def check_subject(frames: Sequence[FrameLandmarks], entry: Dict, chosen: Optional[int],
                  max_gap_s: float) -> SubjectCheck:
    """Compare tracked ``frames`` with one file's annotation (see the module docstring)."""
    judged, on = 0, []
    for fl in frames:
        box = box_at(entry, fl.timestamp_s, max_gap_s)
        if box is None:
            continue
        judged += 1
        pid = who_is_in(fl.people, box)
        if pid is not None:
            on.append(pid)
    switches = sum(a != b for a, b in zip(on, on[1:]))
    ids = list(dict.fromkeys(on))
    agree = float(np.mean([pid == chosen for pid in on])) if on else 0.0
    return SubjectCheck(judged, len(on), switches, ids, agree)
