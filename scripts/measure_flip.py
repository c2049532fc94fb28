#!/usr/bin/env python3
"""Does the object detector's verdict depend on the side the camera is on? Its scores on a crop and on the mirrored crop.

    python scripts/measure_flip.py --runs RUNS [--labels ../shared/media/labels.yaml]

RUNS holds analysed run folders of the labelled files (``vision evaluate --analyze``). Only `split: tune` entries
are read. For every detector run stored in a run's landmark cache, the frame is decoded again and the subject's
crops (``crop_boxes``, ``merge_crops``, as the run cut them) go through the detector as they are and mirrored,
with a low reporting floor (0.1) so that a score below the run's own 0.3 is still known. Printed per evidence:

* ``phone``: the best phone-like score of the hand and mouth crops, in runs inside labelled phone use against runs
  outside it (entries where the phone is labelled or listed absent; 0.5 s kept clear of each labelled boundary);
* ``mouth``: the best cup, bottle, glass, utensil or food score of a box at the mouth (any crop; within the
  feature ``mouth_object``'s reach of the pose's mouth, in runs where the mouth is seen), inside and outside eating;
* ``hand``: the same objects in the hand crops, inside and outside eating;

for the score as it is (``plain``), mirrored, their mean, and the higher of the two: the share of runs at or above
each threshold inside and outside, and how often plain and mirrored fall on different sides of it (a verdict that
flips with the camera's side).
"""
from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tune_data import tune_args, tune_subjects  # noqa: E402
from vision.detect.objects import (CROP_NAMES, GROUP_OF, RAW_FLOOR, ObjectDetector, crop_boxes,  # noqa: E402
                                   default_model_path, merge_crops)
from vision.features.objects import AT_MOUTH_GAP  # noqa: E402
from vision.features.skeleton import MOUTH_L, MOUTH_R  # noqa: E402
from vision.io.cache import load_meta  # noqa: E402
from vision.io.frames import FrameSource  # noqa: E402
from vision.object_run import subject_scale_px  # noqa: E402

EVIDENCE = {"phone": ("gesture.phone", ("phone",), ("left_hand", "right_hand", "mouth")),
            "mouth": ("gesture.eating", ("drink", "utensil", "food"), CROP_NAMES),  # boxes at the mouth only
            "hand": ("gesture.eating", ("drink", "utensil", "food"), ("left_hand", "right_hand"))}
AT_MOUTH = ("mouth",)  # evidences counted only where the box is at the mouth, as the feature mouth_object does
THRESHOLDS = (0.3, 0.4, 0.45, 0.5, 0.55, 0.6)
CLEAR_S = 0.5


def labelled(clip, rule: str):
    """``(intervals, assessed)``: the clip's labelled intervals of ``rule`` (a still listing it present: all of it)
    and whether the clip assesses the rule at all (labelled or absent)."""
    if clip.get("kind") == "image":
        ivs = [(-1.0, 1.0)] if rule in (clip.get("present") or []) else []
    else:
        ivs = [(float(e["start"]), float(e["end"])) for e in clip.get("events") or [] if e["rule"] == rule]
    return ivs, bool(ivs) or rule in (clip.get("absent") or [])


def side(t: float, ivs, still: bool) -> str | None:
    """'in', 'out' or None (near a boundary)."""
    if still:
        return "in" if ivs else "out"
    if any(s <= t <= e for s, e in ivs):
        return "in"
    if any(s - CLEAR_S <= t <= e + CLEAR_S for s, e in ivs):
        return None
    return "out"


def best(hits, groups, crops, near=None) -> float:
    """The best score of ``groups`` in ``crops``; with ``near`` ``(x, y, reach)`` in pixels, of boxes within
    ``reach`` of the point (``vision.features.objects``: a cup, glass or food at the mouth)."""
    def close(box) -> bool:
        x, y, reach = near
        return bool(np.hypot(max(box[0] - x, x - box[2], 0.0), max(box[1] - y, y - box[3], 0.0)) <= reach)
    return max([h.score for h in hits if GROUP_OF[h.label] in groups and h.crop in crops
                and (near is None or close(h.box_xyxy))], default=0.0)


def mouth_reach(person, wh, scale_px):
    """``(x, y, reach)``: the pose's mouth in pixels and :data:`AT_MOUTH_GAP` shoulder widths; None if not seen."""
    mouth = np.mean(person.pose_xyz[[MOUTH_L, MOUTH_R], :2].astype(float), axis=0) * np.asarray(wh, float)
    if not np.isfinite(mouth).all() or not scale_px:
        return None
    return float(mouth[0]), float(mouth[1]), AT_MOUTH_GAP * scale_px


def main() -> int:
    args = tune_args(__doc__.splitlines()[0], rules=False).parse_args()
    det = ObjectDetector(default_model_path(), score_threshold=RAW_FLOOR)  # both ways' floor, one way at a time
    rows = defaultdict(list)  # (evidence, in/out) -> [(plain, mirrored)]
    for run in tune_subjects(Path(args.labels), args.runs):
        meta = load_meta(run.run_dir)
        track, wh, still = run.track, tuple(meta["image_wh"]), bool(meta.get("still"))
        ran = ~np.isnan(track.objects[:, :, :, 0]).all(axis=(1, 2))
        rows_of = {int(f): i for i, f in enumerate(track.frame_index) if ran[i]}
        if not rows_of:
            continue
        where = {ev: labelled(run.clip, rule) for ev, (rule, _, _) in EVIDENCE.items()}
        with FrameSource(meta["source"], sample_fps=meta.get("sample_fps")) as src:
            for frame in src:
                i = rows_of.get(frame.index)
                if i is None:
                    continue
                person = track.person_at(i)
                scale_px = subject_scale_px(person, wh)
                crops = crop_boxes(person, wh, scale_px)
                at_mouth = mouth_reach(person, wh, scale_px)
                if not crops:
                    continue
                calls = merge_crops(crops)
                plain = det.detect_one_way(frame.image_bgr, calls)
                mirrored = det.detect_one_way(frame.image_bgr, calls, mirror=True)
                t = float(track.timestamp_s[i])
                for ev, (_, groups, crop_names) in EVIDENCE.items():
                    ivs, assessed = where[ev]
                    s = side(t, ivs, still) if assessed else None
                    if ev in AT_MOUTH:
                        if at_mouth is None:
                            continue  # the mouth not seen: no at-the-mouth evidence either way
                        near = at_mouth
                    else:
                        near = None
                    if s is not None:
                        rows[ev, s].append((best(plain, groups, crop_names, near),
                                            best(mirrored, groups, crop_names, near)))
    det.close()
    for ev in EVIDENCE:
        print(f"\n{ev}: detector runs inside {len(rows[ev, 'in'])}, outside {len(rows[ev, 'out'])}")
        print(f"{'score':10s} {'thr':>4s}   {'inside':>7s} {'outside':>8s}  {'flips in':>8s} {'flips out':>9s}")
        for name, f in (("plain", lambda a: a[:, 0]), ("mirrored", lambda a: a[:, 1]),
                        ("mean", lambda a: a.mean(axis=1)), ("higher", lambda a: a.max(axis=1))):
            for thr in THRESHOLDS:
                cells = []
                for s in ("in", "out"):
                    a = np.asarray(rows[ev, s], dtype=float).reshape(-1, 2)
                    cells.append(f"{100 * np.mean(f(a) >= thr):6.1f}%" if len(a) else "     -")
                flips = []
                for s in ("in", "out"):
                    a = np.asarray(rows[ev, s], dtype=float).reshape(-1, 2)
                    flips.append(f"{100 * np.mean((a[:, 0] >= thr) != (a[:, 1] >= thr)):6.1f}%" if len(a) else "-")
                flip_txt = f"{flips[0]:>8s} {flips[1]:>9s}" if name == "plain" else ""
                print(f"{name:10s} {thr:4.2f}  {cells[0]:>7s} {cells[1]:>8s}  {flip_txt}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
