"""Two synthetic people in one picture: a subject (person 0) and a customer (person 1), built with
``builders.make_person`` so every answer is known by construction (the several-people tests)."""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from builders import IMAGE_WH, VISIBLE, make_person, min_jerk, with_legs
from vision.features import skeleton as S
from vision.detect.landmarks import FrameLandmarks, LandmarkTrack, PersonLandmarks

CUSTOMER_ID = 1


def two_people(subject: Sequence[Optional[PersonLandmarks]], customer: Sequence[Optional[PersonLandmarks]],
               fps: float = 10.0, image_wh: Tuple[int, int] = IMAGE_WH):
    """Frames holding both (None: that one is out of frame), with the subject's track and the customer's aligned
    track (NaN where not seen): ``(frames, subject_track, customer_track)``."""
    from dataclasses import replace

    frames = [FrameLandmarks(i, i / fps, [replace(p, person_id=pid) for pid, p in ((0, s), (CUSTOMER_ID, c))
                                          if p is not None])
              for i, (s, c) in enumerate(zip(subject, customer))]
    return (frames, LandmarkTrack.from_frames(frames, 0, image_wh),
            LandmarkTrack.from_frames(frames, CUSTOMER_ID, image_wh))


def walking_pair(way: str, gap_m: float, seconds: float = 4.0, speed_m_s: float = 1.2, fps: float = 10.0,
                 customer_visible: bool = True):
    """Two people walking together at ``speed_m_s``, ``gap_m`` apart (known by construction).

    ``way='right'``: side view, both crossing to the image's right, the subject ``gap_m`` ahead (negative:
    behind). ``way='toward'`` / ``'away'``: both facing the camera (their backs to it) and walking toward (away
    from) it side by side, the subject ``gap_m`` to the image's right of the customer (toward: the customer's
    left; away: their right); the apparent size follows a pinhole camera (300 px/m at 2.5 m). Returns what :func:`two_people` returns.
    """
    n = int(round(seconds * fps))
    subj, cust = [], []
    for i in range(n):
        t = i / fps
        if way == "right":
            px_per_m = 60.0  # small, so that 3 m ahead stays in the frame for 4 s
            x_c = 60.0 + speed_m_s * t * px_per_m
            s = with_legs(make_person(facing="right", px_per_m=px_per_m, hip_px=(x_c + gap_m * px_per_m, 240)),
                          0.0, px_per_m)
            c = with_legs(make_person(facing="right", px_per_m=px_per_m, hip_px=(x_c, 240)), 0.0, px_per_m)
        else:
            dist = 5.0 - speed_m_s * t if way == "toward" else 2.5 + speed_m_s * t
            px_per_m = 300.0 * 2.5 / dist  # pinhole: the size is inversely proportional to the distance
            facing = "front" if way == "toward" else 180.0
            s = make_person(facing=facing, px_per_m=px_per_m, hip_px=(320 + gap_m / 2 * px_per_m, 300))
            c = make_person(facing=facing, px_per_m=px_per_m, hip_px=(320 - gap_m / 2 * px_per_m, 300))
        subj.append(s)
        cust.append(c if customer_visible else None)
    return two_people(subj, cust, fps)


def hands_out(person: PersonLandmarks, reach: float, sides: Sequence[str] = ("left", "right"),
              px_per_m: float = 300.0, image_wh: Tuple[int, int] = IMAGE_WH) -> PersonLandmarks:
    """The person's straight arms on ``sides`` held out ``reach`` (0..1) of the way to 0.5 m ahead of the chest
    (1.3 shoulder widths), wrists 0.1 m either side of the midline and 0.2 m below the shoulders, from hanging
    (0.45 m below); the other arm hangs (seen)."""
    from dataclasses import replace

    pose, world, vis = person.pose_xyz.copy(), person.pose_world_xyz.copy(), person.pose_visibility.copy()
    across = world[S.L_SH] - world[S.R_SH]
    lateral = np.array([across[0], 0.0, across[2]]) / np.hypot(across[0], across[2])
    forward = np.cross(lateral, [0.0, -1.0, 0.0])
    mid = (world[S.L_SH] + world[S.R_SH]) / 2
    for side, sign, sh, el, hand in (("left", 1, S.L_SH, S.L_EL, S.L_HAND_POSE), ("right", -1, S.R_SH, S.R_EL,
                                                                                 S.R_HAND_POSE)):
        r = reach if side in sides else 0.0
        wrist = mid + sign * 0.1 * lateral + (0.05 + 0.45 * r) * forward + [0.0, 0.45 - 0.25 * r, 0.0]
        for i, p in [(el, (world[sh] + wrist) / 2)] + [(j, wrist) for j in hand]:
            pose[i, :2] += (p[:2] - world[i, :2]) * px_per_m / np.asarray(image_wh, float)
            world[i] = p
            vis[i] = VISIBLE
    return replace(person, pose_xyz=pose, pose_world_xyz=world, pose_visibility=vis)


def reach_profile(start_s: float, seconds: float, hold_s: float = 1.5, fps: float = 10.0) -> np.ndarray:
    """Reach 0 until ``start_s``, out over 0.5 s (minimum jerk), held ``hold_s``, back over 0.5 s; ``seconds`` long."""
    t = np.arange(int(round(seconds * fps))) / fps
    up = min_jerk((t - start_s) / 0.5)
    down = min_jerk((t - start_s - 0.5 - hold_s) / 0.5)
    return up - down


def roleplay(i: int, fps: float = 10.0, smile_from_s: float = 2.0, slouch_from_s: float = 5.0,
             trainee_from_s: float = 0.0, customer: bool = True) -> List[PersonLandmarks]:
    """Frame ``i`` of a two-person roleplay (full landmarks; a multi-person pose model sees only the pose):
    the trainee, large on the left (hips at x=200, 300 px/m), smiling from ``smile_from_s`` and absent before
    ``trainee_from_s``; the customer, smaller on the right (hips at x=470, 220 px/m), upright, slouching 30 deg
    from ``slouch_from_s`` (seen in profile, facing the trainee: trunk pitch is measured in profile);
    ``customer=False``: nobody but the trainee."""
    t = i / fps
    people = []
    if t >= trainee_from_s:
        people.append(make_person(smile=0.08 if t >= smile_from_s else 0.0, hip_px=(200, 400), px_per_m=300))
    if customer:
        people.append(make_person(trunk_pitch_deg=30.0 if t >= slouch_from_s else 0.0, facing="left",
                                  hip_px=(470, 380), px_per_m=220, hand_at="lap"))
    return people
