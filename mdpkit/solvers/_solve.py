r"""One generic Bellman backup with pluggable transition and action parts.

.. math::

    Q(s, a) = r(s, a) + \gamma\, \mathcal T[V](s, a), \qquad
    V(s) = \mathcal M[Q(s, \cdot)],

where the transition part :math:`\mathcal T` is the expectation
:math:`\sum_{s'} P(s'|s,a) V(s')` or a robust infimum over next-state laws (passed as
``robust=``), and the action part :math:`\mathcal M` is the max or the regularized max
:math:`\max_\pi \langle \pi, Q(s,\cdot)\rangle - \beta D_f(\pi \| \pi_{ref}(\cdot|s))`
(KL: :math:`\beta\log\sum_a \pi_{ref}(a|s) e^{Q(s,a)/\beta}`). Standard, soft,
f-regularized, robust and doubly regularized MDPs are the combinations.

Stopping rule (discounted). With :math:`d = TV - V`, every monotone operator with
:math:`T(V + c) = TV + \gamma c` satisfies
:math:`TV + \frac{\gamma}{1-\gamma}\min d \le V^* \le TV + \frac{\gamma}{1-\gamma}\max d`
(MacQueen bounds, Puterman 2005, Sec. 6.6.3). Value iteration and modified policy
iteration stop when the half-width :math:`\frac{\gamma\, \mathrm{sp}(d)}{2(1-\gamma)}`
is at most ``tol`` and return the midpoint, so :math:`\|V - V^*\|_\infty \le` ``tol``.
This span rule is never worse than the classical sup-norm rule
:math:`\|TV - V\|_\infty < \mathrm{tol}\,(1-\gamma)/(2\gamma)` and is much faster on
fast-mixing problems.

Rounding floor. Each rule accounts for the relative floor
:math:`\varphi = \frac{\gamma}{1-\gamma}\, 4\epsilon\,(\bar V + \|r\|_\infty)`,
:math:`\bar V = \max(\|V_0\|_\infty, \|r\|_\infty/(1-\gamma))`: it stops when its bound plus
:math:`\varphi` is at most ``tol``, and ``converged=True`` is reported only when
``error_bound`` + :math:`\varphi \le` ``tol``. When ``tol`` < :math:`2\varphi` it stops at
accuracy :math:`2\varphi` and reports ``converged=False`` with that achievable accuracy in
``message`` (and a ``ConvergenceWarning``).

References
----------
.. [1] M. L. Puterman, Markov Decision Processes, Wiley, 2005, Ch. 4 and 6.
.. [2] M. Geist, B. Scherrer, O. Pietquin, "A Theory of Regularized Markov Decision
   Processes", ICML 2019 (regularized Bellman operators, Eq. (3)-(5)).
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from .._config import (
    PARALLEL_MIN_WORK,
    TIMED_THREADS_MIN_WORK,
    get_num_threads,
    idle_cores,
)
from .._results import ConvergenceWarning, LazyQ, SolveResult
from .._typing import FloatArray
from .._validation import (
    as_float_array,
    check_choice,
    check_int,
    check_memory,
    check_policy,
    check_positive,
    check_support,
)
from ..divergences import KL, FDivergence
from ..divergences import _kernels as DK
from ..mdp import TabularMDP
from . import _bellman_kernels as BK
from . import _gauss_seidel_kernels as GSK
from . import _krylov as KR
from . import _lp
from . import _methods as MM

MAX_ITER_LIMIT = 10**7  # 80 MB of preallocated residual trace; more sweeps than any solve needs
METHODS = ("value_iteration", "policy_iteration", "modified_policy_iteration", "linear_programming",
           "gauss_seidel", "backward_induction")


@dataclass(frozen=True)
class PolicyRegularizer:
    r"""Policy regularization :math:`-\beta D_f(\pi(\cdot|s) \| \pi_{ref}(\cdot|s))` in every state.

    Parameters
    ----------
    div : FDivergence
        The divergence (``mk.divergences.KL()`` gives the soft / entropy-regularized MDP).
    pi_ref : array_like, shape (S, A) or (H, S, A)
        Reference policy, strictly positive rows on the simplex.
    beta : float
        Strength (temperature), ``beta > 0``.

    Examples
    --------
    >>> import mdpkit as mk
    >>> reg = mk.PolicyRegularizer(mk.divergences.ChiSquare(), [[0.5, 0.5]], beta=0.5)
    >>> reg.beta
    0.5
    """

    div: FDivergence
    pi_ref: npt.ArrayLike
    beta: float

    def __post_init__(self) -> None:
        if not isinstance(self.div, FDivergence):
            raise TypeError(
                f"`div` must be an mdpkit.divergences.FDivergence instance (e.g. KL()); got {type(self.div).__name__}."
            )
        check_positive("beta", self.beta)


class TransitionOperator(Protocol):
    """A robust transition part: ``op(V, out)`` writes ``T[V](s, a)`` into ``out[s, a]``."""

    def __call__(self, V: FloatArray, out: FloatArray) -> None: ...


_NO_REF = np.ones((1, 1, 1))  # the (unused) reference policy of the plain max; never written


def _model_arrays(mdp: TabularMDP) -> tuple[Any, ...]:
    """Return the kernel inputs that depend on the model alone, built once per model (it is immutable).

    ``(masks, mask, sparse, indptr, indices, data, P2s, st, work, r2s)``: the feasibility
    masks per stage (``None``: every action feasible; ``-inf`` in ``Q`` marks infeasible) and
    the single-stage mask, the transition storage of the kernels (CSR with int64 indices,
    or dense ``(S*A, S)`` blocks per stage), the storage tuple of stationary models with
    the entries ``W`` one sweep reads, and the rewards per stage (0 at infeasible pairs:
    the kernels stay finite, :meth:`_Problem.q` masks after).
    """
    cache = MM._model_cache(mdp)
    arrays = cache.get("problem")
    if arrays is not None:
        return arrays  # type: ignore[no-any-return]
    S, A = mdp.n_states, mdp.n_actions
    m = mdp._mask
    masks = None if m is None else (list(m) if m.ndim == 3 else [m])
    mask = None if masks is None or len(masks) > 1 else masks[0]
    if mdp.is_sparse:
        indptr, indices, data = MM.csr64(mdp)
        P2s = [np.zeros((1, 1))]
    else:
        P4 = mdp.P if mdp.P.ndim == 4 else mdp.P[None]
        P2s = [np.ascontiguousarray(P4[h].reshape(S * A, S)) for h in range(P4.shape[0])]
        indptr = indices = np.zeros(1, dtype=np.int64)
        data = np.zeros(1)
    st, work = MM.storage(mdp) if mdp.horizon is None or mdp.is_stationary else (None, S * A * S)
    r = mdp._r_finite
    r3 = r if r.ndim == 3 else r[None]
    r2s = [np.ascontiguousarray(r3[h].reshape(-1)) for h in range(r3.shape[0])]
    arrays = cache["problem"] = (masks, mask, mdp.is_sparse, indptr, indices, data, P2s, st, work, r2s)
    return arrays


class _Problem:
    """An MDP with its action part and transition part, ready for backups."""

    def __init__(self, mdp: TabularMDP, policy_reg: PolicyRegularizer | None, robust: Any) -> None:
        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"`mdp` must be a TabularMDP; got {type(mdp).__name__}.")
        self.mdp = mdp
        self.S, self.A = mdp.n_states, mdp.n_actions
        self.H = mdp.horizon
        self.gamma = 1.0 if mdp.gamma is None else mdp.gamma
        self.reg = policy_reg
        (self.masks, self.mask, self.sparse, self.indptr, self.indices, self.data, self.P2s, self.st, self.work,
         self.r2s) = _model_arrays(mdp)
        if policy_reg is None:
            self.kind, self.beta, self.code, self.alpha = "max", 1.0, -1, 0.0
            self.ref = self.log_ref = _NO_REF
        else:
            if not isinstance(policy_reg, PolicyRegularizer):
                raise TypeError(f"`policy_reg` must be a PolicyRegularizer; got {type(policy_reg).__name__}.")
            self.ref = _masked_reference(mdp, policy_reg)
            if mdp._mask is None:  # strictly positive (check_support): no zero to take the log of
                self.log_ref = np.log(self.ref)
            else:
                with np.errstate(divide="ignore"):
                    self.log_ref = np.log(self.ref)
            self.beta = float(policy_reg.beta)
            self.kind = "kl" if isinstance(policy_reg.div, KL) else "fdiv"
            self.code = policy_reg.div.code
            self.alpha = policy_reg.div._alpha
        self.robust_ops: list[TransitionOperator] | None = None
        if robust is not None:
            make = getattr(robust, "transition_operator", None)
            if make is None:
                raise TypeError("`robust` must provide `transition_operator(mdp, stage)` "
                                f"(e.g. mdpkit.solvers.Robust); got {type(robust).__name__}.")
            n_stages = 1 if (self.H is None or mdp.is_stationary) else self.H
            self.robust_ops = [make(mdp, h) for h in range(n_stages)]
        work = self.work + (20 * self.S * self.A if self.kind != "max" else 0)  # exp/log per entry
        self.parallel = work >= PARALLEL_MIN_WORK and get_num_threads() > 1

    # -- the two parts ---------------------------------------------------------------
    def _stage(self, seq: Any, h: int) -> Any:
        return seq[h] if len(seq) > 1 else seq[0]

    def q(self, V: FloatArray, h: int = 0, out: FloatArray | None = None) -> FloatArray:
        """Transition part: ``Q = r_h + gamma * T[V]``, shape ``(S, A)``."""
        Q = np.empty((self.S, self.A)) if out is None else out
        Q2 = Q.reshape(-1)
        r2 = self._stage(self.r2s, h)
        if self.robust_ops is not None:
            self._stage(self.robust_ops, h)(V, Q)
            Q2 *= self.gamma
            Q2 += r2
        elif self.sparse:
            q_csr = BK.q_csr_into_par if self.parallel else BK.q_csr_into
            q_csr(self.indptr, self.indices, self.data, r2, self.gamma, V, Q2)
        else:
            q_dense = BK.q_dense_into_par if self.parallel else BK.q_dense_into
            q_dense(self._stage(self.P2s, h), r2, self.gamma, V, Q2)
        if self.masks is not None:
            np.putmask(Q, ~self._stage(self.masks, h), -np.inf)
        return Q

    def act(self, Q: FloatArray, h: int = 0) -> tuple[FloatArray, FloatArray]:
        """Compute the action part: ``(V, pi)`` from ``Q``."""
        V = np.empty(self.S)
        pi = np.empty((self.S, self.A))
        ref = self._stage(self.ref, h) if self.kind != "max" else self.ref[0]
        log_ref = self._stage(self.log_ref, h) if self.kind != "max" else self.log_ref[0]
        if self.masks is not None and self.kind != "max":
            # regularized rows: infeasible actions leave through pi_ref = 0; their Q must be
            # finite for the kernels, and the feasible row minimum never attracts mass
            mask = self._stage(self.masks, h)
            low = np.min(np.where(mask, Q, np.inf), axis=1, keepdims=True)
            Q = np.where(mask, Q, low)
        if self.kind == "fdiv":
            DK.regularized_max_into(self.code, self.alpha, Q, ref, log_ref, self.beta, V, pi)
        else:
            act = BK.action_into_par if self.parallel else BK.action_into
            act(BK.ACT_MAX if self.kind == "max" else BK.ACT_KL, Q, log_ref, self.beta, V, pi, True)
        return V, pi

    def penalty(self, pi: FloatArray, h: int = 0) -> FloatArray:
        """``beta * D(pi(.|s) || pi_ref(.|s))`` per state (zeros when unregularized)."""
        if self.kind == "max":
            return np.zeros(self.S)
        ref = self._stage(self.ref, h)
        return self.beta * np.array([DK.divergence_value(self.code, self.alpha, pi[s], ref[s]) for s in range(self.S)])

    def backup(self, V: FloatArray, h: int = 0) -> tuple[FloatArray, FloatArray, FloatArray]:
        Q = self.q(V, h)
        TV, pi = self.act(Q, h)
        return TV, Q, pi

    # -- policy evaluation (nominal transitions only) -----------------------------------
    def evaluate(self, pi: FloatArray) -> FloatArray:
        """Exact regularized value ``(I - gamma P_pi)^{-1} (r_pi - beta D(pi || ref))``."""
        return self.mdp._value(pi, self.penalty(pi))


# Rounding floor of a discounted stopping rule (a relative floor). Every backup is computed
# to a few roundings of the values, |d - d_exact| <= ROUNDING_K * eps * (|V|max + |r|max), and
# the iterates stay within |V|max <= max(|V0|max, |r|max / (1 - gamma)) (the max, the
# regularized max and the robust inf are all between min and max of Q). So no stopping rule
# can certify ||V - V*|| below floor = gamma/(1-gamma) * ROUNDING_K * eps * (|V|max + |r|max)
# and the error of a stop is at most (its own bound) + floor.
ROUNDING_K = 4.0
_EPS = float(np.finfo(float).eps)


def _rounding_floor(prob: _Problem, V0: FloatArray) -> float:
    """Return the a-priori rounding floor of ``||V - V*||`` for a discounted solve started at ``V0``."""
    r_max = MM.reward_max(prob.mdp, prob.r2s)
    v_max = max(float(np.abs(V0).max(initial=0.0)), r_max / (1.0 - prob.gamma))
    return prob.gamma / (1.0 - prob.gamma) * ROUNDING_K * _EPS * (v_max + r_max)


def _certify(result: SolveResult, tol: float, floor: float) -> SolveResult:
    """``converged=True`` only when the certified error (``error_bound`` + floor) is at most ``tol``."""
    err = result.error_bound + floor
    if not result.converged or (2.0 * floor <= tol and err <= tol):
        return result
    msg = (f"stopped at the rounding floor: ||V - V*|| <= {max(err, 2.0 * floor):.3e} certified, above "
           f"tol={tol:.1e}; this is the achievable float64 accuracy for values of this size")
    warnings.warn(f"{result.method}: {msg}.", ConvergenceWarning, stacklevel=3)
    return dataclasses.replace(result, converged=False, status=3, message=msg)


def _check_finite_result(method: str, **arrays: FloatArray) -> None:
    """Check a result whole (``V``, ``Q`` and ``pi``): NaN or inf is an error, never a result."""
    for name, a in arrays.items():
        bad = np.isnan(a) | (a == np.inf) if name == "Q" else ~np.isfinite(a)  # Q = -inf: masked action
        if np.any(bad):
            idx = [int(i) for i in np.argwhere(bad)[0]]
            raise FloatingPointError(
                f"{method} produced a non-finite `{name}{idx}` = {a[tuple(idx)]!r}; the inputs (rewards, "
                "`beta`, `gamma`) are outside the range this float64 solver can represent. Rescale the "
                "rewards or increase `beta`."
            )


def policy_mean(pi: FloatArray, Q: FloatArray) -> FloatArray:
    """``sum_a pi(a|s) Q(s, a)`` with ``0 * (-inf) = 0`` (infeasible actions carry no mass)."""
    with np.errstate(invalid="ignore"):
        return np.where(pi > 0, pi * Q, 0.0).sum(axis=-1)


def _masked_reference(mdp: TabularMDP, policy_reg: PolicyRegularizer) -> FloatArray:
    """``pi_ref`` as ``(stages, S, A)``, restricted to the feasible actions and renormalized there."""
    ref = mdp.check_policy(policy_reg.pi_ref, name="pi_ref") if mdp._mask is None else \
        check_policy("pi_ref", policy_reg.pi_ref, mdp.n_states, mdp.n_actions, mdp.horizon)
    if mdp._mask is None:
        check_support(policy_reg.div.name, ref)
        return ref if ref.ndim == 3 else ref[None]
    check_support(policy_reg.div.name, np.where(mdp._mask, ref, 1.0))
    ref = np.where(mdp._mask, ref, 0.0)
    ref = ref if ref.ndim == 3 else ref[None]
    return np.ascontiguousarray(ref / ref.sum(axis=-1, keepdims=True))


def _span_stop(TV: FloatArray, V: FloatArray, gamma: float, tol: float) -> tuple[bool, FloatArray, float]:
    d = TV - V
    lo, hi = float(d.min()), float(d.max())
    c = gamma / (1.0 - gamma)
    return c * (hi - lo) <= 2.0 * tol, TV + 0.5 * c * (hi + lo), max(abs(lo), abs(hi))


def _finish_hard(prob: _Problem, V: FloatArray, method: str, n_iter: int, converged: bool,
                 residuals: list[float] | FloatArray, tol: float, trace: bool,
                 backup: tuple[FloatArray, npt.NDArray[np.int64]] | None = None) -> SolveResult | None:
    """Build the result of a hard-max nominal solve in one compiled pass.

    ``Q``, ``pi``, the residual and the MacQueen bounds, as :func:`_finish`; ``None`` when
    a value is not finite (the caller then names it). ``backup = (T V, greedy)``, when the
    solver ended with them without reading every row of ``P`` (action elimination):
    no pass here, and ``Q`` is computed on first access.
    """
    S, A = prob.S, prob.A
    if backup is None:
        Q, pi, TV = np.empty((S, A)), np.zeros((S, A)), np.empty(S)
        finite, res, lo, hi = BK.finish_hard(prob.st, A, prob.r2s[0], prob.gamma, V, Q, pi, TV)
    else:
        TV, greedy = backup
        finite = bool(np.isfinite(V).all() and np.isfinite(TV).all())
        pi = np.zeros((S, A))
        pi[np.arange(S), greedy] = 1.0
        d = TV - V
        lo, hi = float(d.min()), float(d.max())
        res = max(abs(lo), abs(hi))
        Q = _lazy_q(prob, V.copy())  # type: ignore[assignment]
    if not finite:
        return None
    if not converged:
        _warn_stopped(method, n_iter, res, tol)
    c = prob.gamma / (1.0 - prob.gamma)
    tr = {"residual": np.asarray(residuals, dtype=np.float64)} if trace else None
    return SolveResult(V=V, Q=Q, pi=pi, converged=converged, n_iter=n_iter, residual=res, method=method,
                       status=0 if converged else 1, trace=tr, bounds=(TV + c * lo, TV + c * hi))


def _lazy_q(prob: _Problem, V: FloatArray) -> LazyQ:
    """``Q = r + gamma P V`` of a hard solve, computed when the result's ``Q`` is first read."""
    S, A, st, r2, gamma = prob.S, prob.A, prob.st, prob.r2s[0], prob.gamma

    def q() -> FloatArray:
        Q = np.empty(S * A)
        BK.q_rows(st, 0, S * A, r2, gamma, V, Q)
        return Q.reshape(S, A)

    return LazyQ(q)


def _warn_stopped(method: str, n_iter: int, res: float, tol: float) -> None:
    warnings.warn(
        f"{method} stopped after {n_iter} iterations with residual {res:.3e} (tol={tol:.1e}); "
        "increase `max_iter` (or `beta` for regularized problems).",
        ConvergenceWarning, stacklevel=4,
    )


def _finish(prob: _Problem, V: FloatArray, method: str, n_iter: int, converged: bool,
            residuals: list[float] | FloatArray, tol: float, max_iter: int, trace: bool,
            backup: tuple[FloatArray, npt.NDArray[np.int64]] | None = None) -> SolveResult:
    if prob.kind == "max" and prob.masks is None and prob.robust_ops is None and prob.st is not None:
        fast = _finish_hard(prob, V, method, n_iter, converged, residuals, tol, trace, backup)
        if fast is not None:
            return fast
    _check_finite_result(method, V=V)
    TV, Q, pi = prob.backup(V)
    _check_finite_result(method, Q=Q, pi=pi)
    d = TV - V
    res = float(np.abs(d).max())
    if not converged:
        _warn_stopped(method, n_iter, res, tol)
    tr = {"residual": np.asarray(residuals, dtype=np.float64)} if trace else None
    bounds = None  # the MacQueen bounds of _with_bounds, from the backup just computed
    if prob.H is None:
        c = prob.gamma / (1.0 - prob.gamma)
        bounds = (TV + c * float(d.min()), TV + c * float(d.max()))
    return SolveResult(V=V, Q=Q, pi=pi, converged=converged, n_iter=n_iter, residual=res,
                       method=method, status=0 if converged else 1, trace=tr, bounds=bounds)


def _value_iteration(prob: _Problem, V: FloatArray, tol: float, max_iter: int, trace: bool) -> SolveResult:
    if prob.robust_ops is None and (prob.kind == "kl" or (prob.kind == "max" and prob.masks is None)):
        # (KL masks act through log_ref = -inf; the hard max with masks takes the loop below)
        S, A = prob.S, prob.A
        V_new, greedy, hist = np.empty(S), np.empty(S, dtype=np.int64), np.empty(max_iter if trace else 1)
        if MM.use_active(prob):  # the same iterates, sweeping only where values can change
            rev_ptr, rev_idx = MM.predecessors(prob.mdp)
            n = BK.value_iteration_active_kernel(prob.st, A, prob.r2s[0], prob.gamma, V, tol, max_iter, rev_ptr,
                                                 rev_idx, V_new, greedy, hist)
            return _finish(prob, V, "value_iteration", abs(int(n)), n > 0, hist[:abs(int(n))], tol, max_iter, trace)
        n = BK.value_iteration_kernel(
            prob.st, A, prob.r2s[0], prob.gamma, BK.ACT_MAX if prob.kind == "max" else BK.ACT_KL,
            np.ascontiguousarray(prob.ref[0]), prob.log_ref[0], prob.beta, V, tol, max_iter, prob.parallel, V_new,
            greedy, hist,
        )
        converged, n = n > 0, abs(int(n))
        return _finish(prob, V, "value_iteration", n, converged, hist[:n], tol, max_iter, trace)
    residuals: list[float] = []
    for it in range(max_iter):
        TV, _, _ = prob.backup(V)
        stop, V_mid, res = _span_stop(TV, V, prob.gamma, tol)
        residuals.append(res)
        if stop:
            return _finish(prob, V_mid, "value_iteration", it + 1, True, residuals, tol, max_iter, trace)
        V = TV
    return _finish(prob, V, "value_iteration", max_iter, False, residuals, tol, max_iter, trace)


def _policy_iteration(prob: _Problem, V: FloatArray, tol: float, max_iter: int, trace: bool) -> SolveResult:
    if prob.robust_ops is not None:
        raise NotImplementedError("policy iteration is for nominal transitions; use method='value_iteration' "
                                  "for robust MDPs.")
    how = MM.evaluation_solver(prob) if prob.kind != "fdiv" else None
    if how is not None and prob.kind == "max" and prob.masks is None:
        return MM.policy_iteration_band(prob, V, tol, max_iter, trace, _finish, full=how == "dense")
    if how is None and KR.use_krylov(prob):
        return KR.policy_iteration_krylov(prob, V, tol, max_iter, trace, _finish, _fallback)
    TV, _, pi = prob.backup(V)
    if prob.kind == "max" and not V.any():
        # From V = 0 (the default) start, as QuantEcon does, from the greedy policy of T0 = max_a r
        # rather than of 0: one more sweep, which usually saves an exact evaluation.
        _, _, pi = prob.backup(TV)
    residuals: list[float] = []
    for it in range(max_iter):
        if how is None:
            V = prob.evaluate(pi)
        else:
            pen = MM.kl_penalty(pi, prob.log_ref[0], prob.beta) if prob.kind == "kl" else 0.0
            V = MM.evaluate_fast(prob, pi, (pi * prob.mdp._r_finite).sum(axis=1) - pen, how)
        TV, _, pi_new = prob.backup(V)
        res = float(np.max(np.abs(TV - V)))
        residuals.append(res)
        if prob.kind == "max":
            # Howard's PI: exact optimum once the greedy policy is stable; ties keep pi.
            if np.array_equal(np.argmax(pi_new, 1), np.argmax(pi, 1)) or res <= 1e-12 * (1 + np.abs(V).max()):
                return _finish(prob, V, "policy_iteration", it + 1, True, residuals, tol, max_iter, trace)
        else:
            # soft PI (Newton): MacQueen bounds around T V^pi, midpoint within tol of V*
            stop, V_mid, _ = _span_stop(TV, V, prob.gamma, tol)
            if stop:
                return _finish(prob, V_mid, "policy_iteration", it + 1, True, residuals, tol, max_iter, trace)
            if it >= 2 and res > 0.5 * residuals[-2] and res < 1e-9 * (prob.beta + np.abs(V).max()):
                # Newton stalls at the rounding floor of beta * KL (huge beta): finish
                # with value iteration from here, whose soft max is stable for any beta.
                return _value_iteration(prob, TV, tol, max_iter, trace)
        pi = pi_new
    return _finish(prob, V, "policy_iteration", max_iter, False, residuals, tol, max_iter, trace)


def _fallback(prob: _Problem, V: FloatArray, tol: float, max_iter: int, trace: bool) -> SolveResult:
    """Finish a stalled Krylov policy iteration from ``V``: value iteration, or soft MPI (KL)."""
    if prob.kind == "kl":
        return _soft_mpi(prob, V, tol, max_iter, trace, None)
    return _value_iteration(prob, V, tol, max_iter, trace)


#: a timed MPI round runs on all threads while their time per row read is at most this
#: fraction of one thread's
THREAD_GAIN = 0.8


def _mpi_timed(prob: _Problem, V: FloatArray, tol: float, max_iter: int, max_eval: int, frac: float, rate: float,
               V_new: FloatArray, greedy: npt.NDArray[np.int64], hist: FloatArray) -> int:
    """Run the rounds of the eliminating MPI kernel from Python, each on one thread or all, by measured speed.

    The same rounds (:func:`~mdpkit.solvers._bellman_kernels.mpi_round`) as
    :func:`~mdpkit.solvers._bellman_kernels.modified_policy_iteration_kernel`, and the
    same numbers bit for bit (the parallel sweeps split the states into blocks). Round 1
    runs on one thread, round 2 on all if the other cores are idle
    (:func:`~mdpkit._config.idle_cores`: a thread woken on a core another process holds
    waits for its time slice, about 20 ms, more than the solve); each round records its
    time per row of ``P`` read, and later rounds run on all threads while that is at
    most ``THREAD_GAIN`` times one thread's. A machine that becomes busy during the
    solve thus costs one slow parallel round at most, and an idle one reads ``P`` at the
    all-core bandwidth. Returns the kernel's round count.
    """
    S, A = prob.S, prob.A
    r2 = prob.r2s[0]
    Qs, Hs = np.empty(S * A), np.empty(S * A)
    Vprev, acc = BK.mpi_start(r2, S, True)
    per_row: dict[bool, float] = {}
    busy = True
    for it in range(max_iter):
        if it == 2:  # busy cores: no parallel round in this solve
            busy = idle_cores() < get_num_threads() - 1
        par = not busy and per_row.get(True, 0.0) <= THREAD_GAIN * per_row.get(False, np.inf)
        t = time.perf_counter()
        rows = BK.mpi_round(prob.st, A, r2, prob.gamma, V, tol, it, max_eval, frac, rate, par, V_new, greedy, hist,
                            Qs, Hs, Vprev, acc)
        if rows < 0:
            return it + 1
        if it > 0 and rows > 0:
            per_row[par] = (time.perf_counter() - t) / rows
    return -max_iter


def _modified_policy_iteration(prob: _Problem, V: FloatArray, tol: float, max_iter: int, trace: bool,
                               n_sweeps: int | None) -> SolveResult:
    if prob.robust_ops is not None:
        raise NotImplementedError("modified policy iteration is for nominal transitions; use "
                                  "method='value_iteration' for robust MDPs.")
    if prob.kind == "max" and prob.masks is None:
        S, A = prob.S, prob.A
        V_new, greedy, hist = np.empty(S), np.empty(S, dtype=np.int64), np.empty(max_iter if trace else 1)
        nq = S * A if prob.st[0] == BK.DENSE else 0  # action elimination pays on long rows
        if n_sweeps is None:  # adaptive depth (module docstring of _methods)
            frac = MM.EVAL_FRAC_BOUNDED if nq else MM.EVAL_FRAC
            max_eval, rate = MM.EVAL_SWEEPS_PER_ACTION * A, MM.EVAL_RATE
        else:  # exactly n_sweeps - 1 evaluation sweeps per improvement
            max_eval, frac, rate = n_sweeps - 1, -1.0, np.inf
        if nq and S * S >= TIMED_THREADS_MIN_WORK and get_num_threads() > 1:
            n = _mpi_timed(prob, V, tol, max_iter, max_eval, frac, rate, V_new, greedy, hist)
        else:
            n = BK.modified_policy_iteration_kernel(prob.st, A, prob.r2s[0], prob.gamma, V, tol, max_iter, max_eval,
                                                    frac, rate, prob.parallel, V_new, greedy, hist, np.empty(nq),
                                                    np.empty(nq))
        converged, n = n > 0, abs(int(n))
        backup = (V_new, greedy) if nq and converged else None  # the kernel's T V at the answer
        return _finish(prob, V, "modified_policy_iteration", n, converged, hist[:n], tol, max_iter, trace, backup)
    if prob.kind == "kl":
        return _soft_mpi(prob, V, tol, max_iter, trace, n_sweeps)
    n_eval = 20 if n_sweeps is None else n_sweeps
    residuals: list[float] = []
    for it in range(max_iter):
        TV, _, pi = prob.backup(V)
        stop, V_mid, res = _span_stop(TV, V, prob.gamma, tol)
        residuals.append(res)
        if stop:
            return _finish(prob, V_mid, "modified_policy_iteration", it + 1, True, residuals, tol, max_iter, trace)
        V = TV
        if n_eval > 1:
            # Partial evaluation V <- r_pi + gamma P_pi V with the (S, S) kernel P_pi formed
            # once per improvement: each sweep costs S^2 (dense) or nnz(P_pi), not S^2 A.
            Ppi = prob.mdp._transition_matrix(pi)
            r_pi = (pi * prob.mdp._r_finite).sum(axis=1) - prob.penalty(pi)
            for _ in range(n_eval - 1):
                V = r_pi + prob.gamma * (Ppi @ V)
    return _finish(prob, V, "modified_policy_iteration", max_iter, False, residuals, tol, max_iter, trace)


def _soft_mpi(prob: _Problem, V: FloatArray, tol: float, max_iter: int, trace: bool,
              n_sweeps: int | None) -> SolveResult:
    """KL-regularized MPI, compiled (:func:`~mdpkit.solvers._bellman_kernels.soft_mpi_kernel`)."""
    S, A = prob.S, prob.A
    if n_sweeps is None:  # evaluation until 1e-4 of the Bellman change, at most SOFT_EVAL_SWEEPS
        max_eval, frac = MM.SOFT_EVAL_SWEEPS, MM.EVAL_FRAC
    else:
        max_eval, frac = n_sweeps - 1, -1.0
    hist = np.empty(max_iter if trace else 1)  # (a large untouched buffer costs a page-zeroing fault)
    n = BK.soft_mpi_kernel(prob.st, A, prob.r2s[0], prob.gamma, prob.log_ref[0], prob.beta, V, tol, max_iter,
                           max_eval, frac, np.empty(S), np.empty((S, A)), np.empty(S), hist)
    converged, n = n > 0, abs(int(n))
    return _finish(prob, V, "modified_policy_iteration", n, converged, hist[:n], tol, max_iter, trace)


def _linear_programming(prob: _Problem, V: FloatArray, tol: float, max_iter: int, trace: bool) -> SolveResult:
    """Primal and dual LP by HiGHS (:mod:`mdpkit.solvers._lp`); the policy comes from the dual."""
    if prob.robust_ops is not None or prob.kind != "max":
        raise ValueError("`method` 'linear_programming' solves the unregularized nominal MDP; use "
                         "'value_iteration' with `policy_reg` or `robust`.")
    mdp = prob.mdp
    V, x, cert, ok, msg = _lp.solve_lp(mdp.P_csr, mdp._r_finite, prob.mask, prob.gamma)
    Q = prob.q(V)
    pi = _lp.policy_from_occupancy(x, prob.mask)
    res = SolveResult(V=V, Q=Q, pi=pi, converged=ok, n_iter=1, residual=_residual(prob, V, Q),
                      method="linear_programming", message=msg, trace=cert if ok else None)
    res = _with_bounds(prob, res)
    if ok and res.error_bound > tol:
        warnings.warn(f"linear_programming: certified error {res.error_bound:.3e} exceeds tol={tol:.1e} "
                      "(HiGHS feasibility tolerance 1e-10); use method='policy_iteration' for more digits.",
                      ConvergenceWarning, stacklevel=3)
        res = dataclasses.replace(res, converged=False, status=1, message=f"{msg}; error bound above tol")
    return res


def _gauss_seidel(prob: _Problem, V: FloatArray, tol: float, max_iter: int, trace: bool) -> SolveResult:
    """In-place value iteration; stops when ``gamma/(1-gamma) * ||V_new - V_old||_inf <= tol``."""
    if prob.robust_ops is not None or prob.kind == "fdiv":
        raise ValueError("`method` 'gauss_seidel' supports the hard max and the KL soft max on nominal "
                         "transitions; use 'value_iteration' for robust or f-regularized problems.")
    S, A = prob.S, prob.A
    feas = np.ones(S * A, dtype=np.uint8) if prob.mask is None else prob.mask.ravel().astype(np.uint8)
    hist = np.empty(max_iter)
    n = GSK.gauss_seidel_kernel(
        prob.sparse, prob.P2s[0], prob.indptr, prob.indices, prob.data, prob.r2s[0], feas, prob.gamma,
        GSK.ACT_MAX if prob.kind == "max" else GSK.ACT_KL, np.ascontiguousarray(prob.log_ref[0]), prob.beta,
        V, tol, max_iter, hist,
    )
    converged, n = n > 0, abs(int(n))
    return _finish(prob, V, "gauss_seidel", n, converged, hist[:n], tol, max_iter, trace)


def _residual(prob: _Problem, V: FloatArray, Q: FloatArray) -> float:
    return float(np.max(np.abs(prob.act(Q)[0] - V))) if np.all(np.isfinite(V)) else float("nan")


def _with_bounds(prob: _Problem, res: SolveResult) -> SolveResult:
    r"""Attach the MacQueen bounds :math:`TV + \frac{\gamma}{1-\gamma}[\min d, \max d]` (``d = TV - V``)."""
    if prob.H is not None or res.bounds is not None or not np.all(np.isfinite(res.V)):
        return res
    TV = prob.act(res.Q)[0]
    d = TV - res.V
    c = prob.gamma / (1.0 - prob.gamma)
    return dataclasses.replace(res, bounds=(TV + c * float(d.min()), TV + c * float(d.max())))


def _backward_induction(prob: _Problem) -> SolveResult:
    H, S, A = prob.H, prob.S, prob.A
    assert H is not None
    V = np.zeros((H + 1, S))
    V[H] = prob.mdp.terminal_value
    Q = np.empty((H, S, A))
    pi = np.empty((H, S, A))
    for h in range(H - 1, -1, -1):
        prob.q(V[h + 1], h, out=Q[h])
        V[h], pi[h] = prob.act(Q[h], h)
    _check_finite_result("backward_induction", V=V, Q=Q, pi=pi)
    return SolveResult(V=V, Q=Q, pi=pi, converged=True, n_iter=H, residual=0.0,
                       method="backward_induction")


_DISCOUNTED = {
    "value_iteration": _value_iteration,
    "policy_iteration": _policy_iteration,
    "linear_programming": _linear_programming,
    "gauss_seidel": _gauss_seidel,
}


def solve(
    mdp: TabularMDP,
    *,
    policy_reg: PolicyRegularizer | None = None,
    robust: Any = None,
    method: str | None = None,
    tol: float = 1e-8,
    max_iter: int = 100_000,
    V0: npt.ArrayLike | None = None,
    n_sweeps: int | None = None,
    trace: bool = False,
) -> SolveResult:
    r"""Solve a (regularized, robust) tabular MDP exactly.

    The fixed point of the generic backup (module docstring), discounted, or backward
    induction (:math:`V_H` = ``mdp.terminal_value``, :math:`Q_h = r_h + \gamma \mathcal
    T_h[V_{h+1}]`, :math:`V_h = \mathcal M[Q_h]`) for a finite horizon.

    Parameters
    ----------
    mdp : TabularMDP
    policy_reg : PolicyRegularizer, optional
        Action part :math:`\max_\pi \langle\pi, Q\rangle - \beta D_f(\pi\|\pi_{ref})`;
        ``None`` is the plain max.
    robust : optional
        Transition part; an object with ``transition_operator(mdp, stage)`` (see
        :mod:`mdpkit.solvers`), ``None`` for the nominal expectation.
    method : str
        ``"value_iteration"``, ``"policy_iteration"``, ``"modified_policy_iteration"``,
        ``"linear_programming"`` (primal and dual LP by HiGHS, nominal and unregularized,
        duality-gap certificate in ``result.trace``), ``"gauss_seidel"`` (in-place value
        iteration, stopped when :math:`\frac{\gamma}{1-\gamma}\|V_{k+1} - V_k\|_\infty \le`
        ``tol``; Puterman 2005, Thm. 6.3.4) or ``"backward_induction"`` (finite horizon).
        Default: backward induction, or for a discounted model the rule of Notes.
    tol : float
        Discounted methods stop with :math:`\|V - V^*\|_\infty \le` ``tol`` (span rule;
        policy iteration: a stable greedy policy, or regularized the MacQueen bounds), above
        the relative rounding floor :math:`\varphi` of the module docstring: ``converged=True``
        only when ``error_bound`` + :math:`\varphi \le` ``tol``; for ``tol`` < :math:`2\varphi`
        it stops at :math:`2\varphi`, ``converged=False``, with a ``ConvergenceWarning``.
    max_iter : int
        At most ``10**7`` (the residual trace is preallocated).
    V0 : array_like, shape (S,), optional
        Initial values (zeros); discounted methods only (a finite-horizon solve refuses it).
    n_sweeps : int, optional
        Sweeps per improvement in modified policy iteration (one Bellman sweep and
        ``n_sweeps - 1`` evaluation sweeps); ``None`` adapts the evaluation depth.
    trace : bool
        Store the per-iteration residuals in ``result.trace``.

    Returns
    -------
    SolveResult
        ``V, Q, pi``, ``converged``, ``n_iter``, ``residual = ||T V - V||_inf`` and (discounted)
        ``bounds`` bracketing :math:`V^*`: ``error_bound`` certifies :math:`\|V - V^*\|_\infty`.

    Notes
    -----
    Default method of a discounted model (rule and measurements: :doc:`/theory/mdp`):
    banded or small models, ``"policy_iteration"`` with exact banded / dense LU evaluations
    (with a KL ``policy_reg``: soft policy iteration, Newton's method); other dense
    unregularized models, ``"modified_policy_iteration"`` with adaptive evaluation depth;
    sparse models with :math:`S \ge 5000` (hard max without masks, or KL),
    ``"policy_iteration"`` (hard max: unless value iteration is predicted to cost at most
    150 sweeps) with each evaluation an ILU(0)-preconditioned BiCGSTAB solve
    of :math:`(I - \gamma P_\pi) V = r_\pi - \beta\,\mathrm{KL}` (it stops on the
    MacQueen certificate, and hands over to the method below when an evaluation fails);
    other sparse KL models, ``"modified_policy_iteration"``; otherwise
    ``"value_iteration"``. Sweeps run in parallel from ``1e8`` entries of ``P``.

    Examples
    --------
    >>> import mdpkit as mk
    >>> res = mk.solve(mk.puterman_example(gamma=0.5))       # gamma < 10/11: action a12
    >>> round(float(res.V[0]), 10), int(res.pi[0].argmax())    # 10 - 0.5/(1-0.5)
    (9.0, 1)
    """
    prob = _Problem(mdp, policy_reg, robust)
    tol_f, max_it, n_sw = _check_options(mdp, method, tol, max_iter, n_sweeps, V0)
    if mdp.horizon is not None:
        return _finite_horizon(prob, method)
    if method == "backward_induction":
        raise ValueError("`method` 'backward_induction' needs a finite-horizon MDP (`horizon=`); "
                         f"this one is discounted (gamma={mdp.gamma}).")
    V = np.zeros(prob.S) if V0 is None else as_float_array("V0", V0, shape=(prob.S,)).copy()
    return _discounted(prob, method or MM.default_method(prob, tol_f, V0 is None), V, tol_f, max_it, trace, n_sw)


def _check_options(mdp: TabularMDP, method: str | None, tol: float, max_iter: int, n_sweeps: int | None,
                   V0: npt.ArrayLike | None) -> tuple[float, int, int | None]:
    """Validate the options of :func:`solve`; return ``(tol, max_iter, n_sweeps)``."""
    if method is not None:
        check_choice("method", method, METHODS)
    tol_f = check_positive("tol", tol)
    max_it = check_int("max_iter", max_iter, lo=1, hi=MAX_ITER_LIMIT)  # the trace is preallocated
    n_sw = None if n_sweeps is None else check_int("n_sweeps", n_sweeps, lo=1, hi=MAX_ITER_LIMIT)
    if mdp.horizon is not None and V0 is not None:
        raise ValueError("`V0` is for discounted solves; a finite-horizon solve starts from V_H = 0 "
                         f"(backward induction); got V0 for horizon={mdp.horizon}.")
    return tol_f, max_it, n_sw


def _finite_horizon(prob: _Problem, method: str | None) -> SolveResult:
    """Backward induction (the only finite-horizon method), after the memory check."""
    mdp = prob.mdp
    check_memory(f"the (H, S, A) tables of horizon {mdp.horizon}", (mdp.horizon or 0) * mdp.n_states
                 * (2 * mdp.n_actions + 1), hint="Reduce `horizon` or the state space.")
    if method not in (None, "backward_induction"):
        raise ValueError(f"`method` must be 'backward_induction' for a finite-horizon MDP; got {method!r}.")
    return _backward_induction(prob)


def _discounted(prob: _Problem, m: str, V: FloatArray, tol: float, max_it: int, trace: bool,
                n_sweeps: int | None) -> SolveResult:
    """Run discounted method ``m`` from ``V`` to ``tol`` above the rounding floor, then certify."""
    floor = _rounding_floor(prob, V)
    tol_run = tol - floor if tol >= 2.0 * floor else floor  # stop bound + floor <= tol
    if m == "modified_policy_iteration":
        result = _modified_policy_iteration(prob, V, tol_run, max_it, trace, n_sweeps)
    else:
        result = _DISCOUNTED[m](prob, V, tol_run, max_it, trace)
    return _certify(_with_bounds(prob, result), tol, floor)


def solve_kl_regularized(
    mdp: TabularMDP, pi_ref: npt.ArrayLike, beta: float, **options: Any
) -> SolveResult:
    r"""KL-regularized (soft) optimal control toward ``pi_ref``.

    Maximizes :math:`\mathbb E^\pi[\sum_t \gamma^t (r(s_t,a_t) - \beta\,
    \mathrm{KL}(\pi(\cdot|s_t)\|\pi_{ref}(\cdot|s_t)))]`; the fixed point of the soft
    Bellman operator

    .. math::

        V(s) = \beta \log \sum_a \pi_{ref}(a|s) \exp\big(Q(s,a)/\beta\big), \qquad
        \pi^*(a|s) = \pi_{ref}(a|s)\, e^{(Q(s,a) - V(s))/\beta},

    a :math:`\gamma`-contraction (Geist et al. 2019, Prop. 1). Same options as
    :func:`solve`. ``beta -> 0`` recovers the unregularized optimum, ``beta -> inf``
    the value of ``pi_ref``.

    Examples
    --------
    >>> import numpy as np, mdpkit as mk
    >>> P = np.ones((1, 2, 1)); r = np.array([[0.0, 1.0]])           # a one-state bandit
    >>> res = mk.solve_kl_regularized(mk.TabularMDP(P, r, gamma=0.5), [[0.5, 0.5]], beta=1.0)
    >>> round(float(res.V[0]), 8)          # log((1 + e)/2) / (1 - 0.5) = 1.2402290139
    1.24022901
    """
    return solve(mdp, policy_reg=PolicyRegularizer(KL(), pi_ref, beta), **options)


# -- exposed operators (the theorem tests use them) --------------------------------------
def _operator(mdp: TabularMDP, V: npt.ArrayLike, policy_reg: PolicyRegularizer | None, robust: Any,
              stage: int) -> FloatArray:
    prob = _Problem(mdp, policy_reg, robust)
    h = 0 if mdp.horizon is None else check_int("stage", stage, lo=0, hi=mdp.horizon - 1)
    Va = as_float_array("V", V, shape=(mdp.n_states,))
    return prob.backup(Va, h)[0]


def bellman(V: npt.ArrayLike, mdp: TabularMDP, *, robust: Any = None, stage: int = 0) -> FloatArray:
    r"""Bellman optimality operator :math:`(TV)(s) = \max_a r(s,a) + \gamma \sum_{s'} P(s'|s,a) V(s')`.

    For finite horizon it is the stage-``h`` backup :math:`V_h = T_h V_{h+1}` (``gamma = 1``).

    >>> import mdpkit as mk
    >>> mk.bellman([0.0, 0.0], mk.puterman_example(0.9))
    array([10., -1.])
    """
    return _operator(mdp, V, None, robust, stage)


def soft_bellman(V: npt.ArrayLike, mdp: TabularMDP, pi_ref: npt.ArrayLike, beta: float, *,
                 robust: Any = None, stage: int = 0) -> FloatArray:
    r"""Soft Bellman operator :math:`(T_\beta V)(s) = \beta \log \sum_a \pi_{ref}(a|s) e^{(r(s,a) + \gamma P V(s,a))/\beta}`.

    >>> import mdpkit as mk
    >>> mk.soft_bellman([0.0, 0.0], mk.puterman_example(0.9), [[0.5, 0.5]] * 2, beta=1e-9)
    array([10., -1.])
    """
    return _operator(mdp, V, PolicyRegularizer(KL(), pi_ref, beta), robust, stage)


def policy_evaluation(
    mdp: TabularMDP,
    pi: npt.ArrayLike,
    *,
    policy_reg: PolicyRegularizer | None = None,
    method: str = "exact",
    tol: float = 1e-10,
    max_iter: int = 1_000_000,
) -> FloatArray:
    r"""(Regularized) value of a fixed policy.

    :math:`V^\pi = (I - \gamma P_\pi)^{-1}(r_\pi - \beta D_f(\pi\|\pi_{ref}))` by a direct
    (sparse) linear solve (``method="exact"``) or by iterating the policy operator until
    :math:`\gamma\|T_\pi V - V\|_\infty/(1-\gamma) \le` ``tol`` (``"iterative"``). Finite
    horizon: backward recursion, shape ``(H+1, S)``.

    >>> import mdpkit as mk
    >>> mk.policy_evaluation(mk.puterman_example(0.5), [0, 0])   # a11: (5 - 2.75)/0.375, -2
    array([ 6., -2.])
    """
    prob = _Problem(mdp, policy_reg, None)
    check_choice("method", method, ("exact", "iterative"))
    p = mdp.check_policy(pi)
    if mdp.is_finite_horizon:
        H = mdp.horizon
        assert H is not None
        return mdp._value(p, np.stack([prob.penalty(p[h], h) for h in range(H)]))
    if method == "exact":
        return prob.evaluate(p)
    tol_f = check_positive("tol", tol)
    n_it = check_int("max_iter", max_iter, lo=1)
    r_pi = (p * mdp._r_finite).sum(axis=1) - prob.penalty(p)
    V = np.zeros(mdp.n_states)
    c = prob.gamma / (1.0 - prob.gamma)
    for _ in range(n_it):
        V_new = r_pi + policy_mean(p, prob.q(V)) - (p * mdp._r_finite).sum(axis=1)
        if c * np.max(np.abs(V_new - V)) <= tol_f:
            return V_new
        V = V_new
    warnings.warn(f"iterative policy evaluation did not reach tol={tol_f:.1e} in {n_it} sweeps.",
                  ConvergenceWarning, stacklevel=2)
    return V


def greedy_policy(Q: npt.ArrayLike) -> FloatArray:
    """One-hot greedy policy ``pi[s, argmax_a Q[s, a]] = 1`` (first maximizer on ties; ``-inf`` marks infeasible).

    >>> greedy_policy([[0.0, 1.0], [2.0, 2.0]])
    array([[0., 1.],
           [1., 0.]])
    """
    Qa = as_float_array("Q", Q, ndim=(2, 3), finite=False)
    if np.any(np.isnan(Qa) | (Qa == np.inf)) or np.any(np.all(Qa == -np.inf, axis=-1)):
        raise ValueError("`Q` must be finite or -inf (infeasible actions), with a finite entry in every row.")
    return np.eye(Qa.shape[-1])[np.argmax(Qa, axis=-1)]

