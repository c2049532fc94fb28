"""The ``batch`` sub-command: many recordings into one output folder, with an index.

Exit codes: 0 every recording analysed (or done before), 1 some failed
(each listed with its one-line reason; the others are analysed all the
same), 2 bad input or rules, 130 stopped (re-run the same command to finish:
finished runs are skipped).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Dict

from vision.cli_types import number

EXIT_FAILED, EXIT_INPUT, EXIT_INTERRUPTED = 1, 2, 130


_workers = number(int, 1, "a number of processes")


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def register(subparsers, rules_default: Path, fps_type: Callable[[str], float],
             video_fps: float) -> Dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``batch`` to ``subparsers``; returns name -> handler."""
    b = subparsers.add_parser("batch", help="analyse many recordings (files, folders, globs) in parallel, "
                                            "with an index of every run (index.csv, index.html)")
    b.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="videos, images, folders (walked recursively: a folder of images only is one recording, "
                        "else each video in it is one) or globs ('archive/**/*.mp4')")
    b.add_argument("--out", required=True, help="output folder: one run folder per recording, named by its path "
                                                "below the inputs' common folder ('/' as '__'), and the index")
    b.add_argument("--workers", type=_workers, default=None,
                   help=f"recordings analysed at once, one process each (default: the cores, {default_workers()})")
    b.add_argument("--rules", default=str(rules_default), help=f"rules file (default: {rules_default})")
    b.add_argument("--fps", type=fps_type, default=None,
                   help=f"analysis rate (default {video_fps:g} for videos, every frame of a folder of frames; "
                        "0 = every frame)")
    b.add_argument("--every-frame", action="store_true",
                   help="as analyze --every-frame: the models on every analysed frame, still ones too")
    b.add_argument("--trainee", help="tag every run of this batch with this trainee (the index groups by it)")
    b.add_argument("--trainee-folders", action="store_true",
                   help="each recording's first folder below the common folder names its trainee "
                        "(archive/alice/2024-05-01.mp4)")
    b.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: a pool of processes on this machine (default); ray: Ray tasks (pip install .[ray])")
    b.add_argument("--ray-address", metavar="ADDR",
                   help="an existing Ray cluster (HEAD:6379); default: a local one of --workers CPUs")
    b.add_argument("--overwrite", action="store_true",
                   help="analyse every recording again, even runs done before (and runs the batch did not make)")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(video_fps=video_fps)
    return {"batch": cmd_batch}


def cmd_batch(args) -> int:
    from vision.batch.plan import PlanError, make_plan
    from vision.batch.ray_engine import RayMissing
    from vision.batch.runner import Settings, run_batch
    from vision.judge.rules import load_rules

    if args.trainee and args.trainee_folders:
        print("error: batch: give --trainee or --trainee-folders, not both", file=sys.stderr)
        return EXIT_INPUT
    if args.ray_address and args.engine != "ray":
        print("error: batch: --ray-address needs --engine ray", file=sys.stderr)
        return EXIT_INPUT
    rules = load_rules(args.rules)  # a rules error shows before any work starts
    try:
        plan = make_plan(args.inputs, args.trainee, args.trainee_folders)
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    for p in plan.ignored:
        print(f"note: left out {p}: an image beside videos (give it as an input of its own to analyse it)",
              file=sys.stderr)
    workers = args.workers or default_workers()
    settings = Settings(str(Path(args.rules).resolve()), rules.sha256, args.fps, args.video_fps, args.overwrite,
                        workers, args.engine, args.ray_address, args.every_frame)
    print(f"{len(plan.jobs)} recording(s) under {plan.root} -> {args.out} ({workers} worker(s), {args.engine})",
          file=sys.stderr)
    try:
        res = run_batch(plan, Path(args.out), settings, progress=not args.quiet and args.stderr_tty)
    except RayMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    failed = res.of("failed", "interrupted")
    for o in failed:
        print(f"failed: {o.name}: {o.reason}", file=sys.stderr)
    for o in res.of("partial"):
        print(f"partial: {o.name}: {o.reason}", file=sys.stderr)
    print(f"{len(res.of('complete', 'partial'))} analysed, {len(res.of('skipped'))} done before (skipped), "
          f"{len(failed)} failed -> {res.index[-1]}")
    return EXIT_FAILED if failed else 0
