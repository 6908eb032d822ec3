r"""Direct-alignment losses as functions of the policy, with exact gradients.

Every loss here is a pair loss on the *pair-count matrix* ``counts[w, l]`` (frequencies of
chosen ``w`` / rejected ``l``, :func:`population_counts` for the population):

.. math::

    L(\pi) = \sum_{w, l} W[w, l]\; \phi\big(s_\pi(w) - s_\pi(l)\big),

with a per-response score :math:`s_\pi(y)` and a scalar loss :math:`\phi`:

=========== ============================================ ==========================================
loss        score :math:`s_\pi(y)`, :math:`u = \pi/\pi_{ref}`  :math:`\phi(d)`
=========== ============================================ ==========================================
``dpo``     :math:`\log u(y)`                            :math:`-\log\sigma(\beta d)` (Rafailov et al. 2023, Eq. 7)
``ipo``     :math:`\log u(y)`                            :math:`(d - 1/(2\beta))^2` (Azar et al. 2024, Eq. 17)
``hinge``   :math:`\log u(y)`                            :math:`\max(0, 1 - \beta d)` (SLiC, Zhao et al. 2023)
``fdpo``    :math:`\psi_f(u(y))`                          :math:`-\log\sigma(\beta d)` (Wang et al. 2024)
=========== ============================================ ==========================================

f-DPO's implied reward is :math:`\beta f'(u)`; the scores follow TRL's ``DPOTrainer``
(CLAIMS.md "Corrections"): reverse KL :math:`\psi = \log u`, forward KL
:math:`\psi = -1/u`, Jensen-Shannon :math:`\psi = \log(2u/(1+u))`, alpha
:math:`\psi = (1 - u^{-\alpha})/\alpha`. The gradient is taken with respect to the
logits :math:`\theta` of :math:`\pi = \mathrm{softmax}(\theta)` (per context):

.. math::

    \frac{\partial L}{\partial s(z)} = \sum_l W[z,l]\phi'(s_z - s_l) - \sum_w W[w,z]\phi'(s_w - s_z),
    \qquad \frac{\partial L}{\partial \theta} = H - \pi \textstyle\sum_y H_y,\quad
    H_y = \frac{\partial L}{\partial s(y)}\, u\,\psi'(u).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from scipy.special import expit, log_expit

from .._results import ArrayFields
from .._typing import FloatArray
from .._validation import as_float_array, check_choice, check_positive, check_scalar
from ._problems import check_distribution

LOSSES = ("dpo", "ipo", "hinge", "fdpo")
DIVERGENCES = ("reverse_kl", "forward_kl", "js", "alpha")


def _phi(loss: str, d: FloatArray, beta: float) -> tuple[FloatArray, FloatArray]:
    """(phi(d), phi'(d)) of the pair loss."""
    if loss in ("dpo", "fdpo"):
        return -log_expit(beta * d), -beta * expit(-beta * d)
    if loss == "ipo":
        e = d - 0.5 / beta
        return e * e, 2.0 * e
    # hinge: a subgradient (0 at the kink)
    m = 1.0 - beta * d
    return np.maximum(m, 0.0), np.where(m > 0, -beta, 0.0)


def _score(divergence: str, logu: FloatArray, alpha: float) -> tuple[FloatArray, FloatArray]:
    """(psi(u), u psi'(u)) as functions of log u."""
    if divergence == "reverse_kl":
        return logu, np.ones_like(logu)
    if divergence == "forward_kl":
        inv = np.exp(-logu)
        return -inv, inv
    if divergence == "js":  # log 2u/(1+u) = log 2 - log(1 + 1/u)
        return np.log(2.0) - np.logaddexp(0.0, -logu), expit(-logu)
    mu = np.exp(-alpha * logu)  # alpha: (1 - u^-a)/a
    return (1.0 - mu) / alpha, mu


@dataclass(frozen=True, slots=True)
class LossValue(ArrayFields):
    r"""A loss value and its exact gradient with respect to the policy logits.

    Attributes
    ----------
    value : float
    grad : ndarray, shape of the policy
        :math:`\partial L / \partial \theta` for :math:`\pi = \mathrm{softmax}(\theta)`.
    """

    value: float
    grad: FloatArray

    frame_axes: ClassVar[tuple[str, ...]] = ("context", "response")
    frame_arrays: ClassVar[tuple[str, ...]] = ("grad",)


def _check_loss_args(pi, pi_ref, counts, beta, loss, divergence, alpha):
    check_choice("loss", loss, LOSSES)
    check_choice("divergence", divergence, DIVERGENCES)
    b = check_positive("beta", beta)
    a = check_scalar("alpha", alpha, lo=0.0, hi=1.0, lo_inclusive=False, hi_inclusive=False)
    p = check_distribution("pi", pi)
    ref = check_distribution("pi_ref", pi_ref, positive=True)
    if p.shape != ref.shape:
        raise ValueError(f"`pi` and `pi_ref` must have one shape; got {p.shape} and {ref.shape}.")
    Y = p.shape[-1]
    W = as_float_array("counts", counts, shape=(*p.shape[:-1], Y, Y))
    if np.any(W < 0):
        raise ValueError(f"`counts` must be non-negative; min is {W.min()!r}.")
    return p, ref, W, b, a


def preference_loss(
    pi: npt.ArrayLike,
    pi_ref: npt.ArrayLike,
    counts: npt.ArrayLike,
    beta: float,
    *,
    loss: str = "dpo",
    divergence: str = "reverse_kl",
    alpha: float = 0.5,
) -> LossValue:
    r"""Value and exact logit-gradient of a direct-alignment loss (module docstring for the table).

    Parameters
    ----------
    pi, pi_ref : array_like, shape (Y,) or (X, Y)
        Policy and reference (``pi_ref > 0``: every loss needs :math:`\log \pi_{ref}`).
    counts : array_like, shape (Y, Y) or (X, Y, Y)
        Pair counts or frequencies ``counts[w, l]`` (chosen ``w``, rejected ``l``).
    beta : float
        KL strength, ``beta > 0``.
    loss : {"dpo", "ipo", "hinge", "fdpo"}
    divergence : {"reverse_kl", "forward_kl", "js", "alpha"}
        f-DPO's divergence (``loss="fdpo"`` only; ``"reverse_kl"`` equals DPO).
    alpha : float
        Parameter of the alpha divergence, ``0 < alpha < 1``.

    Returns
    -------
    LossValue

    Examples
    --------
    >>> lv = preference_loss([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [0.0, 0.0]], beta=1.0)
    >>> round(lv.value, 12), lv.grad.round(12).tolist()        # log 2; -(beta/2)(e0 - e1)
    (0.69314718056, [-0.5, 0.5])
    """
    p, ref, W, b, a = _check_loss_args(pi, pi_ref, counts, beta, loss, divergence, alpha)
    if np.any(p <= 0):
        raise ValueError("`pi` must be strictly positive (its log-ratio enters the loss); "
                         f"min is {p.min()!r}.")
    return _loss_from_logu(np.log(p) - np.log(ref), p, W, b, loss,
                           divergence if loss == "fdpo" else "reverse_kl", a)


def _loss_from_logu(logu, p, W, beta, loss, divergence, alpha) -> LossValue:
    s, ds = _score(divergence, logu, alpha)
    d = s[..., :, None] - s[..., None, :]
    val, dphi = _phi(loss, d, beta)
    A = W * dphi
    G = A.sum(-1) - A.sum(-2)
    H = G * ds
    grad = H - p * H.sum(-1, keepdims=True)
    return LossValue(float(np.sum(W * val)), grad)


def loss_of_logits(theta: FloatArray, log_ref: FloatArray, W: FloatArray, beta: float, loss: str,
                   divergence: str = "reverse_kl", alpha: float = 0.5) -> LossValue:
    """Unvalidated loss of ``pi = softmax(theta)`` (inner loop of the minimizers)."""
    lz = np.logaddexp.reduce(theta, axis=-1, keepdims=True)
    logp = theta - lz
    return _loss_from_logu(logp - log_ref, np.exp(logp), W, beta, loss, divergence, alpha)
