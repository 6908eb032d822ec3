r"""Memoryless language models with an additive reward (Yang et al., 2024; CLAIMS B3).

A sequence :math:`y = (y_1, \dots, y_n)` has i.i.d. tokens :math:`y_i \sim p` and
reward :math:`r(y) = \sum_i r(y_i)`. With the cumulant generating function
:math:`\Lambda(t) = \log \mathbb E_p e^{t r(Y)}` and the Cramér rate function
:math:`I = \Lambda^*`, the KL-optimal policy at budget :math:`n\Delta` tilts every
token by the same :math:`t^*` and earns :math:`x_\Delta = \Lambda'(t^*)` per token,
where :math:`I(x_\Delta) = t^*\Lambda'(t^*) - \Lambda(t^*) = \Delta`; best-of-N with
:math:`N = e^{n\Delta}` earns :math:`x_\Delta + O(\log n / n)` (their best-of-N / KL-RL equivalence result; CLAIMS B3, C4).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize
from scipy.special import logsumexp

from .._typing import FloatArray
from .._validation import (
    SIMPLEX_ATOL,
    as_float_array,
    check_int,
    check_nonnegative,
    check_positive,
    check_scalar,
)
from . import _bon_kernels as _k


def _infer_lattice(d: FloatArray) -> float:
    """Largest step h with d / h integer (within 1e-9), from rational approximation."""
    fr = [Fraction(float(x)).limit_denominator(10_000) for x in d if x > 0]
    if not fr:
        return 1.0
    if any(abs(float(f) - x) > 1e-9 * max(1.0, x) for f, x in zip(fr, d[d > 0], strict=True)):
        raise ValueError(
            "`token_rewards` do not lie on a lattice a + h*k with a rational step; pass "
            "`lattice_step=` explicitly (the exact sequence-reward law needs a lattice)."
        )
    num = 0
    den = 1
    for f in fr:
        den = den * f.denominator // math.gcd(den, f.denominator)
    for f in fr:
        num = math.gcd(num, f.numerator * (den // f.denominator))
    return num / den


class Memoryless:
    r"""An n-token memoryless LM with additive token rewards.

    Parameters
    ----------
    token_probs : array_like, shape (V,)
        Token law :math:`p` on the simplex.
    token_rewards : array_like, shape (V,)
        Token rewards; exact sequence laws need them on a lattice
        ``min(r) + lattice_step * k`` (inferred for rational steps).
    lattice_step : float, optional

    Examples
    --------
    >>> ml = Memoryless(token_probs=[.4, .3, .2, .1], token_rewards=[0, .3, .6, 1])
    >>> round(ml.tilted_reward_per_token(0.2), 4)       # CLAIMS C4: x_Delta = 0.5256
    0.5256
    """

    def __init__(self, token_probs: npt.ArrayLike, token_rewards: npt.ArrayLike, *,
                 lattice_step: float | None = None):
        p = as_float_array("token_probs", token_probs, ndim=1)
        r = as_float_array("token_rewards", token_rewards, ndim=1)
        if p.shape != r.shape or p.size == 0:
            raise ValueError("`token_probs` and `token_rewards` must be non-empty and of the "
                             f"same shape; got {p.shape} and {r.shape}.")
        if np.any(p < 0) or abs(p.sum() - 1.0) > SIMPLEX_ATOL:
            raise ValueError(f"`token_probs` must be non-negative and sum to 1; sum is {p.sum():.12g}.")
        keep = p > 0
        self.token_probs = p / p.sum()
        self.token_rewards = r
        self._lp = np.log(self.token_probs[keep])
        self._r = r[keep]
        self.r_min = float(self._r.min())
        self.r_max = float(self._r.max())
        self.mean = float(np.dot(np.exp(self._lp), self._r))
        self.log_p_top = float(logsumexp(self._lp[self._r == self.r_max]))
        if lattice_step is None:
            self.lattice_step = _infer_lattice(self._r - self.r_min)
        else:
            self.lattice_step = check_positive("lattice_step", lattice_step)
        k = (self._r - self.r_min) / self.lattice_step
        self._steps = np.round(k).astype(np.int64)
        if np.max(np.abs(k - self._steps)) > 1e-6:
            raise ValueError(f"`token_rewards` are not on the lattice min(r) + {self.lattice_step:g} k.")
        self._pmf_cache: dict[int, FloatArray] = {}

    # ---------------------------------------------------------------- per token
    def cgf(self, t: npt.ArrayLike) -> Any:
        r""":math:`\Lambda(t) = \log \sum_v p(v) e^{t r(v)}`.

        >>> round(Memoryless(token_probs=[.5, .5], token_rewards=[0, 1]).cgf(1.0), 12)  # log((1+e)/2)
        0.620114506958
        """
        t = np.asarray(t, dtype=float)
        out = logsumexp(self._lp[None, :] + t.reshape(-1, 1) * self._r[None, :], axis=1)
        return out.reshape(t.shape) if t.ndim else float(out[0])

    def _moments(self, t: float) -> tuple[float, float]:
        w = self._lp + t * self._r
        w = np.exp(w - logsumexp(w))
        m = float(np.dot(w, self._r))
        return m, float(np.dot(w, (self._r - m) ** 2))

    def cgf_derivative(self, t: float) -> float:
        r""":math:`\Lambda'(t)`, the mean reward of the token tilt :math:`p_t \propto p e^{t r}`.

        >>> round(Memoryless(token_probs=[.5, .5], token_rewards=[0, 1]).cgf_derivative(0.0), 12)
        0.5
        """
        return self._moments(check_scalar("t", t))[0]

    def token_tilt(self, t: float) -> FloatArray:
        r"""Token law :math:`p e^{t r} / e^{\Lambda(t)}` (zero where ``token_probs`` is 0).

        >>> Memoryless(token_probs=[.5, .5], token_rewards=[0, 1]).token_tilt(np.log(3)).round(12).tolist()
        [0.25, 0.75]
        """
        t = check_scalar("t", t)
        with np.errstate(divide="ignore"):
            e = np.log(self.token_probs) + t * self.token_rewards
        return np.exp(e - logsumexp(e))

    def _solve_t(self, target: float, f) -> float:
        lo, hi = 0.0, 1.0
        while f(hi) < target:
            hi *= 2.0
            if hi > 1e8:
                return hi
        return optimize.brentq(lambda t: f(t) - target, lo, hi, xtol=1e-15, rtol=8.9e-16)

    def rate_function(self, x: npt.ArrayLike) -> Any:
        r"""Cramér rate :math:`I(x) = \sup_t\, t x - \Lambda(t)` (Legendre transform).

        ``inf`` outside ``[r_min, r_max]``, ``-log p(r_max)`` and ``-log p(r_min)`` at the
        ends, 0 at the mean.

        >>> ml = Memoryless(token_probs=[.5, .5], token_rewards=[0, 1])
        >>> round(ml.rate_function(0.75), 12)   # KL(Bern(3/4) || Bern(1/2))
        0.130812035941
        """
        xa = np.asarray(x, dtype=float)
        if np.any(np.isnan(xa)):
            raise ValueError("`x` must not contain NaN.")
        out = np.empty(xa.shape)
        for idx, v in np.ndenumerate(xa):
            out[idx] = self._rate(float(v))
        return out if xa.ndim else float(out)

    def _rate(self, x: float) -> float:
        if x < self.r_min or x > self.r_max:
            return math.inf
        if self.r_min == self.r_max or x == self.mean:
            return 0.0
        if x == self.r_max:
            return -self.log_p_top
        if x == self.r_min:
            return -float(logsumexp(self._lp[self._r == self.r_min]))
        sgn = 1.0 if x > self.mean else -1.0
        t = sgn * self._solve_t(sgn * x, lambda s: sgn * self._moments(sgn * s)[0])
        return max(t * x - self.cgf(t), 0.0)

    def _t_for_delta(self, delta: float) -> float:
        def kl_of(t: float) -> float:
            m, _ = self._moments(t)
            return t * m - self.cgf(t)
        return self._solve_t(delta, kl_of)

    def _check_delta(self, delta: float) -> float:
        d = check_nonnegative("delta", delta)
        if d > -self.log_p_top * (1 + 1e-12):
            raise ValueError(
                f"`delta` must be <= -log p(r_max) = {-self.log_p_top:.12g}, the largest per-token "
                f"KL any policy reaches; got {delta!r}."
            )
        return d

    def tilted_reward_per_token(self, delta: float) -> float:
        r"""Return the per-token reward of the KL-optimal policy at per-token KL ``delta``.

        :math:`x_\Delta = \Lambda'(t^*)` with :math:`t^*\Lambda'(t^*) - \Lambda(t^*) = \Delta`:
        the per-token reward of the KL-optimal policy at budget :math:`n\Delta`, for every n
        (the tilt factorises over tokens), i.e. :math:`I(x_\Delta) = \Delta`.
        """
        d = self._check_delta(delta)
        if d == 0.0:
            return self.mean
        if d >= -self.log_p_top:
            return self.r_max
        return self._moments(self._t_for_delta(d))[0]

    def tilt_parameter(self, delta: float) -> float:
        r"""Return the token tilt reaching per-token KL ``delta``.

        The tilt :math:`t^* = 1/\beta` is the root of
        :math:`t^*\Lambda'(t^*) - \Lambda(t^*) = \Delta` (0 at ``delta = 0``, ``inf`` at
        :math:`-\log p(r_{max})`).

        >>> ml = Memoryless(token_probs=[.5, .5], token_rewards=[0, 1])
        >>> round(ml.tilt_parameter(ml.rate_function(0.75)), 10)   # log 3
        1.0986122887
        """
        d = self._check_delta(delta)
        return 0.0 if d == 0.0 else (math.inf if d >= -self.log_p_top else self._t_for_delta(d))

    def bon_gap_log_coefficient(self, delta: float) -> float:
        r"""Coefficient :math:`1/(2t^*)` of :math:`\log n / n` in the best-of-N gap.

        A Bahadur-Rao (exact large-deviation) expansion of the upper tail of
        :math:`r(y)` at level :math:`n x_\Delta`, applied to the maximum of
        :math:`N = e^{n\Delta}` draws, gives

        .. math:: x_\Delta - \frac{\mathbb E[r(Y_{(N)})]}{n}
                  = \frac{\log n}{2 t^* n} + O(1/n),

        with :math:`t^*` the tilt of :meth:`tilt_parameter`, solving
        :math:`t^*\Lambda'(t^*) - \Lambda(t^*) = \Delta` (CLAIMS C4, corrections).
        The tail :math:`P(r \ge n x) \asymp e^{-n I(x)}/\sqrt n`; the maximum of N draws
        sits where this equals :math:`1/N`, so :math:`n I(x) = n\Delta - \tfrac12\log n
        + O(1)` and :math:`I'(x_\Delta) = t^*` turns the :math:`\tfrac12 \log n` into
        the reward gap :math:`\log n / (2 t^*)`.

        >>> ml = Memoryless(token_probs=[.4, .3, .2, .1], token_rewards=[0, .3, .6, 1])
        >>> round(ml.bon_gap_log_coefficient(0.2), 4)      # CLAIMS C4 corrections: 0.280
        0.2803
        """
        t = self.tilt_parameter(delta)
        if t == 0.0 or math.isinf(t):
            raise ValueError("`delta` must lie strictly between 0 and -log p(r_max) = "
                             f"{-self.log_p_top:.12g} for a finite positive tilt; got {delta!r}.")
        return 0.5 / t

    # ---------------------------------------------------------------- sequences
    def sequence_reward_log_pmf(self, n: int) -> tuple[FloatArray, FloatArray]:
        r"""Exact law of :math:`r(y) = \sum_{i \le n} r(y_i)`: ``(values, log_pmf)``.

        Direct convolution in log space, token by token (no FFT, which destroys the
        tails), so masses such as :math:`0.1^{2560}` keep their exponent.

        >>> v, lp = Memoryless(token_probs=[.5, .5], token_rewards=[0, 1]).sequence_reward_log_pmf(3)
        >>> v.tolist(), np.exp(lp).round(12).tolist()
        ([0.0, 1.0, 2.0, 3.0], [0.125, 0.375, 0.375, 0.125])
        """
        n = check_int("n", n, lo=1)
        if n not in self._pmf_cache:
            size = n * int(self._steps.max()) + 1
            out = np.empty(size)
            _k.log_convolve_power(self._lp, self._steps, n, out)
            self._pmf_cache = {n: out}  # keep one length: the arrays can be large
        lp = self._pmf_cache[n]
        values = n * self.r_min + self.lattice_step * np.arange(lp.shape[0], dtype=np.float64)
        return values, lp

    def _bon_level_law(self, n: int, delta: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        d = self._check_delta(delta)
        v, lp = self.sequence_reward_log_pmf(n)
        lq = np.empty_like(lp)
        _k.max_law_from_log_probs(lp, n * d, lq)
        return v, lp, lq

    def bon_reward_per_token(self, n: int, delta: float) -> float:
        r"""Exact :math:`\mathbb E[r(Y_{(N)})]/n` for best-of-N with :math:`N = e^{n\Delta}`.

        :math:`N` enters only through :math:`\log N = n\Delta` (the law with CDF
        :math:`F^N`), so :math:`N` far beyond the float range is fine.

        >>> ml = Memoryless(token_probs=[.4, .3, .2, .1], token_rewards=[0, .3, .6, 1])
        >>> round(ml.bon_reward_per_token(10, 0.2), 3)    # CLAIMS C4: 0.455
        0.455
        """
        v, _, lq = self._bon_level_law(n, delta)
        return float(np.dot(np.exp(lq), v)) / n

    def bon_kl_per_token(self, n: int, delta: float) -> float:
        r""":math:`\mathrm{KL}(\pi_N \| p^{\otimes n})/n` for :math:`N = e^{n\Delta}` (<= Delta).

        >>> ml = Memoryless(token_probs=[.4, .3, .2, .1], token_rewards=[0, .3, .6, 1])
        >>> bool(ml.bon_kl_per_token(40, 0.2) <= 0.2)
        True
        """
        _, lp, lq = self._bon_level_law(n, delta)
        m = np.isfinite(lq)
        return max(float(np.dot(np.exp(lq[m]), lq[m] - lp[m])), 0.0) / n

    def bon_to_tilt_kl_per_token(self, n: int, delta: float) -> float:
        r""":math:`\mathrm{KL}(\pi_N \| \phi_{n\Delta})/n`, which tends to 0 (Yang et al.; CLAIMS B3).

        Both laws keep :math:`p`'s ratios inside a reward level, so this is a KL between
        level laws.

        >>> ml = Memoryless(token_probs=[.4, .3, .2, .1], token_rewards=[0, .3, .6, 1])
        >>> ml.bon_to_tilt_kl_per_token(160, 0.2) < ml.bon_to_tilt_kl_per_token(40, 0.2)
        True
        """
        v, lp, lq = self._bon_level_law(n, delta)
        t = self.tilt_parameter(delta)
        if math.isinf(t):
            lphi = np.full_like(lp, -np.inf)
            lphi[-1] = 0.0
        else:
            e = lp + t * (v - v[-1])
            lphi = e - logsumexp(e)
        m = np.isfinite(lq)
        if np.any(m & ~np.isfinite(lphi)):
            return math.inf
        return max(float(np.dot(np.exp(lq[m]), lq[m] - lphi[m])), 0.0) / n

    def scaled_cgf_under_tilt(self, t: npt.ArrayLike, lam: float) -> Any:
        r"""Return the scaled cumulant generating function of the reward under a tilt.

        Under the tilt :math:`\phi_\lambda`,

        .. math:: \frac1n \log \mathbb E_{\phi_\lambda^{(n)}} e^{t\,r(y)} = \Lambda(\lambda + t) - \Lambda(\lambda)

        (exact for every n in a memoryless model; Yang et al.; CLAIMS B3).

        >>> ml = Memoryless(token_probs=[.5, .5], token_rewards=[0, 1])
        >>> round(float(ml.scaled_cgf_under_tilt(0.0, 2.0)), 12)
        0.0
        """
        lam = check_scalar("lam", lam)
        return self.cgf(np.asarray(t, dtype=float) + lam) - self.cgf(lam)

    def renyi_divergence(self, alpha: float, lam: float) -> float:
        r"""Return the per-token Rényi divergence of the tilt from the reference.

        Per-token Rényi divergence :math:`D_\alpha(\phi_\lambda\|p) = \frac{1}{\alpha-1}
        \log\sum_v \phi_\lambda(v)^\alpha p(v)^{1-\alpha}`.

        It characterises the scaled cumulants (Yang et al., "Rényi cross
        entropy"): with :math:`\alpha = 1 + t/\lambda`,

        .. math:: \Lambda(\lambda + t) - \Lambda(\lambda) = \tfrac{t}{\lambda}
                  \big(\Lambda(\lambda) + D_{1+t/\lambda}(\phi_\lambda\|p)\big).

        >>> ml = Memoryless(token_probs=[.5, .5], token_rewards=[0, 1])
        >>> lam, t = 1.0, 0.5
        >>> lhs = float(ml.scaled_cgf_under_tilt(t, lam))
        >>> rhs = t / lam * (ml.cgf(lam) + ml.renyi_divergence(1 + t / lam, lam))
        >>> abs(lhs - rhs) < 1e-14
        True
        """
        a = check_scalar("alpha", alpha, lo=0.0, lo_inclusive=False)
        lam = check_scalar("lam", lam)
        lphi = self._lp + lam * self._r - self.cgf(lam)
        if a == 1.0:
            return float(np.dot(np.exp(lphi), lphi - self._lp))
        return float(logsumexp(a * lphi + (1 - a) * self._lp)) / (a - 1.0)
