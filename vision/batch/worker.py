"""One job in one worker process: ``analyze`` one recording into its run folder.

:func:`pin_threads` runs first in every worker, before numpy, OpenCV or
MediaPipe is imported there: each worker does one thread of numeric work,
so N workers on N cores do N times the work instead of fighting over the
cores. Nothing heavy is imported at module level, for the same reason.

MediaPipe's TFLite/XNNPACK threads ignore those variables, so a task that
comes with a ``core`` is also pinned to it (:func:`pin_to_core`, Linux only)
before the models load: the engine hands each task in flight a core of its
own (:mod:`vision.batch.local`), and the core goes into ``batch.json``.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Dict, List, Optional

#: Thread pools of the numeric libraries (OpenMP, OpenBLAS, MKL, numexpr, Accelerate, TensorFlow Lite).
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def pin_threads() -> None:
    """One thread for every numeric library of this process (call before importing them)."""
    for var in THREAD_VARS:
        os.environ[var] = "1"
    import cv2

    cv2.setNumThreads(1)


def _threads() -> List[int]:
    """This process's threads (Linux: /proc/self/task), or just the calling one."""
    try:
        return [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return [0]


def pin_to_core(core: Optional[int]) -> Optional[int]:
    """Every thread of this process (and those it starts later, which inherit it) onto ``core``; returns the
    core, or None when nothing was pinned (no core given, or no ``sched_setaffinity``: not Linux)."""
    if core is None or not hasattr(os, "sched_setaffinity"):
        return None
    for tid in _threads():
        try:
            os.sched_setaffinity(tid, {core})
        except (ProcessLookupError, PermissionError):  # a thread that ended meanwhile; one we may not touch
            continue
    return core


@dataclass(frozen=True)
class Task:
    """What a worker needs to know: plain values only, so it travels to a process or a Ray node."""

    input: str
    run_dir: str
    name: str
    rules_path: str
    sample_fps: Optional[float]
    batch_json: Dict  # state.wanted(...): written beside run.json
    redo: bool  # the folder holds an unfinished or outdated run of the batch: clear it first
    resume: bool = False  # the folder holds this input's interrupted run: go on from its landmark cache
    core: Optional[int] = None  # the core to pin the worker to (set by the engine as the task starts)
    every_frame: bool = False  # analyze --every-frame


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # complete | partial | interrupted | failed | skipped
    reason: Optional[str] = None
    seconds: float = 0.0

    def to_dict(self) -> Dict:
        return asdict(self)


#: Errors whose message is written for the user (the input, the rules, the models): shown without their type.
USER_ERRORS = ("InputError", "RulesError", "RunFolderError", "ModelsError", "CacheError")


def _one_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    if type(exc).__name__ in USER_ERRORS and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_task(task: Task, analyze_fn: Optional[Callable] = None) -> Outcome:
    """Analyse one recording; any error becomes the outcome's one-line reason, never an exception."""
    from vision.batch.state import write_batch_json

    t0 = time.perf_counter()
    doc = dict(task.batch_json, status="running", reason=None, core=task.core)
    write_batch_json(Path(task.run_dir), doc)
    try:
        from vision.judge.rules import load_rules

        if analyze_fn is None:
            from vision.pipeline import analyze as analyze_fn
        rules = load_rules(task.rules_path)
        # one model instance a recording, tracking throughout (as analyze by default): the workers fill the cores
        res = analyze_fn(task.input, task.run_dir, rules, sample_fps=task.sample_fps, progress=False,
                         overwrite=task.redo, threads=1, **({"resume": True} if task.resume else {}),
                         **({"every_frame": True} if task.every_frame else {}))
        status, reason = res.status, None
        if task.resume:  # how many frames the landmark cache answered (run.json timings)
            doc["resumed_frames"] = ((getattr(res, "info", None) or {}).get("timings") or {}).get("resumed_frames")
        if res.status == "partial":
            reason = "; ".join(res.warnings) or "partly analysed"
        elif res.status == "interrupted":
            reason = "interrupted"
    except Exception as exc:  # noqa: BLE001 - one recording's failure must not stop the batch
        status, reason = "failed", _one_line(exc)
    doc.update(status="done" if status in ("complete", "partial") else status, reason=reason)
    write_batch_json(Path(task.run_dir), doc)
    return Outcome(task.name, status, reason, round(time.perf_counter() - t0, 3))


def run_in_worker(task: Task, analyze_fn: Optional[Callable] = None) -> Outcome:
    """The entry point of a pool or Ray worker: threads pinned (and the process to the task's core), then the
    task."""
    pin_threads()
    return run_task(replace(task, core=pin_to_core(task.core)), analyze_fn)
