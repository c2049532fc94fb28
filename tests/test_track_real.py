"""Several people on real footage: multi-person pose + tracking + subject choice against hand annotations.

The annotations (tests/data/subjects.yaml) box the labelled subject of every
multi-person file of ../shared/media (all ``split: tune``) at a few times.
Frames are analysed at 10 a second, as in scripts/measure_tracking.py.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import yaml

from vision.detect.landmarks import FrameLandmarks
from vision.track.check import check_subject
from vision.track.subject import choose_subject, summarise
from vision.track.tracker import track_frames

pytestmark = pytest.mark.real

REPO = Path(__file__).resolve().parent.parent
MEDIA = REPO.parent / "shared" / "media"
SPEC = yaml.safe_load((REPO / "tests" / "data" / "subjects.yaml").read_text())
ENTRIES = {e["file"]: e for e in SPEC["files"]}
#: Clips where the subject keeps one id and ``auto`` picks them (measured; see the branch report).
CLIPS = ["two_person/ntu_two_men_hugging.mp4", "two_person/arm_wrestling_at_table.mp4",
         "phone/pexels_two_men_standing_one_raises_phone_then_holds_it.mp4",
         "gesture/man_meeting_table_palm_up_presenting_gesture.mp4",
         "handover/cashier_scanning_placing_items_into_customer_cart.mp4"]


@lru_cache(maxsize=None)  # each file is analysed once for all the tests that read it
def _tracked(name: str):
    from vision.detect.multipose import MultiPoseDetector
    from vision.io.frames import FrameSource

    if not (MEDIA / name).exists():
        pytest.skip(f"{MEDIA / name} not available")
    with FrameSource(MEDIA / name, sample_fps=10.0) as src:
        wh, still = (src.info.width, src.info.height), src.info.is_still
        with MultiPoseDetector(still_images=still) as det:
            frames = [FrameLandmarks(f.index, f.timestamp_s, det.detect(f.image_bgr, f.timestamp_s)) for f in src]
    times = [fl.timestamp_s for fl in frames]
    fps = 1.0 / float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    tracked = track_frames(frames, wh, fps)
    return tracked, summarise(tracked, wh)


@pytest.mark.parametrize("name", CLIPS)
def test_the_subject_keeps_one_id_and_auto_chooses_them(name):
    """In every judged frame where a track is on the annotated subject it is the same track, and it is the
    one ``auto`` chooses."""
    tracked, tracks = _tracked(name)
    subject = choose_subject(tracks, "auto")
    check = check_subject(tracked, ENTRIES[name], subject.id, SPEC["max_gap_s"])
    assert check.found > 0, "no track on the annotated subject at all"
    assert check.switches == 0, f"ids on the subject: {check.ids}"
    assert check.ids == [subject.id], subject.reason


@pytest.mark.parametrize("name", CLIPS[:1] + CLIPS[2:])
def test_the_subject_is_followed_through_the_clip(name):
    """Where the subject is plainly in view (all but the smeared arm-wrestling clip), a track is on them
    in at least 90 % of the judged frames."""
    tracked, tracks = _tracked(name)
    check = check_subject(tracked, ENTRIES[name], None, SPEC["max_gap_s"])
    assert check.found >= 0.9 * check.judged, f"{check.found} of {check.judged}"


@pytest.mark.parametrize("name, how", [("sitting/two_men_seated_bench_hands_clasped.jpg", "left"),
                                       ("two_person/man_and_woman_meeting_table_pointing_fingers.jpg", "left"),
                                       ("standing/four_teens_one_hands_clasped_one_hand_on_neck.jpg", "auto")])
def test_stills_everyone_found_and_the_subject_chosen_as_asked(name, how):
    """Every person of a multi-person still is found, and the subject is chosen by ``how``; where ``auto``
    picks someone else it says the choice was a near tie."""
    from vision.io.frames import FrameSource  # noqa: F401

    tracked, tracks = _tracked(name)
    entry = ENTRIES[name]
    choice = choose_subject(tracks, how)
    check = check_subject(tracked, entry, choice.id, SPEC["max_gap_s"])
    assert check.ids == [choice.id], choice.reason
    auto = choose_subject(tracks, "auto")
    assert auto.id == choice.id or "near tie" in auto.reason
