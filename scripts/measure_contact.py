#!/usr/bin/env python3
"""Does the pose model's depth, or the face mesh losing the face, tell a hand on the face from one in front of it?

    python scripts/measure_contact.py --runs RUNS [--labels ../shared/media/labels.yaml]

On the subject of every complete tune run (``check`` is never read), the frames where a hand touches the face in
the picture (``hand_face_dist`` below face_touch's 0.09) are split into ``in`` (a face-touch family label covers
them) and ``out`` (everything else: hands in front of the face, a drink, the arm-wrestlers' fists). For each:

* the 3-D gap (metres, world landmarks) from the nearest hand point (wrist, fingers) to the nearest head point
  (nose, eyes, ears, mouth);
* the hand's depth against the head's (metres, - nearer the camera);
* the share of frames where the face mesh lost the face (issue 7: "whether the face mesh is disturbed or lost
  where the hand is").

A cue worth a rule would separate ``in`` from ``out``; printed as p5 / p50 / p95.
"""
import sys
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from tune_data import judge_as_run, tune_args, tune_subjects  # noqa: E402
from vision.evaluate import FACE_TOUCH_FAMILY  # noqa: E402
from measure_rule_thresholds import comparisons  # noqa: E402
from vision.judge.rules import load_rules  # noqa: E402

HAND, HEAD = list(range(15, 23)), list(range(0, 11))  # pose points: wrists and fingers; nose to mouth


def main() -> int:
    args = tune_args(__doc__.splitlines()[0]).parse_args()
    warnings.simplefilter("ignore", RuntimeWarning)
    rules = load_rules(args.rules)
    touch = next(r for r in rules.rules if r.id == "gesture.face_touch")
    contact = next(c.enter for _, c in comparisons(touch.condition) if c.feature == "hand_face_dist")  # its bar
    rows = {"in": [], "out": []}
    for run in tune_subjects(Path(args.labels), args.runs):
        _, _, table = judge_as_run(run, rules)
        world = np.asarray(run.track.pose_world_xyz, dtype=np.float64)
        gap = np.linalg.norm(world[:, HAND][:, :, None] - world[:, HEAD][:, None], axis=-1)
        gap = np.nanmin(gap.reshape(len(world), -1), axis=1)
        depth = np.nanmin(world[:, HAND, 2], axis=1) - np.nanmean(world[:, HEAD, 2], axis=1)
        t = table.timestamp_s
        spans = [(float(e["start"]), float(e["end"])) for e in run.clip.get("events") or []
                 if e["rule"] in FACE_TOUCH_FAMILY]
        if set(run.clip.get("present") or []) & set(FACE_TOUCH_FAMILY):
            spans.append((-np.inf, np.inf))
        for i in np.flatnonzero(table["hand_face_dist"] < contact):
            side = "in" if any(a <= t[i] <= b for a, b in spans) else "out"
            rows[side].append((gap[i], depth[i], table["face_mesh_seen"][i]))
    print(f"tune frames with a hand on the face in the picture (runs {args.runs})")
    for side, values in rows.items():
        if not values:
            print(f"{side:4s} n 0")
            continue
        v = np.array(values, dtype=np.float64)
        pct = lambda a: "/".join(f"{x:.3f}" for x in np.nanpercentile(a, (5, 50, 95)))  # noqa: E731
        print(f"{side:4s} n {len(v):3d}  3-D gap m {pct(v[:, 0])}  depth m {pct(v[:, 1])}  "
              f"mesh lost {np.mean(v[:, 2] == 0):.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
