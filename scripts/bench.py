#!/usr/bin/env python3
"""Speed and memory of the pipeline, measured in one run on one clip.

    python scripts/bench.py [CLIP] [--fps 0] [--repeats 3]

CLIP defaults to the shared seated-talking clip, analysed at every frame
(``--fps 0``). Prints, with medians over alternating repeats (machines are noisy):
1. the bare MediaPipe loop (decode + Holistic on every analysed frame, one
   instance, nothing else) vs the full ``analyze`` with every default on (probe
   for several people + landmark models + object pass + cache + smoothing +
   features + rules + event log), and their ratio, with the share of still frames whose landmarks were
   interpolated (``vision.detect.still``); ``analyze --every-frame`` (the models on those frames too); ``analyze`` without the
   probe (the single-person path forced): the probe's cost on a one-person
   clip; and ``analyze --threads 2`` (two model instances on segments); the CPU
   seconds of the bare loop and of ``analyze``, and the wall time ``analyze``
   would take with every core fully busy (the floor of the machine);
2. the streaming analyzer's judging cost per frame (features, rules, gestures on the cached
   frames), in blocks of 16 and frame by frame; re-analysis from the landmark cache, as a multiple of real time, on the
   clip and on its cache tiled to about ten minutes (a training session);
3. peak memory (RSS) of ``analyze`` on the clip and on the clip repeated 4x,
   each in a fresh process: flat means the video is never held in memory;
4. ``batch`` throughput on a folder of 8 clips (links to ../shared/media):
   2 workers against 1, and a re-run of the finished batch against its
   first run (everything skipped). ``--batch-only`` measures just this;
5. the object detector (phone, cup, food around the hands and mouth): ms per crop (each looked at as it is
   and mirrored) x crops per minute of video at its rate (2 runs a second on a time grid, plus
   a run when a hand enters the face region; hands, mouth and lap crops, overlapping
   ones merged into one call) = seconds of CPU per minute of video. ``--objects-only`` measures just this.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

#: the shared seated-talking clip (a trainee talking at a desk: the common case), every frame of it
DEFAULT_CLIP = REPO.parent / "shared" / "media" / "hands_gesture" / "woman_seated_talking_hands_clasped_gesturing.mp4"
BATCH_FPS = 10.0  # batch: the analysis rate analyze uses by default


def bare_loop(clip: str, fps: float) -> tuple:
    """Decode + MediaPipe Holistic's own ``process`` (each call waits for its frame), with the settings
    ``analyze`` uses: nothing of ours but the decoder."""
    import mediapipe as mp

    from vision.io.frames import FrameSource

    t0 = time.perf_counter()
    n = 0
    holistic = mp.solutions.holistic.Holistic(static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                                              refine_face_landmarks=True)
    try:
        with FrameSource(clip, sample_fps=fps) as src:
            for frame in src:
                rgb = np.ascontiguousarray(frame.image_bgr[:, :, ::-1])
                rgb.flags.writeable = False
                holistic.process(rgb)
                n += 1
    finally:
        holistic.close()
    return time.perf_counter() - t0, n


def full_analyze(clip: str, fps: Optional[float], out: str, probe: bool = True,
                 threads: Optional[int] = None, every_frame: bool = False) -> tuple:
    """``analyze`` as the CLI runs it; ``probe=False``: the single-person path forced (no multi-person probe);
    ``threads``: landmark-model instances (None: the default); ``every_frame``: the models on every frame, still
    ones too (``--every-frame``)."""
    from unittest import mock

    from vision.judge.rules import load_rules
    from vision.pipeline import analyze

    rules = load_rules(REPO / "rules.yaml")
    t0 = time.perf_counter()
    # probe=False: everything as the CLI runs it (object pass included) but the multi-person probe, which says "one"
    with mock.patch("vision.people_run.several", return_value=False) if not probe else contextlib.nullcontext():
        res = analyze(clip, out, rules, sample_fps=fps, progress=False, overwrite=True, threads=threads,
                      every_frame=every_frame)
    if probe:
        print(f"  probe: {res.info['timings'].get('probe')}, passes {res.info['timings'].get('passes')}")
    return time.perf_counter() - t0, res.info["timings"]["frames_analysed"]


def reanalysis(run_dir: str, repeats: int = 5) -> float:
    from vision.reanalysis import reanalyze
    from vision.judge.rules import load_rules

    rules = load_rules(REPO / "rules.yaml")
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        reanalyze(run_dir, rules, out_dir=run_dir + "_re", overwrite=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def streaming_cost(run_dir: str, block: int, repeats: int = 3) -> float:
    """ms per frame of the streaming analyzer (features, rules, gestures) fed the run's cached frames one by one,
    judging them in blocks of ``block``: the judging cost of ``analyze`` without the models."""
    from vision.detect.landmarks import FrameLandmarks
    from vision.io.cache import load_meta, load_tracks
    from vision.judge.analyzer import PersonAnalyzer
    from vision.judge.rules import load_rules

    rules = load_rules(REPO / "rules.yaml")
    track = load_tracks(run_dir)[0]
    frames = [FrameLandmarks(int(track.frame_index[i]), float(track.timestamp_s[i]),
                             [track.person_at(i)])
              for i in range(len(track))]
    times = []
    for _ in range(repeats):
        analyzer = PersonAnalyzer(rules, 0, tuple(load_meta(run_dir)["image_wh"]), block=block)
        t0 = time.perf_counter()
        for frame in frames:
            analyzer.push(frame)
        analyzer.finish()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times) / max(len(frames), 1)


def tiled_cache(run_dir: str, times: int, out: str) -> str:
    """The run's landmark cache repeated ``times`` times end to end: a long recording's cache."""

    from vision.io.cache import LandmarkCacheWriter, load_meta, load_tracks
    from vision.detect.landmarks import FrameLandmarks

    meta = load_meta(run_dir)
    track = load_tracks(run_dir)[0]
    span = float(track.timestamp_s[-1]) + 0.1
    w = LandmarkCacheWriter(out, tuple(meta["image_wh"]), meta)
    for k in range(times):
        for i in range(len(track)):
            person = track.person_at(i)
            seen = not np.isnan(person.pose_xyz).all()
            w.append(FrameLandmarks(int(track.frame_index[i]) + k * 100000, float(track.timestamp_s[i]) + k * span,
                                    [person] if seen else []))
    w.close()
    return out


def repeat_video(clip: str, times: int, out: str) -> str:
    import cv2

    cap = cv2.VideoCapture(clip)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    h, w = frames[0].shape[:2]
    wr = cv2.VideoWriter(out, cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for _ in range(times):
        for f in frames:
            wr.write(f)
    wr.release()
    return out


def peak_rss_mb(clip: str, fps: float, out: str) -> float:
    """Peak resident memory (MB) of ``analyze`` in a fresh process: the kernel's high-water mark of its own
    memory map (VmHWM), not ``ru_maxrss``, which on Linux a child started with fork + exec inherits from the
    parent (here: this benchmark, after its model runs) and so overstated this figure (1.5-1.7 GB before)."""
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from vision.pipeline import analyze; from vision.judge.rules import load_rules\n"
            "analyze(%r, %r, load_rules(%r), sample_fps=%r, progress=False)\n"
            "print(int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024)"
            % (str(REPO), clip, out, str(REPO / "rules.yaml"), fps))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(res.stdout.strip().splitlines()[-1])


BATCH_CLIPS = ["phone/suzie_closeup_landline_phone_call.mp4", "two_person/woman_seated_videoconference_talking.mp4",
               "two_person/news_anchor_seated_talking_to_camera.mp4", "standing/man_standing_service_bow.mp4",
               "standing/ted_woman_hands_clasped_then_open_palm_gestures.mp4",
               "hands_gesture/woman_seated_talking_hands_clasped_gesturing.mp4",
               "gesture/ted_woman_expansive_arm_sweeps_pointing_up.mp4", "sitting/sideview_man_posture_sequence.mp4"]


def timed_batch(folder: str, out: str, workers: int, fps: float) -> float:
    """Wall time of ``python -m vision batch`` (process start, workers, index: what a user waits for)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vision", "batch", folder, "--out", out, "--workers", str(workers),
                    "--fps", str(fps), "--quiet"], cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - t0


def batch_throughput(tmp: str, fps: float) -> None:
    media = REPO.parent / "shared" / "media"
    folder = Path(tmp) / "clips8"
    folder.mkdir()
    for i, clip in enumerate(BATCH_CLIPS):  # links, never copies
        (folder / f"{i}_{Path(clip).name}").symlink_to(media / clip)
    load = os.getloadavg()[0]  # other work on the machine skews the ratio: say how busy it was
    one = timed_batch(str(folder), f"{tmp}/batch1", 1, fps)
    two = timed_batch(str(folder), f"{tmp}/batch2", 2, fps)
    again = timed_batch(str(folder), f"{tmp}/batch2", 2, fps)
    cores = sorted({json.loads((d / "batch.json").read_text()).get("core") for d in Path(f"{tmp}/batch2").iterdir()
                    if (d / "batch.json").is_file()}, key=str)
    print(f"batch of {len(BATCH_CLIPS)} clips at {fps:g} fps: 1 worker {one:.1f} s, 2 workers {two:.1f} s "
          f"-> throughput x{one / two:.2f} (2 workers pinned to cores {cores}; load average "
          f"{load:.2f} before, {os.getloadavg()[0]:.2f} after, {os.cpu_count()} cores)")
    print(f"batch re-run (all done before): {again:.2f} s = {100 * again / two:.1f} % of the first run")


def object_cost(clip: str, fps: float) -> None:
    """The object pass alone, on the landmarks of the clip: what it adds per minute of video."""
    from vision.detect.holistic import HolisticDetector
    from vision.io.frames import FrameSource
    from vision.object_run import RATE_HZ, ObjectPass

    with FrameSource(clip, sample_fps=fps) as src, HolisticDetector() as det:
        info = src.info
        objects = ObjectPass.open(None, (info.width, info.height), info.is_still)
        assert objects is not None, "no object detector in models/"
        t_first = t_last = None
        with objects:
            for frame in src:
                people = det.detect(frame.image_bgr, frame.timestamp_s)
                objects.offer(frame.image_bgr, frame.timestamp_s, next(iter(people), None))
                t_first = frame.timestamp_s if t_first is None else t_first
                t_last = frame.timestamp_s
    minutes = max((t_last or 0.0) - (t_first or 0.0), 1e-6) / 60.0
    per_call = 1000 * objects.seconds / max(objects.calls, 1)
    calls_min = objects.calls / minutes
    extra = getattr(objects, "extra_runs", 0)  # runs when a hand entered the face region (on top of the grid)
    print(f"object detector     : {per_call:.1f} ms a crop (looked at as it is and mirrored) x {calls_min:.0f} crops "
          f"per minute of video "
          f"({RATE_HZ:g} runs/s on a grid + {extra / minutes:.0f} extra runs/min, overlapping crops merged) "
          f"= {per_call * calls_min / 1000:.1f} s of CPU per minute of video")


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clip", nargs="?", default=str(DEFAULT_CLIP))
    ap.add_argument("--fps", type=float, default=0.0, help="analysis rate (default 0: every frame)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-memory", action="store_true", help="skip the (slow) memory comparison")
    ap.add_argument("--batch-only", action="store_true", help="measure only the batch throughput (4.)")
    ap.add_argument("--no-batch", action="store_true", help="skip the batch throughput (4.)")
    ap.add_argument("--objects-only", action="store_true", help="measure only the object detector's cost (5.)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench_")
    fps = args.fps or None  # 0: every frame
    if args.objects_only:
        object_cost(args.clip, fps)
        return 0
    if args.batch_only:
        batch_throughput(tmp, BATCH_FPS)
        return 0
    bare, full, single, two, every = [], [], [], [], []
    cpu_bare, cpu_full = [], []  # CPU seconds (user + system, every thread of this process) of the same runs
    for i in range(args.repeats):  # alternate, so drift in machine load hits all alike
        c0 = _cpu_s()
        t, n_bare = bare_loop(args.clip, fps)
        bare.append(t)
        c1 = _cpu_s()
        t, n_full = full_analyze(args.clip, fps, f"{tmp}/run{i}")
        full.append(t)
        cpu_bare.append(c1 - c0)
        cpu_full.append(_cpu_s() - c1)
        t, _ = full_analyze(args.clip, fps, f"{tmp}/single{i}", probe=False)
        single.append(t)
        t, _ = full_analyze(args.clip, fps, f"{tmp}/two{i}", threads=2)
        two.append(t)
        t, _ = full_analyze(args.clip, fps, f"{tmp}/every{i}", every_frame=True)
        every.append(t)
    assert n_bare == n_full, (n_bare, n_full)
    mb, mf, ms, m2, me = (statistics.median(x) for x in (bare, full, single, two, every))
    meta = json.loads(Path(f"{tmp}/run0/run.json").read_text())
    still = meta["timings"].get("frames_interpolated", 0)
    duration = meta["input"]["duration_s"]
    re_s = reanalysis(f"{tmp}/run0")
    judge_1, judge_16 = streaming_cost(f"{tmp}/run0", 1), streaming_cost(f"{tmp}/run0", 16)
    tiles = max(1, int(round(600.0 / duration)))
    long_run = tiled_cache(f"{tmp}/run0", tiles, f"{tmp}/long")
    re_long = reanalysis(long_run, repeats=3)
    rate = f"{args.fps:g} fps" if fps else "every frame"
    print(f"clip: {args.clip} ({duration:.1f} s, {n_full} frames analysed, {rate})")
    print(f"bare MediaPipe loop : median {mb:.2f} s  ({1000 * mb / n_bare:.1f} ms/frame) over {args.repeats} runs")
    print(f"full analyze        : median {mf:.2f} s  ({1000 * mf / n_full:.1f} ms/frame)")
    print(f"ratio analyze/bare  : {mf / mb:.3f}  ({still} of {n_full} frames = {100 * still / n_full:.0f} % still: "
          f"landmarks interpolated, no model run)")
    print(f"analyze --every-frame: median {me:.2f} s = {me / mb:.3f} of the bare loop (the models on the still "
          f"frames too)")
    cb, cf, cores = statistics.median(cpu_bare), statistics.median(cpu_full), os.cpu_count() or 1
    print(f"CPU time            : bare {cb:.2f} s ({cb / mb:.2f} cores busy), analyze {cf:.2f} s ({cf / mf:.2f} cores "
          f"busy); all {cores} cores fully busy would give analyze {cf / cores:.2f} s = {cf / cores / mb:.3f} of "
          f"the bare loop (the floor of this machine for this much work)")
    print(f"analyze --threads 2 : median {m2:.2f} s = {m2 / mb:.3f} of the bare loop (two model instances on "
          f"64-frame segments; x{mf / m2:.2f} faster than the default)")
    print(f"analyze, no probe   : median {ms:.2f} s (all else the same: the multi-person probe skipped)")
    print(f"ratio analyze/no-probe: {mf / ms:.3f}  (the cost of looking for several people)")
    print(f"judging while decoding: {judge_16:.2f} ms/frame in blocks of 16 (the default), {judge_1:.2f} ms/frame "
          f"frame by frame")
    print(f"re-analysis from cache: median {1000 * re_s:.1f} ms = {duration / re_s:.0f}x real time")
    print(f"re-analysis, the cache tiled to {tiles * duration / 60:.0f} min: median {re_long:.2f} s = "
          f"{tiles * duration / re_long:.0f}x real time")
    if not args.no_memory:
        long_clip = repeat_video(args.clip, 4, f"{tmp}/x4.avi")
        r1 = peak_rss_mb(args.clip, fps, f"{tmp}/mem1")
        r4 = peak_rss_mb(long_clip, fps, f"{tmp}/mem4")
        print(f"peak RSS analyze    : {r1:.0f} MB on the clip, {r4:.0f} MB on it repeated 4x "
              f"(ratio {r4 / r1:.2f})")
    if not args.no_batch:
        batch_throughput(tmp, BATCH_FPS)
    object_cost(args.clip, fps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
