#!/usr/bin/env python3
"""Measure the body proportions that ``vision/features/skeleton.py`` uses to estimate the body scale.

    python scripts/measure_proportions.py RUNS_DIR

RUNS_DIR holds run folders (e.g. from ``python -m vision evaluate --analyze``).
For every run, prints the median over frames of face height, eye-to-mouth
distance and torso length, each over the shoulder width, on frames seen from
the front (shoulder width at least 0.8 of the median estimate). The constants
FACE_HEIGHT_PER_SW, EYE_MOUTH_PER_SW and TORSO_PER_SW are the medians over
front-view runs.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vision.features import geometry as g  # noqa: E402
from vision.io.cache import load_tracks  # noqa: E402
from vision.features.skeleton import L_EYE, L_HIP, L_SH, MOUTH_L, MOUTH_R, R_EYE, R_HIP, R_SH, pose_points  # noqa: E402


def main() -> int:
    runs = sorted(p.parent.parent for p in Path(sys.argv[1]).glob("*/landmarks/meta.json"))
    rows = []
    warnings.simplefilter("ignore", RuntimeWarning)
    for run in runs:
        for track in load_tracks(run).values():
            pose, face = pose_points(track), track.to_square(track.face_xyz)
            sw = g.dist(pose[:, L_SH], pose[:, R_SH])
            ratios = [g.dist(face[:, 10], face[:, 152]) / sw,
                      g.dist(g.mid(pose[:, L_EYE], pose[:, R_EYE]), g.mid(pose[:, MOUTH_L], pose[:, MOUTH_R])) / sw,
                      g.dist(g.mid(pose[:, L_SH], pose[:, R_SH]), g.mid(pose[:, L_HIP], pose[:, R_HIP])) / sw]
            med = [float(np.nanmedian(r)) for r in ratios]
            print(f"{run.name[:50]:50s} face/sw {med[0]:5.2f}  eye-mouth/sw {med[1]:5.2f}  torso/sw {med[2]:5.2f}")
            if med[1] < 0.5:  # not a profile view (shoulders collapse there)
                rows.append(med)
    if rows:
        m = np.nanmedian(np.array(rows), axis=0)
        print(f"\nmedian over {len(rows)} non-profile runs: face/sw {m[0]:.2f}, eye-mouth/sw {m[1]:.2f}, torso/sw {m[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
