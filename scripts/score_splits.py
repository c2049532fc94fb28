#!/usr/bin/env python3
"""Score runs with the hidden set's own scorer (../shared/tools/score.py), once per split of the labels.

    python scripts/score_splits.py [--labels ../shared/media/labels.yaml] [--runs runs/media] [score.py options]

The labels file is split by its ``split:`` key into temporary files (tune, check, ...), and score.py runs on
each with the same runs folder, so the `check` scores (measured, never tuned on) print beside the `tune` ones.
Make the runs first, e.g. ``python -m vision evaluate --labels ../shared/media/labels.yaml --runs runs/media --analyze``.
"""
import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", default=str(SHARED / "media" / "labels.yaml"))
    ap.add_argument("--runs", default=str(REPO / "runs" / "media"))
    ap.add_argument("--scorer", default=str(SHARED / "tools" / "score.py"))
    args, rest = ap.parse_known_args()
    labels = Path(args.labels).resolve()
    doc = yaml.safe_load(labels.read_text(encoding="utf-8"))
    splits = list(dict.fromkeys(str(c.get("split", "all")) for c in doc["clips"]))
    status = 0
    for split in splits:
        part = {**doc, "clips": [c for c in doc["clips"] if str(c.get("split", "all")) == split]}
        # score.py reads only the clip names from the labels (the runs are found under --runs by name).
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False, encoding="utf-8") as fh:
            yaml.safe_dump(part, fh, allow_unicode=True, sort_keys=False)
        try:
            print(f"== split {split}: {len(part['clips'])} entries", flush=True)
            status |= subprocess.call([sys.executable, args.scorer, fh.name, args.runs, *rest])
        finally:
            Path(fh.name).unlink()
        print()
    return status


if __name__ == "__main__":
    sys.exit(main())
