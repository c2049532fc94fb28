"""vision.judge.engine: per-rule state machine (hysteresis, min duration, merge gap) on hand-made feature columns.

All tables run at 10 fps: row i is at i / 10 s.
"""
import numpy as np
import pytest

from builders import feature_table
from conftest import one_rule
from vision.judge.engine import Engine
from vision.judge.rules import parse_rules
from vision.features.table import FeatureTable

NAN = np.nan


def run(rules, still=False, **columns):
    eng = Engine(rules, person=0, baseline={}, still=still)
    return eng.feed(feature_table(**columns)) + eng.finish(), eng


def table_slice(table, a, b):
    """Rows [a, b) of a FeatureTable."""
    return FeatureTable(table.timestamp_s[a:b], table.frame_index[a:b], {k: v[a:b] for k, v in table.values.items()})


def spans(events):
    return [(e.start_s, e.end_s) for e in events]


def test_hysteresis_enters_at_the_enter_threshold_and_stays_until_the_exit_threshold():
    rules = one_rule("smile", "above", 0.5, exit=0.3)
    #                 0    1    2    3    4     5    6    7
    events, _ = run(rules, smile=[0.0, 0.4, 0.6, 0.4, 0.35, 0.2, 0.4, 0.1])
    assert spans(events) == [(0.2, 0.4)]  # 0.4 at row 6 is above exit but not enter: no new event


def test_a_below_rule_enters_under_enter_and_leaves_over_exit():
    rules = one_rule("hand_face_dist", "below", 0.09, exit=0.14)
    events, _ = run(rules, hand_face_dist=[0.2, 0.1, 0.05, 0.12, 0.13, 0.15, 0.08])
    assert spans(events) == [(0.2, 0.4), (0.6, 0.6)]


def test_end_is_inclusive_the_last_frame_that_held():
    rules = one_rule("smile", "above", 0.5)
    events, _ = run(rules, smile=[0, 1, 1, 1, 0, 0, 1, 0])
    first, single = events
    assert (first.start_s, first.end_s, first.start_frame, first.end_frame) == (0.1, 0.3, 1, 3)
    assert (single.start_s, single.end_s) == (0.6, 0.6)  # a one-frame event has start == end
    assert first.duration_s == pytest.approx(0.2)


def test_min_duration_drops_short_blips_and_keeps_events_that_last_long_enough():
    rules = one_rule("smile", "above", 0.5, min_duration_s=0.5)
    blip = [1] * 5  # 0.0 .. 0.4: lasts 0.4 s
    held = [1] * 6  # 0.0 .. 0.5: lasts 0.5 s
    smile = [0] + blip + [0] * 5 + held + [0]
    events, _ = run(rules, smile=smile)
    assert spans(events) == [(1.1, 1.6)]


@pytest.mark.parametrize("gap_rows, n_events", [(1, 1), (3, 1), (5, 1), (7, 2), (20, 2)])
def test_merge_gap_bridges_short_gaps_and_splits_at_long_ones(gap_rows, n_events):
    """merge_gap_s 0.5 at 10 fps: up to 5 rows that do not hold are bridged."""
    rules = one_rule("smile", "above", 0.5, merge_gap_s=0.5)
    smile = [1] * 5 + [0] * gap_rows + [1] * 5 + [0]
    events, _ = run(rules, smile=smile)
    assert len(events) == n_events
    assert events[0].start_s == 0.0 and events[-1].end_s == pytest.approx((9 + gap_rows) / 10)
    if n_events == 2:
        assert events[0].end_s == pytest.approx(0.4)


def test_a_gap_ends_only_when_the_enter_threshold_comes_back():
    """Inside a merge gap the event resumes on *enter*, not on the looser exit threshold."""
    rules = one_rule("smile", "above", 0.5, exit=0.3, merge_gap_s=1.0)
    events, _ = run(rules, smile=[0.6, 0.6, 0.1, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.6, 0.0])
    assert spans(events) == [(0.0, 0.1), (1.3, 1.3)]


def test_nan_never_fires():
    for op in ("above", "below"):
        events, eng = run(one_rule("smile", op, 0.5), smile=[NAN] * 30)
        assert events == [] and eng.judged_s["r"] == 0.0


def test_nan_inside_an_event_is_a_gap_and_the_event_ends_at_the_last_seen_frame():
    rules = one_rule("smile", "above", 0.5, merge_gap_s=0.5)
    events, _ = run(rules, smile=[1, 1, 1, NAN, NAN, 1, 1, NAN, NAN, NAN, NAN, NAN, NAN, NAN])
    assert spans(events) == [(0.0, 0.6)]


def test_still_image_mode_logs_at_zero_regardless_of_duration():
    rules = one_rule("smile", "above", 0.5, min_duration_s=5.0)
    events, _ = run(rules, still=True, smile=[0.9])
    assert spans(events) == [(0.0, 0.0)]
    assert events[0].start_frame == events[0].end_frame == 0
    assert run(rules, still=False, smile=[0.9])[0] == []  # a video frame is held to the minimum


def test_feeding_rows_one_at_a_time_gives_the_same_events_as_all_at_once():
    rng = np.random.default_rng(3)
    x = np.sin(np.arange(600) / 10 * 1.3) + rng.normal(0, 0.3, 600)
    x[rng.random(600) < 0.05] = NAN
    rules = one_rule("smile", "above", 0.5, exit=0.2, min_duration_s=0.3, merge_gap_s=0.4, kind="desired")
    table = feature_table(smile=x)
    whole = Engine(rules, 0, {})
    expected = whole.feed(table) + whole.finish()
    assert len(expected) >= 3, "the scenario should produce several events"
    for chunks in ([1] * 600, [7, 1, 250, 2, 340]):
        eng, got, i = Engine(rules, 0, {}), [], 0
        for n in chunks:
            got += eng.feed(table_slice(table, i, i + n))
            i += n
        got += eng.finish()
        assert [e.to_json() for e in got] == [e.to_json() for e in expected]
        assert eng.time_share() == whole.time_share()


def test_events_are_returned_by_feed_as_soon_as_the_gap_has_passed():
    rules = one_rule("smile", "above", 0.5, merge_gap_s=0.25)
    table = feature_table(smile=[1, 1, 0, 0, 0, 0, 0])
    eng = Engine(rules, 0, {})
    closed_at = [i for i in range(len(table)) if eng.feed(table_slice(table, i, i + 1))]
    assert closed_at == [4]  # last held at 0.1 s; at 0.4 s the 0.25 s gap has passed
    assert eng.finish() == []


def test_peak_is_the_most_extreme_value_inside_the_event():
    events, _ = run(one_rule("smile", "above", 0.5), smile=[0, 0.6, 0.9, 0.7, 0])
    assert events[0].peak == {"feature": "smile", "value": 0.9, "time_s": 0.2, "frame": 2}
    events, _ = run(one_rule("hand_face_dist", "below", 0.1), hand_face_dist=[1, 0.05, 0.01, 0.08, 1])
    assert events[0].peak["value"] == 0.01


def test_face_touch_reports_the_closest_region(rules):
    touch = [0.5, 0.05, 0.05, 0.05, 0.05, 0.5]
    cols = {f"hand_{r}_dist": [0.5] * 6 for r in ("nose", "mouth", "eyes", "chin", "cheek", "forehead", "ear", "hair")}
    cols["hand_cheek_dist"] = touch
    cols["hand_mouth_dist"] = [0.5, 0.2, 0.2, 0.2, 0.2, 0.5]
    n = 6
    table = feature_table(hand_face_dist=touch, trunk_pitch_deg=[0.0] * n, smile=[0.0] * n, **cols)
    eng = Engine(rules, 0, {"trunk_pitch_deg": 0.0})
    events = eng.feed(table) + eng.finish()
    assert [e.rule for e in events] == ["gesture.face_touch"]
    assert events[0].evidence["region"] == "cheek"
    assert events[0].evidence["hand_face_dist"] == 0.05 and events[0].evidence["hand_nose_dist"] == 0.5


def test_time_share_of_a_desired_rule_counts_only_time_it_could_be_judged():
    rules = one_rule("smile", "above", 0.5, kind="desired")
    _, eng = run(rules, smile=[1.0] * 50 + [0.0] * 50)
    # each row accounts for the 0.1 s since the row before it
    assert eng.time_share() == {"r": {"active_s": 4.9, "judged_s": 9.9, "share": round(4.9 / 9.9, 4)}}
    _, eng = run(rules, smile=[1.0] * 50 + [NAN] * 50)
    assert eng.time_share()["r"]["share"] == 1.0  # unseen time is not judged
    _, eng = run(rules, smile=[NAN] * 10)
    assert eng.time_share()["r"]["share"] is None


def test_time_share_lists_desired_rules_only():
    _, eng = run(one_rule("smile", "above", 0.5, kind="violation"), smile=[1.0] * 10)
    assert eng.time_share() == {}



def test_an_event_exactly_min_duration_long_is_kept_wherever_it_starts():
    rules = one_rule("smile", "above", 0.5, min_duration_s=0.5)
    kept = [len(run(rules, smile=[0] * start + [1] * 6 + [0] * 3)[0]) for start in range(40)]
    assert kept == [1] * 40  # 6 rows at 10 fps: end_s - start_s == 0.5


def test_a_gap_exactly_merge_gap_long_is_treated_the_same_wherever_it_happens():
    rules = one_rule("smile", "above", 0.5, merge_gap_s=0.3)
    counts = {len(run(rules, smile=[0] * start + [1] * 3 + [0] * 3 + [1] * 3 + [0] * 5)[0]) for start in range(40)}
    assert counts == {1}


def test_not_judged_spans_are_merged_runs_of_frames_with_their_reason_in_any_chunking():
    """NaN smile (not seen) at 0.2-0.4 s and from 0.8 s: two spans, the last still open at the end; the same
    spans whether the rows come one at a time or all at once."""
    smile = [0.1, 0.1, NAN, NAN, NAN, 0.6, 0.7, 0.1, NAN, NAN]
    _, whole = run(one_rule("smile", "above", 0.5), smile=smile)
    assert whole.not_judged_spans() == {"r": [[0.2, 0.4, "not_seen"], [0.8, 0.9, "not_seen"]]}
    table = feature_table(smile=smile)
    eng = Engine(one_rule("smile", "above", 0.5), person=0, baseline={})
    for i in range(len(smile)):
        eng.feed(table_slice(table, i, i + 1))
    assert eng.not_judged_spans() == whole.not_judged_spans()


def test_a_rule_out_of_its_camera_views_gets_camera_view_spans_and_nobody_there_is_not_seen():
    rules = parse_rules("rules:\n  - {id: r, kind: violation, clause: c, message: {zh: z, en: e}, views: [side],\n"
                        "     all: [{feature: smile, above: 0.5}]}\n", "t.yaml")
    # profile 0.9 = side (judged), 0.1 = front (camera view) while someone is there, then nobody (body_scale NaN)
    _, eng = run(rules, smile=[0.1] * 6, profile=[0.9, 0.9, 0.1, 0.1, 0.1, 0.1],
                 body_scale=[1, 1, 1, 1, NAN, NAN])
    assert eng.not_judged_spans()["r"] == [[0.2, 0.3, "camera_view"], [0.4, 0.5, "not_seen"]]


ANY_RULE = """\
rules:
  - id: r
    kind: {kind}
    clause: c
    message: {{zh: 中文, en: english}}
    any:
      - {{feature: smile, above: 0.5, exit: 0.4}}
      - {{feature: trunk_pitch_deg, above: 20, exit: 5}}
    min_duration_s: {min_duration_s}
    merge_gap_s: 0.0
"""


def any_rule(kind="violation", min_duration_s=0.0):
    from vision.judge.rules import parse_rules

    return parse_rules(ANY_RULE.format(kind=kind, min_duration_s=min_duration_s), "test.yaml")


def test_an_any_rule_stays_on_only_through_the_branch_that_entered():
    """The smile branch enters at 0.2 s and ends at 0.5 s; the trunk sits at 10 deg all along, above its loose
    exit (5) but never at its enter (20): the event ends with the smile, not when the trunk drops at 0.8 s."""
    events, _ = run(any_rule(), smile=[0.0, 0.0, 0.6, 0.45, 0.45, 0.45, 0.0, 0.0, 0.0, 0.0],
                    trunk_pitch_deg=[10.0] * 8 + [0.0] * 2)
    assert spans(events) == [(0.2, 0.5)]
    # the trunk branch entering (25 deg) keeps the event on through its own exit, after the smile ended
    events, _ = run(any_rule(), smile=[0.0, 0.0, 0.6, 0.0, 0.0, 0.0, 0.0, 0.0],
                    trunk_pitch_deg=[10.0, 10.0, 25.0, 10.0, 10.0, 4.0, 4.0, 4.0])
    assert spans(events) == [(0.2, 0.4)]


def test_an_any_rule_fed_in_pieces_gives_the_same_events():
    """The branch states carry from one feed to the next (the streaming analyzer feeds blocks of frames)."""
    cols = dict(smile=[0.0, 0.6, 0.45, 0.45, 0.0, 0.0, 0.6, 0.0], trunk_pitch_deg=[10.0] * 8)
    whole, _ = run(any_rule(), **cols)
    table = feature_table(**cols)
    eng = Engine(any_rule(), person=0, baseline={})
    pieces = [e for a, b in ((0, 2), (2, 3), (3, 8)) for e in eng.feed(table_slice(table, a, b))] + eng.finish()
    assert spans(pieces) == spans(whole) == [(0.1, 0.3), (0.6, 0.6)]


def test_a_time_share_counts_only_episodes_kept_after_min_duration():
    """A desired state held 0.2 s (dropped by min_duration_s 0.5) adds nothing to its time share; one held
    2 s adds its 2 s."""
    rules = one_rule("smile", "above", 0.5, kind="desired", min_duration_s=0.5)
    _, eng = run(rules, smile=[0.0] + [1.0] * 3 + [0.0] * 6 + [1.0] * 21 + [0.0] * 9)
    share = eng.time_share()["r"]
    assert share["active_s"] == pytest.approx(2.0) and share["judged_s"] == pytest.approx(3.9)


def _touch_and_drink(yields: str = "{rule: drink, regions: [mouth]}"):
    """A touch rule (hand_face_dist below 0.1, from 0.3 s) that yields to a drink rule (a cup at the mouth, certain
    after 0.5 s) while the hand is nearest the mouth; a call rule (a phone vote) is there to be yielded to."""
    return parse_rules(f"""\
rules:
  - id: touch
    clause: c
    message: {{zh: 中文, en: english}}
    all:
      - {{feature: hand_face_dist, below: 0.1}}
    min_duration_s: 0.3
    region_from: "hand_{{region}}_dist"
    yields_to: {yields}
  - id: drink
    clause: c
    message: {{zh: 中文, en: english}}
    all:
      - {{feature: mouth_object_vote_2s, above: 0.5}}
    min_duration_s: 0.5
  - id: call
    clause: c
    message: {{zh: 中文, en: english}}
    all:
      - {{feature: phone_vote_2s, above: 0.5}}
    min_duration_s: 1.0
""", "test.yaml")


def _hold(at: str, n: int = 40, drink_from: int = 15):
    """The hand on the face region ``at`` for ``n`` rows; the drink rule's cup seen from row ``drink_from``."""
    cols = {f"hand_{r}_dist": [0.5] * n for r in ("nose", "mouth", "eyes", "chin", "cheek", "forehead", "ear", "hair")}
    cols[f"hand_{at}_dist"] = [0.02] * n
    return dict(hand_face_dist=[0.02] * n, mouth_object_vote_2s=[0.0] * drink_from + [1.0] * (n - drink_from),
                phone_vote_2s=[0.0] * n, **cols)


def test_a_touch_at_the_mouth_gives_way_once_the_drink_is_certain_and_one_elsewhere_does_not():
    """One drink, one event: the touch open at the mouth is dropped once the drink has lasted its minimum, and
    does not come back while it lasts; a hand at the eyes meanwhile is a touch of its own. Fed a row at a time, the
    same events."""
    rules = _touch_and_drink()
    events, _ = run(rules, **_hold("mouth"))
    assert [e.rule for e in events] == ["drink"]
    events, _ = run(rules, **_hold("eyes"))
    assert sorted(e.rule for e in events) == ["drink", "touch"]
    eng = Engine(rules, person=0, baseline={})
    table = feature_table(**_hold("mouth"))
    one_by_one = [ev for i in range(len(table)) for ev in eng.feed(table_slice(table, i, i + 1))] + eng.finish()
    assert [e.rule for e in one_by_one] == ["drink"]


def test_a_touch_that_ended_before_the_drink_was_certain_is_kept():
    """The touch closed (hand away) before the drink lasted its minimum: it was a touch, and it stays."""
    hold = _hold("mouth", n=40, drink_from=20)
    hold["hand_face_dist"] = [0.02] * 10 + [0.5] * 30
    events, _ = run(_touch_and_drink(), **hold)
    assert sorted(e.rule for e in events) == ["drink", "touch"]


def test_a_touch_gives_way_to_each_rule_it_yields_to_at_that_rules_regions():
    """``yields_to`` as a list: the touch at the ear gives way to the call once the call has lasted its 1 s, the
    touch at the mouth to the drink; a touch at the ear does not give way to the drink, nor one at the eyes to
    either."""
    rules = _touch_and_drink("[{rule: drink, regions: [mouth]}, {rule: call, regions: [ear, cheek]}]")
    phone = _hold("ear", drink_from=40)
    phone["phone_vote_2s"] = [0.0] * 5 + [1.0] * 35
    events, _ = run(rules, **phone)
    assert [e.rule for e in events] == ["call"]
    events, _ = run(rules, **_hold("mouth"))
    assert [e.rule for e in events] == ["drink"]
    events, _ = run(rules, **_hold("ear"))  # the cup at the mouth, the hand at the ear
    assert sorted(e.rule for e in events) == ["drink", "touch"]
    phone_eyes = {**_hold("eyes", drink_from=40), "phone_vote_2s": phone["phone_vote_2s"]}
    events, _ = run(rules, **phone_eyes)
    assert sorted(e.rule for e in events) == ["call", "touch"]
