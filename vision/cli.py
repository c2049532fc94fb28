"""Command line: ``python -m vision analyze|batch|evaluate|features|render|clips|report``.

Every user error is one line on stderr and a non-zero exit code, never a
traceback: 2 bad input or rules, 3 analysed only part of a damaged input,
130 interrupted (events found so far are kept).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from vision import __version__
from vision.cli_types import number

#: The rules shipped inside the package; in a checkout, a link to the repository's rules.yaml (the file to edit).
PACKAGED_RULES = (Path(__file__).resolve().parent / "rules.yaml").resolve()
DEFAULT_FPS = 10.0
EXIT_INPUT, EXIT_PARTIAL, EXIT_INTERRUPTED = 2, 3, 130
PROGRAM = "conduct-coach"  # the console script; `python -m vision` is the same program


_fps = number(float, 0, "frames per second", " (0 = every frame)")
_threads = number(int, 1, "a whole number of model instances")


def _window(text: Optional[str]) -> Optional[Tuple[float, float]]:
    if text is None:
        return None
    try:
        a, b = (float(x) for x in text.split("-", 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--calibrate wants START-END in seconds, e.g. 0-5, got {text!r}")
    if b <= a:
        raise argparse.ArgumentTypeError(f"--calibrate: END must be after START, got {text!r}")
    return a, b


SUBJECT_WORDS = ("auto", "left", "right", "largest")


def _person(words):
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value in words or (value.isdigit() and int(value) >= 0):
            return value
        raise argparse.ArgumentTypeError(f"expected {', '.join(words)} or a person id (0, 1, ...), got {text!r}")
    return parse


_subject, _customer = _person(SUBJECT_WORDS), _person(("auto",))


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line, like every other error."""

    def error(self, message: str):  # noqa: D102
        self.exit(EXIT_INPUT, f"error: {self.prog}: {message} (see --help)\n")


def _prog() -> str:
    """What the user typed: ``conduct-coach``, or ``python -m vision``."""
    return "python -m vision" if Path(sys.argv[0]).name == "__main__.py" else PROGRAM


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=_prog(), description="Conduct coach: find code-of-conduct "
                                "moments in training-room recordings, offline.")
    p.add_argument("--version", action="version", version=f"{PROGRAM} {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    a = sub.add_parser("analyze", help="analyse a video, a folder of frames or an image into a run folder")
    a.add_argument("input", nargs="?", help="video (mp4, avi, mov, mkv, webm, gif), folder of frames, image, "
                   "or camera:N for live camera N (events are printed as they close; stop with Ctrl-C or --end; "
                   "a camera always follows one person, whoever Holistic finds)")
    a.add_argument("--out", required=True, help="run folder to write (events.jsonl, events.csv, run.json, landmarks/)")
    a.add_argument("--rules", default=str(PACKAGED_RULES), help=f"rules file (default: {PACKAGED_RULES})")
    a.add_argument("--backend", choices=["holistic", "tasks"], default="holistic",
                   help="landmark models: 'holistic' (default; MediaPipe Holistic, its models bundled in its "
                        "pip wheel) or 'tasks' (MediaPipe Tasks .task files from the models folder)")
    a.add_argument("--models", metavar="DIR", default=None,
                   help="models folder for --backend tasks (default: $CONDUCT_COACH_MODELS, else the "
                        "package's own models folder)")
    a.add_argument("--fps", type=_fps, default=None,
                   help=f"analysis rate, >= 0; frames in between are skipped cheaply (default {DEFAULT_FPS:g}; "
                        "0 = every frame; for a folder of frames: its frame rate)")
    a.add_argument("--start", type=float, default=0.0, help="start time in seconds")
    a.add_argument("--end", type=float, default=None, help="end time in seconds")
    a.add_argument("--calibrate", type=_window, default=None, metavar="START-END",
                   help="seconds of neutral posture for the baseline (default: rules.yaml calibration.window_s)")
    a.add_argument("--subject", type=_subject, default="auto", metavar="auto|left|right|largest|ID",
                   help="with several people in view, the trainee to judge: 'auto' (default: the most prominent "
                        "of those on screen longest; run.json says why), 'left' / 'right' (as seen in the picture), "
                        "'largest', or a person id from run.json's people; with --from-landmarks: re-judge that "
                        "person from the cache")
    a.add_argument("--customer", type=_customer, default="auto", metavar="auto|ID",
                   help="with several people in view, the customer: 'auto' (default: whoever else is on screen "
                        "longest) or a person id; replaces --customer-side whenever a customer is tracked")
    a.add_argument("--judge", choices=["trainee", "all"], default="trainee",
                   help="'trainee' (default): judge the subject only; 'all': also every other person, from their "
                        "pose (their face and hand rules are not judged: run.json's judged says so)")
    a.add_argument("--customer-side", choices=["camera", "left", "right"], default=None,
                   help="where the customer is, seen from the camera, for face.attention when only one person "
                        "is in view (default camera)")
    a.add_argument("--profile", metavar="PROFILE.json",
                   help="use a trainee's saved baseline (from --save-profile) instead of calibrating on this input")
    a.add_argument("--save-profile", metavar="PROFILE.json",
                   help="save this run's baseline as the trainee's profile, for later sessions")
    a.add_argument("--mirrored", action="store_true",
                   help="the video is mirrored (selfie view): which hand is the person's right follows that")
    a.add_argument("--posture", choices=["auto", "sitting", "standing"], default=None,
                   help="whether the person sits or stands: 'auto' (default: the legs decide; where they do not, "
                        "no sitting or standing rule is judged, run.json says posture_unknown), or 'sitting' / "
                        "'standing' for footage where the legs are out of view")
    a.add_argument("--fringe-rule", choices=["brows", "forehead"], default="brows",
                   help="experimental look.fringe: 'brows' (前发不过眉, default) or 'forehead' (men: 前发不附额)")
    a.add_argument("--no-appearance", action="store_true", help="skip the experimental appearance checks (clause 1.2)")
    a.add_argument("--from-landmarks", metavar="RUN_DIR",
                   help="re-run features and rules on a previous run's landmark cache (no models, seconds)")
    a.add_argument("--overwrite", action="store_true",
                   help="--out may hold a previous run: clear its files and outputs first (they are listed)")
    a.add_argument("--threads", type=_threads, default=None, metavar="N",
                   help="landmark-model instances run side by side on this recording (default 1: tracking "
                        "throughout; 2 or more: faster, on 64-frame segments each started afresh; see README, Speed)")
    a.add_argument("--every-frame", action="store_true",
                   help="run the models on every analysed frame, also those in which nothing moved (by default "
                        "those get their landmarks interpolated from the frames either side; README, Speed)")
    a.add_argument("--resume", action="store_true",
                   help="--out holds a run of the same INPUT and rules that was killed mid-way: go on from its "
                        "landmark cache (the models run only on the frames after it); otherwise as without it")
    a.add_argument("--quiet", action="store_true", help="no progress bar")

    e = sub.add_parser("evaluate", help="score runs against labelled intervals")
    e.add_argument("--labels", required=True, help="labels file (format of ../shared/media/labels.yaml)")
    e.add_argument("--runs", required=True, help="folder holding run folders (searched recursively)")
    e.add_argument("--analyze", action="store_true",
                   help="first analyse every labelled file that has no run yet (into --runs)")
    e.add_argument("--reanalyze", action="store_true",
                   help="first re-run the rules on every run's landmark cache (after editing rules.yaml)")
    e.add_argument("--rules", default=str(PACKAGED_RULES), help="rules for --analyze/--reanalyze")
    e.add_argument("--fps", type=_fps, default=DEFAULT_FPS, help="analysis rate for --analyze (0 = every frame)")
    e.add_argument("--threads", type=_threads, default=None, metavar="N",
                   help="landmark-model instances for --analyze (as analyze --threads)")
    e.add_argument("--tolerance", type=float, default=0.25, help="seconds of slack when matching intervals")
    e.add_argument("--json", help="also write the scores to this file")
    e.add_argument("--details", action="store_true", help="list every miss and false positive")
    e.add_argument("--split", default="each",
                   help="score only the clips of this split (tune, check); 'each' (default) scores every split "
                        "on its own, 'all' pools them")

    sub.add_parser("features", help="list every feature with its unit")
    return p


def _all_handlers(parser: argparse.ArgumentParser) -> dict:
    """The sub-commands of this module plus the review outputs' (render, clips, report) and ``batch``."""
    from vision import cli_outputs
    from vision.batch import cli as batch_cli
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    handlers = {"analyze": cmd_analyze, "evaluate": cmd_evaluate, "features": cmd_features}
    handlers.update(cli_outputs.register(sub))
    handlers.update(batch_cli.register(sub, PACKAGED_RULES, _fps, DEFAULT_FPS))
    return handlers


def _slug(file: str) -> str:
    return file.replace("/", "__").replace(" ", "_")


def cmd_analyze(args) -> int:
    from vision.judge.analyzer import PersonOptions
    from vision.pipeline import analyze
    from vision.reanalysis import reanalyze
    from vision.judge.rules import load_rules

    from vision.judge.calibration import load_profile, save_profile

    rules = load_rules(args.rules)
    baseline = load_profile(args.profile) if args.profile else None
    if args.from_landmarks:
        side = args.customer_side
        options = None if side is None and baseline is None and args.calibrate is None and not args.mirrored \
            and args.posture is None else PersonOptions(args.calibrate, baseline, side, args.mirrored,
                                                        args.posture or "auto")
        if args.subject in SUBJECT_WORDS and args.subject != "auto":
            raise InputProblem(f"--from-landmarks: --subject takes a person id from {args.from_landmarks}/run.json's "
                               f"people, got {args.subject!r}")
        res = reanalyze(args.from_landmarks, rules, args.out, options, overwrite=args.overwrite,
                        subject=None if args.subject == "auto" else int(args.subject), judge=args.judge)
        _say_cleared(res)
        for w in res.warnings:
            print(f"note: {w}", file=sys.stderr)
        print(f"{len(res.events)} events from cached landmarks in {res.info['reanalysis']['total_s']:.3f} s "
              f"-> {res.out_dir}/events.jsonl")
        if args.save_profile:
            save_profile(args.save_profile, res.info["baseline"], source=args.from_landmarks)
        return 0
    if not args.input:
        raise InputProblem("analyze: give an INPUT file or folder, or --from-landmarks RUN_DIR")
    if args.fps is None:  # a folder of frames runs at its own rate unless told
        args.fps = 0 if Path(args.input).is_dir() else DEFAULT_FPS
    live = args.input.startswith("camera:")
    fps = None if args.fps == 0 else args.fps
    # no --customer-side: the camera for one person; toward the tracked customer when there is one
    options = PersonOptions(args.calibrate, baseline, args.customer_side, args.mirrored, args.posture or "auto")
    res = analyze(args.input, args.out, rules, sample_fps=fps, start_s=args.start, end_s=args.end,
                  progress=not args.quiet and args.stderr_tty, options=options,
                  appearance=None if args.no_appearance else args.fringe_rule,
                  on_event=_print_event if live else None, overwrite=args.overwrite,
                  backend=args.backend, models=args.models, subject=args.subject, customer=args.customer,
                  judge=args.judge, resume=args.resume, threads=args.threads, every_frame=args.every_frame)
    resumed = res.info["timings"].get("resumed_frames")
    if resumed:
        print(f"--resume: {resumed} frames from the landmark cache of the interrupted run in {res.out_dir}",
              file=sys.stderr)
    else:
        _say_cleared(res)
    if args.resume and res.info["timings"].get("resume_note"):
        print(f"note: --resume: {res.info['timings']['resume_note']}", file=sys.stderr)
    if args.save_profile and res.info.get("baseline"):
        save_profile(args.save_profile, res.info["baseline"], source=args.input)
    for w in res.warnings:
        print(f"warning: {args.input}: {w}", file=sys.stderr)
    t = res.info["timings"]
    counts = ", ".join(f"{k} x{v}" for k, v in sorted(res.info["counts"].items())) or "none"
    print(f"{len(res.events)} events ({counts}); {t['frames_analysed']} frames in {t['total_s']:.1f} s "
          f"-> {res.out_dir}/events.jsonl")
    _say_people(res.info)
    if res.status == "interrupted":
        print("interrupted: the events found so far are in the run folder", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_PARTIAL if res.status == "partial" else 0


def _say_cleared(res) -> None:
    if res.cleared:
        print(f"--overwrite: cleared the previous run in {res.out_dir}: {', '.join(res.cleared)}", file=sys.stderr)
    if res.stale:
        print(f"note: {', '.join(res.stale)} in {res.out_dir} show the previous analysis: "
              "run render/clips/report again", file=sys.stderr)


def _say_people(info: dict) -> None:
    """With several people: who was judged and why, in one line on stdout, after the summary (stderr passes
    through the model-chatter filter's thread and could land inside the summary line)."""
    people = info.get("people") or []
    if len(people) > 1:
        s, c = info["subject"], info["customer"]
        print(f"{len(people)} people tracked; subject {s['id']} ({s['reason']}); customer {c['id']}; "
              f"another choice: --subject ID (ids in run.json's people)")


def _print_event(e) -> None:
    print(f"{e.start_s:8.1f}-{e.end_s:.1f} s  {e.rule:22s} {e.message_zh} · {e.message_en}", flush=True)


def cmd_evaluate(args) -> int:
    from vision.evaluate import evaluate, find_runs, format_report, load_labels, splits_of
    from vision.pipeline import analyze
    from vision.reanalysis import reanalyze
    from vision.judge.rules import load_rules

    doc = load_labels(args.labels)
    base = Path(args.labels).resolve().parent
    if args.analyze or args.reanalyze:
        rules = load_rules(args.rules)
        runs = find_runs(args.runs)
        for clip in doc["clips"]:
            src = (base / clip["file"]).resolve()
            if args.analyze and src not in runs:
                out = Path(args.runs) / _slug(clip["file"])
                print(f"analysing {clip['file']}", file=sys.stderr)
                fps = None if clip.get("kind") == "image" or Path(src).is_dir() else args.fps
                analyze(str(src), str(out), rules, sample_fps=fps, progress=False, threads=args.threads)
            elif args.reanalyze and src in runs:
                for w in reanalyze(str(runs[src]), rules).warnings:
                    print(f"note: {clip['file']}: {w}", file=sys.stderr)
    if args.split == "each":
        splits = splits_of(doc)
    else:
        splits = [None if args.split == "all" else args.split]
    reports = {}
    for split in splits:
        reports[split or "all"] = report = evaluate(args.labels, args.runs, args.tolerance, split=split)
        print(format_report(report, args.details) + "\n")
    if not any(r["clips_scored"] for r in reports.values()):
        print(f"error: no run under {args.runs} matches a labelled file (add --analyze to make them)",
              file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


def cmd_features(_args) -> int:
    from vision.features.table import FEATURES

    for name, (unit, doc) in FEATURES.items():
        print(f"{name:24s} [{unit}] {doc}")
    return 0


class InputProblem(Exception):
    pass


def main(argv: Optional[List[str]] = None) -> int:
    from vision.io.cache import CacheError
    from vision.judge.calibration import ProfileError
    from vision.evaluate import LabelsError
    from vision.io.frames import InputError
    from vision.io.run_meta import RunMetaError
    from vision.judge.rules import RulesError
    from vision.detect.models import ModelsError
    from vision.people_run import ChoiceError

    from vision.cli_outputs import USER_ERRORS

    parser = _parser()
    handlers = _all_handlers(parser)
    args = parser.parse_args(argv)
    args.stderr_tty = sys.stderr.isatty()  # asked before filtered_stderr() puts a pipe in its place
    from vision.detect.native import filtered_stderr

    try:
        with filtered_stderr():
            return handlers[args.command](args)
    except (InputError, RulesError, CacheError, LabelsError, ProfileError, ModelsError, InputProblem, RunMetaError,
            ChoiceError, *USER_ERRORS) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
