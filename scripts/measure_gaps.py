#!/usr/bin/env python3
"""How far apart the events of one rule are when they split one labelled episode, and when they are two episodes.

    python scripts/measure_gaps.py --runs RUNS [RUNS ...] [--labels LABELS.yaml ...] [--rule ID ...]

Each RUNS folder holds analysed runs of the files of the labels beside it (``--labels``, one per RUNS, default
``../shared/media/labels.yaml``; ``scripts/augment_eval.py`` writes ``DIR/runs`` with ``DIR/media/labels.yaml``).
Only `split: tune` entries are read. For every two consecutive events of a rule in a video (the face-touch family
counted as one rule, as the hidden set's scorer pools it), the gap between them is a *split* when both overlap the
same labelled episode, and *distinct* when they overlap different episodes. Printed: the gaps of each kind, and
the gaps between consecutive labelled episodes of the rule in the labels themselves (which a merge gap must stay
under, so that two episodes are never made one).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vision.evaluate import FACE_TOUCH_FAMILY  # noqa: E402

LABELS = REPO.parent / "shared" / "media" / "labels.yaml"
SLACK_S = 0.5  # as the hidden set's scorer matches events to labels


def family(rule: str) -> str:
    return "face-touch family" if rule in FACE_TOUCH_FAMILY else rule


def episode_of(start: float, end: float, episodes) -> int | None:
    for k, (s, e) in enumerate(episodes):
        if start <= e + SLACK_S and end >= s - SLACK_S:
            return k
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="+", required=True)
    ap.add_argument("--labels", nargs="*")
    ap.add_argument("--rule", nargs="*", default=["face-touch family", "gesture.phone", "gesture.eating"])
    args = ap.parse_args()
    labels = args.labels or [str(LABELS)] * len(args.runs)
    if len(labels) != len(args.runs):
        ap.error("give one --labels per --runs (or none: ../shared/media/labels.yaml for each)")
    gaps = defaultdict(list)  # (rule, kind) -> gaps
    for runs, lab in zip(args.runs, labels):
        doc = yaml.safe_load(Path(lab).read_text(encoding="utf-8"))
        for clip in doc["clips"]:
            if clip.get("split") != "tune" or clip.get("kind") == "image":
                continue
            path = Path(runs) / clip["file"].replace("/", "__") / "events.jsonl"
            if not path.exists():
                continue
            events = defaultdict(list)
            for line in path.read_text(encoding="utf-8").splitlines():
                e = json.loads(line)
                events[family(e["rule"])].append((float(e["start_s"]), float(e["end_s"])))
            episodes = defaultdict(list)
            for e in clip.get("events") or []:
                episodes[family(e["rule"])].append((float(e["start"]), float(e["end"])))
            for rule in args.rule:
                eps = sorted(episodes[rule])
                if runs == args.runs[0]:
                    gaps[rule, "labelled"] += [b[0] - a[1] for a, b in zip(eps, eps[1:])]
                evs = sorted(events[rule])
                for a, b in zip(evs, evs[1:]):
                    ka, kb = episode_of(*a, eps), episode_of(*b, eps)
                    if ka is None or kb is None:
                        continue
                    gaps[rule, "split" if ka == kb else "distinct"].append(b[0] - a[1])
    for rule in args.rule:
        print(f"\n{rule}")
        for kind in ("split", "distinct", "labelled"):
            g = sorted(round(x, 2) for x in gaps[rule, kind])
            print(f"  {kind:9s} n={len(g):3d}  {g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
