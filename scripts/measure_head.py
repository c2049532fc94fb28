#!/usr/bin/env python3
"""Where the pose model puts the head when the real one is out of the picture: head height above the shoulders.

    python scripts/measure_head.py --runs RUNS [--nohead NOHEAD_RUNS --nohead-labels DIR/media/labels.yaml]
        [--copies DIR ...]

``head_above``: the highest of the pose's seen face points (nose, eyes, ears, mouth) above the shoulders' midpoint,
in shoulder widths (the features' body scale). Printed for the `split: tune` entries of RUNS, split by whether the
face mesh found the face on that frame, and for the same entries with the head cut off
(``scripts/augment_eval.py --aug nohead``: NOHEAD_RUNS), where every face the pose model reports is invented:
n, p1, p5, p50, p95, p99 and the share of frames below a few bars.

Then what the face gate (``features/touch.py`` ``MESH_GAP_S``) rests on: for mesh-less frames inside labelled
face-touch episodes of tune videos, and for every invented face of the headless copies, the time since the face mesh
last saw the face (the share within 2 s), and the face's height in pixels as the pose gives it (eyes to mouth, in
face heights: ``skeleton.EYE_MOUTH_PER_SW`` and ``FACE_HEIGHT_PER_SW``), against the faces the mesh found.

Last, what ``features/touch.py`` ``MESH_POSE_APART`` rests on: on every mesh frame of the tune entries (and of their
copies through other cameras, ``--copies``: ``scripts/augment_eval.py --out`` folders), the distance between the
mesh's nose and the pose's, in shoulder widths, and the entries whose median is past the bar.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from tune_data import tune_subjects  # noqa: E402
from vision.evaluate import FACE_TOUCH_FAMILY  # noqa: E402
from vision.features import geometry as g  # noqa: E402
from vision.features.touch import MESH_POSE_APART, mesh_gap  # noqa: E402
from vision.features.skeleton import (EYE_MOUTH_PER_SW, FACE_HEIGHT_PER_SW, L_EYE, L_SH, MOUTH_L, MOUTH_R,  # noqa: E402
                                      R_EYE, R_SH, body_scale, face_in_picture, pose_points)

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


def since_mesh(track) -> np.ndarray:
    """Seconds since the face mesh last saw the face, per row (inf: not yet), as the face gate counts them."""
    gap = mesh_gap(face_in_picture(track).astype(float), track.timestamp_s)[0]
    return np.where(np.isnan(gap), np.inf, gap)


def face_px(track) -> np.ndarray:
    """The face's height in pixels from the pose's eyes and mouth (NaN where not seen)."""
    pose = pose_points(track)
    with np.errstate(all="ignore"):
        eye_mouth = g.dist(g.mid(pose[:, L_EYE], pose[:, R_EYE]), g.mid(pose[:, MOUTH_L], pose[:, MOUTH_R]))
    return eye_mouth / EYE_MOUTH_PER_SW * FACE_HEIGHT_PER_SW * track.image_wh[1]


def noses_apart(track) -> np.ndarray:
    """Per row, the face mesh's nose to the pose's, in shoulder widths (NaN where either is not seen)."""
    pose = pose_points(track)
    with np.errstate(all="ignore"):
        return g.dist(track.to_square(track.face_xyz)[:, 1], pose[:, 0]) / body_scale(track, pose)


def tune_tracks(labels: Path, runs: str):
    """(labels entry, subject's track) of every tune entry with a complete run."""
    for run in tune_subjects(labels, runs):
        yield run.clip, run.track


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
    ap.add_argument("--copies", nargs="*", default=[], help="augment_eval.py --out folders (DIR/runs, DIR/media)")
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
    gaps, found_px = [], []
    for clip, track in tune_tracks(Path(args.labels), args.runs):
        found_px.append(face_px(track)[face_in_picture(track)])
        if clip.get("kind") == "image":
            continue
        eps = [(e["start"], e["end"]) for e in clip.get("events") or [] if e["rule"] in FACE_TOUCH_FAMILY]
        inside = np.array([any(s <= t <= e for s, e in eps) for t in track.timestamp_s], dtype=bool)
        face_seen = ~np.isnan(pose_points(track)[:, :11, 0]).all(axis=1)
        gaps.append(since_mesh(track)[inside & ~face_in_picture(track) & face_seen])
    touch = np.concatenate(gaps)
    print(f"\nmesh-less frames inside labelled face touches (tune videos): n {touch.size}, the longest since a mesh "
          f"frame {touch.max():.2f} s, within 2 s {100 * np.mean(touch <= 2.0):.0f} %")
    found = np.concatenate(found_px)
    found = found[~np.isnan(found)]
    print(f"faces the mesh found (tune): n {found.size}, height p1 {np.percentile(found, 1):.0f} px, "
          f"min {found.min():.0f} px")
    if args.nohead:
        inv_gap, inv_px = [], []
        for _, track in tune_tracks(Path(args.nohead_labels), args.nohead):
            face_seen = ~np.isnan(pose_points(track)[:, :11, 0]).all(axis=1) & ~face_in_picture(track)
            inv_gap.append(since_mesh(track)[face_seen])
            inv_px.append(face_px(track)[face_seen])
        gap, px = np.concatenate(inv_gap), np.concatenate(inv_px)
        px = px[~np.isnan(px)]
        print(f"invented faces (headless copies): n {gap.size}, a mesh frame within 2 s {100 * np.mean(gap <= 2.0):.0f} %,"
              f" under 40 px {100 * np.mean(px < 40):.0f} %, under 32 px {100 * np.mean(px < 32):.0f} %")
    versions = [("original", Path(args.labels), args.runs)]
    versions += [(Path(d).name, Path(d) / "media" / "labels.yaml", str(Path(d) / "runs")) for d in args.copies]
    apart, past = [], []
    for name, labels, runs in versions:
        for clip, track in tune_tracks(labels, runs):
            d = noses_apart(track)
            d = d[~np.isnan(d)]
            apart.append(d)
            if d.size and np.median(d) > MESH_POSE_APART:
                past.append(f"{name}: {clip['file']} (median {np.median(d):.2f}, {d.size} frames)")
    d = np.concatenate(apart)
    print(f"\nmesh nose to pose nose on mesh frames ({', '.join(v[0] for v in versions)}): n {d.size}, p50 "
          f"{np.percentile(d, 50):.3f}, p95 {np.percentile(d, 95):.3f}, p99 {np.percentile(d, 99):.3f}, max "
          f"{d.max():.2f} shoulder widths; entries with a median past MESH_POSE_APART ({MESH_POSE_APART}):")
    for line in past:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
