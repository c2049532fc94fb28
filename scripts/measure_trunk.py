#!/usr/bin/env python3
"""How far the trunk and the thighs lean, per tune entry: where posture3d.TRUNK_MAX_INCLINE_DEG and
body.THIGH_MAX_INCLINE_DEG rest.

    python scripts/measure_trunk.py --runs RUNS [--labels ../shared/media/labels.yaml]
        [--nohead NOHEAD_RUNS --nohead-labels NOHEAD_LABELS]

For the subject of every complete tune run (``check`` is never read), the trunk (hip mid -> shoulder mid) as the
pose model gave it, before any bound: its angle from straight up in 3-D (world landmarks), in the person's sagittal
plane (unsigned ``trunk_flexion_deg``), and in the picture; max and how many frames pass the bound. The bound reads
the first two only: the picture's trunk of a deep bow toward the camera points straight down. Then the thigh (hip
-> knee, in the picture) from straight down, the leg reading's angle (``thigh_incline_deg``), max, and the frames
where its bound drops the reading. ``--nohead`` reads the runs of the copies with the head cut off
(``scripts/augment_eval.py --aug nohead``), where the pose model invents the skeleton, the same way.
"""
import sys
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from tune_data import tune_args, tune_subjects  # noqa: E402
from vision.features import geometry as g  # noqa: E402
from vision.features.posture3d import TRUNK_MAX_INCLINE_DEG, angle_in_plane, body_frame, incline_deg  # noqa: E402
from vision.features.body import FORESHORTENED, THIGH_MAX_INCLINE_DEG, legs_and_arms  # noqa: E402
from vision.features.skeleton import L_HIP, L_SH, R_HIP, R_SH, body_scale, pose_points  # noqa: E402


def trunk_inclines(track):
    """(3-D, sagittal, image) angle per frame of the trunk from straight up (the sagittal one unsigned), NaN where a
    shoulder or hip is unseen."""
    pose = pose_points(track)
    raw = np.asarray(track.pose_world_xyz, dtype=np.float64)
    world = raw.copy()
    world[np.isnan(pose[..., 0])] = np.nan
    up, forward, _ = body_frame(world, raw)
    trunk = g.mid(pose[:, L_SH], pose[:, R_SH]) - g.mid(pose[:, L_HIP], pose[:, R_HIP])
    return incline_deg(up), np.abs(angle_in_plane(up, forward)), incline_deg(trunk)


def thigh_incline(track):
    """``thigh_incline_deg`` per frame (NaN: no thigh seen), as the features compute it, and where the bound drops
    the reading (past it, with the thigh not foreshortened)."""
    pose = pose_points(track)
    with np.errstate(all="ignore"):
        legs = legs_and_arms(pose, body_scale(track, pose), np.zeros(len(track)))
        incline = legs["thigh_incline_deg"]
        return incline, (incline > THIGH_MAX_INCLINE_DEG) & (legs["thigh_ratio"] >= FORESHORTENED)


def report(title: str, labels: Path, runs: str) -> None:
    print(f"== {title} (runs {runs}); bounds: trunk {TRUNK_MAX_INCLINE_DEG:g} deg, thigh {THIGH_MAX_INCLINE_DEG:g} deg")
    print(f"{'entry':58s} {'n':>4s} {'3-D max':>8s} {'sagittal':>8s} {'image max':>9s} {'beyond':>6s} "
          f"{'thigh max':>9s} {'beyond':>6s}")
    every = {"3-D": [], "sagittal": [], "image": []}
    for run in tune_subjects(labels, runs):
        angles = trunk_inclines(run.track)
        seen = ~np.all(np.isnan(angles), axis=0)
        if not seen.any():
            continue
        with np.errstate(invalid="ignore"):
            beyond = int(np.sum(np.any(np.array(angles[:2]) > TRUNK_MAX_INCLINE_DEG, axis=0)))
        thigh, dropped = thigh_incline(run.track)
        with np.errstate(all="ignore"):
            print(f"{run.clip['file'][:58]:58s} {int(seen.sum()):4d} "
                  + " ".join(f"{np.nanmax(a):8.1f}" for a in angles) + f" {beyond:6d} {np.nanmax(thigh):9.1f} "
                  f"{int(dropped.sum()):6d}")
        for name, a in zip(every, angles):
            every[name].append(a[~np.isnan(a)])
    for name, parts in every.items():
        v = np.concatenate(parts) if parts else np.zeros(0)
        if len(v):
            p = np.percentile(v, (50, 99, 99.9))
            print(f"all frames, {name}: n {len(v)}, p50 {p[0]:.1f}, p99 {p[1]:.1f}, p99.9 {p[2]:.1f}, "
                  f"max {v.max():.1f}, beyond the bound {int((v > TRUNK_MAX_INCLINE_DEG).sum())}")


def main() -> int:
    ap = tune_args(__doc__.splitlines()[0], rules=False)
    ap.add_argument("--nohead", help="runs of the headless copies (augment_eval.py --aug nohead: DIR/runs)")
    ap.add_argument("--nohead-labels", help="their labels (DIR/media/labels.yaml)")
    args = ap.parse_args()
    warnings.simplefilter("ignore", RuntimeWarning)  # max of an entry with no thigh seen: nan, printed as such
    report("tune", Path(args.labels), args.runs)
    if args.nohead:
        report("tune, head cut off", Path(args.nohead_labels), args.nohead)
    return 0


if __name__ == "__main__":
    sys.exit(main())
