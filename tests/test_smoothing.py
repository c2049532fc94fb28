"""vision.features.smoothing: the One Euro filter smooths jitter, follows motion, and keeps NaN as not seen."""
import numpy as np
import pytest

from dataclasses import replace

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
from builders import jittered, make_track, segments  # noqa: E402
from vision.features.smoothing import LandmarkSmoother, SmoothingConfig, smooth_track  # noqa: E402
from vision.features.table import compute_features  # noqa: E402

from conftest import REPO  # noqa: E402
import yaml  # noqa: E402

#: rules.yaml's parameters, switched on
ON = SmoothingConfig.from_yaml({**yaml.safe_load((REPO / "rules.yaml").read_text(encoding="utf-8"))["smoothing"],
                                "enabled": True})
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


def test_a_smoothed_track_equals_the_track_smoothed_in_blocks():
    """Offline (the whole track) and live (blocks of frames, one smoother carried on) give bit-identical
    landmarks, gaps included; the visibility is a confidence, not a position: as seen."""
    specs = jittered(segments((2.0, STILL_HAND), (0.5, None), (2.0, dict(facing="right", hand_at="ear"))), 0.01)
    track = make_track(specs)
    whole = smooth_track(track, ON)
    live = LandmarkSmoother(ON)
    parts = [live.smooth(track.slice(i, i + n)) for i, n in ((0, 1), (1, 16), (17, 7), (24, 21))]
    for name in ("pose_xyz", "pose_world_xyz", "face_xyz", "right_hand_xyz"):
        np.testing.assert_array_equal(np.concatenate([getattr(p, name) for p in parts]), getattr(whole, name))
    np.testing.assert_array_equal(whole.pose_visibility, track.pose_visibility)
    assert np.isnan(whole.face_xyz[20:25]).all()


def test_smoothing_off_returns_the_landmarks_untouched():
    track = make_track(jittered(segments((1.0, STILL_HAND)), 0.01))
    assert smooth_track(track, SmoothingConfig()) is track


def test_smoothed_landmarks_make_a_still_hand_s_distance_steadier():
    """Jitter on a still hand near the mouth moves hand_mouth_dist; after the filter it moves by a third less
    at least (rules.yaml keeps ~0.7 of a still hand's jitter and ~0.4 of the face's, measured on tune)."""
    track = make_track(jittered(segments((6.0, STILL_HAND)), 0.004, seed=3))
    raw = compute_features(track)["hand_mouth_dist"][20:]
    smooth = compute_features(smooth_track(track, ON))["hand_mouth_dist"][20:]
    assert np.nanstd(smooth) < 0.65 * np.nanstd(raw)
    assert abs(np.nanmean(smooth) - np.nanmean(raw)) < 0.02  # steadier, not displaced


def test_a_person_seen_again_is_not_dragged_from_where_they_were():
    """After a gap (nobody), the first frame back is the new position itself, not a blend with the old one."""
    specs = segments((2.0, dict(facing="right", hand_at="lap")), (0.3, None), (1.0, dict(facing="right", hand_at="ear")))
    raw, smooth = make_track(specs), smooth_track(make_track(specs), ON)
    back = 23
    np.testing.assert_array_equal(smooth.right_hand_xyz[back], raw.right_hand_xyz[back])
    assert np.isnan(smooth.right_hand_xyz[20:23]).all()


# --- scale invariance: speed in shoulder widths -------------------------------------------------------------
from builders import SW, IMAGE_WH  # noqa: E402
from vision.features.smoothing import raw_scales  # noqa: E402

HIP = np.array([320.0, 400.0])
RAMP_SW_S = 2.0  # a fast hand move (tune's 90th-percentile hand speed is 1.4 shoulder widths / s)


def _hand_ramp(px_per_m: float, sigma_sw: float):
    """2 s of a still right hand in front of the chest, then 1 s moving sideways at RAMP_SW_S, then still;
    the person ``px_per_m`` large, with jitter of ``sigma_sw`` shoulder widths (the same draws at any size)."""
    t = np.arange(40) / 10.0
    a = -0.4 * SW + SW * RAMP_SW_S * np.clip(t - 2.0, 0.0, 1.0)  # metres right of the hips
    b = -1.2 * SW  # metres above the hips (image y is down)
    specs = [dict(facing="front", hand_at=((HIP[0] + px_per_m * ai) / IMAGE_WH[0], (HIP[1] + px_per_m * b)
                                           / IMAGE_WH[1]), hip_px=tuple(HIP), px_per_m=px_per_m) for ai in a]
    clean = make_track(specs)
    noisy = make_track(jittered(specs, sigma_sw * SW * px_per_m / IMAGE_WH[0], seed=5))
    return clean, noisy


def _in_sw(xyz: np.ndarray, px_per_m: float) -> np.ndarray:
    """Normalised image (x, y) -> shoulder widths from the hips."""
    return (xyz[..., :2] * np.array(IMAGE_WH) - HIP) / (px_per_m * SW)


def _jitter_and_lag(px_per_m: float, smooth):
    clean, noisy = _hand_ramp(px_per_m, 0.02)
    out = _in_sw(smooth(noisy).right_hand_xyz, px_per_m)
    truth, raw = _in_sw(clean.right_hand_xyz, px_per_m), _in_sw(noisy.right_hand_xyz, px_per_m)
    jitter = np.std(out[5:20] - truth[5:20]) / np.std(raw[5:20] - truth[5:20])  # still: share of jitter left
    lag_s = np.mean(truth[24:31, :, 0] - out[24:31, :, 0]) / RAMP_SW_S  # moving: seconds behind
    return jitter, lag_s


def test_a_person_three_times_smaller_is_smoothed_to_the_same_jitter_and_lag_in_shoulder_widths():
    """Speed is measured in the person's shoulder widths: the same jittered move, seen 3x smaller (a CCTV-size
    person), keeps the same share of its jitter and lags the same; a filter with speed in image heights (the
    old way) lets the small person's move lag more."""
    big, small = _jitter_and_lag(300.0, lambda tr: smooth_track(tr, ON)), \
        _jitter_and_lag(100.0, lambda tr: smooth_track(tr, ON))
    assert 0.1 < big[0] < 0.9 and big[1] > 0.005  # it does smooth and lag: the comparison is not vacuous
    assert small[0] == pytest.approx(big[0], rel=1e-3) and small[1] == pytest.approx(big[1], rel=1e-3)

    def per_image_height(tr):
        f = OneEuroFilter(ON.families["hands"])
        return replace(tr, right_hand_xyz=np.stack([f(r, t) for r, t in zip(tr.right_hand_xyz, tr.timestamp_s)]))
    assert _jitter_and_lag(100.0, per_image_height)[1] > 1.3 * _jitter_and_lag(300.0, per_image_height)[1]


def test_the_scale_is_a_running_median_so_one_wrong_frame_does_not_change_the_smoothing():
    """One frame whose body is misdetected twice as large barely changes how the hand is smoothed: the speed
    unit is the median of the last second's scales (SCALE_WINDOW_S), not the frame's own scale."""
    clean, noisy = _hand_ramp(300.0, 0.02)
    hip = HIP / np.array(IMAGE_WH)
    pose, face = noisy.pose_xyz.copy(), noisy.face_xyz.copy()
    for arr in (pose, face):
        arr[22, :, :2] = hip + 2.0 * (arr[22, :, :2] - hip)  # during the move: the whole body twice as large
    odd = replace(noisy, pose_xyz=pose, face_xyz=face)
    assert raw_scales(odd)[0][22] == pytest.approx(2 * raw_scales(noisy)[0][22], rel=0.05)

    def change(window_s):
        a, b = (LandmarkSmoother(ON, scale_window_s=window_s).smooth(tr).right_hand_xyz for tr in (odd, noisy))
        return np.abs(_in_sw(a, 300.0) - _in_sw(b, 300.0)).max()
    assert change(1.0) < 0.1 * change(0.05)  # 0.05 s: the frame's own scale only


def test_nan_stays_nan_and_a_person_never_sized_passes_as_seen():
    """Points not seen stay NaN through the landmark smoother; hands seen without a body to size them (no pose,
    no face) are not smoothed at all, since their speed in shoulder widths is unknown."""
    clean, noisy = _hand_ramp(300.0, 0.02)
    hidden = noisy.right_hand_xyz.copy()
    hidden[10:14] = np.nan
    out = smooth_track(replace(noisy, right_hand_xyz=hidden), ON)
    assert np.isnan(out.right_hand_xyz[10:14]).all() and not np.isnan(out.right_hand_xyz[14:]).any()
    bodiless = replace(noisy, pose_xyz=np.full_like(noisy.pose_xyz, np.nan),
                       pose_world_xyz=np.full_like(noisy.pose_world_xyz, np.nan),
                       face_xyz=np.full_like(noisy.face_xyz, np.nan))
    assert np.isnan(raw_scales(bodiless)[0]).all()
    np.testing.assert_array_equal(smooth_track(bodiless, ON).right_hand_xyz, bodiless.right_hand_xyz)
