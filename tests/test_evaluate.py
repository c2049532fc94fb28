"""vision.evaluate: events matched to labels one to one; false positives only where the clip assesses the rule."""
from vision.evaluate import FAMILIES, Score, score_clip
from vision.io.events import Event


def ev(rule, start, end):
    return Event(rule, "violation", start, end, int(start * 10), int(end * 10), 0, "medium", "", "", "")


def score(clip, events, rules, pooled=None, wrong_view=()):
    scores = {}
    score_clip({"file": "x.mp4", **clip}, events, rules, 0.25, scores, pooled=pooled, wrong_view=wrong_view)
    return scores


def test_one_event_per_labelled_episode_is_a_hit():
    s = score({"events": [{"rule": "sit.slouch", "start": 2.0, "end": 5.0}]}, [ev("sit.slouch", 2.1, 4.8)],
              ["sit.slouch"])["sit.slouch"]
    assert (s.tp, s.fp, s.fn) == (1, 0, 0)
    assert len(s.onset_errors) == 1 and abs(s.onset_errors[0] - 0.1) < 1e-9


def test_two_events_for_one_episode_are_one_hit_and_one_false_positive():
    """One to one: the event nearest in onset is the hit, the other a false positive (the clip assesses the rule)."""
    s = score({"events": [{"rule": "sit.slouch", "start": 2.0, "end": 8.0}]},
              [ev("sit.slouch", 2.2, 3.0), ev("sit.slouch", 5.0, 7.5)], ["sit.slouch"])["sit.slouch"]
    assert (s.tp, s.fp, s.fn) == (1, 1, 0)
    assert abs(s.onset_errors[0] - 0.2) < 1e-9


def test_one_event_cannot_hit_two_labels():
    """An event spanning two labelled episodes matches one of them; the other is a miss."""
    clip = {"events": [{"rule": "gesture.phone", "start": 1.0, "end": 2.0},
                       {"rule": "gesture.phone", "start": 3.0, "end": 4.0}]}
    s = score(clip, [ev("gesture.phone", 1.0, 4.0)], ["gesture.phone"])["gesture.phone"]
    assert (s.tp, s.fp, s.fn) == (1, 0, 1)


def test_events_are_ignored_where_the_clip_says_nothing_about_the_rule():
    s = score({"events": [{"rule": "sit.slouch", "start": 0, "end": 1}]}, [ev("gesture.phone", 0, 1)],
              ["sit.slouch", "gesture.phone"])
    assert "gesture.phone" not in s or s["gesture.phone"].fp == 0


def test_an_event_of_an_absent_rule_is_a_false_positive():
    s = score({"absent": ["gesture.phone"]}, [ev("gesture.phone", 0, 1)], ["gesture.phone"])["gesture.phone"]
    assert (s.tp, s.fp, s.fn, s.absent_clips) == (0, 1, 0, 1)


def test_family_pooling_matches_any_member_once():
    """Pooled: a nose-pick label is hit by a face-touch event; a second member event on it is a false positive."""
    members = FAMILIES["face-touch family"]
    clip = {"events": [{"rule": "gesture.nose_pick", "start": 1.0, "end": 3.0}]}
    s = score(clip, [ev("gesture.face_touch", 1.0, 2.0), ev("gesture.hair", 2.5, 3.0)], list(members),
              pooled=members)[members[0]]
    assert (s.tp, s.fp, s.fn) == (1, 1, 0)


def test_a_miss_where_the_view_cannot_be_judged_is_not_judged():
    s = score({"events": [{"rule": "arms_crossed", "start": 0, "end": 5}]}, [], ["arms_crossed"],
              wrong_view={"arms_crossed"})["arms_crossed"]
    assert (s.tp, s.fn, s.not_judged) == (0, 0, 1)
    assert Score(tp=1, fp=1, fn=0).f1 == 2 * 0.5 * 1.0 / 1.5
