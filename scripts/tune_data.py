"""The `split: tune` entries that have a complete run, for the measurement scripts (`check` is never read).

    from tune_data import tune_args, tune_subjects, judge_as_run

Shared by ``measure_thresholds.py``, ``measure_rule_thresholds.py``, ``measure_flicker.py``,
``measure_jitter.py`` and ``measure_still.py``: the command line they all take (``--runs``, ``--labels``, ``--rules``), the tune entries
with their run's subject, and that subject judged again from the cache with the options the run used.
"""
import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, Optional

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vision.detect.landmarks import LandmarkTrack  # noqa: E402
from vision.evaluate import find_runs  # noqa: E402
from vision.io.cache import CacheError, load_meta, load_tracks  # noqa: E402
from vision.features.skeleton import body_scale, pose_points  # noqa: E402
from vision.judge.analyzer import analyze_track  # noqa: E402

LABELS = REPO.parent / "shared" / "media" / "labels.yaml"
RULES = REPO / "rules.yaml"


def tune_args(description: str, rules: bool = True) -> argparse.ArgumentParser:
    """``--runs`` (analysed runs of the labelled files), ``--labels`` and, with ``rules``, ``--rules``."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--labels", default=str(LABELS))
    if rules:
        ap.add_argument("--rules", default=str(RULES))
    return ap


@dataclass
class TuneRun:
    """One tune entry and its complete run: the labels' entry, the input's path, the run folder, its run.json,
    every tracked person and the subject's track (never empty)."""

    clip: Dict
    path: Path
    run_dir: Path
    meta: Dict
    tracks: Dict[int, LandmarkTrack]
    track: LandmarkTrack

    @property
    def customer(self) -> Optional[LandmarkTrack]:
        cid = (self.meta.get("customer") or {}).get("id")
        return self.tracks.get(cid) if cid is not None and cid != self.track.person_id else None


def tune_subjects(labels: Path, runs_dir: str) -> Iterator[TuneRun]:
    """Every tune entry of ``labels`` whose run in ``runs_dir`` is complete and has its subject's landmarks."""
    doc = yaml.safe_load(labels.read_text(encoding="utf-8"))
    runs = find_runs(runs_dir)
    for clip in doc["clips"]:
        path = (labels.parent / clip["file"]).resolve()
        if clip.get("split") != "tune" or path not in runs:
            continue
        meta = json.loads((runs[path] / "run.json").read_text(encoding="utf-8"))
        if meta.get("status") != "complete":
            continue  # still being written, or failed
        try:
            tracks = load_tracks(runs[path])
        except CacheError:
            continue
        track = tracks.get(meta["subject"]["id"])
        if track is not None and len(track):
            yield TuneRun(clip, path, runs[path], meta, tracks, track)


def clip_scale(track: LandmarkTrack) -> Optional[float]:
    """The person's median ``body_scale`` over the clip (shoulder widths, in image heights); None: unseen."""
    with np.errstate(all="ignore"):
        scale = float(np.nanmedian(body_scale(track, pose_points(track))))
    return scale if np.isfinite(scale) and scale > 0 else None


def judge_as_run(run: TuneRun, rules):
    """``(events, engine, table)`` of the subject judged again from the cache as ``--reanalyze`` does, with the
    options the run used."""
    opts = run.meta.get("options") or {}
    return analyze_track(run.track, rules, still=bool(load_meta(run.run_dir).get("still")),
                         customer_track=run.customer, customer_side=opts.get("customer_side"),
                         mirrored=bool(opts.get("mirrored", False)), posture=opts.get("posture") or "auto")
