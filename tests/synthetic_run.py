"""Builders for small synthetic run folders, shared by the outputs' tests.

A run folder made here has what ``analyze`` writes (``run.json``,
``events.jsonl``, ``landmarks/``) for a short generated video, with answers
known by construction: the analysis ran every ``STEP``-th frame, the subject
stands in the middle of the picture, and the events are the ones given.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

import cv2
import numpy as np

from vision.io.cache import LandmarkCacheWriter
from vision.io.run_meta import write_run_json
from vision.run_record import subject_pixels
from vision.io.events import Event, EventWriter
from vision.detect.landmarks import N_FACE, FrameLandmarks, PersonLandmarks

W, H, FPS, N_FRAMES, STEP = 192, 144, 15.0, 45, 3


def make_video(path: Path, n_frames: int = N_FRAMES, size_wh=(W, H), fps: float = FPS) -> Path:
    """A moving gradient with the frame number drawn on it (mp4v, readable by OpenCV)."""
    w, h = size_wh
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert vw.isOpened(), "OpenCV cannot write mp4v here"
    xs = np.linspace(0, 255, w, dtype=np.float32)
    for i in range(n_frames):
        img = np.empty((h, w, 3), np.uint8)
        img[..., 0] = (xs[None, :] + 5 * i) % 256
        img[..., 1] = 90
        img[..., 2] = np.linspace(40, 200, h, dtype=np.uint8)[:, None]
        cv2.putText(img, str(i), (8, 30), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
        vw.write(img)
    vw.release()
    return path


def person(frame: int) -> PersonLandmarks:
    """A frontal upper body in the middle of the picture; the right hand rises to the left cheek."""
    pose = np.full((33, 3), np.nan, np.float32)
    pts = {0: (0.5, 0.30), 2: (0.48, 0.27), 5: (0.52, 0.27), 7: (0.45, 0.29), 8: (0.55, 0.29),
           9: (0.48, 0.35), 10: (0.52, 0.35), 11: (0.40, 0.50), 12: (0.60, 0.50), 13: (0.36, 0.70),
           14: (0.64, 0.70), 23: (0.43, 0.90), 24: (0.57, 0.90)}
    lift = min(1.0, frame / 15.0)
    wrist = (0.64 - 0.12 * lift, 0.85 - 0.50 * lift)
    pts.update({16: wrist, 18: (wrist[0] - 0.01, wrist[1] - 0.03), 20: (wrist[0], wrist[1] - 0.03),
                22: (wrist[0] - 0.02, wrist[1] - 0.01)})
    for k, (x, y) in pts.items():
        pose[k] = (x, y, 0.0)
    vis = np.where(np.isnan(pose[:, 0]), 0.0, 0.99).astype(np.float32)
    ang = np.linspace(0, 2 * np.pi, N_FACE, endpoint=False)
    face = np.stack([0.5 + 0.06 * np.cos(ang), 0.30 + 0.08 * np.sin(ang), np.zeros(N_FACE)], 1).astype(np.float32)
    return PersonLandmarks(0, pose_xyz=pose, pose_visibility=vis, face_xyz=face)


def event(rule: str, start_frame: int, end_frame: int, kind: str = "violation", severity: str = "medium",
          message_zh: str = "用手触摸面部", message_en: str = "Touching the face",
          clause: str = "1.1.8 接待客户过程中不良动作 (触摸面部)", region: Optional[str] = "cheek",
          fps: float = FPS) -> Event:
    peak = (start_frame + end_frame) // 2 // STEP * STEP
    evidence = {"hand_face_dist": 0.05}
    if region:
        evidence["region"] = region
    return Event(rule=rule, kind=kind, start_s=start_frame / fps, end_s=end_frame / fps, start_frame=start_frame,
                 end_frame=end_frame, person=0, severity=severity, clause=clause, message_zh=message_zh,
                 message_en=message_en, peak={"feature": "hand_face_dist", "value": 0.05,
                                              "time_s": peak / fps, "frame": peak},
                 evidence=evidence)


def default_events() -> List[Event]:
    return [
        event("gesture.face_touch", 9, 21),
        event("face.smile", 0, 30, kind="desired", severity="info", message_zh="面带微笑", message_en="Smiling",
              clause="1.1.2, 1.3 交谈: 面带微笑", region=None),
        event("gesture.face_touch", 33, 42),
    ]


def make_run(run_dir: Path, events: Optional[Sequence[Event]] = None, n_frames: int = N_FRAMES,
             still: bool = False) -> Path:
    """A complete run folder for a generated video (or a still PNG) with the given events."""
    run_dir.mkdir(parents=True, exist_ok=True)
    events = default_events() if events is None else list(events)
    if still:
        src = run_dir.parent / f"{run_dir.name}_still.png"
        make_still(src)
        n_frames = 1
    else:
        src = make_video(run_dir.parent / f"{run_dir.name}_source.mp4", n_frames)
    cache = LandmarkCacheWriter(run_dir, (W, H), {"source": str(src), "kind": "image" if still else "video",
                                                  "fps": 0.0 if still else FPS, "still": still},
                                derive=subject_pixels)
    for i in range(0, n_frames, STEP):
        cache.append(FrameLandmarks(i, i / FPS, [person(i)]))
    cache.close()
    with EventWriter(run_dir / "events.jsonl") as w:
        for e in events:
            w.write(e)
    rules = sorted({e.rule for e in events})
    info = {
        "schema_version": 2,
        "tool": {"name": "conduct-coach", "version": "test", "python": "3", "event_schema": 1},
        "status": "complete", "status_reason": None,
        "models": {"backend": "holistic", "models_dir": None, "files": {}},
        "rules": {"path": "", "sha256": "0" * 64, "enabled": rules, "experimental": [],
                  "catalogue": {e.rule: {"kind": e.kind, "severity": e.severity, "clause": e.clause,
                                         "message_zh": e.message_zh, "message_en": e.message_en,
                                         "experimental": bool(e.evidence.get("experimental"))} for e in events}},
        "input": {"path": str(src.resolve()), "kind": "image" if still else "video", "fps": 0.0 if still else FPS,
                  "frame_count": n_frames, "width": W, "height": H, "duration_s": 0.0 if still else n_frames / FPS,
                  "start_s": 0.0, "end_s": None, "sample_fps": None, "warnings": []},
        "options": {},
        "subject": {"id": 0, "how": "auto", "reason": "one person tracked"},
        "customer": {"id": None, "how": "none", "reason": "one person tracked"},
        "people": [{"id": 0, "role": "trainee", "seconds_on_screen": n_frames / FPS, "first_s": 0.0,
                    "last_s": (n_frames - 1) / FPS}],
        "judged": {r: {"judged_s": n_frames / FPS, "not_judged_s": 0.0, "reasons": {}} for r in rules},
        "baseline": {},
        "appearance": {},
        "time_share": {"face.smile": {"active_s": 2.0, "judged_s": 3.0, "share": 0.6667},
                       "sit.upright": {"active_s": 0.0, "judged_s": 0.0, "share": None}},
        "counts": {},
        "timings": {"total_s": 1.0, "frames_analysed": n_frames // STEP, "ms_per_frame": 10.0,
                    "realtime_factor": 3.0},
        "outputs": {"annotated": None, "report": None, "clips": None},
    }
    write_run_json(run_dir, info)
    return run_dir


def make_still(path: Path) -> Path:
    img = np.full((H, W, 3), 120, np.uint8)
    cv2.circle(img, (W // 2, H // 3), 20, (200, 180, 160), -1)
    cv2.imwrite(str(path), img)
    return path
