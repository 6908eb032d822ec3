r"""Average-reward (gain-optimal) control of unichain tabular MDPs.

The optimality equation (Puterman 2005, Ch. 8)

.. math::

    g + h(s) = \max_a \Big[r(s, a) + \sum_{s'} P(s'|s, a)\, h(s')\Big]

determines the optimal gain :math:`g^*` (a constant for unichain and weakly communicating
problems) and the bias :math:`h^*` up to a constant. Two methods:

* relative value iteration (``"relative_value_iteration"``): :math:`h \leftarrow Th -
  (Th)(s_{ref})` on the aperiodicity transform :math:`\tilde P = \tau I + (1-\tau) P`
  (same gain, bias scaled by :math:`1/(1-\tau)`), stopped when
  :math:`\mathrm{sp}(Th - h) \le` ``tol``; every sweep brackets the gain,
  :math:`\min(Th - h) \le g^* \le \max(Th - h)` (Puterman Thm. 8.5.5), and the midpoint
  is reported;
* policy iteration for unichain models (``"policy_iteration"``, Puterman Sec. 8.6):
  exact evaluation of :math:`g + h = r_\pi + P_\pi h`, :math:`h(s_{ref}) = 0`, and greedy
  improvement keeping the current action on ties; exact at termination.

A policy whose chain has several recurrent classes makes the gain depend on the start
state (multichain); both methods then stop with a ``ValueError`` naming the classes.
The vanishing-discount limit :math:`g^* = \lim_{\gamma \to 1} (1-\gamma) V^*_\gamma(s)`
ties the result to the discounted solvers.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse.csgraph import connected_components

from .._results import AverageRewardResult, ConvergenceWarning
from .._typing import FloatArray
from .._validation import check_choice, check_int, check_positive, check_scalar
from ..mdp import TabularMDP
from . import _average_kernels as AK
from ._solve import _Problem

AVERAGE_METHODS = ("relative_value_iteration", "policy_iteration")


def recurrent_classes(P_pi: FloatArray | sp.csr_matrix) -> list[np.ndarray]:
    """Return the closed communicating classes (recurrent classes) of a state-to-state kernel."""
    G = sp.csr_matrix(P_pi)
    G.eliminate_zeros()
    n, labels = connected_components(G, directed=True, connection="strong")
    rows, cols = G.nonzero()
    leaves = np.zeros(n, dtype=bool)
    leaves[labels[rows][labels[rows] != labels[cols]]] = True
    return sorted((np.flatnonzero(labels == k) for k in range(n) if not leaves[k]), key=lambda c: int(c[0]))


def _check_unichain(P_pi: FloatArray | sp.csr_matrix, method: str) -> None:
    classes = recurrent_classes(P_pi)
    if len(classes) > 1:
        shown = "; ".join(str(c[:8].tolist()) + ("..." if c.size > 8 else "") for c in classes[:3])
        raise ValueError(
            f"the MDP is not unichain: the policy reached by {method} has {len(classes)} recurrent classes "
            f"(states {shown}), so its gain depends on the start state (multichain). "
            "solve_average_reward handles unichain problems; make the chain communicating (e.g. a small "
            "restart probability) or solve the discounted problem with gamma close to 1.")


def _stationary(P_pi: FloatArray | sp.csr_matrix) -> FloatArray:
    """Stationary law of a unichain kernel: ``d^T (I - P) = 0`` with ``sum d = 1``."""
    S = P_pi.shape[0]
    M = (sp.identity(S, format="csr") - sp.csr_matrix(P_pi)).T.tolil()
    M[0, :] = np.ones(S)
    b = np.zeros(S)
    b[0] = 1.0
    d = spla.spsolve(M.tocsc(), b)
    return np.asarray(d, dtype=np.float64)


def _evaluate_unichain(P_pi: FloatArray | sp.csr_matrix, r_pi: FloatArray, ref: int) -> tuple[float, FloatArray]:
    """``(g, h)`` with ``g + h = r_pi + P_pi h`` and ``h[ref] = 0`` (one sparse solve)."""
    S = r_pi.shape[0]
    M = sp.lil_matrix((S + 1, S + 1))
    M[:S, :S] = sp.identity(S) - sp.csr_matrix(P_pi)
    M[:S, S] = np.ones((S, 1))
    M[S, ref] = 1.0
    x = spla.spsolve(M.tocsc(), np.concatenate([r_pi, [0.0]]))
    return float(x[S]), np.asarray(x[:S], dtype=np.float64)


def _relative_value_iteration(prob: _Problem, tol: float, max_iter: int, tau: float, ref: int
                              ) -> tuple[FloatArray, float, float, int, bool, FloatArray]:
    """Run the compiled average-reward sweeps in chunks of 1000.

    Compiled sweeps in chunks of 1000; between chunks a multichain greedy policy whose
    recurrent classes have different gains stops the run at once (it would never converge).
    """
    S, A = prob.S, prob.A
    feas = np.ones(S * A, dtype=np.uint8) if prob.mask is None else prob.mask.ravel().astype(np.uint8)
    h, Th, hist = np.zeros(S), np.empty(S), np.empty(max_iter)
    done, n, lo, hi = 0, -1, -np.inf, np.inf
    while done < max_iter:
        chunk = min(1000, max_iter - done)
        n, lo, hi = AK.relative_value_iteration_kernel(
            prob.sparse, prob.P2s[0], prob.indptr, prob.indices, prob.data, prob.r2s[0], feas, tau, ref,
            h, tol, chunk, Th, hist[done:done + chunk])
        done += abs(int(n))
        if n > 0:
            break
        _check_class_gains(prob, h, tol)
    return (1.0 - tau) * h, float(lo), float(hi), done, n > 0, hist[:done]


def _check_class_gains(prob: _Problem, h: FloatArray, tol: float) -> None:
    """Raise the multichain error if the greedy policy's recurrent classes have different gains."""
    mdp = prob.mdp
    a = np.argmax(prob.q(h), axis=1)
    P_pi = sp.csr_matrix(mdp._transition_matrix(np.eye(prob.A)[a]))
    classes = recurrent_classes(P_pi)
    if len(classes) < 2:
        return
    r_pi = mdp._r_finite[np.arange(prob.S), a]
    gains = [float(_stationary(P_pi[c][:, c]) @ r_pi[c]) for c in classes]
    if max(gains) - min(gains) > tol:
        _check_unichain(P_pi, "relative value iteration")


def _policy_iteration(prob: _Problem, max_iter: int, ref: int) -> tuple[FloatArray, float, int, bool]:
    mdp = prob.mdp
    a = np.argmax(mdp.r, axis=1)  # greedy in r (infeasible actions are -inf)
    h = np.zeros(prob.S)
    for it in range(max_iter):
        pi = np.eye(prob.A)[a]
        P_pi = mdp._transition_matrix(pi)
        _check_unichain(P_pi, "policy iteration")
        g, h = _evaluate_unichain(P_pi, mdp._r_finite[np.arange(prob.S), a], ref)
        Q = prob.q(h)
        best = Q.max(axis=1)
        keep = Q[np.arange(prob.S), a] >= best - 1e-12 * (1.0 + np.abs(best))
        if np.all(keep):
            return h, g, it + 1, True
        a = np.where(keep, a, np.argmax(Q, axis=1))
    return h, float("nan"), max_iter, False


def solve_average_reward(
    mdp: TabularMDP,
    *,
    method: str = "policy_iteration",
    tol: float = 1e-10,
    max_iter: int = 100_000,
    aperiodicity: float = 0.0,
    ref_state: int = 0,
) -> AverageRewardResult:
    r"""Gain-optimal policy, optimal gain and bias of a unichain MDP (average reward).

    Solves :math:`g + h = \max_a r + P h` (module :mod:`mdpkit.solvers._average`); the
    discount of ``mdp`` is ignored (the model ``P``, ``r`` and its infeasible actions are
    used).

    Parameters
    ----------
    mdp : TabularMDP
        Stationary infinite-horizon model (dense or CSR transitions).
    method : {"policy_iteration", "relative_value_iteration"}
        Policy iteration is exact at termination; relative value iteration stops when
        :math:`\mathrm{sp}(Th - h) \le` ``tol`` and reports the midpoint of the gain
        bracket, :math:`|g - g^*| \le` ``tol``/2.
    tol : float
        Span tolerance of relative value iteration.
    max_iter : int
    aperiodicity : float
        Weight :math:`\tau` of the aperiodicity transform :math:`\tilde P = \tau I + (1-\tau)P`,
        ``0 <= aperiodicity < 1`` (relative value iteration; use e.g. ``0.5`` when an optimal
        chain is periodic).
    ref_state : int
        Reference state of the relative values.

    Returns
    -------
    AverageRewardResult
        ``gain``, ``bias`` (stationary mean 0), ``pi``, ``span`` :math:`\mathrm{sp}(h^*)`,
        ``gain_bounds`` and the stationary law.

    Raises
    ------
    ValueError
        If the returned (or an intermediate, for policy iteration) policy has several
        recurrent classes: the problem is not unichain.

    Examples
    --------
    >>> import mdpkit as mk
    >>> res = mk.solve_average_reward(mk.forest())      # always wait: 4 * 0.81
    >>> round(res.gain, 12), res.pi.argmax(1).tolist()
    (3.24, [0, 0, 0])
    >>> round(mk.solve_average_reward(mk.small(), method="relative_value_iteration").gain, 8)  # 7/1.8
    3.88888889
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"`mdp` must be a TabularMDP; got {type(mdp).__name__}.")
    if mdp.is_finite_horizon or not mdp.is_stationary:
        raise ValueError("solve_average_reward needs a stationary infinite-horizon model (built with `gamma=`, "
                         f"which is ignored); got a finite-horizon one (horizon={mdp.horizon}).")
    m = check_choice("method", method, AVERAGE_METHODS)
    tol_f = check_positive("tol", tol)
    n_max = check_int("max_iter", max_iter, lo=1)
    tau_f = check_scalar("aperiodicity", aperiodicity, lo=0.0, hi=1.0, hi_inclusive=False)
    ref = check_int("ref_state", ref_state, lo=0, hi=mdp.n_states - 1)
    prob = _Problem(mdp, None, None)
    prob.gamma = 1.0  # undiscounted backups: Q = r + P h
    if m == "policy_iteration":
        h, g, n_it, ok = _policy_iteration(prob, n_max, ref)
        lo = hi = g
        hist = None
    else:
        h, lo, hi, n_it, ok, hist = _relative_value_iteration(prob, tol_f, n_max, tau_f, ref)
        g = 0.5 * (lo + hi)
    return _average_result(prob, h, g, (lo, hi), n_it, ok, m, hist, tol_f)


def _average_result(prob: _Problem, h: FloatArray, g: float, bounds: tuple[float, float], n_it: int, ok: bool,
                    method: str, hist: FloatArray | None, tol: float) -> AverageRewardResult:
    mdp = prob.mdp
    pi = np.eye(prob.A)[np.argmax(prob.q(h), axis=1)]
    P_pi = mdp._transition_matrix(pi)
    _check_unichain(P_pi, method.replace("_", " "))
    d = _stationary(P_pi)
    bias = h - float(d @ h)
    Q = prob.q(bias) - g
    if not ok:
        warnings.warn(f"{method} stopped after {n_it} iterations (gain bracket [{bounds[0]:.6g}, {bounds[1]:.6g}], "
                      f"tol={tol:.1e}); increase `max_iter`, or set `aperiodicity > 0` if an optimal chain is periodic.",
                      ConvergenceWarning, stacklevel=3)
    return AverageRewardResult(
        gain=g, bias=bias, pi=pi, Q=Q, span=float(np.ptp(h)), gain_bounds=bounds,
        stationary=d, converged=ok, n_iter=n_it, method=method,
        message="converged" if ok else f"max_iter={n_it} reached",
        trace=None if hist is None else {"span": hist})
