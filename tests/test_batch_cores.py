"""Each batch worker on a core of its own (Linux): MediaPipe's threads ignore the thread variables, so
N workers do N times the work only when the OS keeps them apart. The pool is the real one (spawned workers)
and the stand-in ``analyze`` (tests/batch_fakes.py) reports the affinity its process and a thread it starts
had while it worked."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from batch_fakes import fake_analyze
from vision.batch.local import cores_for
from vision.batch.plan import make_plan
from vision.batch.runner import Settings, run_batch
from vision.batch.state import read_batch_json

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux only")
CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


@pytest.fixture
def recordings(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    for i in range(4):
        (root / f"clip{i}.mp4").write_bytes(bytes([i + 1]) * (20 + i))
    return root


def _batch(root: Path, out: Path, workers: int, monkeypatch) -> dict:
    from conftest import RULES_YAML
    from vision.judge.rules import parse_rules

    rules = out.parent / "rules.yaml"
    rules.write_text(RULES_YAML, encoding="utf-8")
    monkeypatch.setenv("FAKE_ANALYZE_SLEEP", "0.3")  # long enough for the tasks to overlap
    res = run_batch(make_plan([str(root)]), out, Settings(str(rules), parse_rules(RULES_YAML).sha256,
                                                          workers=workers), analyze_fn=fake_analyze)
    assert sorted(o.status for o in res.outcomes) == ["complete"] * 4
    return {d.name: (json.loads((d / "run.json").read_text())["worker"], read_batch_json(d))
            for d in out.iterdir() if d.is_dir()}


def test_each_worker_runs_on_one_core_and_tasks_in_flight_never_share_one(recordings, tmp_path, monkeypatch):
    """workers <= cores: the process and the threads it starts see one core, the one batch.json names; two tasks
    that ran at the same time had different cores."""
    workers = min(2, len(CORES))
    runs = _batch(recordings, tmp_path / "out", workers, monkeypatch)
    for worker, batch in runs.values():
        assert batch["core"] in CORES
        assert worker["affinity"] == [batch["core"]] and worker["thread_affinity"] == [batch["core"]]
    spans = [(w["from"], w["to"], b["core"]) for w, b in runs.values()]
    overlapping = [(a, b) for i, a in enumerate(spans) for b in spans[i + 1:] if a[0] < b[1] and b[0] < a[1]]
    if workers > 1:
        assert overlapping, "the tasks never ran at the same time: the test proves nothing"
    assert all(a[2] != b[2] for a, b in overlapping), spans


def test_more_workers_than_cores_leave_the_affinity_alone(recordings, tmp_path, monkeypatch):
    """workers > cores: pinning would stack two workers on one core, so every worker keeps all the cores."""
    runs = _batch(recordings, tmp_path / "out", len(CORES) + 1, monkeypatch)
    for worker, batch in runs.values():
        assert batch["core"] is None and worker["affinity"] == CORES


def test_the_slots_cores_are_distinct_and_only_as_many_as_there_are_cores():
    assert cores_for(len(CORES)) == CORES and cores_for(1) == CORES[:1]
    assert cores_for(len(CORES) + 1) is None
