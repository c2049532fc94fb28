"""Subject and customer choice (vision.track.subject), on synthetic tracked frames (no model)."""
from __future__ import annotations

import pytest

from builders import make_person
from vision.detect.landmarks import FrameLandmarks, PersonLandmarks
from vision.track.subject import choose_customer, choose_subject, roles, summarise

WH = (640, 480)


def _with_id(p: PersonLandmarks, pid: int) -> PersonLandmarks:
    return PersonLandmarks(pid, p.pose_xyz, p.pose_visibility, p.pose_world_xyz)


def _clip(people, n=20, fps=10.0, present=None):
    """``n`` frames; person ``k`` (its index in ``people``) is in the frames ``present[k]`` (default: all)."""
    present = present or {}
    return [FrameLandmarks(i, i / fps, [_with_id(p, k) for k, p in enumerate(people) if i in present.get(k, range(n))])
            for i in range(n)]


@pytest.fixture
def room():
    """Person 0 small on the left, person 1 large on the right, both facing the camera, both always there."""
    return summarise(_clip([make_person(hip_px=(150, 380), px_per_m=200),
                            make_person(hip_px=(470, 380), px_per_m=300)]), WH)


def test_summary_counts_time_and_place(room):
    """Seconds on screen = frames x frame step; x is the centre as seen in the picture (0 left)."""
    left, right = room
    assert (left.id, left.frames, left.first_s, left.last_s) == (0, 20, 0.0, pytest.approx(1.9))
    assert left.seconds_on_screen == pytest.approx(2.0)
    assert left.x < 0.4 < 0.6 < right.x
    assert right.size > left.size


def test_left_right_and_largest_as_seen_in_the_picture(room):
    """left/right follow the picture's sides; largest the bigger body; the reason names the criterion."""
    assert choose_subject(room, "left").id == 0
    assert choose_subject(room, "right").id == 1
    largest = choose_subject(room, "largest")
    assert largest.id == 1 and "largest" in largest.reason


def test_an_id_is_taken_as_given_and_an_unknown_one_is_an_error(room):
    """A numeric ``how`` picks that person; an id nobody has lists the ids tracked; a typo is rejected."""
    assert choose_subject(room, "0").id == 0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        choose_subject(room, "7")
    with pytest.raises(ValueError):
        choose_subject(room, "leftmost")


def test_auto_prefers_who_is_on_screen_over_a_bigger_passer_by():
    """A large person seen for 0.5 s of 2 s is not the subject: the one there all along is."""
    tracks = summarise(_clip([make_person(hip_px=(200, 380), px_per_m=200),
                              make_person(hip_px=(450, 380), px_per_m=320)], present={1: range(5)}), WH)
    choice = choose_subject(tracks, "auto")
    assert choice.id == 0 and "longest" in choice.reason


def test_auto_prefers_the_person_facing_the_camera():
    """Two people of equal size and time: the one facing the camera beats the one in profile."""
    tracks = summarise(_clip([make_person(hip_px=(200, 380), facing="right"),
                              make_person(hip_px=(440, 380), facing="front")]), WH)
    choice = choose_subject(tracks, "auto")
    assert choice.id == 1 and "frontal" in choice.reason
    assert tracks[0].frontal < 0.2 < 0.5 < tracks[1].frontal


def test_customer_is_the_other_person_longest_on_screen():
    """auto: of the others, the one seen longest; nobody else: id None; the subject cannot be the customer."""
    tracks = summarise(_clip([make_person(hip_px=(200, 380)), make_person(hip_px=(440, 380)),
                              make_person(hip_px=(600, 300), px_per_m=100)], present={2: range(3)}), WH)
    assert choose_customer(tracks, 0).id == 1
    assert choose_customer(tracks, 1).id == 0
    assert choose_customer(tracks, 1, "2").id == 2
    with pytest.raises(ValueError, match="subject"):
        choose_customer(tracks, 1, "1")
    alone = summarise(_clip([make_person()]), WH)
    assert choose_customer(alone, 0).id is None


def test_run_json_roles_follow_the_schema():
    """``subject``/``customer`` are {id, how, reason}; ``people`` one entry per person with its role."""
    tracks = summarise(_clip([make_person(hip_px=(200, 380)), make_person(hip_px=(440, 380)),
                              make_person(hip_px=(600, 300), px_per_m=100)], present={2: range(3)}), WH)
    subject = choose_subject(tracks, "left")
    out = roles(tracks, subject, choose_customer(tracks, subject.id))
    assert set(out) == {"subject", "customer", "people"}
    assert out["subject"] == {"id": 0, "how": "left", "reason": subject.reason}
    assert set(out["customer"]) == {"id", "how", "reason"} and out["customer"]["id"] == 1
    assert [(p["id"], p["role"]) for p in out["people"]] == [(0, "trainee"), (1, "customer"), (2, "other")]
    assert out["people"][2]["seconds_on_screen"] == pytest.approx(0.3)
    assert set(out["people"][0]) == {"id", "role", "seconds_on_screen", "first_s", "last_s"}


def test_one_person_and_nobody():
    """One person: chosen with reason 'one person tracked'; nobody: id None."""
    alone = summarise(_clip([make_person()]), WH)
    assert choose_subject(alone).as_dict() == {"id": 0, "how": "auto", "reason": "one person tracked"}
    assert choose_subject([], "auto").id is None


def test_auto_says_when_it_was_a_near_tie():
    """Two people alike but for where they stand: auto picks one and tells the user to say left/right if wrong;
    a clear winner gets no such warning."""
    alike = summarise(_clip([make_person(hip_px=(200, 380)), make_person(hip_px=(440, 380))]), WH)
    assert "near tie" in choose_subject(alike).reason
    clear = summarise(_clip([make_person(hip_px=(200, 380), px_per_m=150), make_person(hip_px=(400, 380))]), WH)
    choice = choose_subject(clear)
    assert choice.id == 1 and "near tie" not in choice.reason


def test_in_a_still_the_customer_is_the_most_prominent_other_person():
    """One frame: no time on screen to compare, so the larger of the others is the customer."""
    tracks = summarise(_clip([make_person(hip_px=(200, 380)), make_person(hip_px=(420, 380), px_per_m=150),
                              make_person(hip_px=(560, 380), px_per_m=250)], n=1), WH)
    choice = choose_customer(tracks, 0)
    assert choice.id == 2 and "prominent" in choice.reason


def test_follow_tracks_chooses_and_reports_in_one_call():
    """follow(): detector-numbered frames in, stable ids and the run.json roles out; the subject's
    landmarks stack into a LandmarkTrack with the subject's frames filled."""
    import numpy as np

    from vision.detect.landmarks import LandmarkTrack
    from vision.track.subject import follow

    people = [make_person(hip_px=(180, 380), px_per_m=200), make_person(hip_px=(460, 380), px_per_m=300)]
    frames = [FrameLandmarks(i, i / 10.0, [_with_id(p, k) for k, p in enumerate(people[::(-1) ** i])])
              for i in range(20)]
    tracked, out = follow(frames, WH, 10.0, subject="right")
    assert out["subject"]["how"] == "right" and out["customer"]["how"] == "auto"
    right = out["subject"]["id"]
    track = LandmarkTrack.from_frames(tracked, right, WH)
    assert np.isfinite(track.pose_xyz[:, 23, 0]).all()
    assert np.all(track.pose_xyz[:, 23:25, 0].mean(axis=1) * WH[0] > 400)  # always the person on the right
    roles_by_id = {p["id"]: p["role"] for p in out["people"]}
    assert roles_by_id == {right: "trainee", 1 - right: "customer"}
