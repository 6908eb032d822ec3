r"""KL-regularized preference games: the exact Nash equilibrium, Nash-MP and INPO.

The game (Munos et al. 2024, "Nash learning from human feedback"):

.. math::

    \max_\pi \min_{\pi'}\; P(\pi \succ \pi') - \beta\,\mathrm{KL}(\pi\|\pi_{ref})
        + \beta\,\mathrm{KL}(\pi'\|\pi_{ref}),
    \qquad P(\pi \succ \pi') = \pi^\top P \pi'.

Because :math:`P + P^\top = 1` the game is symmetric, its value is 1/2 and its unique
equilibrium is symmetric, the fixed point

.. math:: \pi^*(y) \propto \pi_{ref}(y)\, \exp\big(P(y \succ \pi^*)/\beta\big).

:func:`regularized_nash` solves this fixed point by Newton's method on
:math:`z = P\pi`. :func:`nash_mp` runs Nash mirror prox (Nash-MP, arXiv 2505.19731 v1) and
:func:`inpo` online mirror descent self-play (INPO, Zhang et al. 2024), both with exact
preference queries :math:`P(y \succ \pi)`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .._results import ArrayFields, ConvergenceWarning, grid_frame
from .._typing import FloatArray, RNGLike
from .._validation import as_generator, check_int, check_positive
from ._minimizers import _softmax, ipo_minimizer
from ._problems import check_distribution, check_preference_matrix, population_counts


@dataclass(frozen=True, slots=True, kw_only=True)
class NashResult(ArrayFields):
    r"""The regularized Nash equilibrium and its certificate.

    Attributes
    ----------
    pi : ndarray, shape (Y,)
    residual : float
        :math:`\max_y |\log\pi(y) - \log\pi_{ref}(y) - P(y\succ\pi)/\beta + \log Z|`,
        the fixed-point residual in log space.
    converged : bool
    n_iter : int
    """

    pi: FloatArray
    residual: float
    converged: bool
    n_iter: int

    frame_axes: ClassVar[tuple[str, ...]] = ("context", "response")
    frame_arrays: ClassVar[tuple[str, ...]] = ("pi",)


def _check_game(P, pi_ref, beta):
    Pm = check_preference_matrix(P)
    if Pm.ndim != 2:
        raise ValueError(f"`P` must have shape (Y, Y); got {Pm.shape}.")
    ref = check_distribution("pi_ref", pi_ref, positive=True, ndim=1)
    if ref.shape[0] != Pm.shape[0]:
        raise ValueError(f"`pi_ref` must have {Pm.shape[0]} entries (the size of `P`); got {ref.shape[0]}.")
    return Pm, ref, check_positive("beta", beta)


def _best_response_log(log_ref: FloatArray, z: FloatArray, beta: float) -> FloatArray:
    x = log_ref + z / beta
    return x - np.logaddexp.reduce(x)


def regularized_nash(
    P: npt.ArrayLike, pi_ref: npt.ArrayLike, beta: float, *, tol: float = 1e-13, max_iter: int = 200
) -> NashResult:
    r"""Exact Nash equilibrium of the KL-regularized preference game.

    Newton's method on :math:`R(z) = z - P\,\mathrm{softmax}(\log\pi_{ref} + z/\beta)`
    (the Jacobian :math:`I - P J`, :math:`J = (\mathrm{diag}\,\pi - \pi\pi^\top)/\beta`, is
    invertible: :math:`P - 1/2` is antisymmetric and :math:`J` positive semidefinite), with
    step halving on :math:`\|R\|_\infty`.

    Parameters
    ----------
    P : array_like, shape (Y, Y)
        Preference matrix, :math:`P + P^\top = 1`.
    pi_ref : array_like, shape (Y,)
        Reference policy, strictly positive.
    beta : float
        KL strength, ``> 0``.
    tol : float
        Stop when the log-space fixed-point residual is at most ``tol``.
    max_iter : int

    Returns
    -------
    NashResult

    Examples
    --------
    >>> from mdpkit.preference import cyclic_preference
    >>> res = regularized_nash(cyclic_preference(3, 0.4), [0.2, 0.3, 0.5], beta=0.1)
    >>> res.converged, round(float(res.pi @ cyclic_preference(3, 0.4) @ res.pi), 12)   # value 1/2
    (True, 0.5)
    """
    Pm, ref, b = _check_game(P, pi_ref, beta)
    tol = check_positive("tol", tol)
    max_iter = check_int("max_iter", max_iter, lo=1)
    log_ref = np.log(ref)
    z = Pm @ ref

    def resid(zz):
        lp = _best_response_log(log_ref, zz, b)
        return zz - Pm @ np.exp(lp), lp

    R, lp = resid(z)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        p = np.exp(lp)
        J = (np.diag(p) - np.outer(p, p)) / b
        dz = np.linalg.solve(np.eye(p.size) - Pm @ J, -R)
        step, nr = 1.0, np.abs(R).max()
        while True:
            R2, lp2 = resid(z + step * dz)
            if np.abs(R2).max() < nr or step < 1e-10:
                break
            step *= 0.5
        z, R, lp = z + step * dz, R2, lp2
        if np.abs(R).max() / b <= tol:
            break
    res = float(np.abs(R).max() / b)
    ok = res <= tol
    if not ok:
        warnings.warn(f"regularized_nash stopped at residual {res:.3e} > tol={tol:g}.", ConvergenceWarning,
                      stacklevel=2)
    return NashResult(pi=np.exp(lp), residual=res, converged=ok, n_iter=it)


@dataclass(frozen=True, slots=True, kw_only=True)
class GameTrajectory:
    r"""Iterates of :func:`nash_mp` or :func:`inpo`.

    Attributes
    ----------
    pi : ndarray, shape (n_iter + 1, Y)
        Policies :math:`\pi_0, \dots, \pi_T` (last iterates).
    queries : ndarray of int, shape (n_iter + 1,)
        Preference queries :math:`P(\cdot \succ \pi)` used to reach each iterate
        (Nash-MP: 2 per iteration; INPO: 1).
    eta : float
        The step size used.
    """

    pi: FloatArray
    queries: npt.NDArray[np.int64]
    eta: float

    def summary(self) -> str:
        """Return one line: iterations, responses, step size, queries and the last iterate's top probability."""
        n, y = np.shape(self.pi)
        return (f"{n - 1} iterations over {y} responses, eta = {self.eta:.6g}, "
                f"{int(self.queries[-1])} preference queries, final max pi = {np.max(self.pi[-1]):.6g}")

    def to_frame(self) -> Any:
        """Return one row per (iteration, response): ``pi`` and the ``queries`` used so far."""
        n, y = np.shape(self.pi)
        return grid_frame({"iteration": np.arange(n), "response": np.arange(y)}, pi=self.pi,
                          queries=np.asarray(self.queries)[:, None])

    def kl_to(self, pi_star: npt.ArrayLike) -> FloatArray:
        r""":math:`\mathrm{KL}(\pi^*\|\pi_t)` for every iterate."""
        ps = np.asarray(pi_star, dtype=np.float64)
        return np.sum(ps * (np.log(ps) - np.log(self.pi)), axis=1)


def _prox_log(log_pi, log_ref, z, beta, eta):
    """argmax_p eta [<p, z> - beta KL(p||ref)] - KL(p||pi), in log space."""
    x = (log_pi + eta * beta * log_ref + eta * z) / (1.0 + eta * beta)
    return x - np.logaddexp.reduce(x)


def _start(pi0, ref):
    p0 = ref if pi0 is None else check_distribution("pi0", pi0, positive=True, ndim=1)
    if p0.shape != ref.shape:
        raise ValueError(f"`pi0` must have shape {ref.shape}; got {p0.shape}.")
    return np.log(p0)


def nash_mp(
    P: npt.ArrayLike, pi_ref: npt.ArrayLike, beta: float, *, n_iter: int, eta: float | None = None,
    pi0: npt.ArrayLike | None = None,
) -> GameTrajectory:
    r"""Nash mirror prox on the KL-regularized preference game (exact queries).

    .. math::

        \pi_{t+1/2} &\propto \exp\Big(\frac{\log\pi_t + \eta\beta\log\pi_{ref} + \eta P\pi_t}{1+\eta\beta}\Big),\\
        \pi_{t+1} &\propto \exp\Big(\frac{\log\pi_t + \eta\beta\log\pi_{ref} + \eta P\pi_{t+1/2}}{1+\eta\beta}\Big).

    Each iteration makes two queries of :math:`P(\cdot\succ\pi)`. The default step is
    :math:`\eta = 1/\max_{y,y'}|P(y,y') - 1/2|` (at least 2): the inverse of the
    :math:`\ell_1 \to \ell_\infty` Lipschitz constant of :math:`\pi \mapsto P\pi` modulo
    constants, the largest step of the mirror-prox analysis. With :math:`\eta = 2` the
    contraction :math:`\mathrm{KL}(\pi^*\|\pi_{t+1}) \le \mathrm{KL}(\pi^*\|\pi_t)/(1+\eta\beta)`
    is the rate :math:`(1+2\beta)^{-N/2}` in the number :math:`N` of queries stated by
    arXiv 2505.19731 v1, independent of the number of responses.

    Parameters
    ----------
    P, pi_ref, beta
        As in :func:`regularized_nash`.
    n_iter : int
        Iterations (``2 * n_iter`` queries).
    eta : float, optional
        Step size (default above).
    pi0 : array_like, optional
        Start (default ``pi_ref``).

    Examples
    --------
    >>> from mdpkit.preference import cyclic_preference
    >>> P = cyclic_preference(3, 0.5)
    >>> tr = nash_mp(P, [0.2, 0.3, 0.5], 0.5, n_iter=40, eta=2.0)
    >>> star = regularized_nash(P, [0.2, 0.3, 0.5], 0.5).pi
    >>> bool(tr.kl_to(star)[-1] <= 2.0 ** -40 * tr.kl_to(star)[0])      # (1 + 2 beta)^-t
    True
    """
    Pm, ref, b = _check_game(P, pi_ref, beta)
    T = check_int("n_iter", n_iter, lo=0)
    L = float(np.abs(Pm - 0.5).max())
    e = (1.0 / L if L > 0 else 1.0) if eta is None else check_positive("eta", eta)
    log_ref = np.log(ref)
    lp = _start(pi0, ref)
    out = np.empty((T + 1, ref.size))
    out[0] = np.exp(lp)
    for t in range(T):
        half = _prox_log(lp, log_ref, Pm @ np.exp(lp), b, e)
        lp = _prox_log(lp, log_ref, Pm @ np.exp(half), b, e)
        out[t + 1] = np.exp(lp)
    return GameTrajectory(pi=out, queries=2 * np.arange(T + 1), eta=e)


def _check_inpo_eta(eta: float, beta: float) -> float:
    e = check_positive("eta", eta)
    if e * beta >= 1:
        raise ValueError(f"`eta * beta` must be < 1 (the weight of pi_t is 1 - eta beta); got {e * beta!r}.")
    return e


def inpo_step(pi_t: npt.ArrayLike, pi_ref: npt.ArrayLike, P: npt.ArrayLike, beta: float, eta: float) -> FloatArray:
    r"""INPO's online-mirror-descent step :math:`\pi_{t+1} \propto \pi_t^{1-\eta\beta}\pi_{ref}^{\eta\beta} e^{\eta P(\cdot\succ\pi_t)}`.

    Examples
    --------
    >>> inpo_step([0.5, 0.5], [0.5, 0.5], [[0.5, 1.0], [0.0, 0.5]], 0.5, 1.0).round(6).tolist()  # sigma(1/2)
    [0.622459, 0.377541]
    """
    Pm, ref, b = _check_game(P, pi_ref, beta)
    p = check_distribution("pi_t", pi_t, positive=True, ndim=1)
    e = _check_inpo_eta(eta, b)
    return _softmax((1 - e * b) * np.log(p) + e * b * np.log(ref) + e * (Pm @ p))


def _inpo_base(pi_t: FloatArray, pi_ref: FloatArray, beta: float, eta: float) -> FloatArray:
    return _softmax((1 - eta * beta) * np.log(pi_t) + eta * beta * np.log(pi_ref))


def inpo_base(pi_t: npt.ArrayLike, pi_ref: npt.ArrayLike, beta: float, eta: float) -> FloatArray:
    r"""INPO's "reference" :math:`b \propto \pi_t^{1-\eta\beta}\pi_{ref}^{\eta\beta}`.

    The squared loss :math:`\mathbb E[(\log\frac{\pi(y)}{\pi(y')} - \log\frac{b(y)}{b(y')}
    - \eta(o - \tfrac12))^2]` is IPO's loss with this reference and strength :math:`1/\eta`
    (:func:`inpo`).

    Parameters
    ----------
    pi_t, pi_ref : array_like, shape (Y,)
        Current and reference policies, strictly positive.
    beta, eta : float
        KL strength and step size, ``> 0`` with ``eta * beta < 1``.

    Examples
    --------
    >>> inpo_base([0.8, 0.2], [0.5, 0.5], 1.0, 0.5).round(6).tolist()   # sqrt(0.8) : sqrt(0.2)
    [0.666667, 0.333333]
    """
    p = check_distribution("pi_t", pi_t, positive=True, ndim=1)
    ref = check_distribution("pi_ref", pi_ref, positive=True, ndim=1)
    if p.shape != ref.shape:
        raise ValueError(f"`pi_t` and `pi_ref` must have one shape; got {p.shape} and {ref.shape}.")
    b = check_positive("beta", beta)
    return _inpo_base(p, ref, b, _check_inpo_eta(eta, b))


def inpo(
    P: npt.ArrayLike, pi_ref: npt.ArrayLike, beta: float, *, eta: float, n_iter: int, n_pairs: int | None = None,
    pi0: npt.ArrayLike | None = None, rng: RNGLike = None,
) -> GameTrajectory:
    r"""INPO: self-play online mirror descent, each step the minimizer of a squared loss.

    Iteration :math:`t` minimizes over :math:`\pi`

    .. math::

        \mathbb E_{y, y' \sim \pi_t,\, o \sim \mathrm{Bern}(P(y, y'))}
        \Big[\Big(\log\frac{\pi(y)}{\pi(y')} - (1-\eta\beta)\log\frac{\pi_t(y)}{\pi_t(y')}
        - \eta\beta\log\frac{\pi_{ref}(y)}{\pi_{ref}(y')} - \eta\big(o - \tfrac12\big)\Big)^2\Big]

    (Zhang et al. 2024, Eq. 9, with :math:`\tau = \beta`). Its population minimizer is the
    OMD step :func:`inpo_step`; it is IPO's loss with reference :func:`inpo_base` and
    strength :math:`1/\eta`, so each step is the closed-form IPO minimizer (a Laplacian
    solve, :func:`ipo_minimizer`) on exact pair frequencies (``n_pairs=None``) or on
    ``n_pairs`` sampled pairs. The fixed point is :func:`regularized_nash`.

    Parameters
    ----------
    P, pi_ref, beta
        As in :func:`regularized_nash`.
    eta : float
        Step size, ``0 < eta * beta < 1``.
    n_iter : int
    n_pairs : int, optional
        Pairs sampled from :math:`\pi_t \otimes \pi_t` per iteration (default: population).
    pi0 : array_like, optional
    rng : int, Generator or SeedSequence, optional

    Examples
    --------
    >>> from mdpkit.preference import cyclic_preference
    >>> P = cyclic_preference(3, 0.4)
    >>> tr = inpo(P, [0.2, 0.3, 0.5], 0.5, eta=1.0, n_iter=200)
    >>> bool(np.abs(tr.pi[-1] - regularized_nash(P, [0.2, 0.3, 0.5], 0.5).pi).max() < 1e-12)
    True
    """
    from ._problems import sample_pairs

    Pm, ref, b = _check_game(P, pi_ref, beta)
    e = _check_inpo_eta(eta, b)
    T = check_int("n_iter", n_iter, lo=0)
    n = None if n_pairs is None else check_int("n_pairs", n_pairs, lo=1)
    g = as_generator(rng)
    p = np.exp(_start(pi0, ref))
    out = np.empty((T + 1, ref.size))
    out[0] = p
    for t in range(T):
        W = population_counts(Pm, p) if n is None else sample_pairs(Pm, p, n, rng=g).counts()
        p = ipo_minimizer(_inpo_base(p, ref, b, e), W, 1.0 / e)
        out[t + 1] = p
    return GameTrajectory(pi=out, queries=np.arange(T + 1), eta=e)
