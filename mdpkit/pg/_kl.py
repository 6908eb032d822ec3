r"""The KL estimators k1, k2, k3 of :math:`\mathrm{KL}(\pi\|\pi_{\mathrm{ref}})` on categorical laws.

With :math:`x \sim \pi` and :math:`r = \pi_{\mathrm{ref}}(x)/\pi(x)` (J. Schulman,
"Approximating KL divergence", 2020):

* :math:`k_1 = -\log r` is unbiased and can be negative;
* :math:`k_2 = \tfrac12(\log r)^2 \ge 0` is biased (its mean is a second-order
  approximation of the KL);
* :math:`k_3 = (r - 1) - \log r \ge 0` is unbiased (when
  :math:`\mathrm{supp}\,\pi_{\mathrm{ref}} \subseteq \mathrm{supp}\,\pi`) and, near
  :math:`\pi = \pi_{\mathrm{ref}}`, of lower variance than :math:`k_1`.

Used as a loss on a sample (the sample is held fixed, the logits :math:`z` of
:math:`\pi = \mathrm{softmax}(z)` differentiated), their expected gradients differ (KDRL,
CLAIMS row 35): :math:`\mathbb E\,\nabla_z k_1 = 0`, :math:`\mathbb E\,\nabla_z k_2 =
\nabla_z \mathrm{KL}(\pi\|\pi_{\mathrm{ref}})` (reverse KL), :math:`\mathbb E\,\nabla_z k_3 =
\pi - \pi_{\mathrm{ref}} = \nabla_z \mathrm{KL}(\pi_{\mathrm{ref}}\|\pi)` (forward KL).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._results import grid_frame
from .._typing import FloatArray
from .._validation import as_float_array, check_simplex

ESTIMATORS = ("k1", "k2", "k3")


@dataclass(frozen=True, slots=True)
class KLEstimatorMoments:
    r"""Exact moments of k1, k2, k3 under ``x ~ pi`` (rows in the order ``ESTIMATORS``).

    Attributes
    ----------
    kl : float
        :math:`\mathrm{KL}(\pi\|\pi_{ref})`.
    mean, bias, var : ndarray, shape (3,)
        Mean, bias (mean minus KL) and variance of one sample of each estimator.
    min_value : ndarray, shape (3,)
        Smallest value each estimator takes on the support of ``pi``.
    grad : ndarray, shape (3, K)
        Expected gradient with respect to the logits when the estimator is used as a loss.
    """

    kl: float
    mean: FloatArray
    bias: FloatArray
    var: FloatArray
    min_value: FloatArray
    grad: FloatArray

    def summary(self) -> str:
        """Return one line: the exact KL and each estimator's bias and variance."""
        per = ", ".join(f"{e}: bias {b:.3g}, var {v:.6g}" for e, b, v in zip(ESTIMATORS, self.bias, self.var,
                                                                             strict=True))
        return f"KL = {self.kl:.6g}; {per}"

    def to_frame(self) -> Any:
        """Return one row per estimator (k1, k2, k3): ``mean``, ``bias``, ``var``, ``min_value``."""
        return grid_frame({"estimator": np.array(ESTIMATORS)}, mean=self.mean, bias=self.bias, var=self.var,
                          min_value=self.min_value)


def kl_estimator_values(pi: FloatArray, pi_ref: FloatArray) -> FloatArray:
    """Values of k1, k2, k3 at every support point of ``pi``, shape ``(3, K)`` (0 off support)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_r = np.where(pi > 0, np.log(pi_ref) - np.log(pi), 0.0)
    r = np.exp(log_r)
    return np.stack([-log_r, 0.5 * log_r**2, (r - 1.0) - log_r])


def kl_estimator_moments(pi: npt.ArrayLike, pi_ref: npt.ArrayLike) -> KLEstimatorMoments:
    r"""Exact mean, bias, variance and loss gradient of k1, k2, k3 by summing over the support.

    Parameters
    ----------
    pi, pi_ref : array_like, shape (K,)
        Sampling law and reference, on the simplex; ``pi_ref`` must be positive wherever
        ``pi`` is (finite KL).

    Examples
    --------
    >>> m = kl_estimator_moments([0.5, 0.5], [0.9, 0.1])
    >>> round(m.kl, 6), m.bias.round(6).tolist()
    (0.510826, [0.0, 0.22312, 0.0])
    """
    p = as_float_array("pi", pi, ndim=1)
    q = as_float_array("pi_ref", pi_ref, shape=(p.size,))
    check_simplex("pi", p)
    check_simplex("pi_ref", q)
    if np.any((p > 0) & (q <= 0)):
        i = int(np.argmax((p > 0) & (q <= 0)))
        raise ValueError(f"`pi_ref` must be positive where `pi` is (finite KL); `pi_ref[{i}]` = 0.")
    vals = kl_estimator_values(p, q)
    on = p > 0
    mean = vals @ p
    var = ((vals - mean[:, None]) ** 2) @ p
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = float(np.sum(np.where(on, p * (np.log(p) - np.log(q)), 0.0)))
        log_ratio = np.where(on, np.log(p) - np.log(q), 0.0)
    # E_x[ c(x) (e_x - pi) ] for the per-sample coefficient c = d k / d log pi(x)
    coef = np.stack([np.ones_like(p), log_ratio, 1.0 - np.exp(-log_ratio)])
    grad = coef * p - (coef @ p)[:, None] * p
    return KLEstimatorMoments(kl=kl, mean=mean, bias=mean - kl, var=var,
                              min_value=np.where(on, vals, np.inf).min(axis=1), grad=grad)
