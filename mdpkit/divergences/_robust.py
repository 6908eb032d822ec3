r"""Exact robust duals: the worst next-state law near a nominal law.

For a value vector :math:`v \in \mathbb R^n`, a nominal law :math:`p \in \Delta_n` and an
f-divergence :math:`D`,

.. math::

    \underline{\mathrm{pen}}(v; p, \lambda) = \min_{q \in \Delta_n}\ \langle q, v\rangle
        + \lambda D(q \,\|\, p), \qquad
    \underline{\mathrm{ball}}(v; p, \rho) = \min_{q \in \Delta_n,\ D(q\|p) \le \rho}
        \langle q, v\rangle .

Closed forms (Tang, Liu, Xu 2025, the duals of the regularized inner problem; CLAIMS.md B1), with
:math:`[v]_\alpha = \min(v, \alpha)`:

* TV, :math:`f(t) = |t-1|/2`: :math:`\mathrm{pen} = \mathbb E_p[\min(v, \min_s v(s) + \lambda)]`;
  the ball moves up to :math:`\rho` of mass from the largest values to
  :math:`\arg\min v` (the minimum is over *all* states: TV allows mass off the support).
* KL: :math:`\mathrm{pen} = -\lambda \log \mathbb E_p e^{-v/\lambda}`, worst law
  :math:`q \propto p\, e^{-v/\lambda}`; the ball is
  :math:`\sup_{\lambda \ge 0} \mathrm{pen}(\lambda) - \lambda\rho`, concave in
  :math:`\lambda`, solved at :math:`\mathrm{KL}(q_\lambda \| p) = \rho`.
* :math:`\chi^2`, :math:`f(t) = (t-1)^2`: :math:`\mathrm{pen} = \sup_{\alpha}
  \mathbb E_p[v]_\alpha - \mathrm{Var}_p([v]_\alpha)/(4\lambda)` (a **sup**), worst law
  :math:`q = p\,(1 + (\mathbb E_p[v]_{\alpha^*} - [v]_{\alpha^*})/(2\lambda))`; the ball by its
  exact active-set solution.

Lagrangian link: :math:`\mathrm{ball}(\rho) = \sup_{\lambda \ge 0}
\mathrm{pen}(\lambda) - \lambda\rho`.

References
----------
.. [1] C. Tang, Z. Liu, P. Xu, "Robust Offline Reinforcement Learning with Linearly
   Structured f-Divergence Regularization", ICML 2025 (duals of the regularized
   inner problem).
.. [2] Z. Hu, L. J. Hong, "Kullback-Leibler divergence constrained distributionally
   robust optimization", 2013 (KL ball dual).
.. [3] J. Duchi, H. Namkoong, "Variance-based regularization with convex objectives",
   JMLR 2019 (chi-square ball).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .._typing import FloatArray
from .._validation import (
    as_float_array,
    check_nonnegative,
    check_positive,
    check_simplex,
)
from . import _robust_kernels as RK

if TYPE_CHECKING:  # _divergences imports this module: no import back at run time
    from ._divergences import FDivergence


def check_robust_div(div: object) -> int:
    """Return the kernel code of ``div``, which must be KL, ChiSquare or TotalVariation."""
    code = getattr(div, "code", None)
    if not (isinstance(code, int) and callable(getattr(div, "value", None))):
        raise TypeError(f"`div` must be an mdpkit.divergences.FDivergence instance (KL(), ChiSquare() or "
                        f"TotalVariation()); got {type(div).__name__}.")
    if code not in RK.ROBUST_CODES:
        raise NotImplementedError(f"robust duals are implemented for KL, ChiSquare and TotalVariation; "
                                  f"got {type(div).__name__}.")
    return code


def _prepare(v: npt.ArrayLike, p: npt.ArrayLike) -> tuple[FloatArray, FloatArray, tuple[int, ...]]:
    va = as_float_array("v", v)
    pa = as_float_array("p", p)
    if va.ndim == 0 or pa.ndim == 0:
        raise ValueError(f"`v` and `p` must have at least one dimension; got shapes {va.shape} and {pa.shape}.")
    if va.shape[-1] != pa.shape[-1]:
        raise ValueError(f"`v` and `p` must have the same last dimension n; got shapes {va.shape} and {pa.shape}.")
    check_simplex("p", pa)
    try:
        shape = np.broadcast_shapes(va.shape, pa.shape)
    except ValueError:
        raise ValueError(f"`v` and `p` must broadcast to a common shape; got {va.shape} and {pa.shape}.") from None
    n = shape[-1]
    V2 = np.ascontiguousarray(np.broadcast_to(va, shape).reshape(-1, n))
    P2 = np.ascontiguousarray(np.broadcast_to(pa, shape).reshape(-1, n))
    return V2, P2, shape


def _run(code: int, ball: bool, V2: FloatArray, P2: FloatArray, param: float,
         shape: tuple[int, ...]) -> tuple[FloatArray | float, FloatArray]:
    order = np.ascontiguousarray(np.argsort(V2, axis=1, kind="stable"))
    jmin = np.ascontiguousarray(np.argmin(V2, axis=1))
    val = np.empty(V2.shape[0])
    q = np.empty_like(V2)
    RK.robust_rows(code, ball, V2, P2, param, order, jmin, val, q, True)
    if len(shape) == 1:
        return float(val[0]), q[0]
    return val.reshape(shape[:-1]), q.reshape(shape)


def penalized_inf(div: FDivergence, v: npt.ArrayLike, p: npt.ArrayLike,
                  lam: float) -> tuple[FloatArray | float, FloatArray]:
    r"""Return ``(value, q)``: :math:`\min_{q\in\Delta} \langle q, v\rangle + \lambda D(q\|p)` and its minimizer.

    Parameters
    ----------
    div : KL, ChiSquare or TotalVariation
    v : array_like, shape (..., n)
        Values (finite); broadcast against ``p``.
    p : array_like, shape (..., n)
        Nominal laws, rows on the simplex (zeros allowed).
    lam : float
        Penalty strength, ``lam > 0``.

    Returns
    -------
    value : float or ndarray, shape (...)
    q : ndarray, shape (..., n)
        The worst-case law (rows on the simplex).

    Notes
    -----
    Exact: closed forms for TV and KL (log-space, stable from ``lam = 1e-8`` to
    ``1e8``); for chi-square the sup over :math:`\alpha` is found by a pass over the
    sorted support values with the stationary point of the bracketing segment in closed
    form. ``lam -> inf`` gives :math:`\mathbb E_p v`; ``lam -> 0`` gives the minimum of
    ``v`` over the support of ``p`` (KL, chi-square) or over all states (TV).

    Examples
    --------
    >>> from mdpkit.divergences import KL, TotalVariation, penalized_inf
    >>> val, q = penalized_inf(TotalVariation(), [0.0, 1.0, 3.0], [0.2, 0.4, 0.4], lam=0.5)
    >>> round(val, 12), q                # 0.2*0 + 0.4*0.5 + 0.4*0.5
    (0.4, array([1., 0., 0.]))
    >>> val, q = penalized_inf(KL(), [0.0, 1.0], [0.5, 0.5], lam=1.0)
    >>> round(val, 10)                   # -log((1 + e^-1)/2)
    0.379885493
    """
    code = check_robust_div(div)
    lam_f = check_positive("lam", lam)
    V2, P2, shape = _prepare(v, p)
    return _run(code, False, V2, P2, lam_f, shape)


def ball_inf(div: FDivergence, v: npt.ArrayLike, p: npt.ArrayLike,
             rho: float) -> tuple[FloatArray | float, FloatArray]:
    r"""Return ``(value, q)``: :math:`\min_{D(q\|p) \le \rho} \langle q, v\rangle` and its minimizer.

    Parameters
    ----------
    div : KL, ChiSquare or TotalVariation
    v : array_like, shape (..., n)
    p : array_like, shape (..., n)
        Nominal laws, rows on the simplex.
    rho : float
        Radius, ``rho >= 0`` (``0`` gives :math:`\mathbb E_p v`).

    Returns
    -------
    value : float or ndarray, shape (...)
    q : ndarray, shape (..., n)

    Notes
    -----
    TV: greedy mass shift (exact). KL: the concave dual
    :math:`\sup_{\lambda\ge0} -\lambda\log\mathbb E_p e^{-v/\lambda} - \lambda\rho` at the
    root of :math:`\mathrm{KL}(q_\lambda\|p) = \rho`, by safeguarded Newton steps in
    :math:`\log\lambda` (machine precision); when
    :math:`\rho \ge -\log p(\arg\min v)` the value is :math:`\min v`. Chi-square: the
    exact active-set solution (no iteration), e.g. :math:`\mathbb E_p v -
    \sqrt{\rho\,\mathrm{Var}_p v}` when no state is emptied.

    Examples
    --------
    >>> from mdpkit.divergences import ChiSquare, TotalVariation, ball_inf
    >>> round(ball_inf(TotalVariation(), [0.0, 1.0, 3.0], [0.2, 0.4, 0.4], rho=0.3)[0], 12)
    0.7
    >>> val, q = ball_inf(ChiSquare(), [0.0, 1.0], [0.5, 0.5], rho=0.04)
    >>> round(val, 12), q                 # E v - sqrt(rho Var v) = 0.5 - 0.1
    (0.4, array([0.6, 0.4]))
    """
    code = check_robust_div(div)
    rho_f = check_nonnegative("rho", rho)
    V2, P2, shape = _prepare(v, p)
    return _run(code, True, V2, P2, rho_f, shape)
