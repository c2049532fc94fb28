"""vision.features.smoothing: the One Euro filter smooths jitter, follows motion, and keeps NaN as not seen."""
import numpy as np
import pytest

from vision.features.smoothing import OneEuroFilter, OneEuroParams

FPS = 30.0


def _run(f, xs):
    return np.array([f(x, i / FPS) for i, x in enumerate(xs)])


def test_jitter_on_a_still_point_is_reduced():
    """A landmark that does not move, seen with 5 mm-like noise, comes out with much less spread."""
    rng = np.random.default_rng(1)
    xs = 0.5 + rng.normal(0, 0.01, size=(300, 2))
    out = _run(OneEuroFilter(OneEuroParams(min_cutoff_hz=1.0, beta=0.0)), xs)
    assert out[30:].std(axis=0).max() < 0.35 * xs[30:].std(axis=0).min()
    np.testing.assert_allclose(out[30:].mean(axis=0), 0.5, atol=0.005)


def test_speed_raises_the_cutoff_so_a_fast_move_lags_less():
    """With beta > 0 a fast ramp is followed more closely than with a fixed cutoff."""
    t = np.arange(60) / FPS
    xs = np.where(t < 1.0, 0.0, (t - 1.0) * 2.0)[:, None]  # still, then 2 units/s
    slow = _run(OneEuroFilter(OneEuroParams(min_cutoff_hz=1.0, beta=0.0)), xs)
    fast = _run(OneEuroFilter(OneEuroParams(min_cutoff_hz=1.0, beta=5.0)), xs)
    lag_slow, lag_fast = abs(xs[-1, 0] - slow[-1, 0]), abs(xs[-1, 0] - fast[-1, 0])
    assert lag_fast < 0.5 * lag_slow


def test_nan_stays_nan_and_a_reappearing_point_starts_from_its_new_value():
    """Not seen is NaN out; seen again at a new place it is not dragged from the old one."""
    f = OneEuroFilter(OneEuroParams(min_cutoff_hz=0.5))
    for i in range(10):
        f(np.array([0.2, 0.2]), i / FPS)
    out = f(np.array([np.nan, 0.2]), 10 / FPS)
    assert np.isnan(out[0]) and out[1] == pytest.approx(0.2)
    back = f(np.array([0.8, 0.2]), 11 / FPS)
    assert back[0] == pytest.approx(0.8)


def test_causal_a_prefix_gives_the_same_values():
    """Each output depends on the past only: the first half filtered alone equals the first half of the whole."""
    rng = np.random.default_rng(2)
    xs = rng.normal(0, 1, size=(50, 3))
    whole = _run(OneEuroFilter(OneEuroParams(beta=0.3)), xs)
    half = _run(OneEuroFilter(OneEuroParams(beta=0.3)), xs[:25])
    np.testing.assert_array_equal(whole[:25], half)


def test_time_must_increase_and_params_are_checked():
    f = OneEuroFilter()
    f(np.zeros(2), 1.0)
    with pytest.raises(ValueError, match="increase"):
        f(np.zeros(2), 1.0)
    with pytest.raises(ValueError, match="min_cutoff_hz"):
        OneEuroParams(min_cutoff_hz=0)
    with pytest.raises(ValueError, match="beta"):
        OneEuroParams(beta=-1)


# --- landmarks: the rules.yaml block, the track and the live path -------------------------------------------
from builders import jittered, make_frames, make_track, segments  # noqa: E402
from vision.features.smoothing import LandmarkSmoother, SmoothingConfig, smooth_person, smooth_track  # noqa: E402
from vision.features.table import compute_features  # noqa: E402
from vision.detect.landmarks import PersonLandmarks  # noqa: E402

ON = SmoothingConfig.from_yaml({"pose": {"min_cutoff_hz": 1.0, "beta": 2.4},
                                "face": {"min_cutoff_hz": 1.0, "beta": 4.8},
                                "hands": {"min_cutoff_hz": 1.0, "beta": 2.4}})
STILL_HAND = dict(facing="right", hand_at="mouth", hand_dist=0.2)


def test_the_smoothing_block_is_checked_and_names_the_bad_key():
    """A wrong key or value in rules.yaml `smoothing:` is an error naming it; no block means no smoothing."""
    assert not SmoothingConfig.from_yaml(None).active
    assert not SmoothingConfig.from_yaml({"enabled": False, "pose": {"min_cutoff_hz": 1.0}}).active
    assert ON.active and set(ON.families) == {"pose", "face", "hands"}
    with pytest.raises(ValueError, match="unknown key"):
        SmoothingConfig.from_yaml({"pose": {"min_cutoff_hz": 1.0}, "feet": {}})
    with pytest.raises(ValueError, match=r"smoothing\.face\.beta: must be a number"):
        SmoothingConfig.from_yaml({"face": {"beta": "fast"}})
    with pytest.raises(ValueError, match=r"smoothing\.hands: .*min_cutoff_hz"):
        SmoothingConfig.from_yaml({"hands": {"min_cutoff_hz": 0}})


def test_a_smoothed_track_equals_the_frames_smoothed_one_by_one():
    """Offline (the whole track) and live (frame by frame) give bit-identical landmarks, gaps included."""
    specs = jittered(segments((2.0, STILL_HAND), (0.5, None), (2.0, dict(facing="right", hand_at="ear"))), 0.01)
    whole = smooth_track(make_track(specs), ON)
    live = LandmarkSmoother(ON)
    for i, frame in enumerate(make_frames(specs)):
        if frame.people:
            p = smooth_person(live, frame.people[0], frame.timestamp_s)
            np.testing.assert_array_equal(p.face_xyz, whole.face_xyz[i])
            np.testing.assert_array_equal(p.right_hand_xyz, whole.right_hand_xyz[i])
            np.testing.assert_array_equal(p.pose_visibility, whole.pose_visibility[i])  # not a position: as seen
        else:
            smooth_person(live, PersonLandmarks(0), frame.timestamp_s)  # nobody: all NaN
            assert np.isnan(whole.face_xyz[i]).all()


def test_smoothing_off_returns_the_landmarks_untouched():
    track = make_track(jittered(segments((1.0, STILL_HAND)), 0.01))
    assert smooth_track(track, SmoothingConfig()) is track


def test_smoothed_landmarks_make_a_still_hand_s_distance_steadier():
    """Jitter on a still hand near the mouth moves hand_mouth_dist; after the filter it moves less than half."""
    track = make_track(jittered(segments((6.0, STILL_HAND)), 0.004, seed=3))
    raw = compute_features(track)["hand_mouth_dist"][20:]
    smooth = compute_features(smooth_track(track, ON))["hand_mouth_dist"][20:]
    assert np.nanstd(smooth) < 0.5 * np.nanstd(raw)
    assert abs(np.nanmean(smooth) - np.nanmean(raw)) < 0.02  # steadier, not displaced


def test_a_person_seen_again_is_not_dragged_from_where_they_were():
    """After a gap (nobody), the first frame back is the new position itself, not a blend with the old one."""
    specs = segments((2.0, dict(facing="right", hand_at="lap")), (0.3, None), (1.0, dict(facing="right", hand_at="ear")))
    raw, smooth = make_track(specs), smooth_track(make_track(specs), ON)
    back = 23
    np.testing.assert_array_equal(smooth.right_hand_xyz[back], raw.right_hand_xyz[back])
    assert np.isnan(smooth.right_hand_xyz[20:23]).all()
