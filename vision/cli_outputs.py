"""Command line of the outputs: ``render``, ``clips`` and ``report``, all from a run folder.

``register(subparsers)`` adds the three sub-commands to the main parser and
returns their handlers; each handler returns an exit code. User errors are
the exceptions in :data:`USER_ERRORS`, each with a one-line message. Until
``cli.py`` wires them in, ``python -m vision.cli_outputs COMMAND ...`` runs
them on their own.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional

from vision.cli_types import number
from vision.review.clips import SEVERITIES, ClipsError
from vision.review.privacy import MODES
from vision.io.run_folder import RunFolderError
from vision.review.text import FontMissing
from vision.io.video_out import VideoWriteError

#: The exceptions that mean "the user asked for something that cannot be done"; one line each.
USER_ERRORS = (RunFolderError, ClipsError, FontMissing, VideoWriteError)
EXIT_USER = 2


_non_negative = number(float, 0, "seconds")


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


def _common(p: argparse.ArgumentParser, video_opts: bool = True) -> None:
    p.add_argument("--video", type=Path, help="the source recording, if it has moved since the analysis")
    p.add_argument("--privacy", choices=MODES, default="auto",
                   help="blur faces other than the subject's: auto = when more than one face is in frame "
                        "(default), others = always, off = never")
    if video_opts:
        p.add_argument("--height", type=_positive_int, help="video height in pixels (default: the source's, "
                                                            "brought within 360..720)")
        p.add_argument("--font", help="a font with Chinese glyphs (default: found on the system)")
        p.add_argument("--crf", type=int, default=23, help="H.264 quality, lower is better (default 23)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(subparsers) -> Dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``render``, ``clips`` and ``report`` to ``subparsers``; returns name -> handler."""
    r = subparsers.add_parser("render", help="the source video annotated: landmarks, active rules (zh/en), timeline")
    r.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    r.add_argument("--out", type=Path, help="output file (default: RUN_DIR/annotated.mp4; .png for a still image)")
    _common(r)

    c = subparsers.add_parser("clips", help="one short H.264 clip per event, message and clause burnt in")
    c.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    c.add_argument("--out", type=Path, help="folder for the clips (default: RUN_DIR/clips)")
    c.add_argument("--pre", type=_non_negative, default=2.0, help="seconds before each event (default 2)")
    c.add_argument("--post", type=_non_negative, default=2.0, help="seconds after each event (default 2)")
    c.add_argument("--rule", action="append", default=[], metavar="ID",
                   help="only this rule; a pattern like 'gesture.*' works; repeatable")
    c.add_argument("--severity", action="append", default=[], choices=SEVERITIES, help="only this severity; repeatable")
    c.add_argument("--kind", action="append", default=[], choices=("violation", "desired", "all"),
                   help="which events get clips: violation (default), desired (desired states and passed "
                        "appearance checks), all; repeatable")
    c.add_argument("--min-duration", type=_non_negative, default=0.0, metavar="S",
                   help="only events lasting at least S seconds")
    c.add_argument("--max-per-rule", type=_positive_int, metavar="N", help="at most N clips per rule (the longest)")
    _common(c)

    p = subparsers.add_parser("report", help="report.html for a run; with several runs also a side-by-side page")
    p.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", type=Path, help="the side-by-side page, with several runs "
                                            "(default: compare.html in the runs' common folder)")
    p.add_argument("--no-thumbnails", action="store_true", help="do not read the video for thumbnails")
    _common(p, video_opts=False)
    return {"render": cmd_render, "clips": cmd_clips, "report": cmd_report}


def _bar(args, desc: str):
    tty = getattr(args, "stderr_tty", None)  # cli.main asks before it filters stderr through a pipe
    if getattr(args, "quiet", False) or not (sys.stderr.isatty() if tty is None else tty):
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(unit="frame", desc=desc, leave=False, dynamic_ncols=True)

    def update(done: int, total: Optional[int]) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close


def cmd_render(args) -> int:
    from vision.review.render import RenderOptions, render

    progress, done = _bar(args, "render")
    try:
        res = render(args.run_dir, RenderOptions(out=args.out, video=args.video, height=args.height,
                                                 privacy=args.privacy, font=args.font, crf=args.crf), progress)
    finally:
        done()
    blurred = f", {res.faces_blurred} faces blurred" if res.faces_blurred else ""
    print(f"{res.path}: {res.frames} frames in {res.seconds:.1f} s ({res.frames_per_s:.1f} frames/s){blurred}")
    return 0


def _kinds(asked: List[str]) -> tuple:
    """``--kind``: violations unless asked; ``all`` = every kind."""
    if "all" in asked:
        return ()
    return tuple(dict.fromkeys(asked)) or ("violation",)


def cmd_clips(args) -> int:
    from vision.review.clips import ClipOptions, make_clips

    opt = ClipOptions(out_dir=args.out, pre_s=args.pre, post_s=args.post, rules=args.rule,
                      severities=args.severity, kinds=_kinds(args.kind), min_duration_s=args.min_duration,
                      max_per_rule=args.max_per_rule, video=args.video, height=args.height,
                      privacy=args.privacy, font=args.font, crf=args.crf)
    progress, done = _bar(args, "clips")
    try:
        res = make_clips(args.run_dir, opt, progress)
    finally:
        done()
    for c in res.clips:
        print(f"{c.path}  ({c.frames} frames)")
    kinds = "every kind" if not opt.kinds else " and ".join(f"{k}s" for k in opt.kinds)
    more = "" if not opt.kinds else "; --kind all for every event"
    print(f"{len(res.clips)} clips ({kinds}{more}) in {res.seconds:.1f} s -> {res.out_dir}")
    return 0


def cmd_report(args) -> int:
    from vision.review.report import ReportOptions, build_comparison, build_report

    if args.video is not None and len(args.run_dirs) > 1:
        raise RunFolderError("--video works with one run folder only")
    opt = ReportOptions(video=args.video, privacy=args.privacy, thumbnails=not args.no_thumbnails)
    for d in args.run_dirs:
        print(build_report(d, opt))
    if len(args.run_dirs) > 1:
        out = args.out
        if out is None:
            import os

            out = Path(os.path.commonpath([str(Path(d).resolve()) for d in args.run_dirs])) / "compare.html"
        print(build_comparison(args.run_dirs, out))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Run one output command on its own (``python -m vision.cli_outputs render RUN_DIR``)."""
    parser = argparse.ArgumentParser(prog="python -m vision.cli_outputs")
    handlers = register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return handlers[args.command](args)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
