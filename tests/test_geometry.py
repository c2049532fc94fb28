"""vision.features.geometry: NaN-propagating helpers, windows and hysteresis on hand-made arrays."""
import warnings

import numpy as np
import pytest

from vision.features import geometry as g
NAN = np.nan


def test_angle_from_vertical_is_signed_toward_plus_x_with_y_down():
    v = np.array([[0.0, -1.0], [1.0, -1.0], [-1.0, -1.0], [1.0, 0.0]])
    np.testing.assert_allclose(g.angle_from_vertical_deg(v), [0.0, 45.0, -45.0, 90.0], atol=1e-9)


def test_angle_between_is_unsigned_and_nan_when_a_vector_is_missing():
    a = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    b = np.array([[0.0, 2.0], [3.0, 0.0], [NAN, 1.0]])
    out = g.angle_between_deg(a, b)
    np.testing.assert_allclose(out[:2], [90.0, 0.0], atol=1e-6)
    assert np.isnan(out[2])


def test_dist_and_mid_propagate_nan_never_zero():
    a = np.array([[0.0, 0.0], [NAN, NAN]])
    b = np.array([[3.0, 4.0], [1.0, 1.0]])
    d = g.dist(a, b)
    assert d[0] == pytest.approx(5.0)
    assert np.isnan(d[1])
    assert np.isnan(g.mid(a, b)[1]).all()


def test_min_dist_over_pairwise_ignores_nan_points_and_is_nan_only_with_no_point_at_all():
    a = np.array([[[0.0, 0.0], [NAN, NAN]],
                  [[NAN, NAN], [NAN, NAN]]])  # frame 1: no hand point at all
    b = np.array([[[3.0, 4.0], [1.0, 0.0], [NAN, NAN]],
                  [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]])
    d = g.pairwise_sq_dist(a, b)
    out = g.min_dist_over(d)
    assert out[0] == pytest.approx(1.0)
    assert np.isnan(out[1])
    assert g.min_dist_over(d, [0])[0] == pytest.approx(5.0)  # only the first point of b


def test_bbox_gap_is_a_lower_bound_of_the_smallest_distance_and_nan_for_an_empty_set():
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0, 1, (200, 5, 2)), rng.uniform(0, 1, (200, 7, 2)) + rng.uniform(-1, 1, (200, 1, 2))
    a[rng.random((200, 5)) < 0.3] = NAN
    gap, best = g.bbox_gaps(a, b, [0])[:, 0], g.min_dist_over(g.pairwise_sq_dist(a, b))
    seen = ~np.isnan(best)
    assert np.all(gap[seen] <= best[seen] + 1e-6)
    assert np.any(gap[seen] > 0)  # not trivially zero
    assert g.bbox_gaps(np.array([[[0.0, 0.0]]]), np.array([[[3.0, 4.0]]]), [0])[0, 0] == pytest.approx(5.0)
    assert np.isnan(g.bbox_gaps(np.full((1, 2, 2), NAN), np.zeros((1, 2, 2)), [0]))[0, 0]
    groups = g.bbox_gaps(a, b, [0, 3])  # b's points 0-2 and 3-6 as two groups
    np.testing.assert_allclose(groups[:, 0], g.bbox_gaps(a, b[:, :3], [0])[:, 0], equal_nan=True)
    np.testing.assert_allclose(groups[:, 1], g.bbox_gaps(a, b[:, 3:], [0])[:, 0], equal_nan=True)


def test_row_nanmedian_matches_numpy_and_gives_nan_for_an_empty_row():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 4))
    a[rng.random(a.shape) < 0.3] = NAN
    a[7] = NAN
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanmedian(a, axis=1)
    np.testing.assert_allclose(g.row_nanmedian(a), expected, equal_nan=True)
    assert np.isnan(g.row_nanmedian(a)[7])


def test_trailing_window_is_half_open_on_the_left():
    """Row i sees times in (t_i - window, t_i]: with window 2 s each sum has two rows."""
    t = np.arange(5.0)
    v = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_allclose(g.trailing_sum(v, t, 2.0), [1, 3, 5, 7, 9])


def test_trailing_std_matches_numpy_over_the_window():
    rng = np.random.default_rng(4)
    t = np.cumsum(rng.uniform(0.05, 0.2, 100))
    v = rng.normal(size=100)
    v[rng.random(100) < 0.2] = NAN
    starts = np.searchsorted(t, t - 1.5, side="right")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = [np.nanstd(v[s:i + 1]) for i, s in enumerate(starts)]
    np.testing.assert_allclose(g.trailing_std(v, t, 1.5), expected, atol=1e-8, equal_nan=True)


def test_trailing_is_causal_and_from_index_returns_the_same_tail():
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.05, 0.2, 80))
    v = rng.normal(size=80)
    v[rng.random(80) < 0.2] = NAN
    for fn in (g.trailing_sum, g.trailing_std):
        full = fn(v, t, 1.5)
        for k in (1, 10, 40, 79):
            np.testing.assert_array_equal(fn(v[:k], t[:k], 1.5), full[:k])
        np.testing.assert_array_equal(fn(v, t, 1.5, from_index=30), full[30:])


def test_trailing_is_nan_where_the_window_holds_only_nan():
    t = np.arange(6.0)
    v = np.array([1.0, NAN, NAN, NAN, NAN, 2.0])
    out = g.trailing_sum(v, t, 2.0)
    assert out[1] == 1.0 and np.isnan(out[2]) and np.isnan(out[4]) and out[5] == 2.0


def test_mouth_state_enters_near_leaves_far_and_holds_through_unseen_frames():
    """At-mouth state: on below 0.12, off only above 0.3; NaN (not seen) keeps it; a carried state resumes."""
    from vision.features.table import mouth_state

    d = np.array([0.5, 0.1, 0.2, NAN, 0.25, 0.35, 0.2, 0.05])
    np.testing.assert_array_equal(mouth_state(d), [0, 1, 1, 1, 1, 0, 0, 1])
    np.testing.assert_array_equal(mouth_state(np.array([0.2, 0.31])), [0, 0])
    np.testing.assert_array_equal(mouth_state(np.array([0.2, 0.31]), previous=True), [1, 0])


def test_count_entries_counts_rising_edges_inside_the_trailing_window():
    t = np.arange(12.0)
    on = np.array([1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0], bool)  # rises at 0, 3, 6
    np.testing.assert_array_equal(g.count_entries(on, t, 100.0), [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3])
    # window 4 s at t=9 sees rows (5, 9]: only the rise at 6
    assert g.count_entries(on, t, 4.0)[9] == 1
    assert g.count_entries(on, t, 4.0)[11] == 0


def test_trailing_mean_averages_the_seen_values_of_the_window():
    t = np.arange(6.0)
    v = np.array([1.0, 3.0, NAN, 5.0, NAN, NAN])
    out = g.trailing_mean(v, t, 2.0)  # window (t-2, t]: this row and the one before
    np.testing.assert_allclose(out, [1.0, 2.0, 3.0, 5.0, 5.0, NAN])
    np.testing.assert_allclose(g.trailing_mean(v, t, 2.0, from_index=3), out[3:])
