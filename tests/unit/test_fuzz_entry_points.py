"""Hypothesis fuzz of the main entry points (issue 12): random shapes, dtypes, extreme values.

Every call must either return a finite, consistent answer or raise a clear
``ValueError``/``TypeError`` (message naming an argument in backticks) or a
``FloatingPointError`` from a result check; anything else (an unclear exception, a NaN, a
probability off the simplex, a value outside its closed-form bounds) is a failure. Bounded
time: a fixed number of examples per target (``MDPKIT_FUZZ_EXAMPLES`` raises it for a
longer campaign) and no shrinking deadline; ``pytest -s`` prints the tally.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mdpkit as mk
from mdpkit.divergences import ALL_DIVERGENCES, Alpha

N_EXAMPLES = int(os.environ.get("MDPKIT_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=N_EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
TALLY: Counter = Counter()

EXTREME = st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-310, 1e-300, 1e-12, 1e12, 1e200, 1e300, 1e308,
                           -1e308, np.inf, -np.inf, np.nan, 0.5, 2.5])
FLOATS = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), EXTREME)


def _array(shape_strategy, elements=FLOATS):
    return shape_strategy.flatmap(lambda shape: st.lists(elements, min_size=int(np.prod(shape)),
                                                         max_size=int(np.prod(shape))).map(
        lambda xs, shape=shape: np.array(xs, dtype=float).reshape(shape)))


def _dtype_variants(a: np.ndarray):
    """The same numbers as another dtype or container a researcher might pass."""
    with np.errstate(over="ignore"):
        a32 = a.astype(np.float32)
    return st.sampled_from(["float64", "float32", "int64", "list", "complex", "str", "object"]).map(
        lambda kind: {"float64": a, "float32": a32, "int64": _as_int(a),
                      "list": a.tolist(), "complex": a.astype(complex), "str": a.astype(str),
                      "object": a.astype(object)}[kind])


def _as_int(a):
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0).clip(-1e9, 1e9).astype(np.int64)


def _call(fn, check):
    """Run ``fn``; classify the outcome into the tally; re-raise anything unclear."""
    TALLY["inputs"] += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn()
    except (ValueError, TypeError) as e:
        msg = str(e)
        if "`" not in msg:
            TALLY["crashes"] += 1
            raise AssertionError(f"unclear {type(e).__name__}: {msg}") from e
        TALLY["clear errors"] += 1
        return
    except FloatingPointError:
        TALLY["clear errors"] += 1
        return
    except Exception as e:
        TALLY["crashes"] += 1
        raise AssertionError(f"unclear {type(e).__name__}: {e}") from e
    try:
        check(out)
    except AssertionError:
        TALLY["silent wrong answers"] += 1
        raise
    TALLY["answers"] += 1


def _on_simplex(x, axis=-1):
    assert np.all(np.isfinite(x)) and np.all(x >= 0)
    np.testing.assert_allclose(np.sum(x, axis=axis), 1.0, atol=1e-9)


# -- divergences: the regularized max ----------------------------------------------------------
@FUZZ
@given(data=st.data(), A=st.integers(1, 5), div=st.sampled_from(range(len(ALL_DIVERGENCES))),
       beta=st.one_of(st.sampled_from([1e-12, 1e-8, 1e-3, 1.0, 1e3, 1e8, 1e12, 0.0, -1.0, np.inf,
                                       np.nan]), st.floats(1e-6, 1e6)),
       alpha=st.sampled_from([-2.0, -1.0, 0.5, 2.0, 3.0]))
def test_fuzz_regularized_max(data, A, div, beta, alpha):
    q = data.draw(_array(st.just((A,))))
    p = data.draw(st.one_of(st.just(np.full(A, 1.0 / A)),
                            _array(st.just((A,)), st.floats(0, 1)).map(lambda x: x / x.sum()
                                                                       if x.sum() > 0 else x)))
    cls = ALL_DIVERGENCES[div]
    d = cls(alpha) if cls is Alpha else cls()

    def check(out):
        M, pi = out
        _on_simplex(pi)
        qa = np.asarray(q, dtype=float)
        # closed-form bounds: <p, q> <= M <= max q (pi = p is feasible, D >= 0)
        scale = np.abs(qa).max()
        assert np.isfinite(M)
        assert float(p @ qa) - 1e-12 * scale - 1e-300 <= M <= qa.max() + 1e-12 * scale + 1e-300

    _call(lambda: d.regularized_max(q, p, beta), check)


# -- tabular MDPs: construction and solve ------------------------------------------------------
@FUZZ
@given(data=st.data(), S=st.integers(1, 4), A=st.integers(1, 3),
       gamma=st.sampled_from([0.0, 0.5, 0.9, 0.999, 0.999999, 1.0, -0.1, np.nan]),
       horizon=st.sampled_from([None, None, 1, 3, 0, -2, 2.5]),
       reg=st.sampled_from([None, "kl", "chi2", "js", "alpha"]),
       beta=st.sampled_from([1e-8, 1e-2, 1.0, 1e4, 1e8]),
       method=st.sampled_from([None, "value_iteration", "policy_iteration", "modified_policy_iteration"]))
def test_fuzz_solve(data, S, A, gamma, horizon, reg, beta, method):
    P = data.draw(st.one_of(
        st.just(np.full((S, A, S), 1.0 / S)),
        _array(st.just((S, A, S)), st.floats(0, 1)).map(
            lambda x: x / x.sum(-1, keepdims=True) if np.all(x.sum(-1) > 0) else x)))
    r = data.draw(_array(st.just((S, A))).flatmap(_dtype_variants))
    divs = {"kl": mk.divergences.KL(), "chi2": mk.divergences.ChiSquare(),
            "js": mk.divergences.JensenShannon(), "alpha": mk.divergences.Alpha(0.5)}

    def run():
        kw = {"horizon": horizon} if horizon is not None else {"gamma": gamma}
        m = mk.TabularMDP(P, r, **kw)
        pr = None if reg is None else mk.PolicyRegularizer(divs[reg], np.full((S, A), 1.0 / A), beta)
        meth = method if horizon is None else None
        return m, mk.solve(m, policy_reg=pr, method=meth, max_iter=2000)

    def check(out):
        m, res = out
        rr = np.asarray(m.r, dtype=float)
        feasible = np.isfinite(rr)  # r = -inf marks an infeasible action (Q = -inf, no mass)
        assert np.all(np.isfinite(res.V)) and np.all(np.isfinite(res.Q[..., feasible]))
        assert np.all(res.pi[..., ~feasible] == 0)
        _on_simplex(res.pi)
        rr = np.where(feasible, rr, 0.0)
        n = m.horizon if m.horizon is not None else 1.0 / (1.0 - m.gamma)
        bound = n * np.abs(rr).max() * (1 + 1e-9) + 1e-300
        assert np.abs(res.V).max() <= bound + (res.residual if not res.converged else 0.0) * n
        if res.converged and m.horizon is None:  # the certificate: ||T V - V|| small
            V = res.V
            TV = res.Q.max(axis=1) if reg is None else None
            if TV is not None:
                assert np.abs(TV - V).max() <= 1e-6 * (1 + np.abs(V).max())

    _call(run, check)


# -- best-of-N laws ---------------------------------------------------------------------------
@FUZZ
@given(data=st.data(), K=st.integers(1, 6),
       n=st.one_of(st.integers(-2, 50), st.sampled_from([10**6, 10**30, 10**400, 2.5, True])),
       tau=st.sampled_from([1e-3, 0.1, 1.0, 10.0, 1e6, 0.0, -1.0]),
       budget=st.sampled_from([0.0, 0.01, 0.5, 2.0, 50.0, -1.0]))
def test_fuzz_best_of_n(data, K, n, tau, budget):
    p = data.draw(st.one_of(
        _array(st.just((K,)), st.floats(0, 1)).map(lambda x: x / x.sum() if x.sum() > 0 else x),
        st.just(np.r_[1.0 - 1e-310 * (K - 1), np.full(K - 1, 1e-310)])))
    rewards = data.draw(_array(st.just((K,))).flatmap(_dtype_variants))

    def run():
        ref = mk.bon.Discrete(p, rewards)
        out = [mk.bon.best_of_n(ref, n), mk.bon.soft_best_of_n(ref, n, tau)]
        if budget >= 0 and budget <= mk.bon.max_kl(ref):
            out.append(mk.bon.tilted(ref, kl=budget))
        return ref, out

    def check(out):
        ref, laws = out
        top = ref.rewards[ref.probs > 0].max()
        low = ref.rewards[ref.probs > 0].min()
        for law in laws:
            _on_simplex(law.probs)
            er = mk.bon.expected_reward(law)
            span = max(abs(top), abs(low), 1e-300)
            assert low - 1e-12 * span <= er <= top + 1e-12 * span

    _call(run, check)


# -- bandits -----------------------------------------------------------------------------------
@FUZZ
@given(data=st.data(), K=st.integers(1, 4), horizon=st.sampled_from([1, 10, 100, 0, 10**20, 2.0]),
       n_runs=st.sampled_from([1, 3, 0, 2**40, 8e305]), rng=st.sampled_from([0, None, True, -1, "1"]),
       env_kind=st.sampled_from(["gauss", "bern", "beta"]))
def test_fuzz_bandits(data, K, horizon, n_runs, rng, env_kind):
    a = data.draw(_array(st.just((K,))))

    def run():
        if env_kind == "gauss":
            env = mk.bandits.GaussianBandit(a)
        elif env_kind == "bern":
            env = mk.bandits.BernoulliBandit(a)
        else:
            env = mk.bandits.BetaBandit(np.abs(a), np.abs(a)[::-1])
        return mk.bandits.simulate(env, mk.bandits.UCB1(), horizon=horizon, n_runs=n_runs, rng=rng)

    def check(run):
        assert np.all(np.isfinite(run.regret)) and np.all(run.regret >= -1e-9 * max(1, horizon))

    _call(run, check)


def test_fuzz_tally_is_consistent():
    # runs after the fuzz targets (file order): every input has exactly one outcome
    if TALLY["inputs"]:
        assert TALLY["inputs"] == TALLY["answers"] + TALLY["clear errors"] + TALLY["crashes"] \
            + TALLY["silent wrong answers"]
        print("\nfuzz tally:", dict(TALLY))
