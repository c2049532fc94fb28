"""vision.io.cache: landmarks written in parts read back unchanged; frames with nobody become NaN rows."""
import json

import numpy as np
import pytest

from builders import make_frames, make_person
from vision.io.cache import CacheError, LandmarkCacheWriter, load_meta, load_tracks
from vision.detect.landmarks import PERSON_ARRAYS, FrameLandmarks


def write_cache(run_dir, frames, chunk=4, wh=(640, 480)):
    w = LandmarkCacheWriter(run_dir, wh, {"source": "synthetic.mp4", "fps": 29.97}, chunk=chunk)
    for f in frames:
        w.append(f)
    w.close()


def test_round_trip_over_several_parts_with_a_frame_where_nobody_was_seen(tmp_path):
    specs = [dict(hand_at="nose"), dict(trunk_pitch_deg=10.0), None, dict(hand_at=None), dict(mouth_open=0.2),
             dict(facing="right"), dict(), None, dict(hand_at="ear"), dict(smile=0.1)]
    frames = make_frames(specs, fps=29.97)
    write_cache(tmp_path, frames, chunk=4)
    assert sorted(p.name for p in (tmp_path / "landmarks").glob("*.npz")) == [
        "part-00000.npz", "part-00001.npz", "part-00002.npz"]  # 4 + 4 + 2 frames
    tracks = load_tracks(tmp_path)
    assert list(tracks) == [0]
    track = tracks[0]
    assert track.image_wh == (640, 480)
    np.testing.assert_array_equal(track.timestamp_s, [f.timestamp_s for f in frames])  # float64, exact
    np.testing.assert_array_equal(track.frame_index, np.arange(10))
    for i, f in enumerate(frames):
        for name in PERSON_ARRAYS:
            got = getattr(track, name)[i]
            if f.people:
                np.testing.assert_array_equal(got, getattr(f.people[0], name), err_msg=f"frame {i} {name}")
            else:
                assert np.isnan(got).all(), f"frame {i} {name}: nobody seen must be NaN, not zero"


def test_meta_keeps_the_image_size_and_the_float_fps(tmp_path):
    write_cache(tmp_path, make_frames([{}]))
    meta = load_meta(tmp_path)
    assert meta["image_wh"] == [640, 480] and meta["fps"] == 29.97 and meta["source"] == "synthetic.mp4"
    assert json.loads((tmp_path / "landmarks" / "meta.json").read_text(encoding="utf-8")) == meta


def test_two_people_become_two_tracks_each_nan_where_absent(tmp_path):
    a, b = make_person(person_id=0), make_person(person_id=1, hip_px=(100, 360))
    frames = [FrameLandmarks(0, 0.0, [a, b]), FrameLandmarks(1, 0.1, [b]), FrameLandmarks(2, 0.2, [a])]
    write_cache(tmp_path, frames, chunk=2)
    tracks = load_tracks(tmp_path)
    assert sorted(tracks) == [0, 1]
    assert np.isnan(tracks[0].pose_xyz[1]).all() and np.isnan(tracks[1].pose_xyz[2]).all()
    np.testing.assert_array_equal(tracks[1].pose_xyz[1], b.pose_xyz)
    np.testing.assert_array_equal(tracks[0].pose_xyz[2], a.pose_xyz)


def test_a_cache_of_nobody_gives_one_all_nan_track(tmp_path):
    write_cache(tmp_path, [FrameLandmarks(i, i / 10, []) for i in range(6)])
    tracks = load_tracks(tmp_path)
    assert list(tracks) == [0] and len(tracks[0]) == 6
    assert np.isnan(tracks[0].face_xyz).all()


def test_a_new_writer_replaces_the_parts_of_an_older_run(tmp_path):
    write_cache(tmp_path, make_frames([{}] * 9), chunk=4)
    write_cache(tmp_path, make_frames([{}] * 3), chunk=4)
    assert len(load_tracks(tmp_path)[0]) == 3


def test_missing_cache_is_a_one_line_cache_error(tmp_path):
    with pytest.raises(CacheError, match="no landmark cache"):
        load_tracks(tmp_path)


def test_a_damaged_part_is_named_in_the_error(tmp_path):
    write_cache(tmp_path, make_frames([{}] * 5), chunk=4)
    part = tmp_path / "landmarks" / "part-00001.npz"
    part.write_bytes(part.read_bytes()[:50])
    with pytest.raises(CacheError, match="part-00001.npz: unreadable"):
        load_tracks(tmp_path)
