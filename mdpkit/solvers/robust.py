r"""Robust MDPs under f-divergence transition uncertainty: tabular and d-rectangular.

The transition part of the generic backup (:func:`mdpkit.solve`) becomes a worst case
over next-state laws near the nominal one. (s,a)-rectangular, penalized (robust
regularized, RRMDP) and constrained (uncertainty ball, DRMDP):

.. math::

    \mathcal T^{\lambda}[V](s, a) = \min_{q \in \Delta(\mathcal S)} \langle q, V\rangle
        + \lambda D(q \,\|\, P(\cdot|s,a)), \qquad
    \mathcal T^{\rho}[V](s, a) = \min_{D(q\|P(\cdot|s,a)) \le \rho} \langle q, V\rangle,

and :math:`Q = r + \gamma\,\mathcal T[V]`, :math:`V = \mathcal M[Q]` with the plain or
the KL-regularized max (doubly regularized MDP: policy KL toward :math:`\pi_{ref}` plus
transition robustness). Both operators are monotone and satisfy
:math:`\mathcal T[V + c] = \mathcal T[V] + c`, so the robust Bellman operator is a
:math:`\gamma`-contraction and value iteration with the MacQueen span rule applies
unchanged (Iyengar 2005; Nilim and El Ghaoui 2005: robust dynamic programming).

d-rectangular linear MDPs (:class:`mdpkit.LinearMDP`) perturb the latent factors
instead; the robust regularized Bellman equation decomposes per coordinate
(Tang, Liu, Xu 2025, the d-rectangular robust regularized Bellman equation):

.. math::

    Q_h(s, a) = \phi(s, a)^\top (\theta_h + w_h), \qquad
    w_{h,i} = \min_{\mu \in \Delta(\mathcal S)} \langle \mu, V_{h+1}\rangle
        + \lambda D(\mu \,\|\, \mu_{h,i}).

References
----------
.. [1] G. N. Iyengar, "Robust dynamic programming", Math. Oper. Res. 30(2), 2005.
.. [2] A. Nilim, L. El Ghaoui, "Robust control of Markov decision processes with
   uncertain transition matrices", Oper. Res. 53(5), 2005.
.. [3] C. Tang, Z. Liu, P. Xu, "Robust Offline Reinforcement Learning with Linearly
   Structured f-Divergence Regularization", ICML 2025 (d-RRMDP and its Bellman equation).
.. [4] Y. He, Z. Liu, P. Xu, "Doubly Regularized MDPs for Robust RL" (policy and
   dynamics regularization together).
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from .._config import PARALLEL_MIN_WORK, get_num_threads
from .._results import ConvergenceWarning, SolveResult
from .._typing import FloatArray
from .._validation import as_float_array, check_int, check_nonnegative, check_positive
from ..divergences import FDivergence
from ..divergences import _kernels as DK
from ..divergences import _robust_kernels as DRK
from ..divergences._robust import check_robust_div
from ..mdp import LinearMDP, TabularMDP
from . import _robust_csr_kernels as RCK
from . import _robust_kernels as RK
from ._solve import PolicyRegularizer, _Problem, _span_stop, policy_mean, solve


@dataclass(frozen=True)
class Robust:
    r"""Specification of an (s,a)-rectangular robust transition part.

    Exactly one of ``lam`` (penalized / robust regularized:
    :math:`\min_q \langle q, V\rangle + \lambda D(q\|P)`) and ``rho`` (constrained /
    uncertainty ball: :math:`\min_{D(q\|P)\le\rho} \langle q, V\rangle`).

    Parameters
    ----------
    div : KL, ChiSquare or TotalVariation
    lam : float, optional
        Penalty strength, ``lam > 0``.
    rho : float, optional
        Radius, ``rho >= 0``.

    Examples
    --------
    >>> import mdpkit as mk
    >>> from mdpkit.divergences import KL
    >>> mdp = mk.random_mdp(n_states=4, n_actions=2, gamma=0.9, rng=0)
    >>> rob = mk.solve(mdp, robust=mk.Robust(KL(), lam=1e8))     # lam -> inf: nominal
    >>> bool(abs(rob.V - mk.solve(mdp).V).max() < 1e-6)
    True
    """

    div: FDivergence
    lam: float | None = None
    rho: float | None = None

    def __post_init__(self) -> None:
        """Validate the divergence and that exactly one of ``lam``/``rho`` is given."""
        check_robust_div(self.div)
        if (self.lam is None) == (self.rho is None):
            raise ValueError("exactly one of `lam` (penalized) and `rho` (uncertainty ball) must be given; "
                             f"got lam={self.lam!r}, rho={self.rho!r}.")
        if self.lam is not None:
            check_positive("lam", self.lam)
        else:
            check_nonnegative("rho", self.rho)

    @property
    def is_ball(self) -> bool:
        """True for the constrained (uncertainty-set) form."""
        return self.rho is not None

    @property
    def param(self) -> float:
        """``rho`` for the ball form, ``lam`` for the penalized form."""
        return float(self.rho if self.rho is not None else self.lam)  # type: ignore[arg-type]

    def transition_operator(self, mdp: TabularMDP, stage: int = 0) -> _RobustOperator | _RobustCSROperator:
        r"""Return the operator ``op(V, out)`` writing :math:`\mathcal T[V](s, a)` into ``out[s, a]``."""
        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"`mdp` must be a TabularMDP; got {type(mdp).__name__}.")
        if mdp.is_sparse:
            return _RobustCSROperator(self, mdp.P_csr)
        return _RobustOperator(self, mdp.P_at(stage))

    def worst_case_csr(self, csr: sp.csr_matrix, V: FloatArray) -> tuple[FloatArray, sp.csr_matrix]:
        """``(T[V], q)`` on CSR transitions: values ``(S*A,)`` and the worst-case kernel as CSR."""
        val = np.empty(csr.shape[0])
        q = np.zeros(csr.nnz)
        RCK.robust_csr_sweep(self.div.code, self.is_ball, csr.indptr.astype(np.int64), csr.indices.astype(np.int64),
                             csr.data, V, self.param, val, q, True)
        return val, sp.csr_matrix((q, csr.indices.copy(), csr.indptr.copy()), shape=csr.shape)

    def worst_case(self, P_h: FloatArray, V: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``(T[V], q)``: values ``(S, A)`` and minimizing laws ``(S, A, S)`` for one stage."""
        S, A, _ = P_h.shape
        P2 = np.ascontiguousarray(P_h.reshape(S * A, S))
        order = np.argsort(V, kind="stable")
        val = np.empty(S * A)
        q = np.empty((S * A, S))
        RK.worst_case_rows(self.div.code, self.is_ball, P2, V, self.param, order, int(np.argmin(V)), val, q)
        return val.reshape(S, A), q.reshape(S, A, S)


class _RobustOperator:
    """The robust transition part of one stage, bound to its dense ``P``."""

    def __init__(self, spec: Robust, P_h: FloatArray) -> None:
        S, A, _ = P_h.shape
        self.P2 = np.ascontiguousarray(P_h.reshape(S * A, S))
        self.code = int(spec.div.code)
        self.ball = spec.is_ball
        self.param = spec.param
        self.parallel = self.P2.size >= PARALLEL_MIN_WORK and get_num_threads() > 1
        # KL ball: the multipliers of the previous call warm-start the root search (value
        # iteration calls the operator on slowly changing V); the root is exact either way
        self.lam_hint = np.full(S * A, np.nan)

    def __call__(self, V: FloatArray, out: FloatArray) -> None:
        o = out.reshape(-1)
        par = self.parallel
        if self.ball and self.code == DK.KL:
            (RK.kl_ball_sweep_par if par else RK.kl_ball_sweep)(self.P2, V, self.param, self.lam_hint, o)
        elif not self.ball and self.code == DK.KL:
            (RK.kl_penalized_sweep_par if par else RK.kl_penalized_sweep)(self.P2, V, self.param, o)
        elif not self.ball and self.code == DK.TV:
            (RK.tv_penalized_sweep_par if par else RK.tv_penalized_sweep)(self.P2, V, self.param, o)
        elif not self.ball and self.code == DK.CHI2:
            order = np.argsort(V, kind="stable")
            (RK.chi2_penalized_sweep_par if par else RK.chi2_penalized_sweep)(self.P2, V, self.param, order, o)
        else:
            order = np.argsort(V, kind="stable")
            f = RK.generic_sweep_par if par else RK.generic_sweep
            f(self.code, self.ball, self.P2, V, self.param, order, int(np.argmin(V)), o)


class _RobustCSROperator:
    """The robust transition part on CSR rows: the uncertainty set of each row is its support."""

    def __init__(self, spec: Robust, csr: sp.csr_matrix) -> None:
        self.indptr = csr.indptr.astype(np.int64)
        self.indices = csr.indices.astype(np.int64)
        self.data = csr.data
        self.code = int(spec.div.code)
        self.ball = spec.is_ball
        self.param = spec.param
        self.dummy = np.zeros(csr.nnz)

    def __call__(self, V: FloatArray, out: FloatArray) -> None:
        RCK.robust_csr_sweep(self.code, self.ball, self.indptr, self.indices, self.data, V, self.param,
                             out.reshape(-1), self.dummy, False)


def _spec(div: FDivergence, lam: float | None, rho: float | None) -> Robust:
    return Robust(div, lam=lam, rho=rho)


def solve_robust(
    mdp: TabularMDP,
    *,
    div: FDivergence,
    lam: float | None = None,
    rho: float | None = None,
    policy_reg: PolicyRegularizer | None = None,
    return_worst_case: bool = False,
    **options: Any,
) -> SolveResult:
    r"""Solve an (s,a)-rectangular robust (penalized or constrained) tabular MDP exactly.

    Fixed point (discounted, value iteration with the span rule) or backward induction
    (finite horizon) of

    .. math::

        Q(s, a) = r(s, a) + \gamma\, \mathcal T[V](s, a), \qquad V(s) = \mathcal M[Q(s, \cdot)],

    with :math:`\mathcal T` the penalized (``lam``) or ball (``rho``) worst case of the
    module docstring and :math:`\mathcal M` the max, or with ``policy_reg`` the
    regularized max (doubly regularized MDP).

    Parameters
    ----------
    mdp : TabularMDP
        Dense or CSR transitions. On CSR the uncertainty set of row ``(s, a)`` is the set of
        laws on the support of :math:`P(\cdot|s,a)`: the same set as dense for KL and
        chi-square (infinite off the support), a restriction for TV (whose dense adversary
        may move mass anywhere). Each sweep then costs ``O(nnz log k)``, so robust solves
        scale like nominal sparse ones.
    div : KL, ChiSquare or TotalVariation
    lam, rho : float
        Exactly one: penalty strength ``lam > 0`` or radius ``rho >= 0``.
    policy_reg : PolicyRegularizer, optional
        Policy regularization toward ``pi_ref`` (e.g. KL: soft max).
    return_worst_case : bool
        Store the worst-case kernel at the solution in ``result.trace["P_worst"]``
        (shape ``(S, A, S)``, or ``(H, S, A, S)`` for finite horizon).
    **options
        ``method`` (``"value_iteration"`` or ``"backward_induction"``), ``tol``,
        ``max_iter``, ``V0``, ``trace``: as in :func:`mdpkit.solve`.

    Returns
    -------
    SolveResult

    Examples
    --------
    >>> import numpy as np, mdpkit as mk
    >>> from mdpkit.divergences import TotalVariation
    >>> P = np.array([[[0.5, 0.5]], [[0.0, 1.0]]]); r = np.array([[0.0], [1.0]])
    >>> mdp = mk.TabularMDP(P, r, gamma=0.5)
    >>> res = mk.solve_robust(mdp, div=TotalVariation(), lam=10.0, tol=1e-12)  # lam >= span V
    >>> [round(float(x), 10) for x in res.V]                        # 0.5 * 0.5 * (V0 + V1)
    [0.6666666667, 2.0]
    >>> res = mk.solve_robust(mdp, div=TotalVariation(), rho=1.0, return_worst_case=True)
    >>> res.V, res.trace["P_worst"][1, 0]               # all mass to the worst state
    (array([0., 1.]), array([1., 0.]))
    """
    spec = _spec(div, lam, rho)
    res = solve(mdp, policy_reg=policy_reg, robust=spec, **options)
    if not return_worst_case:
        return res
    P_worst = worst_case_kernel(mdp, res.V, div=div, lam=lam, rho=rho)
    return dataclasses.replace(res, trace={**(res.trace or {}), "P_worst": P_worst})


def worst_case_kernel(mdp: TabularMDP, V: npt.ArrayLike, *, div: FDivergence, lam: float | None = None,
                      rho: float | None = None) -> FloatArray | sp.csr_matrix | list[sp.csr_matrix]:
    r"""Return the minimizing next-state laws :math:`q^*(\cdot|s,a)` against ``V``.

    Discounted: ``V`` of shape ``(S,)``, result ``(S, A, S)`` (a CSR matrix of shape
    ``(S*A, S)`` on the nominal support when ``mdp`` is sparse). Finite horizon: ``V`` of
    shape ``(H+1, S)``, stage ``h`` uses ``V[h+1]``, result ``(H, S, A, S)`` (a list of
    ``H`` CSR matrices when sparse).

    Examples
    --------
    >>> import numpy as np, mdpkit as mk
    >>> from mdpkit.divergences import KL
    >>> mdp = mk.TabularMDP(np.full((2, 1, 2), 0.5), [[0.0], [0.0]], gamma=0.9)
    >>> mk.solvers.worst_case_kernel(mdp, [0.0, 1.0], div=KL(), lam=1.0)[0, 0]   # ~ p e^{-V}
    array([0.73105858, 0.26894142])
    """
    spec = _spec(div, lam, rho)
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"`mdp` must be a TabularMDP; got {type(mdp).__name__}.")
    if mdp.is_sparse and mdp.horizon is None:
        return spec.worst_case_csr(mdp.P_csr, as_float_array("V", V, shape=(mdp.n_states,)))[1]
    if mdp.is_sparse:
        H = mdp.horizon
        assert H is not None
        Vs = as_float_array("V", V, shape=(H + 1, mdp.n_states))
        return [spec.worst_case_csr(mdp.P_csr, np.ascontiguousarray(Vs[h + 1]))[1] for h in range(H)]
    if mdp.horizon is None:
        Va = as_float_array("V", V, shape=(mdp.n_states,))
        return spec.worst_case(mdp.P_at(0), Va)[1]
    Va = as_float_array("V", V, shape=(mdp.horizon + 1, mdp.n_states))
    return np.stack([spec.worst_case(mdp.P_at(h), np.ascontiguousarray(Va[h + 1]))[1]
                     for h in range(mdp.horizon)])


def robust_bellman(V: npt.ArrayLike, mdp: TabularMDP, *, div: FDivergence, lam: float | None = None,
                   rho: float | None = None, policy_reg: PolicyRegularizer | None = None,
                   stage: int = 0) -> FloatArray:
    r"""Robust Bellman optimality operator :math:`(TV)(s) = \mathcal M[r + \gamma\,\mathcal T[V]](s)`.

    A :math:`\gamma`-contraction in sup norm (monotone, shift-equivariant with factor
    :math:`\gamma`). For finite horizon it is the stage-``h`` backup.

    Examples
    --------
    >>> import mdpkit as mk
    >>> from mdpkit.divergences import TotalVariation
    >>> mdp = mk.puterman_example(0.9)                    # rho = 1: all mass to V = 0
    >>> mk.solvers.robust_bellman([0.0, 5.0], mdp, div=TotalVariation(), rho=1.0), mk.bellman([0.0, 0.0], mdp)
    (array([10., -1.]), array([10., -1.]))
    """
    from ._solve import _operator

    return _operator(mdp, V, policy_reg, _spec(div, lam, rho), stage)


def robust_policy_evaluation(
    mdp: TabularMDP,
    pi: npt.ArrayLike,
    *,
    div: FDivergence,
    lam: float | None = None,
    rho: float | None = None,
    tol: float = 1e-10,
    max_iter: int = 100_000,
) -> FloatArray:
    r"""Robust value of a fixed policy: the worst case over (s,a)-rectangular kernels.

    .. math::

        V^\pi(s) = \sum_a \pi(a|s)\,\big(r(s,a) + \gamma\, \mathcal T[V^\pi](s, a)\big),

    by iterating this :math:`\gamma`-contraction until the MacQueen span bound
    certifies :math:`\|V - V^\pi\|_\infty \le` ``tol``; finite horizon: backward
    recursion, shape ``(H+1, S)``. For the penalized form this is the robust
    regularized value (the penalty :math:`\lambda D` included).

    Examples
    --------
    >>> import mdpkit as mk
    >>> from mdpkit.divergences import TotalVariation
    >>> mdp = mk.puterman_example(0.5)
    >>> mk.solvers.robust_policy_evaluation(mdp, [0, 0], div=TotalVariation(), rho=0.0)  # = nominal
    array([ 6., -2.])
    """
    spec = _spec(div, lam, rho)
    prob = _Problem(mdp, None, spec)
    p = mdp.check_policy(pi)
    tol_f = check_positive("tol", tol)
    n_it = check_int("max_iter", max_iter, lo=1)
    if mdp.is_finite_horizon:
        H = mdp.horizon
        assert H is not None
        VH = np.zeros((H + 1, mdp.n_states))
        VH[H] = mdp.terminal_value
        for h in range(H - 1, -1, -1):
            VH[h] = policy_mean(p[h], prob.q(VH[h + 1], h))
        return VH
    V = np.zeros(mdp.n_states)
    for _ in range(n_it):
        TV = policy_mean(p, prob.q(V))
        stop, V_mid, _ = _span_stop(TV, V, prob.gamma, tol_f)
        if stop:
            return V_mid
        V = TV
    warnings.warn(f"robust policy evaluation did not reach tol={tol_f:.1e} in {n_it} sweeps; "
                  "increase `max_iter`.", ConvergenceWarning, stacklevel=2)
    return V


def solve_linear_robust(
    lin: LinearMDP,
    *,
    div: FDivergence,
    lam: float | None = None,
    rho: float | None = None,
    policy_reg: PolicyRegularizer | None = None,
) -> SolveResult:
    r"""Exact robust (regularized) backward induction on a d-rectangular linear MDP.

    With known factors :math:`\mu_{h,i}` (Tang, Liu, Xu 2025, CLAIMS.md B1):

    .. math::

        w_{h,i} = \min_{\mu\in\Delta(\mathcal S)} \langle\mu, V_{h+1}\rangle
            + \lambda D(\mu\|\mu_{h,i}) \ \ (\text{or } \min_{D(\mu\|\mu_{h,i})\le\rho}),
        \quad Q_h = \phi^\top(\theta_h + w_h), \quad V_h = \mathcal M[Q_h],

    one exact dual per coordinate and stage. The worst-case factors
    :math:`\mu^*_{h,i}` are returned in ``trace["mu_worst"]`` (shape ``(H, d, S)``) and
    the weights in ``trace["w"]`` (shape ``(H, d)``, :math:`\theta_h + w_h`).

    For the penalized form the value equals the nominal value of the greedy policy in
    the linear MDP with factors :math:`\mu^*` and rewards
    :math:`r_h + \lambda \sum_i \phi_i D(\mu^*_{h,i}\|\mu_{h,i})` (the tabular
    cross-check); with one-hot features (``d = S A``) it is the (s,a)-rectangular
    solution of :func:`solve_robust`.

    Examples
    --------
    >>> import mdpkit as mk
    >>> from mdpkit.divergences import TotalVariation
    >>> lin = mk.r2pvi_linear_mdp()
    >>> res = mk.solvers.solve_linear_robust(lin, div=TotalVariation(), lam=1e3)  # ~ nominal
    >>> round(float(res.V[0, 0]), 8) == round(float(mk.solve(lin.to_tabular()).V[0, 0]), 8)
    True
    """
    if not isinstance(lin, LinearMDP):
        raise TypeError(f"`lin` must be a LinearMDP; got {type(lin).__name__}.")
    drect = _DRectangular(lin, _spec(div, lam, rho))
    # the one generic backward induction: Q_h = r_h + T_h[V_{h+1}] with r_h = phi theta_h and the
    # d-rectangular transition part T_h[V] = phi w_h(V)
    res = solve(lin.to_tabular(), policy_reg=policy_reg, robust=drect)
    return dataclasses.replace(res, trace={"w": lin.theta + drect.w, "mu_worst": drect.mu_worst})


class _DRectangular:
    """The d-rectangular robust transition part of a :class:`LinearMDP` (Tang, Liu, Xu 2025).

    ``transition_operator(mdp, stage)`` gives the operator of stage ``h``:
    ``op(V, out)`` solves one robust dual per coordinate,
    ``w_{h,i} = min_mu <mu, V> + lam D(mu || mu_{h,i})`` (or the ball form), and writes
    ``out[s, a] = phi(s, a) . w_h``; it records ``w[h]`` and the minimizers ``mu_worst[h]``.
    """

    def __init__(self, lin: LinearMDP, spec: Robust) -> None:
        H, S, A, d = lin.horizon, lin.n_states, lin.n_actions, lin.dim
        self.lin, self.spec = lin, spec
        self.phi2 = np.ascontiguousarray(lin.phi.reshape(S * A, d))
        self.mu = np.ascontiguousarray(lin.mu)
        self.w = np.zeros((H, d))
        self.mu_worst = np.zeros((H, d, S))
        # the kernel takes one row per coordinate: V, its sort order and argmin, repeated d times
        self.V_rows = np.empty((d, S))
        self.order = np.empty((d, S), dtype=np.int64)
        self.jmin = np.empty(d, dtype=np.int64)

    def transition_operator(self, mdp: TabularMDP, stage: int = 0) -> Any:
        """Return the operator ``op(V, out)`` of stage ``stage`` (``mdp`` is ``lin.to_tabular()``)."""
        return lambda V, out: self._apply(stage, V, out)

    def _apply(self, h: int, V: FloatArray, out: FloatArray) -> None:
        self.V_rows[:] = V
        self.order[:] = np.argsort(V, kind="stable")
        self.jmin[:] = int(np.argmin(V))
        DRK.robust_rows(self.spec.div.code, self.spec.is_ball, self.V_rows, self.mu[h], self.spec.param,
                        self.order, self.jmin, self.w[h], self.mu_worst[h], True)
        np.matmul(self.phi2, self.w[h], out=out.reshape(-1))
