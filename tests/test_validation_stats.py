"""Agreement statistics: known answers, invariants, bad input."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelmodel.validation.stats import agreement, worst_cases


def test_known_answer_small():
    # 4 pairs, one discordant swap: tau-b = (5 - 1) / 6
    a = agreement([1.0, 2.0, 4.0, 3.0], [1.0, 2.0, 3.0, 4.0])
    assert a.n == 4
    assert a.kendall_tau == pytest.approx(4 / 6)
    assert a.spearman == pytest.approx(1 - 6 * 2 / (4 * 15))
    assert a.mape == pytest.approx((0 + 0 + 1 / 3 + 1 / 4) / 4)
    assert a.max_ape == pytest.approx(1 / 3)


def test_ties_use_tau_b():
    a = agreement([1.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0])
    # tau-b with one tie in x: (5 concordant - 0) / sqrt(5 * 6)
    assert a.kendall_tau == pytest.approx(5 / np.sqrt(30))


@settings(max_examples=40, deadline=None)
# values distinct at 1e-3 so that scaling keeps them apart at the rank resolution (1 ns on ms values)
@given(st.lists(st.floats(0.1, 100.0).map(lambda v: round(v, 3)), min_size=3, max_size=30, unique=True),
       st.floats(0.2, 5.0))
def test_scale_changes_errors_not_ranks(ref, scale):
    ref = np.array(ref)
    a = agreement(ref * scale, ref)
    assert a.kendall_tau == pytest.approx(1.0)
    assert a.spearman == pytest.approx(1.0)
    assert a.mape == pytest.approx(abs(scale - 1.0))
    assert a.bias == pytest.approx(scale - 1.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0.1, 100.0), st.floats(0.1, 100.0)), min_size=3, max_size=30))
def test_bounds(pairs):
    p, r = np.array(pairs).T
    if np.ptp(p) == 0 or np.ptp(r) == 0:
        return  # correlations undefined for a constant vector
    a = agreement(p, r)
    assert -1 - 1e-9 <= a.kendall_tau <= 1 + 1e-9
    assert -1 - 1e-9 <= a.spearman <= 1 + 1e-9
    assert a.median_ape <= a.max_ape + 1e-12
    assert 0 <= a.mape <= a.max_ape + 1e-12


@pytest.mark.parametrize("p, r, msg", [
    ([1, 2], [1, 2], "at least 3"),
    ([1, 2, 3], [1, 2], "one length"),
    ([1, 2, np.nan], [1, 2, 3], "finite"),
    ([1, 2, 3], [1, 0, 3], "> 0"),
])
def test_bad_input(p, r, msg):
    with pytest.raises(ValueError, match=msg):
        agreement(p, r)


def test_worst_cases_sorted():
    f = pd.DataFrame({"p": [1.0, 3.0, 2.2, 4.0], "r": [1.0, 2.0, 2.0, 4.0]})
    w = worst_cases(f, "p", "r", k=2)
    assert list(w.index) == [1, 2]
    assert w["ape"].iloc[0] == pytest.approx(0.5)


def test_rank_resolution_restores_ties_broken_by_rounding_noise():
    ref = np.array([1.0, 1.0, 2.0, 3.0])
    noisy = ref + np.array([1e-12, -1e-12, 0.0, 0.0])
    assert agreement(noisy, ref).kendall_tau < 1.0
    assert agreement(noisy, ref, rank_resolution=1e-6).kendall_tau == pytest.approx(1.0)
    with pytest.raises(ValueError, match="rank_resolution"):
        agreement(noisy, ref, rank_resolution=0.0)


def test_rank_resolution_applies_to_spearman_too():
    ref = np.array([1.0, 1.0, 2.0, 3.0, 4.0])
    noisy = ref + np.array([1e-12, -1e-12, 0.0, 0.0, 0.0])
    assert agreement(noisy, ref).spearman < 1.0
    assert agreement(noisy, ref, rank_resolution=1e-6).spearman == pytest.approx(1.0)
