r"""Minimizers of the direct-alignment losses: numerical (any loss) and closed forms.

* :func:`minimize_loss` minimizes a loss of :mod:`mdpkit.preference._losses` over the
  policy: L-BFGS on the logits with the exact gradient for the smooth losses, the linear
  program of the hinge loss (HiGHS) for SLiC.
* Closed forms: DPO with Bradley-Terry labels and full coverage is minimized by the tilted
  policy :func:`tilted_policy`; IPO's minimizer solves a graph-Laplacian linear system
  (:func:`ipo_minimizer`; for pairs drawn from :math:`\mu \otimes \mu` it is
  :math:`\pi_{ref}\, e^{P(y \succ \mu)/\beta}/Z`, Azar et al. 2024, Prop. 4); f-DPO's is the
  f-regularized optimum :math:`\pi_{ref}\,(f')^{-1}((r - \lambda)/\beta)`
  (:func:`fdpo_minimizer`, Wang et al. 2024, Thm 1).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from scipy import optimize

from .._results import ArrayFields, ConvergenceWarning
from .._typing import FloatArray
from .._validation import (
    as_float_array,
    check_choice,
    check_int,
    check_positive,
    check_scalar,
)
from ._losses import DIVERGENCES, LOSSES, _check_loss_args, loss_of_logits
from ._problems import check_distribution


@dataclass(frozen=True, slots=True, kw_only=True)
class LossMinimum(ArrayFields):
    """Result of :func:`minimize_loss`.

    Attributes
    ----------
    pi : ndarray
        The minimizing policy.
    value : float
        Loss at ``pi``.
    grad_norm : float
        Max-norm of the logit gradient at ``pi`` (0 for the LP).
    converged : bool
    n_iter : int
    """

    pi: FloatArray
    value: float
    grad_norm: float
    converged: bool
    n_iter: int

    frame_axes: ClassVar[tuple[str, ...]] = ("context", "response")
    frame_arrays: ClassVar[tuple[str, ...]] = ("pi",)


def _softmax(theta: FloatArray) -> FloatArray:
    z = theta - theta.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def lbfgs_polished(fg, x0: FloatArray, tol: float, max_iter: int) -> tuple[FloatArray, float, int]:
    """L-BFGS, then up to two Newton steps with a finite-difference Hessian of the exact gradient.

    L-BFGS stalls once the loss changes by less than its rounding error (gradient about
    1e-8 for a loss of order 1); Newton steps only need the gradient, which stays accurate,
    and take it to about 1e-12. Directions of zero curvature (the softmax gauge, responses
    the data do not cover) are left alone by the pseudo-inverse. Returns (x, grad max-norm, n_iter).
    """
    res = optimize.minimize(fg, x0, jac=True, method="L-BFGS-B",
                            options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0, "maxcor": 30})
    x, n_iter = res.x, int(res.nit)
    g = fg(x)[1]
    if x.size <= 2000:
        h = 1e-6
        for _ in range(2):
            H = np.empty((x.size, x.size))
            for k in range(x.size):
                e = np.zeros_like(x)
                e[k] = h
                H[:, k] = (fg(x + e)[1] - fg(x - e)[1]) / (2 * h)
            H = 0.5 * (H + H.T)
            x_new = x - np.linalg.pinv(H, rcond=1e-10, hermitian=True) @ g
            g_new = fg(x_new)[1]
            if np.abs(g_new).max() >= np.abs(g).max():
                break
            x, g = x_new, g_new
    return x, float(np.abs(g).max()), n_iter


def minimize_loss(
    pi_ref: npt.ArrayLike,
    counts: npt.ArrayLike,
    beta: float,
    *,
    loss: str = "dpo",
    divergence: str = "reverse_kl",
    alpha: float = 0.5,
    pi0: npt.ArrayLike | None = None,
    tol: float = 1e-10,
    max_iter: int = 20_000,
) -> LossMinimum:
    r"""Minimize a direct-alignment loss over the policy (exact gradients, L-BFGS; LP for hinge).

    Parameters
    ----------
    pi_ref : array_like, shape (Y,) or (X, Y)
        Reference policy, strictly positive.
    counts : array_like, shape (Y, Y) or (X, Y, Y)
        Pair frequencies (data or population).
    beta : float
    loss, divergence, alpha
        As in :func:`preference_loss`.
    pi0 : array_like, optional
        Starting policy (default ``pi_ref``). Responses that no pair covers keep their
        starting log-ratio: the loss does not depend on them.
    tol : float
        Required max-norm of the logit gradient (L-BFGS stalls near 1e-8
        on a float64 loss of order 1; two Newton steps on
        the exact gradient follow and usually reach 1e-12).
    max_iter : int

    Returns
    -------
    LossMinimum
        ``converged`` is False (with a :class:`ConvergenceWarning`) if the gradient
        tolerance was not met, e.g. when the data make the loss unbounded below in some
        direction (deterministic preferences under DPO).

    Examples
    --------
    >>> from mdpkit.preference import bradley_terry_matrix, population_counts, tilted_policy
    >>> P = bradley_terry_matrix([0.0, 1.0]); W = population_counts(P, [0.5, 0.5])
    >>> m = minimize_loss([0.5, 0.5], W, beta=1.0)
    >>> bool(np.allclose(m.pi, tilted_policy([0.5, 0.5], [0.0, 1.0], 1.0), atol=1e-9))
    True
    """
    p0 = pi_ref if pi0 is None else pi0
    _, ref, W, b, a = _check_loss_args(p0, pi_ref, counts, beta, loss, divergence, alpha)
    tol = check_positive("tol", tol)
    max_iter = check_int("max_iter", max_iter, lo=1)
    theta0 = np.log(np.asarray(p0, dtype=np.float64))
    if not np.all(np.isfinite(theta0)):
        raise ValueError("`pi0` must be strictly positive.")
    if loss == "hinge":
        return _hinge_lp(ref, W, b, theta0 - np.log(ref))
    div = divergence if loss == "fdpo" else "reverse_kl"
    log_ref = np.log(ref)

    def fg(x):
        lv = loss_of_logits(x.reshape(ref.shape), log_ref, W, b, loss, div, a)
        return lv.value, lv.grad.reshape(-1)

    x, gn, n_iter = lbfgs_polished(fg, theta0.reshape(-1), tol, max_iter)
    ok = gn <= tol
    if not ok:
        warnings.warn(f"minimize_loss({loss!r}) stopped with gradient max-norm {gn:.3e} > tol={tol:g} "
                      f"after {n_iter} iterations.", ConvergenceWarning, stacklevel=2)
    return LossMinimum(pi=_softmax(x.reshape(ref.shape)), value=float(fg(x)[0]), grad_norm=gn, converged=ok,
                       n_iter=n_iter)


def _hinge_lp(ref: FloatArray, W: FloatArray, beta: float, g0: FloatArray) -> LossMinimum:
    """SLiC/hinge: min sum W xi, xi >= 1 - beta (g_w - g_l), xi >= 0 (one LP per context)."""
    rows_pi, total = [], 0.0
    for c in range(W.reshape(-1, *W.shape[-2:]).shape[0]):
        Wc = W.reshape(-1, *W.shape[-2:])[c]
        Y = Wc.shape[0]
        pairs = [(w, l) for w in range(Y) for l in range(Y) if w != l and Wc[w, l] > 0]
        n = len(pairs)
        cost = np.concatenate([np.zeros(Y), [Wc[w, l] for w, l in pairs]])
        A = np.zeros((n, Y + n))
        for k, (w, l) in enumerate(pairs):  # -beta g_w + beta g_l - xi <= -1
            A[k, w], A[k, l], A[k, Y + k] = -beta, beta, -1.0
        covered = np.zeros(Y, bool)
        for w, l in pairs:
            covered[w] = covered[l] = True
        # uncovered responses keep their starting log-ratio; one covered response anchors the gauge
        bounds = [(g0.reshape(-1, Y)[c, y],) * 2 if not covered[y] else (None, None) for y in range(Y)]
        anchor = int(np.argmax(covered)) if covered.any() else 0
        bounds[anchor] = (g0.reshape(-1, Y)[c, anchor],) * 2
        bounds += [(0.0, None)] * n
        res = optimize.linprog(cost, A_ub=A if n else None, b_ub=-np.ones(n) if n else None,
                               bounds=bounds, method="highs")
        if res.status != 0:
            raise RuntimeError(f"hinge LP failed: {res.message}")
        g = res.x[:Y]
        rows_pi.append(_softmax(np.log(ref.reshape(-1, Y)[c]) + g))
        total += float(res.fun) + float(Wc[np.diag_indices(Y)].sum())  # pairs (y, y) pay phi(0) = 1
    return LossMinimum(pi=np.asarray(rows_pi).reshape(ref.shape), value=total, grad_norm=0.0,
                       converged=True, n_iter=1)


def ipo_minimizer(pi_ref: npt.ArrayLike, counts: npt.ArrayLike, beta: float) -> FloatArray:
    r"""Closed-form IPO minimizer: the log-ratio :math:`g` solves a graph-Laplacian system.

    Setting the gradient of :math:`\sum W[w,l](g_w - g_l - \tfrac{1}{2\beta})^2` to zero gives

    .. math:: \sum_l (W_{zl} + W_{lz})(g_z - g_l) = \tfrac{1}{2\beta}\sum_l (W_{zl} - W_{lz}),

    solved in the minimum-norm sense (unique up to a constant on each connected component of
    the comparison graph; uncovered responses keep :math:`\pi_{ref}`'s ratios). For pairs from
    :math:`\mu\otimes\mu` with full support this is :math:`\pi_{ref} e^{P(y\succ\mu)/\beta}/Z`.

    Examples
    --------
    >>> from mdpkit.preference import population_counts
    >>> P = [[0.5, 0.75], [0.25, 0.5]]; W = population_counts(P, [0.5, 0.5])
    >>> ipo_minimizer([0.5, 0.5], W, beta=1.0).round(6).tolist()   # softmax of P(y > mu) = (5/8, 3/8)
    [0.562177, 0.437823]
    """
    ref = check_distribution("pi_ref", pi_ref, positive=True)
    b = check_positive("beta", beta)
    Y = ref.shape[-1]
    W = as_float_array("counts", counts, shape=(*ref.shape[:-1], Y, Y))
    out = []
    for Wc, rc in zip(W.reshape(-1, Y, Y), ref.reshape(-1, Y), strict=True):
        S = Wc + Wc.T
        np.fill_diagonal(S, 0.0)
        lap = np.diag(S.sum(1)) - S
        rhs = (Wc.sum(1) - Wc.sum(0)) / (2.0 * b)
        g = np.linalg.lstsq(lap, rhs, rcond=None)[0]
        out.append(_softmax(np.log(rc) + g))
    return np.asarray(out).reshape(ref.shape)


def fdpo_minimizer(
    pi_ref: npt.ArrayLike, r: npt.ArrayLike, beta: float, *, divergence: str = "reverse_kl", alpha: float = 0.5
) -> FloatArray:
    r"""f-DPO's population minimizer under Bradley-Terry labels of ``r`` with full coverage.

    The loss is minimized when every pair's implied margin equals the true one,
    :math:`\beta\psi_f(u_w) - \beta\psi_f(u_l) = r_w - r_l`, i.e. at the f-regularized optimum
    :math:`\max_\pi \mathbb E_\pi r - \beta D_f(\pi\|\pi_{ref})` with :math:`f' = \psi_f`
    up to a constant (Wang et al. 2024, Thm 1). Computed by
    :meth:`mdpkit.divergences.FDivergence.regularized_max`: reverse KL is ``KL``,
    forward KL ``ForwardKL``, TRL's JS score :math:`\log(2u/(1+u))` is twice the
    derivative of ``JensenShannon``'s generator (so strength :math:`2\beta`), and TRL's
    alpha score :math:`(1-u^{-\alpha})/\alpha` is ``Alpha(1 - alpha)``.

    Examples
    --------
    >>> fdpo_minimizer([0.5, 0.5], [0.0, 1.0], 1.0, divergence="forward_kl").round(6).tolist()  # 1/(2 lam - 2 r), lam = 1 + 1/sqrt 2
    [0.292893, 0.707107]
    """
    from mdpkit import divergences as D

    check_choice("divergence", divergence, DIVERGENCES)
    b = check_positive("beta", beta)
    a = check_scalar("alpha", alpha, lo=0.0, hi=1.0, lo_inclusive=False, hi_inclusive=False)
    ref = check_distribution("pi_ref", pi_ref, positive=True)
    rr = as_float_array("r", r, shape=ref.shape)
    div, bb = {"reverse_kl": (D.KL(), b), "forward_kl": (D.ForwardKL(), b),
               "js": (D.JensenShannon(), 2.0 * b), "alpha": (D.Alpha(1.0 - a), b)}[divergence]
    return np.asarray(div.regularized_max(rr, ref, bb)[1], dtype=np.float64)


__all__ = ["LOSSES", "LossMinimum", "fdpo_minimizer", "ipo_minimizer", "minimize_loss"]
