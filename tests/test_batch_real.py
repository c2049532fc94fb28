"""The batch on real media with the real models: two workers end to end, and Ray against the local engine.

Inputs are links to ../shared/media in a temporary folder (never copies).
The Ray test needs the ``ray`` extra, which ``scripts/setup.sh --test`` (CI)
installs; it starts and stops a local Ray cluster of two CPUs.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import MEDIA
from vision.batch.index import INDEX_CSV, read_csv
from vision.cli import main

pytestmark = pytest.mark.real


def _link(folder: Path, name: str, target: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).symlink_to(MEDIA / target)
    return folder / name


def test_two_workers_analyse_a_still_and_a_gif_and_list_a_corrupt_file(tmp_path, capsys):
    """Each readable input gets a complete run folder with one events.jsonl; the corrupt one fails alone,
    with its one-line reason, and the exit code says so."""
    inp = tmp_path / "in"
    _link(inp / "trainee_a", "still.jpg", "face_touch/hagrid_call_gesture_woman_seated_hand_at_cheek.jpg")
    _link(inp / "trainee_b", "drive.gif", "phone/driver_sequence_texting_call_reaching_drinking.gif")
    (inp / "trainee_b" / "broken.mp4").write_bytes(b"not a video at all")
    out = tmp_path / "out"
    code = main(["batch", str(inp / "trainee_a" / "still.jpg"), str(inp / "trainee_b"), "--out", str(out),
                 "--workers", "2", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "failed: trainee_b__broken.mp4: " in err and "not a video" in err
    for name in ("trainee_a__still.jpg", "trainee_b__drive.gif"):
        run = json.loads((out / name / "run.json").read_text())
        assert run["status"] == "complete", run["status_reason"]
        assert list((out / name).glob("**/events.jsonl")) == [out / name / "events.jsonl"]
    assert json.loads((out / "trainee_a__still.jpg" / "run.json").read_text())["input"]["kind"] == "image"
    rows = {r["name"]: r for r in read_csv(out / INDEX_CSV)}
    assert {n: r["status"] for n, r in rows.items()} == {
        "trainee_a__still.jpg": "complete", "trainee_b__drive.gif": "complete", "trainee_b__broken.mp4": "failed"}


def test_ray_and_the_local_engine_write_the_same_events(tmp_path):
    """--engine ray (a local cluster) and the local pool, on the same two short clips: identical events.jsonl."""
    pytest.importorskip("ray", reason="the ray extra is not installed (scripts/setup.sh --test installs it)")
    inp = tmp_path / "in"
    _link(inp, "call.mp4", "phone/suzie_closeup_landline_phone_call.mp4")
    _link(inp, "sweep.avi", "hands_gesture/nvgesture_seated_man_flat_hand_sweep.avi")
    outs = {}
    for engine in ("local", "ray"):
        outs[engine] = tmp_path / engine
        assert main(["batch", str(inp), "--out", str(outs[engine]), "--workers", "2", "--engine", engine,
                     "--quiet"]) == 0
    for name in ("call.mp4", "sweep.avi"):
        local = (outs["local"] / name / "events.jsonl").read_bytes()
        assert local and local == (outs["ray"] / name / "events.jsonl").read_bytes()
        docs = [json.loads((outs[e] / name / "run.json").read_text()) for e in outs]
        for d in docs:
            d.pop("timings")
        assert docs[0] == docs[1]
