"""Several people on real footage, through ``analyze`` as a user runs it (the session's ``media_runs``).

The subject of each two-person clip is checked against the hand annotations
of tests/data/subjects.yaml (:func:`vision.track.check.check_subject`); a
one-person clip must take the single-person path and give the events of that
path run without the probe.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vision.io.cache import load_tracks
from vision.io.events import read_events
from vision.io.run_meta import read_run_json
from vision.people_run import frames_of
from vision.track.check import check_subject

pytestmark = pytest.mark.real

REPO = Path(__file__).resolve().parent.parent
MEDIA = REPO.parent / "shared" / "media"
SPEC = yaml.safe_load((REPO / "tests" / "data" / "subjects.yaml").read_text())
ENTRIES = {e["file"]: e for e in SPEC["files"]}


@pytest.mark.parametrize("name", ["two_person/ntu_two_men_hugging.mp4",
                                  "phone/pexels_two_men_standing_one_raises_phone_then_holds_it.mp4"])
def test_two_person_clip_judges_the_annotated_subject_and_every_event_carries_its_id(media_runs, name):
    """Two passes ran; the run's subject is the track on the annotated subject in every judged frame where a
    track is on them (no switch); every event carries that id; run.json lists both people with roles."""
    run = media_runs / name.replace("/", "__")
    doc = read_run_json(run)
    sid = doc["subject"]["id"]
    assert doc["timings"]["passes"] == 2 and len(doc["people"]) >= 2, doc["timings"]
    check = check_subject(frames_of(load_tracks(run)), ENTRIES[name], sid, SPEC["max_gap_s"])
    assert check.found > 0 and check.ids == [sid], (check.ids, doc["subject"])
    events = read_events(run / "events.jsonl")
    assert events and {e.person for e in events} == {sid}
    assert {p["role"] for p in doc["people"]} >= {"trainee", "customer"}


def test_one_person_clip_takes_the_fast_path_with_the_same_events(media_runs, tmp_path):
    """The side-view clip: the probe sees one body, one pass, subject 0; its events equal those of the
    single-person path forced without a probe (today's path)."""
    from vision.detect.base import choose_detector
    from vision.judge.rules import load_rules
    from vision.pipeline import analyze

    name = "sitting/sideview_man_posture_sequence.mp4"
    run = media_runs / name.replace("/", "__")
    doc = read_run_json(run)
    assert doc["timings"]["passes"] == 1 and doc["timings"]["probe"]["most_people"] == 1
    assert doc["subject"]["id"] == 0 and len(doc["people"]) == 1
    forced = analyze(str(MEDIA / name), str(tmp_path / "forced"), load_rules(REPO / "rules.yaml"), sample_fps=10.0,
                     progress=False, detector_factory=choose_detector().open)
    key = lambda e: (round(e.start_s, 4), e.rule)  # noqa: E731
    assert [e.to_json() for e in sorted(read_events(run / "events.jsonl"), key=key)] == \
        [e.to_json() for e in sorted(forced.events, key=key)]
