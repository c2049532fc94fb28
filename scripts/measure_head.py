#!/usr/bin/env python3
"""Where the pose model puts the head when the real one is out of the picture: head height above the shoulders.

    python scripts/measure_head.py --runs RUNS [--nohead NOHEAD_RUNS --nohead-labels DIR/media/labels.yaml]

``head_above``: the highest of the pose's seen face points (nose, eyes, ears, mouth) above the shoulders' midpoint,
in shoulder widths (the features' body scale). Printed for the `split: tune` entries of RUNS, split by whether the
face mesh found the face on that frame, and for the same entries with the head cut off
(``scripts/augment_eval.py --aug nohead``: NOHEAD_RUNS), where every face the pose model reports is invented:
n, p1, p5, p50, p95, p99 and the share of frames below a few bars.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vision.evaluate import find_runs  # noqa: E402
from vision.features import geometry as g  # noqa: E402
from vision.features.skeleton import L_SH, R_SH, body_scale, face_in_picture, pose_points  # noqa: E402
from vision.io.cache import load_tracks  # noqa: E402

LABELS = REPO.parent / "shared" / "media" / "labels.yaml"
BARS = (0.0, 0.1, 0.2, 0.3, 0.4)


def head_above(track):
    """(head_above per row, mesh found per row); NaN where the shoulders or every face point are not seen."""
    pose = pose_points(track)
    with np.errstate(all="ignore"):
        scale = body_scale(track, pose)
        top = np.nanmin(np.where(np.isnan(pose[:, :11, 1]), np.inf, pose[:, :11, 1]), axis=1)
        top = np.where(np.isinf(top), np.nan, top)
        shoulders = g.mid(pose[:, L_SH], pose[:, R_SH])[:, 1]
        return (shoulders - top) / scale, face_in_picture(track)


def tune_tracks(labels: Path, runs: str):
    doc = yaml.safe_load(labels.read_text(encoding="utf-8"))
    found = find_runs(runs)
    for clip in doc["clips"]:
        run = found.get((labels.parent / clip["file"]).resolve())
        if clip.get("split") != "tune" or run is None:
            continue
        sid = json.loads((run / "run.json").read_text(encoding="utf-8"))["subject"]["id"]
        track = load_tracks(run).get(sid)
        if track is not None and len(track):
            yield clip["file"], track


def show(name: str, values: np.ndarray) -> None:
    v = values[~np.isnan(values)]
    if not v.size:
        print(f"{name:34s} n 0")
        return
    pct = " ".join(f"p{q} {np.percentile(v, q):6.2f}" for q in (1, 5, 50, 95, 99))
    below = " ".join(f"<{b:g}: {100 * np.mean(v < b):5.1f}%" for b in BARS)
    print(f"{name:34s} n {v.size:5d}  {pct}   {below}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", required=True)
    ap.add_argument("--labels", default=str(LABELS))
    ap.add_argument("--nohead")
    ap.add_argument("--nohead-labels")
    args = ap.parse_args()
    with_mesh, without = [], []
    for _, track in tune_tracks(Path(args.labels), args.runs):
        h, mesh = head_above(track)
        with_mesh.append(h[mesh])
        without.append(h[~mesh])
    show("tune, face mesh found", np.concatenate(with_mesh))
    show("tune, no face mesh", np.concatenate(without))
    if args.nohead:
        cut = [head_above(track)[0] for _, track in tune_tracks(Path(args.nohead_labels), args.nohead)]
        show("tune, head cut off (all invented)", np.concatenate(cut))
    return 0


if __name__ == "__main__":
    sys.exit(main())
