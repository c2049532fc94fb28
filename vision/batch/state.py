"""``batch.json``: what the batch asked of one run folder, and whether that run is done.

Written by the worker beside ``run.json`` before the analysis starts, and
again when it ends::

    {"input": {"path", "size", "mtime_ns"},   # the recording's fingerprint (a folder of frames: its images')
     "rules_sha256", "sample_fps", "trainee", "every_frame",   # every_frame: analyze --every-frame
     "status": running | done | failed,  "reason": str|null,
     "core": int|null,                         # the core the worker was pinned to (null: not pinned)
     "resumed_frames": int}                    # only for a resumed run: frames taken from the landmark cache

A run is done, and a re-run skips it, when its ``batch.json`` fingerprint,
rules hash, analysis rate and ``every_frame`` match and its ``run.json`` says ``complete``
or ``partial`` (a damaged input gives ``partial`` again). A run killed
mid-way (``run.json`` still ``interrupted``) with the same fingerprint,
rules and rate goes on from its landmark cache (:mod:`vision.resume`: the
models run only on the frames after it; a multi-person run tracks everyone
again and landmarks the trainee's crops only after it).
A run with no ``run.json``, or whose input or rules changed, is analysed
again from scratch. A folder holding a run that the batch did not make (no
``batch.json``) is left alone unless ``--overwrite``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, Optional

from vision.io.frames import IMAGE_SUFFIXES
from vision.io.run_folder import used_entries

BATCH_JSON = "batch.json"
DONE_STATUSES = ("complete", "partial")


def fingerprint(recording: Path) -> Dict:
    """Path, size and modification time (ns) of a file; for a folder of frames, summed over its images."""
    p = Path(recording)
    if p.is_dir():
        files = [f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES]
        stats = [f.stat() for f in files]
        return {"path": str(p), "size": sum(s.st_size for s in stats),
                "mtime_ns": max((s.st_mtime_ns for s in stats), default=0), "files": len(files)}
    s = p.stat()
    return {"path": str(p), "size": s.st_size, "mtime_ns": s.st_mtime_ns}


def wanted(recording: Path, rules_sha256: str, sample_fps: Optional[float], trainee: Optional[str],
           every_frame: bool = False) -> Dict:
    """The ``batch.json`` a job asks for (status aside)."""
    return {"input": fingerprint(recording), "rules_sha256": rules_sha256, "sample_fps": sample_fps,
            "trainee": trainee, "every_frame": every_frame}


def read_batch_json(run_dir: Path) -> Optional[Dict]:
    try:
        return json.loads((Path(run_dir) / BATCH_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_batch_json(run_dir: Path, doc: Dict) -> None:
    """Atomically (a temporary file, then ``os.replace``)."""
    d = Path(run_dir)
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / (BATCH_JSON + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, d / BATCH_JSON)


def run_status(run_dir: Path) -> Optional[str]:
    """``run.json``'s status, or None when there is none (or it cannot be read)."""
    try:
        return json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError):
        return None


def decide(run_dir: Path, want: Dict, overwrite: bool) -> str:
    """What to do with one job's run folder.

    ``skip`` (done, same input, rules and rate; the caller re-tags the trainee), ``fresh`` (nothing there yet),
    ``resume`` (the batch's own run of the same input, rules and rate, killed mid-way: go on from its landmark
    cache), ``redo`` (the batch's own run, otherwise unfinished or out of date: cleared and analysed again) or
    ``foreign`` (a run the batch did not make, kept unless ``overwrite``).
    """
    if not used_entries(run_dir):
        return "fresh"
    have = read_batch_json(run_dir)
    if have is None:
        return "redo" if overwrite else "foreign"
    if overwrite:
        return "redo"
    # the trainee tag is not compared (a new tag needs no new analysis); a batch.json from before every_frame: False
    same = all(have.get(k) == want[k] for k in ("input", "rules_sha256", "sample_fps")) and \
        bool(have.get("every_frame")) == bool(want.get("every_frame"))
    status = run_status(run_dir)
    if same and have.get("status") == "done" and status in DONE_STATUSES:
        return "skip"
    return "resume" if same and status == "interrupted" and (Path(run_dir) / "landmarks").is_dir() else "redo"
