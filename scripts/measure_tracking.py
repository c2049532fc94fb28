#!/usr/bin/env python3
"""Several people: multi-person pose + tracking + subject choice against the hand annotations.

    python scripts/measure_tracking.py [--fps 10] [--only hugging] [--no-holistic] [--conf 0.3] [--video-mode]

For every file of ``tests/data/subjects.yaml`` (the multi-person files of
../shared/media, all ``split: tune``) prints: frames analysed, mean bodies a
frame, tracks (distinct ids), switches of the id on the annotated subject,
frames where a track was on the subject out of those judged, whether ``auto``
chose the annotated subject, and the median ms a frame of the multi-person
pose pass, of the tracking, and of the single-person Holistic pass on the
same frames (one run each), and in how many judged frames Holistic's one
person was the annotated subject (the baseline: where it follows someone else,
today's analysis judges the wrong person).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
MEDIA = REPO.parent / "shared" / "media"
ANNOTATIONS = REPO / "tests" / "data" / "subjects.yaml"


def measure(entry, max_gap_s, fps, conf, video_mode, holistic):
    from vision.detect.holistic import HolisticDetector
    from vision.detect.landmarks import FrameLandmarks
    from vision.detect.multipose import MultiPoseDetector
    from vision.io.frames import FrameSource
    from vision.track.check import check_subject
    from vision.track.subject import choose_customer, choose_subject, summarise
    from vision.track.tracker import track_frames

    import norfair  # noqa: F401  (loaded before the clock starts)

    path = MEDIA / entry["file"]
    with FrameSource(path, sample_fps=fps) as src:
        still = src.info.is_still
        wh = (src.info.width, src.info.height)
        multi = MultiPoseDetector(still_images=still, min_detection=conf, min_presence=conf, graph_tracking=video_mode)
        single = HolisticDetector(still_images=still) if holistic else None
        frames, ms_multi, ms_single, single_frames = [], [], [], []
        for f in src:
            t0 = time.perf_counter()
            people = multi.detect(f.image_bgr, f.timestamp_s)
            ms_multi.append(1000 * (time.perf_counter() - t0))
            frames.append(FrameLandmarks(f.index, f.timestamp_s, people))
            if single is not None:
                t0 = time.perf_counter()
                found = single.detect(f.image_bgr, f.timestamp_s)
                ms_single.append(1000 * (time.perf_counter() - t0))
                single_frames.append(FrameLandmarks(f.index, f.timestamp_s, found))
        multi.close()
        if single is not None:
            single.close()
    times = [fl.timestamp_s for fl in frames]
    rate = 1.0 / float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    t0 = time.perf_counter()
    tracked = track_frames(frames, wh, rate)
    ms_track = 1000 * (time.perf_counter() - t0) / max(len(frames), 1)
    tracks = summarise(tracked, wh)
    subject = choose_subject(tracks, "auto")
    customer = choose_customer(tracks, subject.id, "auto")
    check = check_subject(tracked, entry, subject.id, max_gap_s)
    baseline = check_subject(single_frames, entry, 0, max_gap_s) if holistic else None
    return {
        "baseline": baseline,
        "file": entry["file"], "frames": len(frames),
        "bodies": float(np.mean([len(fl.people) for fl in frames])) if frames else 0.0,
        "tracks": len(tracks), "switches": check.switches, "found": check.found, "judged": check.judged,
        "chosen_ok": check.found > 0 and check.agree >= 0.5, "agree": check.agree, "ids": check.ids,
        "subject": subject, "customer": customer, "ms_multi": float(np.median(ms_multi)),
        "ms_track": ms_track, "ms_single": float(np.median(ms_single)) if ms_single else float("nan"),
    }


def _on(check) -> str:
    return "-" if check is None else f"{check.found}/{check.judged}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fps", type=float, default=10.0, help="frames analysed a second (default 10)")
    ap.add_argument("--only", default="", help="only files whose name contains this")
    ap.add_argument("--conf", type=float, default=None, help="detection and presence confidence (default: the module's)")
    ap.add_argument("--video-mode", action="store_true", help="MediaPipe VIDEO mode (graph tracking) instead of IMAGE")
    ap.add_argument("--no-holistic", action="store_true", help="skip the single-person Holistic timing")
    args = ap.parse_args(argv)

    from vision.detect.native import filtered_stderr
    from vision.detect.multipose import DETECTION

    spec = yaml.safe_load(ANNOTATIONS.read_text())
    conf = DETECTION if args.conf is None else args.conf
    print(f"fps {args.fps}, confidence {conf}, {'VIDEO' if args.video_mode else 'IMAGE'} mode")
    print("| file | frames | bodies/frame | tracks | subject switches | on subject / judged | auto = annotated "
          "| multipose ms/frame | tracking ms/frame | Holistic ms/frame | Holistic on subject / judged |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    with filtered_stderr():
        for entry in spec["files"]:
            if args.only not in entry["file"]:
                continue
            r = measure(entry, spec["max_gap_s"], args.fps, conf, args.video_mode, not args.no_holistic)
            print(f"| {Path(r['file']).name} | {r['frames']} | {r['bodies']:.2f} | {r['tracks']} | {r['switches']} "
                  f"| {r['found']}/{r['judged']} | {'yes' if r['chosen_ok'] else 'NO'} ({r['agree']:.0%}; "
                  f"ids on subject {r['ids']}, chose {r['subject'].id}) | {r['ms_multi']:.0f} | {r['ms_track']:.1f} "
                  f"| {r['ms_single']:.0f} | {_on(r['baseline'])} |", flush=True)
            print(f"|  | subject: {r['subject'].reason}; customer {r['customer'].id}: {r['customer'].reason} |",
                  file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
