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
