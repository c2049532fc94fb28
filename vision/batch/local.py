"""The local engine: the tasks on a pool of worker processes, outcomes yielded as they finish.

Workers are started fresh (``spawn``: nothing of the parent's numeric
libraries is inherited) with their threads pinned (:func:`worker.pin_threads`)
and replaced every :data:`TASKS_PER_WORKER` recordings, so memory is bounded
by the workers, not by the archive. At most ``workers`` tasks are in flight.

A worker that dies (killed, out of memory, a crash in native code) breaks
the pool: the tasks it was running are tried again at the end, each alone
in a fresh one-worker pool; one that kills that worker too has failed.

Cores: when ``workers`` is at most the cores this process may use, each
task in flight holds a slot of its own (0 .. workers-1) and its worker is
pinned to that slot's core as the task starts (:func:`worker.pin_to_core`):
pinning per task, not per process, stays right when the pool replaces a
worker. With more workers than cores nothing is pinned.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from vision.batch.worker import Outcome, Task, pin_threads, run_in_worker

TASKS_PER_WORKER = 4
DIED = "the worker process died (killed, out of memory, or a crash in native code)"


def _pool(workers: int) -> ProcessPoolExecutor:
    kw = {"max_tasks_per_child": TASKS_PER_WORKER} if sys.version_info >= (3, 11) else {}
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=pin_threads,
                               **kw)


def cores_for(workers: int) -> Optional[List[int]]:
    """The core of each slot, one each, in order over the cores this process may use; None, leaving affinity
    alone, with more workers than cores or off Linux."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    return cores[:workers] if workers <= len(cores) else None


def _drain(tasks: List[Task], workers: int, analyze_fn: Optional[Callable],
           suspects: List[Task], left: List[Task]) -> Iterator[Outcome]:
    """Run ``tasks``, at most ``workers`` in flight. If the pool breaks, the tasks it was running go
    to ``suspects`` and those not yet started to ``left``."""
    todo = list(reversed(tasks))
    cores = cores_for(workers)
    free = list(range(workers))  # the slots not held by a task in flight
    with _pool(workers) as pool:
        running: Dict[Future, Tuple[Task, int]] = {}
        while todo or running:
            while todo and len(running) < workers:
                task, slot = todo.pop(), free.pop(0)
                pinned = replace(task, core=cores[slot] if cores else None)
                running[pool.submit(run_in_worker, pinned, analyze_fn)] = (task, slot)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            broke = False
            for fut in done:
                task, slot = running.pop(fut)
                free.append(slot)
                try:
                    yield fut.result()
                except BrokenProcessPool:
                    suspects.append(task)
                    broke = True
            if broke:  # the pool is unusable: what it ran is suspect, the rest waits for a new one
                suspects.extend(task for task, _ in running.values())
                left.extend(reversed(todo))
                return


def run_local(tasks: Iterable[Task], workers: int, analyze_fn: Optional[Callable] = None) -> Iterator[Outcome]:
    """Outcomes of ``tasks`` in the order they finish."""
    pending = list(tasks)
    suspects: List[Task] = []
    while pending:
        left: List[Task] = []
        yield from _drain(pending, workers, analyze_fn, suspects, left)
        pending = left
    for task in suspects:  # each alone: the innocent ones finish, the culprit breaks its own pool
        again: List[Task] = []
        yield from _drain([task], 1, analyze_fn, again, [])
        if again:
            yield Outcome(task.name, "failed", DIED)
