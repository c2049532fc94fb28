"""Re-judging a run from its landmark cache, without the models (``analyze --from-landmarks``).

The rules (a newer ``rules.yaml``, other options, another tracked person as
the subject) run again over the cached landmarks; the result is a complete run
folder that ``render``, ``clips`` and ``report`` read like any other.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from vision import people_run, run_record as record
from vision.detect.models import DETECTION_VERSION
from vision.io.cache import copy_cache, load_meta, load_tracks, write_pixels
from vision.io.events import EventWriter, read_events, write_csv
from vision.io.frames import SourceInfo
from vision.io.run_folder import OUTPUT_ENTRIES, prepare_out_dir, used_entries
from vision.io.run_meta import read_run_json, write_run_json
from vision.judge.analyzer import PersonOptions, analyze_track
from vision.judge.rules import RuleSet
from vision.object_run import PASS_VERSION, PASS_VERSIONS, pass_version_of
from vision.pipeline import FACE_HANDS, SUBJECT, RunResult, _options_meta


def _previous_run(run_dir: str) -> Dict:
    """The run's ``run.json`` (a schema 1 file upgraded); for a folder that has none (a run killed
    by an older version), what the landmark cache says."""
    if (Path(run_dir) / "run.json").is_file():
        return dict(read_run_json(run_dir))
    meta = load_meta(run_dir)
    w, h = meta["image_wh"]
    info = SourceInfo(str(meta.get("source", "")), str(meta.get("kind", "video")), float(meta.get("fps") or 0.0),
                      0, int(w), int(h), 0.0)
    doc = record.new_run_json(record.input_meta(info.path, info, 0.0, None, meta.get("sample_fps")),
                              RuleSet([], (0.0, 0.0), {}, "", ""), {}, SUBJECT)
    doc["status_reason"] = "rebuilt from the landmark cache: the original run wrote no run.json"
    return doc


def _stale_cache_notes(prev: Dict, run_dir: str) -> List[str]:
    """A warning for each part of the cache made another way than a fresh analysis makes it: the landmarks and tracks
    (``models.detection_version``) or the object hits (``models.files.objects.pass_version``). The rules would then
    judge the older evidence, silently unlike a fresh run."""
    notes: List[str] = []
    models = prev.get("models") or {}
    was = models.get("detection_version", 1)
    if was != DETECTION_VERSION:
        fps = (prev.get("input") or {}).get("sample_fps")
        notes.append(f"the landmarks and tracks in this cache were made by detection version {was}, this code's is "
                     f"{DETECTION_VERSION}: every event may differ from a fresh analysis; analyse again with `python "
                     f"-m vision analyze {(prev.get('input') or {}).get('path', 'INPUT')} --out {run_dir} --overwrite"
                     + (f" --fps {fps:g}`" if fps else "`"))
    entry = (models.get("files") or {}).get("objects")
    if entry:
        version = pass_version_of(entry)
        if version != PASS_VERSION:
            notes.append(f"the object hits in this cache were made by object pass version {version} "
                         f"({PASS_VERSIONS.get(version, 'unknown to this code')}), this code's is {PASS_VERSION} "
                         f"({PASS_VERSIONS[PASS_VERSION]}): phone, eating and face-touch events may differ from a "
                         f"fresh analysis; redo the hits with `python scripts/backfill_objects.py {run_dir}`, then "
                         f"re-judge")
    return notes


def reanalyze(run_dir: str, rules: RuleSet, out_dir: Optional[str] = None,
              options: Optional[PersonOptions] = None, overwrite: bool = False,
              subject: Optional[int] = None, judge: str = "trainee") -> RunResult:
    """Re-run features and rules on a run's landmark cache, without the models.

    Into ``out_dir`` (default: the run folder itself) as a complete run folder:
    events, ``run.json`` and the landmark cache with freshly derived pixel
    points, so ``render``, ``clips`` and ``report`` work on it. Outputs made
    before an in-place re-analysis are left but no longer listed (``stale``).
    ``subject``: judge another tracked person (default: the run's subject).
    Where the cache holds only that person's pose, the face and hand rules are
    not judged and ``warnings`` says how to run the models for them.
    """
    t0 = time.perf_counter()
    meta = load_meta(run_dir)
    prev = _previous_run(run_dir)
    tracks = load_tracks(run_dir)
    before = prev["subject"]["id"]
    if subject is not None and subject not in tracks:
        raise people_run.ChoiceError(f"--subject {subject}: no such person in {run_dir}; the people tracked are "
                                     f"{sorted(tracks)}")
    sid = subject if subject is not None else before if before in tracks else next(iter(tracks))
    out = Path(out_dir or run_dir)
    in_place = out.resolve() == Path(run_dir).resolve()
    cleared: List[str] = []
    stale: List[str] = []
    if in_place:
        stale = [n for n in used_entries(out) if n in OUTPUT_ENTRIES]
    else:
        cleared = prepare_out_dir(out, overwrite)
    track = tracks[sid]
    roles = people_run.roles_for(tracks, str(sid)) if subject is not None and (len(tracks) > 1 or sid != before) \
        else None
    cid = (roles or prev).get("customer", {}).get("id")  # the customer as chosen for this subject (None: nobody)
    if cid == sid or cid not in tracks:
        cid = None
    if options is None:  # judge as the original run did
        was = prev.get("options", {})
        options = PersonOptions(customer_side=was.get("customer_side"),
                                mirrored=bool(was.get("mirrored", False)), posture=was.get("posture", "auto"))
    still = bool(meta.get("still"))
    total_s = float(track.timestamp_s[-1] - track.timestamp_s[0]) if len(track) else 0.0
    had = meta.get(FACE_HANDS)  # None: a single-person run's cache, its one person had them
    warnings: List[str] = _stale_cache_notes(prev, run_dir)
    if had is not None and sid not in had:
        events, engine, judged = people_run.judge_pose_only(track, rules, still, options)
        fps = prev["input"].get("sample_fps")
        warnings.append(f"person {sid}: the landmark cache holds only their pose (face and hands were found for "
                        f"{had or 'nobody'}), so {', '.join(record.face_hand_rules(rules))} are not judged; to judge "
                        f"them run the models again: analyze {prev['input']['path']} --out NEW_RUN --subject {sid}"
                        + (f" --fps {fps:g}" if fps else " --fps 0"))
    else:
        events, engine, _ = analyze_track(track, rules, still=still, customer_track=tracks.get(cid),
                                          **options.kwargs())
        judged = record.judged(engine, rules, total_s)
    others: Dict[int, Dict] = {}
    if judge == "all":
        found, others = people_run.judge_others(tracks, sid, rules, still, options)
        events += found
    old_log = Path(run_dir) / "events.jsonl"
    if sid == before and old_log.exists():  # the appearance checks need the images: keep the original run's
        events += [e for e in read_events(old_log) if e.rule.startswith("look.")]
    elif sid != before:
        prev["appearance"] = {"skipped": f"judged on the images of person {before}, not {sid}: run the models "
                                         f"again with --subject {sid}"}
    events.sort(key=lambda e: (e.start_s, e.rule))
    copy_cache(run_dir, out)
    write_pixels(out, record.subject_pixels(track))
    with EventWriter(out / "events.jsonl", sync_each=False) as w:
        for e in events:
            w.write(e)
    write_csv(events, out / "events.csv")
    elapsed = time.perf_counter() - t0
    present = ~np.isnan(track.pose_xyz[:, 0, 0]) | ~np.isnan(track.face_xyz[:, 0, 0])
    if roles is not None:
        prev.update(roles)
    elif len(tracks) == 1:
        prev["people"] = record.people(sid, track.timestamp_s, present)
    prev.update({
        "options": {**prev.get("options", {}), **_options_meta(options), "judge": judge,
                    **({"subject": str(sid)} if subject is not None else {})},
        "rules": record.rules_meta(rules),
        "baseline": engine.baseline,
        "time_share": engine.time_share(),
        "judged": people_run.merge_judged(judged, others),
        "counts": record.counts(events),
        "reanalysis": {"from": str(Path(run_dir).resolve()), "frames": len(track), "total_s": round(elapsed, 4),
                       **({"warnings": warnings} if warnings else {})},
        "outputs": {k: None for k in prev["outputs"]},
    })
    write_run_json(out, prev)
    return RunResult(out, events, prev["status"], prev, warnings=warnings, cleared=cleared, stale=stale)
