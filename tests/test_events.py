"""vision.io.events: the event log survives a round trip and a crash; the CSV keeps the Chinese text."""
import csv
import json

import pytest

from vision.io.events import CSV_COLUMNS, Event, EventWriter, read_events, write_csv


def make_event(**kw) -> Event:
    base = dict(rule="gesture.face_touch", kind="violation", start_s=1.2, end_s=2.5, start_frame=12, end_frame=25,
                person=0, severity="medium", clause="1.1.8 接待客户过程中不良动作 (触摸面部)", message_zh="用手触摸面部",
                message_en="Touching the face",
                peak={"feature": "hand_face_dist", "value": 0.0312, "time_s": 1.9, "frame": 19},
                evidence={"hand_face_dist": 0.0312, "hand_nose_dist": None, "region": "cheek"})
    base.update(kw)
    return Event(**base)


EVENTS = [make_event(), make_event(rule="face.smile", kind="desired", start_s=3.0, end_s=3.0, start_frame=30,
                                   end_frame=30, severity="info", message_zh="面带微笑", message_en="Smiling",
                                   peak={}, evidence={}, source="audio")]


def test_jsonl_round_trip_gives_back_the_same_events(tmp_path):
    path = tmp_path / "run" / "events.jsonl"  # the writer makes the folder
    with EventWriter(path) as w:
        for e in EVENTS:
            w.write(e)
    assert w.count == 2
    assert read_events(path) == EVENTS
    assert "用手触摸面部" in path.read_text(encoding="utf-8")  # readable, not \\u-escaped


def test_each_event_is_on_disk_as_soon_as_it_is_written(tmp_path):
    path = tmp_path / "events.jsonl"
    w = EventWriter(path)
    try:
        w.write(EVENTS[0])
        assert read_events(path) == EVENTS[:1]  # before close: a crash now loses nothing
    finally:
        w.close()


def test_json_line_has_duration_and_times_rounded_consistently(tmp_path):
    e = make_event(start_s=1 / 3, end_s=2 / 3)
    d = e.to_json()
    assert (d["start_s"], d["end_s"], d["duration_s"]) == (0.3333, 0.6667, 0.3334)
    back = Event.from_json(json.loads(json.dumps(d)))
    assert back.to_json() == d


def test_a_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as w:
        for e in EVENTS:
            w.write(e)
    whole = json.dumps(EVENTS[0].to_json(), ensure_ascii=False)
    with open(path, "a", encoding="utf-8") as f:
        f.write(whole[: len(whole) // 2])  # the crash happened mid-line
    assert read_events(path) == EVENTS


def test_a_broken_line_before_the_end_is_an_error_not_silently_dropped(tmp_path):
    path = tmp_path / "events.jsonl"
    good = json.dumps(EVENTS[0].to_json(), ensure_ascii=False)
    path.write_text(good + "\n" + good[:20] + "\n" + good + "\n", encoding="utf-8")
    with pytest.raises(ValueError):
        read_events(path)


def test_event_rejects_end_before_start_showing_both_values():
    with pytest.raises(ValueError, match=r"end_s 1\.0 is before start_s 2\.5"):
        make_event(start_s=2.5, end_s=1.0)
    with pytest.raises(ValueError, match=r"end_frame 3 is before start_frame 9"):
        make_event(start_frame=9, end_frame=3)


def test_a_one_frame_event_is_valid_and_lasts_zero_seconds():
    e = make_event(start_s=4.0, end_s=4.0, start_frame=40, end_frame=40)
    assert e.duration_s == 0.0


def test_csv_has_the_columns_a_bom_and_the_chinese_text(tmp_path):
    path = tmp_path / "events.csv"
    write_csv(EVENTS, path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == CSV_COLUMNS
    first = dict(zip(CSV_COLUMNS, rows[1]))
    assert first["message_zh"] == "用手触摸面部"
    assert first["clause"] == "1.1.8 接待客户过程中不良动作 (触摸面部)"
    assert (first["start_s"], first["end_s"], first["duration_s"]) == ("1.200", "2.500", "1.300")
    assert (first["peak_feature"], first["peak_value"], first["region"]) == ("hand_face_dist", "0.0312", "cheek")
    second = dict(zip(CSV_COLUMNS, rows[2]))
    assert (second["peak_feature"], second["region"], second["source"]) == ("", "", "audio")
    assert len(rows) == 3


def test_csv_of_no_events_has_just_the_header(tmp_path):
    path = tmp_path / "events.csv"
    write_csv([], path)
    assert path.read_text(encoding="utf-8-sig").splitlines() == [",".join(CSV_COLUMNS)]
