r"""Offline learners on a fixed preference dataset: DPO/IPO and HyPO.

* :func:`offline_dpo` runs gradient descent on the logits of the empirical DPO (or IPO)
  loss of a dataset (Rafailov et al. 2023; Azar et al. 2024).
* :func:`hypo` adds an *online* reverse-KL term,
  :math:`L_{DPO}(\pi) + \beta_{kl}\,\mathrm{KL}(\pi\|\pi_{ref})`, whose gradient
  :math:`\mathbb E_{y\sim\pi}[\log(\pi/\pi_{ref})(y)\,(e_y - \pi)]` is estimated from
  ``n_samples`` fresh draws of the current policy per step (Song et al. 2024, "The
  Importance of Online Data", Alg. 1) or computed exactly (``n_samples=None``).

On responses that no pair covers the DPO loss is flat, so offline DPO keeps whatever
log-ratio its start has there (and its minimizers can put any mass on them); the KL term
fixes them, which is HyPO's point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._results import grid_frame
from .._typing import FloatArray, RNGLike
from .._validation import as_generator, check_int, check_nonnegative, check_positive
from ._losses import _check_loss_args, loss_of_logits
from ._minimizers import _softmax
from ._problems import PreferencePairs


@dataclass(frozen=True, slots=True, kw_only=True)
class OfflineRun:
    """Result of :func:`offline_dpo` or :func:`hypo`.

    Attributes
    ----------
    pi : ndarray, shape (n_runs, Y)
        Final policy of each run.
    loss : ndarray, shape (n_runs, n_steps)
        Objective (DPO/IPO loss, plus the KL term for HyPO) after each step.
    grad_norm : ndarray, shape (n_runs,)
        Max-norm of the exact gradient of the objective at the final policy.
    """

    pi: FloatArray
    loss: FloatArray
    grad_norm: FloatArray

    def summary(self) -> str:
        """Return one line: runs, steps, mean final loss and the largest final gradient norm."""
        n_runs, n_steps = np.shape(self.loss)
        return (f"{n_runs} runs x {n_steps} steps, final loss (mean over runs) = "
                f"{np.mean(self.loss[:, -1]):.6g}, max grad_norm = {np.max(self.grad_norm):.3g}")

    def to_frame(self) -> Any:
        """Return one row per (run, step): the objective ``loss`` after step ``step`` (from 1)."""
        n_runs, n_steps = np.shape(self.loss)
        return grid_frame({"run": np.arange(n_runs), "step": np.arange(1, n_steps + 1)}, loss=self.loss)


def _counts_of(data: PreferencePairs | npt.ArrayLike, pi_ref: FloatArray) -> FloatArray:
    if isinstance(data, PreferencePairs):
        data.check_support(pi_ref)
        if data.n_contexts != 1:
            raise ValueError("the offline learners take one context; split the data per context.")
        return data.counts()
    return np.asarray(data, dtype=np.float64)


def _kl_grad(theta: FloatArray, log_ref: FloatArray, g: np.random.Generator | None,
             n_samples: int | None) -> tuple[float, FloatArray]:
    logp = theta - np.logaddexp.reduce(theta)
    p = np.exp(logp)
    lr = logp - log_ref
    kl = float(p @ lr)
    if n_samples is None:
        return kl, p * (lr - kl)
    assert g is not None  # a sampled gradient comes with its generator
    y = g.choice(p.size, size=n_samples, p=p)
    # REINFORCE with the batch mean as baseline: unbiased for sum_y p (lr - kl)(e_y - p) up to n/(n-1)
    adv = lr[y] - lr[y].mean()
    grad = np.bincount(y, weights=adv, minlength=p.size) / max(n_samples - 1, 1)
    return kl, grad - p * grad.sum()


def _descend(pi_ref, data, beta, loss, pi0, eta, n_steps, n_runs, rng, beta_kl, n_samples) -> OfflineRun:
    ref = np.asarray(pi_ref, dtype=np.float64)
    W = _counts_of(data, ref)
    p0 = ref if pi0 is None else pi0
    _, ref, W, b, _ = _check_loss_args(p0, ref, W, beta, loss, "reverse_kl", 0.5)
    eta = check_positive("eta", eta)
    n_steps = check_int("n_steps", n_steps, lo=1)
    n_runs = check_int("n_runs", n_runs, lo=1)
    if ref.ndim != 1:
        raise ValueError(f"`pi_ref` must have shape (Y,) here; got {ref.shape}.")
    theta0 = np.log(np.asarray(p0, dtype=np.float64))
    if not np.all(np.isfinite(theta0)):
        raise ValueError("`pi0` must be strictly positive.")
    log_ref = np.log(ref)
    seeds = np.random.SeedSequence(as_generator(rng).integers(2**63)).spawn(n_runs)
    pis, losses, gns = [], [], []
    for s in seeds:
        g = np.random.default_rng(s) if n_samples is not None else None
        th = theta0.copy()
        trace = np.empty(n_steps)
        for k in range(n_steps):
            lv = loss_of_logits(th, log_ref, W, b, loss)
            kl, gk = _kl_grad(th, log_ref, g, n_samples) if beta_kl > 0 else (0.0, 0.0)
            th = th - eta * (lv.grad + beta_kl * gk)
            trace[k] = lv.value + beta_kl * kl
        lv = loss_of_logits(th, log_ref, W, b, loss)
        gex = lv.grad + (beta_kl * _kl_grad(th, log_ref, None, None)[1] if beta_kl > 0 else 0.0)
        pis.append(_softmax(th))
        losses.append(trace)
        gns.append(float(np.abs(gex).max()))
    return OfflineRun(pi=np.asarray(pis), loss=np.asarray(losses), grad_norm=np.asarray(gns))


def offline_dpo(
    data: PreferencePairs | npt.ArrayLike,
    pi_ref: npt.ArrayLike,
    beta: float,
    *,
    loss: str = "dpo",
    pi0: npt.ArrayLike | None = None,
    eta: float = 1.0,
    n_steps: int = 2000,
) -> OfflineRun:
    r"""Offline DPO (or IPO, ``loss="ipo"``): gradient descent on the dataset's loss.

    Parameters
    ----------
    data : PreferencePairs or array_like, shape (Y, Y)
        The dataset, or its pair frequencies ``counts[w, l]``.
    pi_ref : array_like, shape (Y,)
        Reference policy (> 0).
    beta : float
    loss : {"dpo", "ipo", "hinge", "fdpo"}
    pi0 : array_like, optional
        Initial policy (default ``pi_ref``), e.g. an SFT model.
    eta : float
        Step size on the logits.
    n_steps : int

    Examples
    --------
    >>> from mdpkit.preference import bradley_terry_matrix, population_counts, tilted_policy
    >>> W = population_counts(bradley_terry_matrix([0.0, 1.0]), [0.5, 0.5])
    >>> run = offline_dpo(W, [0.5, 0.5], beta=1.0, eta=4.0, n_steps=500)
    >>> bool(np.allclose(run.pi[0], tilted_policy([0.5, 0.5], [0.0, 1.0], 1.0), atol=1e-9))
    True
    """
    return _descend(pi_ref, data, beta, loss, pi0, eta, n_steps, 1, None, 0.0, None)


def hypo(
    data: PreferencePairs | npt.ArrayLike,
    pi_ref: npt.ArrayLike,
    beta: float,
    *,
    beta_kl: float,
    pi0: npt.ArrayLike | None = None,
    eta: float = 1.0,
    n_steps: int = 2000,
    n_samples: int | None = None,
    n_runs: int = 1,
    rng: RNGLike = None,
) -> OfflineRun:
    r"""HyPO: offline DPO plus an online reverse-KL penalty :math:`\beta_{kl}\mathrm{KL}(\pi\|\pi_{ref})`.

    Parameters
    ----------
    data, pi_ref, beta, pi0, eta, n_steps
        As in :func:`offline_dpo`.
    beta_kl : float
        Strength of the online KL term, ``> 0``.
    n_samples : int, optional
        On-policy draws per step for the KL gradient (``None``: exact gradient).
    n_runs : int
        Independent runs (sampled KL only).
    rng : int, Generator or SeedSequence, optional

    Examples
    --------
    >>> W = np.array([[0.0, 0.7, 0.0], [0.3, 0.0, 0.0], [0.0, 0.0, 0.0]])   # y3 never compared
    >>> run = hypo(W, [0.4, 0.4, 0.2], 1.0, beta_kl=0.5, pi0=[0.25, 0.25, 0.5], eta=2.0, n_steps=3000)
    >>> bool(run.pi[0, 2] < 0.25)                # the KL term pulls the uncovered response back
    True
    """
    bk = check_nonnegative("beta_kl", beta_kl)
    if bk == 0:
        raise ValueError("`beta_kl` must be > 0 (use offline_dpo without the KL term); got 0.")
    ns = None if n_samples is None else check_int("n_samples", n_samples, lo=2)
    return _descend(pi_ref, data, beta, "dpo", pi0, eta, n_steps, n_runs, rng, bk, ns)
