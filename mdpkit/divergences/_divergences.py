r"""f-divergences as small objects that declare their math.

For a convex generator :math:`f` with :math:`f(1) = 0`,

.. math::

    D_f(q \,\|\, p) = \sum_i p_i\, f\!\left(\frac{q_i}{p_i}\right),

with the convention :math:`p_i f(q_i/p_i) = q_i \lim_{t\to\infty} f(t)/t` where
:math:`p_i = 0`. The policy-regularized maximum used by every regularized Bellman
backup is

.. math::

    M_{\beta}(q; p) = \max_{\pi \in \Delta} \langle \pi, q\rangle - \beta D_f(\pi \,\|\, p)
                    = \beta\, D_f^{\star}(q/\beta; p),

with maximizer :math:`\pi_a = p_a\, (f')^{-1}((q_a - \lambda)/\beta)_+` (the
f-regularized optimum of the f-DPO paper, CLAIMS.md #10). For KL it is the
log-sum-exp :math:`\beta \log \sum_a p_a e^{q_a/\beta}`.

References
----------
.. [1] I. Csiszar, "Information-type measures of difference of probability
   distributions", Studia Sci. Math. Hungar. 2, 1967.
.. [2] C. Wang et al., "Beyond Reverse KL: Generalizing Direct Preference Optimization
   with Diverse Divergence Constraints", ICLR 2024 (f-DPO), Sec. 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from .._typing import FloatArray
from .._validation import (
    MIN_REF_MASS,
    as_float_array,
    check_magnitude,
    check_positive,
    check_scalar,
    check_simplex,
)
from . import _kernels as K
from . import _robust as R


@dataclass(frozen=True)
class FDivergence:
    """Base class: an f-divergence declared by its generator ``f``.

    Subclasses set ``code`` (the kernel branch) and ``name``. Methods accept arrays
    and work elementwise (``f``, ``f_prime``, ``conjugate``) or on the last axis
    (``value``, ``regularized_max``).
    """

    name: ClassVar[str] = "f"
    code: ClassVar[int] = -1

    def __post_init__(self) -> None:
        # The compiled kernels know the built-in generators by their code only: a
        # subclass overriding ``f`` would silently be computed as another divergence.
        if type(self) not in ALL_DIVERGENCES:
            names = ", ".join(c.__name__ for c in ALL_DIVERGENCES)
            raise TypeError(
                f"mdpkit computes only its built-in f-divergences ({names}); "
                f"`{type(self).__name__}` is refused because the compiled kernels cannot call a "
                "Python generator `f` (they would compute another divergence). Use a built-in class "
                "(e.g. Alpha(alpha) covers a one-parameter family)."
            )

    @property
    def _alpha(self) -> float:
        return 0.0

    # -- the generator and its conjugate -------------------------------------------
    def f(self, t: npt.ArrayLike) -> FloatArray:
        r"""Return the generator :math:`f(t)`, :math:`t \ge 0`."""
        t = np.asarray(t, dtype=np.float64)
        return np.vectorize(lambda x: K.f_value(self.code, self._alpha, x), otypes=[float])(t)

    def f_prime(self, t: npt.ArrayLike) -> FloatArray:
        """Return the derivative :math:`f'(t)`, :math:`t > 0` (a subgradient at kinks)."""
        t = np.asarray(t, dtype=np.float64)
        return np.vectorize(lambda x: K.f_prime(self.code, self._alpha, x), otypes=[float])(t)

    def conjugate(self, u: npt.ArrayLike) -> FloatArray:
        r"""Convex conjugate :math:`f^\star(u) = \sup_{t \ge 0} ut - f(t)`.

        Evaluated at the maximizer :math:`t^\star = (f')^{-1}(u)` (clamped at 0), which
        is exact for every generator here; ``+inf`` above :math:`f'(\infty)`.
        """
        u = np.asarray(u, dtype=np.float64)

        def one(x: float) -> float:
            if self.code == K.TV:  # f* (u) = u on [-1/2, 1/2], -1/2 below, inf above
                return np.inf if x > 0.5 else max(x, -0.5)
            t = K.g_inverse(self.code, self._alpha, x)
            if not np.isfinite(t):
                return np.inf
            return x * t - K.f_value(self.code, self._alpha, t)

        return np.vectorize(one, otypes=[float])(u)

    # -- divergence between laws -----------------------------------------------------
    def value(self, q: npt.ArrayLike, p: npt.ArrayLike) -> FloatArray:
        r""":math:`D_f(q \| p)` along the last axis.

        Parameters
        ----------
        q, p : array_like, shape (..., n)
            Probability vectors (rows on the simplex).
        """
        qa = as_float_array("q", q)
        pa = as_float_array("p", p)
        if qa.shape != pa.shape:
            raise ValueError(f"`q` and `p` must have the same shape; got {qa.shape} and {pa.shape}.")
        check_simplex("q", qa)
        check_simplex("p", pa)
        q2 = qa.reshape(-1, qa.shape[-1])
        p2 = pa.reshape(-1, pa.shape[-1])
        out = np.array([K.divergence_value(self.code, self._alpha, q2[i], p2[i]) for i in range(q2.shape[0])])
        return out.reshape(qa.shape[:-1]) if qa.ndim > 1 else out[0]

    # -- the regularized max (policy side) --------------------------------------------
    def regularized_max(
        self, q: npt.ArrayLike, p: npt.ArrayLike, beta: float
    ) -> tuple[FloatArray, FloatArray]:
        r"""Return ``(M, pi)``: :math:`\max_\pi \langle\pi, q\rangle - \beta D_f(\pi\|p)` and its argmax.

        Parameters
        ----------
        q : array_like, shape (..., A)
            Scores (action values) per row.
        p : array_like, shape (..., A)
            Reference laws, strictly positive rows on the simplex.
        beta : float
            Regularization strength, ``beta > 0``.

        Returns
        -------
        M : ndarray, shape (...)
        pi : ndarray, shape (..., A)

        Examples
        --------
        >>> from mdpkit.divergences import KL
        >>> M, pi = KL().regularized_max([0.0, 1.0], [0.5, 0.5], beta=1.0)
        >>> round(float(M), 6), round(float(pi[1]), 6)   # log((1+e)/2), e/(1+e)
        (0.620115, 0.731059)
        """
        qa = as_float_array("q", q)
        pa = as_float_array("p", p)
        if qa.shape != pa.shape or qa.ndim == 0:
            raise ValueError(f"`q` and `p` must have the same shape (..., A); got {qa.shape} and {pa.shape}.")
        b = check_positive("beta", beta)
        check_magnitude("q", qa, 1e300, "score gaps must stay finite in float64")
        check_simplex("p", pa)
        if np.any(pa < MIN_REF_MASS):
            raise ValueError(
                f"`p` must be strictly positive (>= {MIN_REF_MASS:g}) for a regularized max; mix it with "
                f"the uniform law, e.g. (1 - eps) * p + eps / A; got min(p) = {pa.min()!r}."
            )
        q2 = np.ascontiguousarray(qa.reshape(-1, qa.shape[-1]))
        p2 = np.ascontiguousarray(pa.reshape(-1, pa.shape[-1]))
        M = np.empty(q2.shape[0])
        pi = np.empty_like(q2)
        K.regularized_max_into(self.code, self._alpha, q2, p2, np.log(p2), b, M, pi)
        if not (np.all(np.isfinite(M)) and np.all(np.isfinite(pi))):
            i = int(np.argmax(~np.isfinite(M)))
            raise FloatingPointError(
                f"{type(self).__name__}: the optimal ratios pi/p of row {i} exceed float64 for "
                f"`beta`={b!r} (scores {q2[i].tolist()}, reference {p2[i].tolist()}); increase `beta` "
                "or mix `p` with the uniform law."
            )
        return M.reshape(qa.shape[:-1]), pi.reshape(qa.shape)

    # -- the robust duals (transition side) ---------------------------------------------
    def penalized_inf(
        self, v: npt.ArrayLike, p: npt.ArrayLike, lam: float
    ) -> tuple[FloatArray | float, FloatArray]:
        r"""Return ``(value, q)``: :math:`\min_{q} \langle q, v\rangle + \lambda D_f(q\|p)` and its argmin.

        Exact closed forms for :class:`KL`, :class:`ChiSquare` and
        :class:`TotalVariation` (see :func:`mdpkit.divergences.penalized_inf`); other
        divergences raise ``NotImplementedError``.

        Examples
        --------
        >>> from mdpkit.divergences import ChiSquare
        >>> val, q = ChiSquare().penalized_inf([0.0, 1.0], [0.5, 0.5], lam=1.0)
        >>> round(val, 12), q          # E v - Var v / (4 lam): no clipping
        (0.4375, array([0.625, 0.375]))
        """
        return R.penalized_inf(self, v, p, lam)

    def ball_inf(
        self, v: npt.ArrayLike, p: npt.ArrayLike, rho: float
    ) -> tuple[FloatArray | float, FloatArray]:
        r"""Return ``(value, q)``: :math:`\min_{D_f(q\|p) \le \rho} \langle q, v\rangle` and its argmin.

        See :func:`mdpkit.divergences.ball_inf`.

        Examples
        --------
        >>> from mdpkit.divergences import KL
        >>> val, q = KL().ball_inf([0.0, 1.0], [0.5, 0.5], rho=0.0)
        >>> val
        0.5
        """
        return R.ball_inf(self, v, p, rho)


@dataclass(frozen=True)
class KL(FDivergence):
    r"""Kullback-Leibler :math:`\mathrm{KL}(q\|p)`, :math:`f(t) = t\log t`, :math:`f^\star(u) = e^{u-1}`.

    As a policy regularizer this is the "reverse" KL :math:`\mathrm{KL}(\pi \| \pi_{ref})`
    of RLHF; the regularized max is :math:`\beta \log \sum_a p_a e^{q_a/\beta}`.

    >>> round(float(KL().value([0.5, 0.5], [0.25, 0.75])), 6)
    0.143841
    """

    name: ClassVar[str] = "kl"
    code: ClassVar[int] = K.KL


@dataclass(frozen=True)
class ForwardKL(FDivergence):
    r"""Forward KL :math:`D(q\|p) = \mathrm{KL}(p \| q)`, :math:`f(t) = -\log t`.

    As a policy regularizer: :math:`\mathrm{KL}(\pi_{ref} \| \pi)` (mass-covering);
    the regularized optimum is :math:`\pi_a = \beta p_a / (\lambda - q_a)`.

    >>> round(float(ForwardKL().value([0.5, 0.5], [0.25, 0.75])), 6)
    0.130812
    """

    name: ClassVar[str] = "forward_kl"
    code: ClassVar[int] = K.FORWARD_KL


@dataclass(frozen=True)
class ChiSquare(FDivergence):
    r"""Pearson chi-square, :math:`f(t) = (t-1)^2`, :math:`D = \sum_i (q_i-p_i)^2/p_i`.

    >>> round(float(ChiSquare().value([0.5, 0.5], [0.25, 0.75])), 6)
    0.333333
    """

    name: ClassVar[str] = "chi2"
    code: ClassVar[int] = K.CHI2


@dataclass(frozen=True)
class TotalVariation(FDivergence):
    r"""Total variation, :math:`f(t) = |t-1|/2`, :math:`D = \tfrac12 \|q-p\|_1`.

    The regularized max is the LP value :math:`\sum_a p_a \max(q_a, \max q - \beta)`.

    >>> round(float(TotalVariation().value([0.5, 0.5], [0.25, 0.75])), 6)
    0.25
    """

    name: ClassVar[str] = "tv"
    code: ClassVar[int] = K.TV


@dataclass(frozen=True)
class Hellinger(FDivergence):
    r"""Squared Hellinger, :math:`f(t) = (\sqrt t - 1)^2`, :math:`D = \sum_i (\sqrt{q_i}-\sqrt{p_i})^2`.

    >>> round(float(Hellinger().value([0.5, 0.5], [0.25, 0.75])), 6)
    0.068148
    """

    name: ClassVar[str] = "hellinger"
    code: ClassVar[int] = K.HELLINGER


@dataclass(frozen=True)
class Alpha(FDivergence):
    r"""Amari alpha-divergence, :math:`f_\alpha(t) = \frac{t^\alpha - \alpha t - (1-\alpha)}{\alpha(\alpha-1)}`.

    ``alpha -> 1`` gives KL, ``alpha -> 0`` the forward KL, ``alpha = 2`` half the
    chi-square, ``alpha = 1/2`` four times the squared Hellinger distance (halved).

    >>> a = Alpha(2.0).value([0.5, 0.5], [0.25, 0.75]); round(float(a), 6)
    0.166667
    """

    alpha: float = 0.5
    name: ClassVar[str] = "alpha"
    code: ClassVar[int] = K.ALPHA

    def __post_init__(self) -> None:
        super().__post_init__()
        a = check_scalar("alpha", self.alpha)
        if a in (0.0, 1.0):
            raise ValueError(
                f"`alpha` must differ from 0 and 1 (use ForwardKL or KL for those limits); got {self.alpha!r}."
            )

    @property
    def _alpha(self) -> float:
        return float(self.alpha)


@dataclass(frozen=True)
class JensenShannon(FDivergence):
    r"""Jensen-Shannon, :math:`\tfrac12\mathrm{KL}(q\|m) + \tfrac12\mathrm{KL}(p\|m)`, :math:`m = (p+q)/2`.

    Generator :math:`f(t) = \tfrac12[t\log t - (1+t)\log\tfrac{1+t}{2}]`; bounded by
    :math:`\log 2`.

    >>> round(float(JensenShannon().value([1.0, 0.0], [0.0, 1.0])), 6)   # log 2
    0.693147
    """

    name: ClassVar[str] = "js"
    code: ClassVar[int] = K.JS


ALL_DIVERGENCES: tuple[type[FDivergence], ...] = (
    KL, ForwardKL, ChiSquare, TotalVariation, Hellinger, Alpha, JensenShannon,
)
