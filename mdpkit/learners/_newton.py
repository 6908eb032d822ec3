"""One damped Newton routine for the smooth concave maximum-likelihood fits of the learners.

Log-linear behaviour cloning (:func:`mdpkit.learners.linear_behavior_cloning`) and the
Bradley-Terry reward (:func:`mdpkit.learners.bradley_terry_reward`) both maximize a
strictly concave objective (a ridge-penalized log-likelihood); they share this routine.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from .._results import ConvergenceWarning
from .._typing import FloatArray


def newton_maximize(
    objective: Callable[[FloatArray], float],
    derivatives: Callable[[FloatArray], tuple[FloatArray, FloatArray]],
    x0: FloatArray,
    *,
    tol: float,
    max_iter: int,
    what: str,
) -> tuple[FloatArray, bool, int]:
    r"""Damped Newton ascent with Armijo backtracking for a smooth, strictly concave objective.

    With ``derivatives(x) = (g, M)``, the gradient and *minus* the Hessian (positive
    definite), the step is :math:`d = M^{-1} g`; the squared Newton decrement
    :math:`\lambda^2 = g^\top M^{-1} g` bounds the suboptimality by :math:`\lambda^2/2`
    near the optimum (Boyd and Vandenberghe 2004, Sec. 9.5), so the routine stops when
    :math:`\lambda^2/2 \le` ``tol``. Step sizes halve from 1 until the Armijo condition
    :math:`f(x + t d) \ge f(x) + t\lambda^2/4` holds. Warns :class:`ConvergenceWarning`
    (naming ``what``) when ``max_iter`` steps are not enough.

    Returns
    -------
    (x, converged, n_iter)

    Examples
    --------
    >>> x, ok, n = newton_maximize(lambda x: float(-(x - 3.0) @ (x - 3.0)),
    ...                            lambda x: (-2.0 * (x - 3.0), 2.0 * np.eye(1)),
    ...                            np.zeros(1), tol=1e-12, max_iter=10, what="demo")
    >>> float(x[0]), ok, n
    (3.0, True, 1)
    """
    x = x0
    f = objective(x)
    dec = np.inf
    for it in range(1, max_iter + 1):
        grad, neg_hess = derivatives(x)
        step = np.linalg.solve(neg_hess, grad)
        dec = float(grad @ step)                      # squared Newton decrement
        if dec <= 2.0 * tol:
            return x, True, it - 1
        t = 1.0
        while True:
            cand = x + t * step
            f_new = objective(cand)
            if f_new >= f + 0.25 * t * dec or t < 1e-12:
                break
            t *= 0.5
        x, f = cand, f_new
    warnings.warn(f"{what}: Newton's method did not converge in {max_iter} iterations (squared "
                  f"decrement {dec:.3g} > 2 tol = {2.0 * tol:.3g}); increase `max_iter`.",
                  ConvergenceWarning, stacklevel=3)
    return x, False, max_iter
