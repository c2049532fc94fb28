"""A stand-in for ``vision.pipeline.analyze`` in the batch tests: no models, a known answer per input.

It lives in a module of its own (not in a test file) so the batch's worker
processes, started fresh, can import it by name. It writes what the batch
and its index read: ``run.json`` (status, input duration, rules, counts,
time shares, timings) and one ``events.jsonl``. The counts come from the
input's bytes, so every input has its own and a run is reproducible.
A file whose content starts with ``garbage`` is unreadable (InputError);
``$FAKE_ANALYZE_SLEEP`` seconds of work per recording make a batch slow
enough to kill mid-way; ``$FAKE_ANALYZE_LOG`` collects the inputs analysed.
``run.json``'s ``worker`` says which cores the worker process (and a thread
it starts, as MediaPipe does) may run on, and when it worked.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from vision.io.frames import InputError
from vision.io.run_folder import prepare_out_dir

RULES = {"sit.slouch": "violation", "gesture.face_touch": "violation", "face.smile": "desired"}


def expected_counts(input_path: str) -> dict:
    p = Path(input_path)
    data = b"".join(f.read_bytes() for f in sorted(p.iterdir())) if p.is_dir() else p.read_bytes()
    return {"sit.slouch": data[0] % 3, "gesture.face_touch": len(data) % 4, "face.smile": 1}


def _affinity() -> list:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def fake_analyze(input_path, out_dir, rules, sample_fps=None, progress=False, overwrite=False, resume=False,
                 threads=None, every_frame=False):
    if threads != 1:  # every batch test checks this: one model instance a recording, whatever the engine
        raise ValueError(f"batch must run one model instance a recording, got threads={threads}")
    t0 = time.perf_counter()
    started = time.time()
    seen = []
    thread = threading.Thread(target=lambda: seen.append(_affinity()))
    thread.start()
    thread.join()
    if os.environ.get("FAKE_ANALYZE_LOG"):
        with open(os.environ["FAKE_ANALYZE_LOG"], "a", encoding="utf-8") as f:
            f.write(f"{input_path}{' every_frame' if every_frame else ''}\n")
    p = Path(input_path)
    if p.is_file() and p.read_bytes().startswith(b"garbage"):
        raise InputError(f"{input_path}: not a video OpenCV can open (corrupt, or not a video file)")
    out = Path(out_dir)
    prepare_out_dir(out, overwrite)
    doc = {"schema_version": 2, "status": "interrupted", "status_reason": None,
           "input": {"path": str(p), "duration_s": float(len(p.name))},
           "rules": {"enabled": list(RULES), "catalogue": {r: {"kind": k} for r, k in RULES.items()}}}
    (out / "run.json").write_text(json.dumps(doc), encoding="utf-8")
    counts = expected_counts(input_path)
    with open(out / "events.jsonl", "w", encoding="utf-8") as f:
        for rule, n in counts.items():
            for i in range(n):
                f.write(json.dumps({"rule": rule, "start_s": float(i)}) + "\n")
    time.sleep(float(os.environ.get("FAKE_ANALYZE_SLEEP", "0")))
    doc.update(status="complete", counts={r: n for r, n in counts.items() if n},
               time_share={"face.smile": {"share": round(counts["sit.slouch"] / 4, 4)}},
               timings={"total_s": round(time.perf_counter() - t0, 4)},
               worker={"affinity": _affinity(), "thread_affinity": seen[0], "from": started, "to": time.time()})
    (out / "run.json").write_text(json.dumps(doc), encoding="utf-8")
    return SimpleNamespace(status="complete", warnings=[], out_dir=out)
