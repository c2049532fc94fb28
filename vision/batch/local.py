"""The local engine: the tasks on a pool of worker processes, outcomes yielded as they finish.

Workers are started fresh (``spawn``: nothing of the parent's numeric
libraries is inherited) with their threads pinned (:func:`worker.pin_threads`)
and replaced every :data:`TASKS_PER_WORKER` recordings, so memory is bounded
by the workers, not by the archive. At most ``workers`` tasks are in flight.

A worker that dies (killed, out of memory, a crash in native code) breaks
the pool: the tasks it was running are tried again at the end, each alone
in a fresh one-worker pool; one that kills that worker too has failed.
"""
from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Dict, Iterable, Iterator, List, Optional

from vision.batch.worker import Outcome, Task, pin_threads, run_in_worker

TASKS_PER_WORKER = 4
DIED = "the worker process died (killed, out of memory, or a crash in native code)"


def _pool(workers: int) -> ProcessPoolExecutor:
    kw = {"max_tasks_per_child": TASKS_PER_WORKER} if sys.version_info >= (3, 11) else {}
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=pin_threads,
                               **kw)


def _drain(tasks: List[Task], workers: int, analyze_fn: Optional[Callable],
           suspects: List[Task], left: List[Task]) -> Iterator[Outcome]:
    """Run ``tasks``, at most ``workers`` in flight. If the pool breaks, the tasks it was running go
    to ``suspects`` and those not yet started to ``left``."""
    todo = list(reversed(tasks))
    with _pool(workers) as pool:
        running: Dict[Future, Task] = {}
        while todo or running:
            while todo and len(running) < workers:
                task = todo.pop()
                running[pool.submit(run_in_worker, task, analyze_fn)] = task
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            broke = False
            for fut in done:
                task = running.pop(fut)
                try:
                    yield fut.result()
                except BrokenProcessPool:
                    suspects.append(task)
                    broke = True
            if broke:  # the pool is unusable: what it ran is suspect, the rest waits for a new one
                suspects.extend(running.values())
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
