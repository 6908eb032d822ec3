"""Cui et al. (2025), Lemma 1; Chen et al. (2021), Sec. 2.1; Schulman (2020): universal identities.

Statements, on random instances:

* softmax entropy change: H(softmax(z + eps d)) - H(softmax(z)) = -eps Cov_pi(log pi, d)
  + c2 eps^2 + O(eps^3): the residual at eps is 4 times the residual at eps/2 up to O(eps^3);
* E_{c ~ Bin(n, p)}[pass_at_k(n, c, k)] = 1 - (1 - p)^k exactly;
* E_pi[k1] = E_pi[k3] = KL(pi || pi_ref) and k2, k3 >= 0.
"""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

import mdpkit as mk

logits = st.integers(2, 8).flatmap(
    lambda k: arrays(np.float64, (k,), elements=st.floats(-4, 4, allow_nan=False)))


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


@settings(deadline=None, max_examples=40)
@given(z=logits, data=st.data())
def test_entropy_change_is_minus_covariance_to_second_order(z, data):
    d = data.draw(arrays(np.float64, z.shape, elements=st.floats(-1, 1, allow_nan=False)))
    pi = _softmax(z)
    res = []
    for eps in (1e-3, 5e-4):
        dh = mk.pg.entropy(_softmax(z + eps * d)) - mk.pg.entropy(pi)
        res.append(dh - mk.pg.entropy_change_prediction(pi, eps * d))
    # res(e) = c2 e^2 + c3 e^3 + ...: res(e) - 4 res(e/2) = c3 e^3 / 2 + O(e^4), and the
    # third directional derivative of H is at most a constant times |d|_inf^3 (1 + log K);
    # 1e-13 covers the roundoff of two entropy differences
    bound = 10 * 1e-9 * np.abs(d).max() ** 3 * (1 + math.log(z.size)) + 1e-13
    assert abs(res[0] - 4 * res[1]) <= bound


@settings(deadline=None, max_examples=30)
@given(n=st.integers(1, 40), p=st.floats(0, 1), data=st.data())
def test_pass_at_k_is_unbiased(n, p, data):
    k = data.draw(st.integers(1, n))
    c = np.arange(n + 1)
    est = mk.pg.pass_at_k(n, c, k)
    assert abs(stats.binom.pmf(c, n, p) @ est - (1 - (1 - p) ** k)) < 1e-12


@settings(deadline=None, max_examples=30)
@given(z=logits, data=st.data())
def test_kl_estimators_unbiased_and_nonnegative(z, data):
    zr = data.draw(arrays(np.float64, z.shape, elements=st.floats(-4, 4, allow_nan=False)))
    pi, ref = _softmax(z), _softmax(zr)
    m = mk.pg.kl_estimator_moments(pi, ref)
    kl = float(np.sum(pi * (np.log(pi) - np.log(ref))))
    assert math.isclose(m.mean[0], kl, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(m.mean[2], kl, rel_tol=1e-9, abs_tol=1e-12)
    assert m.min_value[1] >= 0 and m.min_value[2] >= -1e-15
