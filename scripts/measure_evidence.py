#!/usr/bin/env python3
"""What the object-evidence rules of eating and phones rest on, on the tune split and its copies through other cameras.

    python scripts/measure_evidence.py --runs RUNS [--copies DIR ...] [--labels ../shared/media/labels.yaml]

RUNS holds analysed runs of ``../shared/media`` (``vision evaluate --analyze``); each DIR is an ``--out`` of
``scripts/augment_eval.py`` (``DIR/media/labels.yaml``, ``DIR/runs``). Only `split: tune` entries are read. Each
run is judged again from its landmark cache with ``rules.yaml``'s features, and per version (original, copies):

* **eating, held at the lips** (``gesture.eating``'s first branch): frames where a hand is held at the lips (half
  the trailing 3 s there, in contact, the mouth the nearest region), inside labelled eating and outside it, and
  how many of them have the evidence the branch asks for: the hand model lost the hand (``hand_face_lost``), or a
  cup, glass or food seen at the mouth in a detector run of the trailing 2 s (``mouth_object_vote_2s`` above
  0.15). Per entry, so a clip where the hand is lost on every held frame shows as such;
* **phones on the middle of the face** (``gesture.phone``'s first branch and ``gesture.face_touch``'s phone gate):
  detector runs on frames where a hand touches the nose, mouth or eyes (``hand_centre_dist`` below the contact bar,
  nearer than cheek, ear and forehead), with their best phone-like score (the mean of the crop as it is and
  mirrored), inside labelled phone use and outside it; and of the labelled phone frames the detector confirms
  (``phone_vote_2s`` above 0.5), how many touch the face and how many its middle.

Every bar is read from ``--rules`` (the rules' own comparisons), so the figures follow the rules file as it is.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from measure_rule_thresholds import comparisons, in_out, judged_tables  # noqa: E402
from vision.judge.rules import Comparison, load_rules  # noqa: E402

LABELS = REPO.parent / "shared" / "media" / "labels.yaml"
HELD = ("hand_mouth_time_3s", "hand_mouth_dist", "hand_mouth_margin")  # the branch's geometry, read from the rules


def held_at_lips(rules):
    """``(geometry, {evidence feature: comparison})`` of ``gesture.eating``'s held-at-the-lips branch (the branch
    holding ``hand_mouth_time_3s``): its comparisons on :data:`HELD`, and those nested under it (the hand lost, the
    object vote), so the figures follow the rules file as it is."""
    eating = next(r for r in rules.rules if r.id == "gesture.eating")
    found = list(comparisons(eating.condition))
    branch = next(where for where, c in found if c.feature == "hand_mouth_time_3s")
    geometry = [c for where, c in found if where == branch and c.feature in HELD]
    evidence = {c.feature: c for where, c in found if where.startswith(branch + ".")}
    return geometry, evidence


def entering(comps: list, v: dict) -> np.ndarray:
    """Rows where every comparison's enter threshold holds."""
    return np.logical_and.reduce([c.masks(v, {})[0] for c in comps])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", required=True, help="runs of ../shared/media")
    ap.add_argument("--labels", default=str(LABELS))
    ap.add_argument("--copies", nargs="*", default=[], help="augment_eval.py --out folders (DIR/runs, DIR/media)")
    ap.add_argument("--rules", default=str(REPO / "rules.yaml"))
    args = ap.parse_args()
    warnings.simplefilter("ignore", RuntimeWarning)
    rules = load_rules(args.rules)
    held_comps, evidence = held_at_lips(rules)
    phone = next(r for r in rules.rules if r.id == "gesture.phone")
    vote = next(c for _, c in comparisons(phone.condition) if c.feature == "phone_vote_2s")  # the first branch's
    touch = next(r for r in rules.rules if r.id == "gesture.face_touch")
    contact = next(c.enter for _, c in comparisons(touch.condition) if c.feature == "hand_face_dist")  # its bar
    centre_comps = [Comparison("hand_centre_dist", "below", contact, contact), Comparison("hand_centre_margin",
                                                                                        "above", 0.0, 0.0)]
    versions = [("original", Path(args.labels), args.runs)]
    versions += [(Path(d).name, Path(d) / "media" / "labels.yaml", str(Path(d) / "runs")) for d in args.copies]
    centre_in, centre_out, confirmed, middle = [], [], [0, 0, 0], {}
    print("eating, held at the lips: frames (inside labelled eating / outside), with the hand lost, with a cup or "
          "food at the mouth")
    for name, labels, runs in versions:
        for clip, t, v, _ in judged_tables(Path(labels), runs, rules):
            held = entering(held_comps, v)
            inside, outside = in_out(clip, "gesture.eating", t)
            if held.any():
                lost = entering([evidence["hand_face_lost"]], v)
                obj = entering([evidence["mouth_object_vote_2s"]], v)
                for side, m in (("inside", held & inside), ("outside", held & outside)):
                    if m.any():
                        print(f"  {name:9s} {side:7s} {clip['file'][:60]:60s} held {m.sum():3d}  hand lost "
                              f"{(m & lost).sum():3d}  object {(m & obj).sum():3d}  "
                              f"either {(m & (lost | obj)).sum():3d}")
            centre = entering(centre_comps, v)
            p_in, p_out = in_out(clip, "gesture.phone", t)
            ran = ~np.isnan(v["phone_held"])
            centre_in += list(v["phone_held"][centre & ran & p_in])
            centre_out += [(s, name, clip["file"]) for s in v["phone_held"][centre & ran & p_out]]
            conf = p_in & entering([vote], v)
            confirmed[0] += int(conf.sum())
            confirmed[1] += int((conf & (v["hand_face_dist"] < contact)).sum())
            confirmed[2] += int((conf & centre).sum())
            if (conf & centre).any():
                middle[(name, clip["file"])] = int((conf & centre).sum())
    print("\nphones on the nose, mouth or eyes: detector runs with a hand touching them, best phone-like score")
    print(f"  inside labelled phone use: n {len(centre_in)}" + (
        f", {np.round(sorted(centre_in), 2).tolist()}" if centre_in else ""))
    scores = np.array([s for s, _, _ in centre_out])
    print(f"  outside: n {scores.size}" + (f", >= 0.5 {int((scores >= 0.5).sum())}, >= 0.4 "
                                            f"{int((scores >= 0.4).sum())}" if scores.size else ""))
    for s, name, clip in sorted(centre_out, key=lambda x: -x[0])[:8]:
        if s >= 0.3:
            print(f"    {s:.2f}  {name:9s} {clip}")
    print(f"  labelled phone frames the detector confirms (phone_vote_2s > {vote.enter}): {confirmed[0]}, touching "
          f"the face {confirmed[1]}, its middle {confirmed[2]}" + (f" ({middle})" if middle else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
