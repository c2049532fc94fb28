"""``--engine ray``: the same tasks as Ray tasks, one per recording, on a local or an existing Ray cluster.

Needs the optional extra (``pip install .[ray]``). Ray's usage statistics
are turned off (``RAY_USAGE_STATS_ENABLED=0``): nothing here reaches the
internet. Without ``--ray-address`` a local cluster of ``workers`` CPUs is
started (no dashboard) and stopped at the end; with it, the batch joins that
cluster (``ray start --head`` on one machine, ``ray start --address=HEAD:6379``
on the others). Every node must see the recordings, the rules file and
``--out`` at the same paths (shared storage) and have this package installed.

Each task asks for one CPU, so a node runs as many recordings at once as it
has CPUs; a task whose worker or node is lost is tried again
(:data:`MAX_RETRIES`); a worker process is replaced after
:data:`TASKS_PER_WORKER` recordings, which bounds its memory. The run
folders are those of the local engine: the same :func:`worker.run_in_worker`
writes them.
"""
from __future__ import annotations

import os
from typing import Callable, Iterable, Iterator, Optional

from vision.batch.worker import THREAD_VARS, Outcome, Task, run_in_worker

MAX_RETRIES = 2
TASKS_PER_WORKER = 4


class RayMissing(Exception):
    """Ray is not installed (one-line message)."""


def _ray():
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # before the import: Ray reads it then
    try:
        import ray
    except ImportError:
        raise RayMissing("--engine ray needs Ray: pip install 'conduct-coach-vision[ray]' "
                         "(in a checkout: pip install -e '.[ray]')") from None
    return ray


def run_ray(tasks: Iterable[Task], workers: int, address: Optional[str] = None,
            analyze_fn: Optional[Callable] = None) -> Iterator[Outcome]:
    """Outcomes of ``tasks`` in the order they finish."""
    ray = _ray()
    env = {var: "1" for var in THREAD_VARS}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    started = not ray.is_initialized()
    if started:
        if address:
            ray.init(address=address, runtime_env={"env_vars": env}, log_to_driver=False)
        else:
            os.environ.update(env)  # the local cluster's workers inherit the driver's environment
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1, max_retries=MAX_RETRIES, max_calls=TASKS_PER_WORKER)(run_in_worker)
        refs = {}
        for task in tasks:
            refs[remote.remote(task, analyze_fn)] = task
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as exc:  # the task's node or worker was lost MAX_RETRIES + 1 times
                    first = (str(exc).strip().splitlines() or [""])[0]
                    yield Outcome(refs[ref].name, "failed", f"{type(exc).__name__}: {first}")
    finally:
        if started:
            ray.shutdown()
