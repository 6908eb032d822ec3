r"""Online preference learners on a bandit: online DPO and XPO (Xie et al. 2024).

Each round the learner samples a response from its current policy :math:`\pi_t` and a second
one from :math:`\pi_t` (online DPO) or from :math:`\pi_{ref}` (XPO), asks the Bradley-Terry
oracle of the reward ``reward`` which one wins, and updates. Two update rules
(``method``):

* ``"sgd"``: one stochastic gradient step on the logits for the round's pair (TRL's
  ``OnlineDPOTrainer`` / ``XPOTrainer``): the DPO loss
  :math:`-\log\sigma(\beta(g_w - g_l))`, :math:`g = \log\pi/\pi_{ref}`, plus XPO's
  :math:`\alpha \log\pi(\tilde y_{ref})`.
* ``"argmin"``: Xie et al.'s Algorithm 1, all data so far, policy
  :math:`\pi_f \propto \pi_{ref} e^{f/\beta}` with implied rewards :math:`f \in [0, B]^{Y}`
  (``reward_bound``; a bounded class as in the paper's analysis), fitted by projected
  gradient on :math:`\sum_i -\log\sigma(f_{w_i} - f_{l_i}) + \tfrac{\text{ridge}}{2}\|f\|^2
  + \alpha\sum_i \log\pi_f(\tilde y_i)`. The bonus rewards mass on responses the reference
  samples have not shown: XPO's optimism.

The quality of :math:`\pi_t` is the KL-regularized gap
:math:`J_\beta(\pi^*) - J_\beta(\pi_t)`, :math:`J_\beta(\pi) = \mathbb E_\pi r - \beta
\mathrm{KL}(\pi\|\pi_{ref})`, :math:`\pi^*` the tilted policy. Online DPO needs a round in
which it samples the best response; when :math:`\pi_{ref}(y^*)` is small that takes about
:math:`1/\pi_{ref}(y^*)` rounds (Xie et al., Sec. 3.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import logsumexp

from .._config import PARALLEL_MIN_WORK, get_num_threads
from .._results import grid_frame
from .._typing import FloatArray, IntArray, RNGLike
from .._validation import (
    as_float_array,
    as_generator,
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
)
from . import _online_kernels as K
from ._problems import check_distribution

METHODS = ("sgd", "argmin")


@dataclass(frozen=True, slots=True, kw_only=True)
class OnlineRun:
    r"""Result of :func:`online_dpo` / :func:`xpo`; the run axis comes first.

    Attributes
    ----------
    checkpoints : ndarray of int, shape (n_ck,)
        Rounds at which the gap is recorded (before that round's update).
    gap : ndarray, shape (n_runs, n_ck)
        :math:`J_\beta(\pi^*) - J_\beta(\pi_t)`.
    rounds_to_eps : ndarray of int, shape (n_runs,)
        First round with gap :math:`\le` ``eps`` (``n_rounds + 1`` if never; all
        ``n_rounds + 1`` when ``eps`` was not given).
    pi : ndarray, shape (n_runs, Y)
        Final policies.
    method : str
    """

    checkpoints: IntArray
    gap: FloatArray
    rounds_to_eps: IntArray
    pi: FloatArray
    method: str

    def summary(self) -> str:
        """Return one line: method, runs, last checkpoint, mean final gap and median rounds to ``eps``."""
        return (f"{self.method}: {self.gap.shape[0]} runs, gap at round {int(self.checkpoints[-1])} "
                f"(mean over runs) = {np.mean(self.gap[:, -1]):.6g}, "
                f"median rounds to eps = {self.median_rounds():.6g}")

    def to_frame(self) -> Any:
        """Return one row per (run, checkpoint): the suboptimality ``gap`` at ``round``."""
        return grid_frame({"run": np.arange(self.gap.shape[0]), "round": self.checkpoints}, gap=self.gap)

    def median_rounds(self) -> float:
        """Median over runs of ``rounds_to_eps`` (censored runs count as ``n_rounds + 1``)."""
        return float(np.median(self.rounds_to_eps))


def _run(pi_ref, reward, beta, alpha, from_ref, n_rounds, n_runs, eta, method, eps, ridge,
         reward_bound, n_inner, checkpoints, rng) -> OnlineRun:
    ref = check_distribution("pi_ref", pi_ref, positive=True, ndim=1)
    r = as_float_array("reward", reward, shape=ref.shape)
    b = check_positive("beta", beta)
    method = check_choice("method", method, METHODS)
    T = check_int("n_rounds", n_rounds, lo=1)
    R = check_int("n_runs", n_runs, lo=1)
    eta = check_positive("eta", eta)
    e = 0.0 if eps is None else check_positive("eps", eps)
    ridge = check_nonnegative("ridge", ridge)
    bound = check_positive("reward_bound", reward_bound)
    n_inner = check_int("n_inner", n_inner, lo=1)
    ck = np.unique(np.concatenate([np.geomspace(1, T, min(T, 50)).astype(np.int64) - 1, [0, T]]))
    if checkpoints is not None:
        ck = np.unique(np.asarray(checkpoints, dtype=np.int64))
        if ck.size == 0 or ck.min() < 0 or ck.max() > T:
            raise ValueError(f"`checkpoints` must be rounds in [0, n_rounds={T}]; got {checkpoints!r}.")
    log_ref = np.log(ref)
    j_star = b * float(logsumexp(log_ref + r / b))  # J_beta(pi*) = beta log E_ref e^{r/beta}
    u = as_generator(rng).random((R, T, 3))
    gap = np.empty((R, ck.size))
    rounds = np.empty(R, dtype=np.int64)
    pi = np.empty((R, ref.size))
    if method == "sgd":
        # runs over threads only for large work: waking a second thread costs 4-8 ms under load
        par = R > 1 and R * T * ref.size >= PARALLEL_MIN_WORK and get_num_threads() > 1
        (K.online_sgd_par if par else K.online_sgd)(log_ref, r, b, alpha, eta, from_ref, u, ck, e, j_star,
                                                     gap, rounds, pi)
    else:
        K.online_argmin(log_ref, r, b, alpha, ridge, bound, n_inner, from_ref, u, ck, e, j_star,
                        gap, rounds, pi)
    return OnlineRun(checkpoints=ck, gap=gap, rounds_to_eps=rounds, pi=pi, method=method)


_PARAMS_DOC = r"""
    Parameters
    ----------
    pi_ref : array_like, shape (Y,)
        Reference policy, strictly positive.
    reward : array_like, shape (Y,)
        Reward of the Bradley-Terry oracle :math:`\Pr(y \succ y') = \sigma(r(y) - r(y'))`.
    beta : float
        KL strength of DPO, ``> 0``.
    n_rounds, n_runs : int
        Rounds (one labelled pair each) and independent runs.
    eta : float
        Step size of ``method="sgd"`` (constant: the iterates settle in a noise ball of
        size O(eta) around the optimum).
    method : {"sgd", "argmin"}
        Update rule (module docstring).
    eps : float, optional
        Record the first round with :math:`J_\beta(\pi^*) - J_\beta(\pi_t) \le` ``eps``.
    ridge, reward_bound, n_inner
        ``method="argmin"``: ridge on the implied rewards, the bound :math:`B` of the
        class :math:`f \in [0, B]^Y`, projected-gradient steps per round.
    checkpoints : array_like of int, optional
        Rounds at which the gap is recorded (default: 50 log-spaced).
    rng : int, Generator or SeedSequence, optional
"""


def online_dpo(
    pi_ref: npt.ArrayLike, reward: npt.ArrayLike, beta: float, *, n_rounds: int, n_runs: int = 1,
    eta: float = 0.5, method: str = "sgd", eps: float | None = None, ridge: float = 1.0,
    reward_bound: float = 2.0, n_inner: int = 5, checkpoints: npt.ArrayLike | None = None,
    rng: RNGLike = None,
) -> OnlineRun:
    r"""Online DPO: both responses from the current policy, preferences from the oracle.

    {params}

    Returns
    -------
    OnlineRun

    Examples
    --------
    >>> run = online_dpo([0.5, 0.5], [1.0, 0.0], 1.0, n_rounds=2000, n_runs=4, method="argmin", rng=0)
    >>> bool(run.gap[:, -1].max() < 0.05 * run.gap[:, 0].min())
    True
    """
    return _run(pi_ref, reward, beta, 0.0, False, n_rounds, n_runs, eta, method, eps, ridge,
                reward_bound, n_inner, checkpoints, rng)


def xpo(
    pi_ref: npt.ArrayLike, reward: npt.ArrayLike, beta: float, *, alpha: float, n_rounds: int,
    n_runs: int = 1, eta: float = 0.5, method: str = "sgd", eps: float | None = None, ridge: float = 1.0,
    reward_bound: float = 2.0, n_inner: int = 5, checkpoints: npt.ArrayLike | None = None,
    rng: RNGLike = None,
) -> OnlineRun:
    r"""XPO (Xie et al. 2024): online DPO against a reference sample plus an optimism term.

    The optimism term is :math:`\alpha\log\pi(\tilde y_{{ref}})`.
    {params}
    alpha : float
        Weight of the optimism term, ``>= 0`` (TRL's ``XPOConfig.alpha``).

    Returns
    -------
    OnlineRun

    Examples
    --------
    >>> run = xpo([0.5, 0.5], [1.0, 0.0], 1.0, alpha=1e-3, n_rounds=2000, n_runs=4, method="argmin", rng=0)
    >>> bool(run.gap[:, -1].max() < 0.05 * run.gap[:, 0].min())
    True
    """
    a = check_nonnegative("alpha", alpha)
    return _run(pi_ref, reward, beta, a, True, n_rounds, n_runs, eta, method, eps, ridge,
                reward_bound, n_inner, checkpoints, rng)


if online_dpo.__doc__ and xpo.__doc__:  # docstrings are None under python -OO
    online_dpo.__doc__ = online_dpo.__doc__.replace("{params}", _PARAMS_DOC)
    xpo.__doc__ = xpo.__doc__.replace("{params}", _PARAMS_DOC).replace("{{ref}}", "{ref}")
