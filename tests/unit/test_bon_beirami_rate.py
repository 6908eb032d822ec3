"""Beirami et al.'s Eq. 25 estimator and the Bahadur-Rao coefficient 1/(2 t*) (CLAIMS C2, C4)."""

import math

import numpy as np
import pytest

import mdpkit as mk


def test_beirami_estimate_closed_form_values():
    f = mk.bon.kl_estimate_beirami
    # N = 1: best-of-1 is the reference
    assert f(1, 0.3) == pytest.approx(0.0, abs=1e-15)
    # eps = 1: a single atom
    assert f(7, 1.0) == 0.0
    # eps -> 0 reaches the atomless bound, N -> inf saturates at log 1/eps
    assert f(16, 1e-12) == pytest.approx(math.log(16) - 15 / 16, abs=1e-10)
    assert f(10**100, 0.25) == pytest.approx(math.log(4), abs=1e-15)
    # hand evaluation at N = 2, eps = 1/2
    assert f(2, 0.5) == pytest.approx(0.25 * (-0.5) + 0.75 * math.log(1.5), abs=1e-15)


def test_beirami_estimate_monotone_in_eps():
    vals = [mk.bon.kl_estimate_beirami(32, e) for e in np.geomspace(1e-6, 1.0, 30)]
    assert np.all(np.diff(vals) <= 1e-15)


@pytest.mark.parametrize("eps", [0.0, -0.1, 1.5, float("nan")])
def test_beirami_estimate_rejects_bad_eps(eps):
    with pytest.raises(ValueError, match="`eps`"):
        mk.bon.kl_estimate_beirami(4, eps)


def test_beirami_estimate_rejects_bad_n():
    with pytest.raises(ValueError, match="`n`"):
        mk.bon.kl_estimate_beirami(0, 0.5)
    with pytest.raises(TypeError, match="`n`"):
        mk.bon.kl_estimate_beirami("4", 0.5)


def test_gap_coefficient_is_half_inverse_tilt():
    ml = mk.bon.Memoryless(token_probs=[0.5, 0.5], token_rewards=[0.0, 1.0])
    delta = float(ml.rate_function(0.75))           # tilt t* = log 3
    assert ml.bon_gap_log_coefficient(delta) == pytest.approx(0.5 / math.log(3), rel=1e-10)
    for bad in (0.0, math.log(2)):                   # t* = 0 and t* = inf
        with pytest.raises(ValueError, match="`delta`"):
            ml.bon_gap_log_coefficient(bad)
