"""Builders for small synthetic run folders, shared by the outputs' tests.

A run folder made here has what ``analyze`` writes (``run.json``,
``events.jsonl``, ``landmarks/``) for a short generated video, with answers
known by construction: the analysis ran every ``STEP``-th frame, the subject
stands in the middle of the picture, and the events are the ones given.

:func:`make_people_run` writes a roleplay as tracking leaves it: several
people in the cache (pose for everyone, the face mesh for the trainee only),
run.json's ``subject``, ``customer`` and ``people`` blocks, and a video in
which every person's head is a patch of fine texture (so a blur shows as lost
detail) at the place their landmarks say (:func:`head_box_px`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from vision.io.cache import LandmarkCacheWriter
from vision.io.run_meta import read_run_json, write_run_json
from vision.run_record import models_meta, subject_pixels
from vision.io.events import Event, EventWriter
from vision.detect.landmarks import N_FACE, FrameLandmarks, PersonLandmarks

W, H, FPS, N_FRAMES, STEP = 192, 144, 15.0, 45, 3


@dataclass(frozen=True)
class Actor:
    """One person of a synthetic roleplay: track id, role in run.json, offset from the middle (image widths),
    whether the cache holds their face mesh, and on which frames the pose model saw their face points."""

    id: int
    role: str
    dx: float
    mesh: bool = False
    face_seen: Callable[[int], bool] = lambda _frame: True


#: The trainee in the middle (id 2, face mesh), the customer on the right (id 5, pose only), a bystander on the
#: left (id 7, pose only) whose face points the pose model stops seeing from frame 24 on (the face is still there).
TRIO = (Actor(2, "trainee", 0.0, mesh=True), Actor(5, "customer", 0.3),
        Actor(7, "other", -0.32, face_seen=lambda f: f < 24))


def head_box_px(actor: Actor) -> Tuple[int, int, int, int]:
    """Where the video shows that person's face (x0, y0, x1, y1 source pixels): inside their face points."""
    cx, cy = (0.5 + actor.dx) * W, 0.30 * H
    return int(cx - 10), int(cy - 11), int(cx + 10), int(cy + 11)


def make_video(path: Path, n_frames: int = N_FRAMES, size_wh=(W, H), fps: float = FPS,
               faces: Sequence[Tuple[int, int, int, int]] = ()) -> Path:
    """A moving gradient with the frame number drawn on it (mp4v, readable by OpenCV); each box in ``faces``
    holds a patch of fine, high-contrast texture (a stand-in face whose blurring is measurable)."""
    w, h = size_wh
    texture = np.random.default_rng(1).integers(0, 2, (h, w), dtype=np.uint8) * 200 + 28
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert vw.isOpened(), "OpenCV cannot write mp4v here"
    xs = np.linspace(0, 255, w, dtype=np.float32)
    for i in range(n_frames):
        img = np.empty((h, w, 3), np.uint8)
        img[..., 0] = (xs[None, :] + 5 * i) % 256
        img[..., 1] = 90
        img[..., 2] = np.linspace(40, 200, h, dtype=np.uint8)[:, None]
        cv2.putText(img, str(i), (8, 30), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
        for x0, y0, x1, y1 in faces:
            img[y0:y1, x0:x1] = texture[y0:y1, x0:x1, None]
        vw.write(img)
    vw.release()
    return path


def person(frame: int, pid: int = 0, dx: float = 0.0, mesh: bool = True, face_seen: bool = True) -> PersonLandmarks:
    """A frontal upper body in the middle of the picture (moved right by ``dx`` image widths); the right hand
    rises to the left cheek. ``mesh``: with a face mesh; ``face_seen``: pose face points 0-10 seen."""
    pose = np.full((33, 3), np.nan, np.float32)
    pts = {0: (0.5, 0.30), 2: (0.48, 0.27), 5: (0.52, 0.27), 7: (0.45, 0.29), 8: (0.55, 0.29),
           9: (0.48, 0.35), 10: (0.52, 0.35), 11: (0.40, 0.50), 12: (0.60, 0.50), 13: (0.36, 0.70),
           14: (0.64, 0.70), 23: (0.43, 0.90), 24: (0.57, 0.90)}
    lift = min(1.0, frame / 15.0)
    wrist = (0.64 - 0.12 * lift, 0.85 - 0.50 * lift)
    pts.update({16: wrist, 18: (wrist[0] - 0.01, wrist[1] - 0.03), 20: (wrist[0], wrist[1] - 0.03),
                22: (wrist[0] - 0.02, wrist[1] - 0.01)})
    for k, (x, y) in pts.items():
        pose[k] = (x + dx, y, 0.0)
    vis = np.where(np.isnan(pose[:, 0]), 0.0, 0.99).astype(np.float32)
    if not face_seen:
        vis[:11] = 0.1  # located by the model but not seen: below the 0.5 the outputs count from
    if not mesh:
        return PersonLandmarks(pid, pose_xyz=pose, pose_visibility=vis)
    ang = np.linspace(0, 2 * np.pi, N_FACE, endpoint=False)
    face = np.stack([0.5 + dx + 0.06 * np.cos(ang), 0.30 + 0.08 * np.sin(ang), np.zeros(N_FACE)], 1).astype(np.float32)
    return PersonLandmarks(pid, pose_xyz=pose, pose_visibility=vis, face_xyz=face)


def event(rule: str, start_frame: int, end_frame: int, kind: str = "violation", severity: str = "medium",
          message_zh: str = "用手触摸面部", message_en: str = "Touching the face",
          clause: str = "1.1.8 接待客户过程中不良动作 (触摸面部)", region: Optional[str] = "cheek",
          fps: float = FPS, person: int = 0) -> Event:
    peak = (start_frame + end_frame) // 2 // STEP * STEP
    evidence = {"hand_face_dist": 0.05}
    if region:
        evidence["region"] = region
    return Event(rule=rule, kind=kind, start_s=start_frame / fps, end_s=end_frame / fps, start_frame=start_frame,
                 end_frame=end_frame, person=person, severity=severity, clause=clause, message_zh=message_zh,
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


def make_people_run(run_dir: Path, cast: Sequence[Actor] = TRIO, events: Optional[Sequence[Event]] = None,
                    n_frames: int = N_FRAMES) -> Path:
    """A run folder for a roleplay: every actor in the cache and in run.json, their faces textured in the video."""
    subject = next(a.id for a in cast if a.role == "trainee")
    events = [event("gesture.face_touch", 9, 21, person=subject)] if events is None else list(events)
    return make_run(run_dir, events, n_frames, cast=cast)


def _roles(cast: Sequence[Actor], n_frames: int) -> dict:
    seconds = {"seconds_on_screen": round(n_frames / FPS, 3), "first_s": 0.0, "last_s": round((n_frames - 1) / FPS, 3)}
    subject = next(a.id for a in cast if a.role == "trainee")
    customer = next((a.id for a in cast if a.role == "customer"), None)
    if len(cast) == 1:
        return {"subject": {"id": subject, "how": "auto", "reason": "one person tracked"},
                "customer": {"id": None, "how": "none", "reason": "one person tracked"},
                "people": [{"id": subject, "role": "trainee", **seconds}]}
    return {"subject": {"id": subject, "how": "auto", "reason": "on screen longest, most frontal (synthetic)"},
            "customer": {"id": customer, "how": "auto", "reason": "the other main person (synthetic)"},
            "people": [{"id": a.id, "role": a.role, **seconds} for a in cast]}


def make_run(run_dir: Path, events: Optional[Sequence[Event]] = None, n_frames: int = N_FRAMES,
             still: bool = False, cast: Sequence[Actor] = (Actor(0, "trainee", 0.0, mesh=True),)) -> Path:
    """A complete run folder for a generated video (or a still PNG) with the given events and people."""
    run_dir.mkdir(parents=True, exist_ok=True)
    events = default_events() if events is None else list(events)
    subject = next(a.id for a in cast if a.role == "trainee")
    if still:
        src = run_dir.parent / f"{run_dir.name}_still.png"
        make_still(src)
        n_frames = 1
    else:
        faces = [head_box_px(a) for a in cast] if len(cast) > 1 else ()
        src = make_video(run_dir.parent / f"{run_dir.name}_source.mp4", n_frames, faces=faces)
    cache = LandmarkCacheWriter(run_dir, (W, H), {"source": str(src), "kind": "image" if still else "video",
                                                  "fps": 0.0 if still else FPS, "still": still},
                                derive=subject_pixels, subject=subject)
    for i in range(0, n_frames, STEP):
        cache.append(FrameLandmarks(i, i / FPS, [person(i, a.id, a.dx, a.mesh, a.face_seen(i)) for a in cast]))
    cache.close()
    with EventWriter(run_dir / "events.jsonl") as w:
        for e in events:
            w.write(e)
    rules = sorted({e.rule for e in events})
    info = {
        "schema_version": 2,
        "tool": {"name": "conduct-coach", "version": "test", "python": "3", "event_schema": 1},
        "status": "complete", "status_reason": None,
        "models": models_meta({}),  # as a run writes it (the detection version of this code)
        "rules": {"path": "", "sha256": "0" * 64, "enabled": rules, "experimental": [],
                  "catalogue": {e.rule: {"kind": e.kind, "severity": e.severity, "clause": e.clause,
                                         "message_zh": e.message_zh, "message_en": e.message_en,
                                         "experimental": bool(e.evidence.get("experimental"))} for e in events}},
        "input": {"path": str(src.resolve()), "kind": "image" if still else "video", "fps": 0.0 if still else FPS,
                  "frame_count": n_frames, "width": W, "height": H, "duration_s": 0.0 if still else n_frames / FPS,
                  "start_s": 0.0, "end_s": None, "sample_fps": None, "warnings": []},
        "options": {},
        **_roles(cast, n_frames),
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


def analyze_killed(video: Path, out: Path, detector: str, at_call: int):
    """``analyze`` (every frame, the test rules, no appearance checks) in a child process that kills itself with
    SIGKILL in the ``at_call``-th model call; ``detector`` ("module:Class", a stand-in under tests/) answers the
    calls before. Returns the finished ``subprocess.CompletedProcess``."""
    import subprocess
    import sys
    from textwrap import dedent

    module, cls = detector.split(":")
    tests = Path(__file__).resolve().parent
    script = dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(tests)!r})
        from {module} import {cls} as Base
        from conftest import RULES_YAML
        from vision.judge.rules import parse_rules
        from vision.pipeline import analyze

        class Dies(Base):
            n = 0
            def detect(self, image, t):
                Dies.n += 1
                if Dies.n == {at_call}:
                    os.kill(os.getpid(), signal.SIGKILL)
                return super().detect(image, t)

        analyze({str(video)!r}, {str(out)!r}, parse_rules(RULES_YAML), sample_fps=0, progress=False,
                detector_factory=Dies, appearance=None)
    """)
    return subprocess.run([sys.executable, "-c", script], cwd=tests.parent, capture_output=True, text=True,
                          timeout=120)


def as_if_killed(run: Path, keep_parts: int = 1) -> None:
    """Cut a finished run folder back to what kill -9 leaves: the first ``keep_parts`` landmark chunks, a
    provisional run.json (status interrupted), the events closed by then (here: the first), no events.csv."""
    for p in sorted((run / "landmarks").glob("*-*.npz")):
        if int(p.stem.split("-")[1]) >= keep_parts:
            p.unlink()
    doc = read_run_json(run)
    doc.update(status="interrupted", status_reason="the run stopped before it finished (killed, or still running)")
    write_run_json(run, doc)
    lines = (run / "events.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (run / "events.jsonl").write_text("".join(lines[:1]), encoding="utf-8")
    (run / "events.csv").unlink()
