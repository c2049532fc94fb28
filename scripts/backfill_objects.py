"""Add the object pass to run folders made without it (the source decoded again, the cached landmarks reused).

    python scripts/backfill_objects.py RUN_DIR... [--models DIR]

Then re-judge them: ``python -m vision evaluate ... --reanalyze``. Each folder says its detector calls and time.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vision.object_run import backfill  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--models")
    args = ap.parse_args()
    for run in args.runs:
        print(run, backfill(run, args.models), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
