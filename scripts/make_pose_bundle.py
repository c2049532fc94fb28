#!/usr/bin/env python3
"""Build ``models/pose_landmarker_full.task`` from the models inside the mediapipe wheel, offline.

    python scripts/make_pose_bundle.py [--models-dir models] [--hands]
    python scripts/make_pose_bundle.py --cache   # the cached bundle the multi-person detector uses

``--cache`` builds (or finds) the bundle that
:class:`vision.detect.multipose.MultiPoseDetector` makes by itself on first use
(:func:`vision.detect.pose_bundle.pose_bundle`: ``$CONDUCT_COACH_CACHE``,
else ``$XDG_CACHE_HOME/conduct-coach``, else ``~/.cache/conduct-coach``) and
prints its path: only useful to prepare a machine in advance.

The bundle holds the same pose models Holistic uses (pose_detection +
pose_landmark_full), packaged for MediaPipe's Tasks API, so that
``analyze --backend tasks`` (which can follow several people a frame) runs
offline. Write it elsewhere with ``--models-dir DIR`` and point the analysis
there with ``--models DIR`` or ``$CONDUCT_COACH_MODELS``. ``--hands``
also writes ``hand_landmarker.task`` (palm_detection_full + hand_landmark_full).
No network is needed. An official ``.task`` file of the same name is
overwritten only with ``--force``. See ``models/README.md``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models-dir", type=Path, default=REPO / "models")
    ap.add_argument("--hands", action="store_true", help="also build hand_landmarker.task")
    ap.add_argument("--force", action="store_true", help="overwrite existing .task files")
    ap.add_argument("--cache", action="store_true", help="build the cached pose bundle used by multi-person runs")
    args = ap.parse_args(argv)

    if args.cache:
        from vision.detect.pose_bundle import pose_bundle

        print(pose_bundle())
        return 0

    from vision.detect.bundles import build_bundled_task
    from vision.detect.native import filtered_stderr

    jobs = [("pose", "pose_landmarker_full.task")] + ([("hand", "hand_landmarker.task")] if args.hands else [])
    with filtered_stderr():
        for kind, name in jobs:
            out = args.models_dir / name
            if out.exists() and not args.force:
                print(f"{out}: exists, left alone (use --force to overwrite)")
                continue
            build_bundled_task(kind, out)
            print(f"{out}: written ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
