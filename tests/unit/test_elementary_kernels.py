"""Vectorisable exp/log (mdpkit._elementary_kernels) and the batched KL rows built on them.

Error bounds (module docstring of ``mdpkit._elementary_kernels``): ``exp_nonpos`` is within
1 ulp of ``np.exp`` on ``[-746, 0]`` (reduction error below 2e-19 relative, Taylor truncation
below 0.04 ulp, Horner with fused multiply-adds within about 0.6 ulp, one exact or one
rounded scaling); ``log_pos`` within 2 ulps of ``np.log`` on the normal numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

from mdpkit import _elementary_kernels as E
from mdpkit.divergences import _kernels as K

EPS = np.finfo(float).eps
TINY = np.finfo(float).tiny


def _ulps(got, want):
    """Error in units of the spacing at ``want`` (the subnormal spacing below ``2^-1022``)."""
    return np.abs(got - want) / np.spacing(np.abs(want))


def test_exp_nonpos_within_one_ulp_of_numpy():
    x = np.concatenate([
        -np.linspace(0.0, 745.2, 1_500_001),  # the whole range, subnormal results included
        -np.logspace(-320, 0, 20_001),  # near 0, down to subnormal arguments
        -np.log(2.0) * np.arange(0, 1076),  # exact powers of two (k ln 2 rounded)
        np.array([-0.0, -708.3964185322641, -708.4, -744.4400719213812, -745.1332191019411, -745.2]),
    ])
    y = x.copy()
    E.exp_nonpos_inplace(y)
    assert _ulps(y, np.exp(x)).max() <= 1.0
    assert np.all(y[x == 0.0] == 1.0) and np.signbit(x[x == 0.0]).any()  # e^{-0} = 1 exactly
    far = np.array([-745.2, -746.0, -800.0, -1e300, -np.inf])  # below half the smallest subnormal
    E.exp_nonpos_inplace(far)
    assert far.tolist() == [0.0] * 5
    for v in (-0.0, -1.5, -700.0, -745.0):  # the scalar body in Python (bit-cast helpers included)
        assert _ulps(E.exp_nonpos.py_func(v), np.exp(v)) <= 1.0
    z = -np.random.default_rng(0).random(64) * 50
    w = z.copy()
    E.exp_nonpos_inplace(w)
    E.exp_nonpos_inplace.py_func(z)
    assert _ulps(z, w).max() <= 1.0  # the loop without fused multiply-adds: same bound


def test_log_pos_within_two_ulps_of_numpy():
    t = np.concatenate([
        np.logspace(np.log10(TINY), 308, 1_000_001),
        np.linspace(0.5, 2.0, 500_001),  # around 1, where log t is small
        1.0 + EPS * np.arange(-50, 50),
        2.0 ** np.arange(-1022, 1024),
        np.array([TINY, np.finfo(float).max]),
    ])
    y = t.copy()
    E.log_pos_inplace(y)
    want = np.log(t)
    nz = want != 0.0
    assert _ulps(y[nz], want[nz]).max() <= 2.0
    assert np.all(y[~nz] == 0.0)  # log 1 = 0 exactly
    for v in (TINY, 0.3, 1.0, 7.5):
        assert abs(E.log_pos.py_func(v) - np.log(v)) <= 2.0 * np.spacing(abs(np.log(v)))


def _rows(rng, n, A, scale):
    """Random rows plus adversarial ones: masked actions, equal scores, near rows, tiny masses."""
    q = rng.normal(size=(n, A)) * scale
    ref = rng.dirichlet(np.ones(A), size=n)
    ref[1::7, 0] = 0.0  # masked actions
    q[2::7, 0] = 1e3 * scale  # ... some masked with the largest score
    ref[2::7, 0] = 0.0
    q[3::7] = q[3::7, :1]  # equal scores
    q[4::7] = q[4::7, :1] + rng.normal(size=(len(q[4::7]), A)) * 1e-14 * scale  # near rows at most beta
    ref[5::7] = 1e-300  # tiny masses: the rescaled branch for small beta
    ref[5::7, 1] = 1.0
    q[5::7, 0] = q[5::7].max(axis=1) + scale
    ref[6::7, 1:] = 0.0  # one action with mass
    ref /= ref.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return q, ref, np.log(ref)


@pytest.mark.parametrize("beta", [1e-12, 1e-6, 0.01, 0.3, 1.0, 1e3, 1e6, 1e12])
@pytest.mark.parametrize("A", [2, 3, 5])
def test_kl_max_rows_matches_kl_max_row(beta, A):
    """The batched rows against ``kl_max_row`` (its value and softmax), row by row.

    Per row, ``tot`` differs by at most ``(A + 1) eps`` relative (one exponential 1 ulp
    from ``np.exp``, sums possibly reassociated), ``log tot`` by ``3 eps |log tot|`` more
    (2 ulps here, half an ulp in libm), the final ``m + beta log tot`` by an ulp of each:
    ``|dv| <= eps (2 |v| + beta (A + 1 + 3 |log tot|))``, taken twice.
    """
    rng = np.random.default_rng(A)
    for scale in (1e-3, 1.0, 1e4):
        n = 50
        q, ref, log_ref = _rows(rng, n, A, scale)
        want, want_pi = np.empty(n), np.empty((n, A))
        for j in range(n):
            want[j] = K.kl_max_row(q[j], log_ref[j], beta, want_pi[j], True, ref[j])  # masses given, as the sweeps
        for write_pi in (True, False):
            got, pi = np.empty(n), np.zeros(n * A)
            K.kl_max_rows(q.ravel(), ref, log_ref, beta, got, pi, write_pi, np.empty(n * (A + 2)))
            top = np.where(ref > 0.0, q, -np.inf).max(axis=1)
            L = np.abs(want - top) / beta
            tol = 2.0 * EPS * (2.0 * np.abs(want) + beta * (A + 1 + 3.0 * L))
            assert np.all(np.abs(got - want) <= tol), (scale, np.max(np.abs(got - want) / tol))
            if write_pi:
                np.testing.assert_allclose(pi.reshape(n, A), want_pi, rtol=2 * (A + 4) * EPS, atol=1e-300)
        eq = np.ptp(np.where(ref > 0, q, q.max()), axis=1) == 0.0
        assert np.all(got[eq] == want[eq])  # equal scores: the score itself, exactly


def test_kl_rows_passes_match_their_py_func():
    """Each pass of ``kl_max_rows`` (and the whole) against its ``py_func`` on a small chunk."""
    rng = np.random.default_rng(3)
    n, A, beta = 21, 3, 0.2
    q, ref, log_ref = _rows(rng, n, A, 1.0)
    qf = q.ravel()
    outs = []
    for centre, tilt, totals, logs in (
        (K._kl_centre, K._tilt, K._kl_totals, E.log_pos_inplace),
        (K._kl_centre.py_func, K._tilt.py_func, K._kl_totals.py_func, E.log_pos_inplace.py_func),
    ):
        e, m, t, pi = np.empty(n * A), np.empty(n), np.empty(n), np.zeros(n * A)
        centre(qf, ref, beta, e, m, t, A)
        x = e.copy()
        tilt(e, ref.ravel())
        totals(qf, ref, log_ref, beta, e, m, t, t, pi, True, A)
        logs(t)
        outs.append((x, e, m, t, pi))
    for a, b in zip(*outs, strict=True):
        np.testing.assert_allclose(a, b, rtol=4 * EPS, atol=1e-300)  # fused multiply-adds: an ulp or so
    got, want = np.empty(n), np.empty(n)
    K.kl_max_rows(qf, ref, log_ref, beta, got, np.zeros(n * A), False, np.empty(n * (A + 2)))
    K.kl_max_rows.py_func(qf, ref, log_ref, beta, want, np.zeros(n * A), False, np.empty(n * (A + 2)))
    np.testing.assert_allclose(got, want, rtol=4 * EPS)
