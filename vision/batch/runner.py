"""A batch from plan to index: decide each run (skip, analyse, refuse), hand the rest to an engine, write the index.

The engines (:mod:`local`, :mod:`ray_engine`) only turn tasks into outcomes;
which runs to skip, the progress bar, the failure list and the index are
the same whichever engine ran them.
"""
from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, List, Optional

from vision.batch.index import INDEX_CSV, INDEX_HTML, collect, write_csv
from vision.batch.index_html import write_html
from vision.batch.plan import Job, Plan
from vision.batch.state import decide, read_batch_json, wanted, write_batch_json
from vision.batch.worker import Outcome, Task

FOREIGN = "the folder holds a run the batch did not make (pass --overwrite to replace it)"


@dataclass(frozen=True)
class Settings:
    rules_path: str
    rules_sha256: str
    fps: Optional[float] = None  # None: video_fps for videos, every frame of a folder of frames; 0: every frame
    video_fps: float = 10.0
    overwrite: bool = False
    workers: int = 1
    engine: str = "local"  # local | ray
    ray_address: Optional[str] = None
    every_frame: bool = False  # analyze --every-frame: the models on still frames too


@dataclass
class BatchResult:
    outcomes: List[Outcome] = field(default_factory=list)
    index: List[Path] = field(default_factory=list)

    def of(self, *statuses: str) -> List[Outcome]:
        return [o for o in self.outcomes if o.status in statuses]


def sample_fps(job: Job, settings: Settings) -> Optional[float]:
    """The analysis rate of one job, as ``analyze`` would choose it (None: every frame)."""
    fps = settings.fps
    if fps is None:
        fps = 0 if job.kind in ("folder", "image") else settings.video_fps
    return None if fps == 0 else float(fps)


def make_tasks(plan: Plan, out_dir: Path, settings: Settings) -> tuple:
    """(tasks to run, outcomes already known: skipped runs and refused folders)."""
    tasks, known = [], []
    for job in plan.jobs:
        run_dir = out_dir / job.name
        fps = sample_fps(job, settings)
        want = wanted(job.input, settings.rules_sha256, fps, job.trainee, settings.every_frame)
        what = decide(run_dir, want, settings.overwrite)
        if what == "skip":
            have = read_batch_json(run_dir)
            if have.get("trainee") != job.trainee:  # a new tag needs no new analysis
                write_batch_json(run_dir, dict(have, trainee=job.trainee))
            known.append(Outcome(job.name, "skipped", "done before, same input and rules"))
        elif what == "foreign":
            known.append(Outcome(job.name, "failed", FOREIGN))
        else:
            tasks.append(Task(str(job.input), str(run_dir), job.name, settings.rules_path, fps, want,
                              redo=what in ("redo", "resume"), resume=what == "resume",
                              every_frame=settings.every_frame))
    return tasks, known


def write_index(out_dir: Path) -> List[Path]:
    """``index.csv`` and ``index.html`` in ``out_dir``, from its run folders; returns their paths."""
    rows = collect(out_dir)
    return [write_csv(rows, Path(out_dir) / INDEX_CSV), write_html(rows, Path(out_dir) / INDEX_HTML)]


def _engine(tasks: List[Task], settings: Settings, analyze_fn: Optional[Callable]) -> Iterator[Outcome]:
    if settings.engine == "ray":
        from vision.batch.ray_engine import run_ray

        return run_ray(tasks, settings.workers, settings.ray_address, analyze_fn)
    from vision.batch.local import run_local

    return run_local(tasks, settings.workers, analyze_fn)


def run_batch(plan: Plan, out_dir: Path, settings: Settings, progress: bool = False,
              analyze_fn: Optional[Callable] = None) -> BatchResult:
    """Analyse every job of ``plan`` not done yet into ``out_dir``/NAME, then write the index.

    A failed recording is listed (as it happens, and in the result) while
    the rest go on. The index is written even when the batch is stopped.
    ``analyze_fn`` replaces :func:`vision.pipeline.analyze` (tests).
    """
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = BatchResult()
    tasks, known = make_tasks(plan, out, settings)
    bar = tqdm(total=len(plan.jobs), disable=not progress, unit="recording", desc="batch", dynamic_ncols=True,
               file=sys.stderr)
    try:
        for outcome in itertools.chain(known, _engine(tasks, settings, analyze_fn) if tasks else []):
            result.outcomes.append(outcome)
            if progress and outcome.status in ("failed", "interrupted"):  # above the bar, as it happens
                bar.write(f"failed: {outcome.name}: {outcome.reason}", file=sys.stderr)
            bar.set_postfix(failed=len(result.of("failed", "interrupted")), refresh=False)
            bar.update(1)
    finally:
        bar.close()
        result.index = write_index(out)
    return result
