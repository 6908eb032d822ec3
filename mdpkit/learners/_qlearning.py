r"""Tabular model-free learners: Q-learning, speedy and variance-reduced Q-learning.

Synchronous Q-learning on a generative model draws, at every iteration :math:`t`, one
next state :math:`s'_t(s, a) \sim P(\cdot|s, a)` for every pair and sets

.. math::

    Q_t(s, a) = (1 - \eta_t)\, Q_{t-1}(s, a) + \eta_t \big(r(s, a) + \gamma \max_{a'} Q_{t-1}(s'_t, a')\big).

Learning rates (``eta``): ``"linear"`` :math:`1/t` (Watkins and Dayan 1992; exponentially
slow in :math:`1/(1-\gamma)`, Even-Dar and Mansour 2003), ``"rescaled_linear"``
:math:`1/(1 + (1-\gamma) t)` (Wainwright 2019; Li et al. 2021: sample complexity
:math:`\tilde O(SA/((1-\gamma)^4\varepsilon^2))`), ``"polynomial"`` :math:`t^{-\omega}`,
:math:`\omega \in (1/2, 1)` (Even-Dar and Mansour 2003), or a constant. Speedy Q-learning
(Azar et al. 2011) and variance-reduced Q-learning (Wainwright 2019) reach
:math:`\|Q_T - Q^*\|_\infty = \tilde O(T^{-1/2})` per pair with better horizon factors.
Asynchronous Q-learning (``sampling="trajectory"``) updates only the visited pair along
one trajectory of a behaviour policy, with the rate of its visit count.

Every run is compiled and seeded from ``SeedSequence(rng).spawn(n_runs)`` (as
:func:`mdpkit.bandits.simulate`), and the error :math:`\|Q_t - Q^*\|_\infty` against the
exact :math:`Q^*` (policy iteration) is recorded at geometric checkpoints.

References
----------
.. [1] C. Watkins, P. Dayan, "Q-learning", Machine Learning 8, 1992.
.. [2] E. Even-Dar, Y. Mansour, "Learning rates for Q-learning", JMLR 5, 2003.
.. [3] M. G. Azar, R. Munos, M. Ghavamzadeh, H. J. Kappen, "Speedy Q-learning", NeurIPS 2011.
.. [4] M. J. Wainwright, "Variance-reduced Q-learning is minimax optimal", arXiv:1906.04697, 2019.
.. [5] G. Li, C. Cai, Y. Chen, Y. Gu, Y. Wei, Y. Chi, "Is Q-learning minimax optimal? A tight
   sample complexity analysis", Operations Research, 2023 (arXiv:2102.06548).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._typing import FloatArray, IntArray, RNGLike
from .._validation import check_choice, check_int, check_scalar
from ..bandits._simulate import run_seeds
from ..mdp import TabularMDP
from . import _qlearning_kernels as QK

ETA_SCHEDULES = {"constant": QK.ETA_CONSTANT, "linear": QK.ETA_LINEAR, "rescaled_linear": QK.ETA_RESCALED,
                 "polynomial": QK.ETA_POLYNOMIAL}


@dataclass(frozen=True, slots=True, kw_only=True)
class QLearningRun:
    r"""Many runs of a tabular Q-learner, run axis first.

    Attributes
    ----------
    Q : ndarray, shape (n_runs, S, A)
        Final estimates (``-inf`` at infeasible actions).
    Q_star : ndarray, shape (S, A)
        Exact optimal action values (policy iteration).
    error : ndarray, shape (n_runs, n_checkpoints)
        :math:`\|Q_t - Q^*\|_\infty` over the feasible pairs at each checkpoint.
    n_samples : ndarray of int, shape (n_checkpoints,)
        Transitions drawn (all pairs together) up to each checkpoint.
    checkpoints : ndarray of int, shape (n_checkpoints,)
        Iteration (synchronous), epoch (variance-reduced) or step (trajectory) index.
    seeds : ndarray of int, shape (n_runs,)
        Per-run seeds (a run depends on its seed only).
    method : str
    """

    Q: FloatArray
    Q_star: FloatArray
    error: FloatArray
    n_samples: IntArray
    checkpoints: IntArray
    seeds: IntArray
    method: str

    @property
    def n_runs(self) -> int:
        return int(self.error.shape[0])

    def summary(self) -> dict[str, float]:
        """Return the final mean error, its standard error over runs, and the samples drawn."""
        e = self.error[:, -1]
        se = float(e.std(ddof=1) / np.sqrt(e.size)) if e.size > 1 else float("nan")
        return {"error": float(e.mean()), "error_se": se, "n_samples": float(self.n_samples[-1])}

    def to_frame(self) -> Any:
        """Long pandas DataFrame: one row per run and checkpoint."""
        import pandas as pd

        runs, cks = np.meshgrid(np.arange(self.n_runs), np.arange(self.checkpoints.size), indexing="ij")
        return pd.DataFrame({"run": runs.ravel(), "checkpoint": self.checkpoints[cks.ravel()],
                             "n_samples": self.n_samples[cks.ravel()], "error": self.error.ravel(),
                             "method": self.method})


def _model(mdp: TabularMDP) -> tuple[Any, ...]:
    """CSR rows with within-row cumulative probabilities, rewards, feasibility, exact Q*."""
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"`mdp` must be a TabularMDP; got {type(mdp).__name__}.")
    if mdp.is_finite_horizon:
        raise ValueError(f"Q-learning needs a discounted MDP (`gamma=`); got horizon={mdp.horizon}.")
    from ..solvers import solve

    csr = mdp.P_csr
    cum = np.empty_like(csr.data)
    for i in range(csr.shape[0]):
        k0, k1 = csr.indptr[i], csr.indptr[i + 1]
        cum[k0:k1] = np.cumsum(csr.data[k0:k1])
    feas = mdp.action_mask.ravel().astype(np.uint8)
    Q_star = solve(mdp, method="policy_iteration").Q
    return (csr.indptr.astype(np.int64), csr.indices.astype(np.int64), cum,
            np.ascontiguousarray(mdp._r_finite.ravel()), feas, np.where(mdp.action_mask, Q_star, 0.0).ravel())


def _checkpoints(n: int, n_checkpoints: int) -> IntArray:
    return np.unique(np.geomspace(1, n, check_int("n_checkpoints", n_checkpoints, lo=1)).round().astype(np.int64))


def _schedule(eta: str | float, omega: float) -> tuple[int, float, float]:
    if isinstance(eta, str):
        code = ETA_SCHEDULES[check_choice("eta", eta, ETA_SCHEDULES)]
        om = check_scalar("omega", omega, lo=0.5, hi=1.0, lo_inclusive=False)
        if code == QK.ETA_CONSTANT:
            raise ValueError("`eta`='constant' needs the value itself: pass `eta` as a float in (0, 1].")
        return code, 0.0, om
    return QK.ETA_CONSTANT, check_scalar("eta", eta, lo=0.0, hi=1.0, lo_inclusive=False), 1.0


def _run(mdp: TabularMDP, kind: int, alg: int, n_iter: int, sched: tuple[int, float, float], n_runs: int,
         rng: RNGLike, ck: IntArray, per_ck: IntArray, method: str, cum_pi: FloatArray | None = None,
         epoch_length: int = 0, recenter: IntArray | None = None) -> QLearningRun:
    indptr, indices, cum, r2, feas, Q_star = _model(mdp)
    S, A = mdp.n_states, mdp.n_actions
    seeds = run_seeds(rng, check_int("n_runs", n_runs, lo=1))
    Q = np.zeros((seeds.size, S * A))
    err = np.zeros((seeds.size, ck.size))
    cum_mu0 = np.cumsum(mdp.mu0)
    gamma = float(mdp.gamma if mdp.gamma is not None else 0.0)  # discounted: checked by _model
    QK.many_runs(kind, alg, indptr, indices, cum, r2, feas, gamma, S, A, n_iter, *sched, cum_mu0,
                 np.ones((1, 1)) if cum_pi is None else cum_pi, epoch_length,
                 np.ones(1, dtype=np.int64) if recenter is None else recenter, Q_star, ck, seeds, Q, err)
    Q_out = np.where(mdp.action_mask[None], Q.reshape(-1, S, A), -np.inf)
    return QLearningRun(Q=Q_out, Q_star=np.where(mdp.action_mask, Q_star.reshape(S, A), -np.inf), error=err,
                        n_samples=per_ck, checkpoints=ck, seeds=seeds, method=method)


def q_learning(
    mdp: TabularMDP,
    *,
    n_iterations: int,
    n_runs: int = 1,
    eta: str | float = "rescaled_linear",
    omega: float = 0.8,
    sampling: str = "generative",
    behavior: npt.ArrayLike | None = None,
    n_checkpoints: int = 20,
    rng: RNGLike = None,
) -> QLearningRun:
    r"""Tabular Q-learning, synchronous on a generative model or along a trajectory.

    See the module docstring for the update and the schedules.

    Parameters
    ----------
    mdp : TabularMDP
        Discounted model to sample from (dense or CSR; infeasible actions respected).
    n_iterations : int
        Synchronous iterations (one sample per pair each), or trajectory steps.
    n_runs : int
        Independent runs.
    eta : {"rescaled_linear", "linear", "polynomial"} or float
        Learning-rate schedule, or a constant in (0, 1].
    omega : float
        Exponent of the polynomial schedule :math:`t^{-\omega}`, :math:`1/2 < \omega \le 1`.
    sampling : {"generative", "trajectory"}
    behavior : array_like, shape (S, A), optional
        Behaviour policy of ``"trajectory"`` (uniform over feasible actions by default).
    n_checkpoints : int
        Geometric checkpoints at which the error is recorded.
    rng : int, Generator or SeedSequence, optional
        Root of the per-run seeds (keyword-only).

    Returns
    -------
    QLearningRun

    Examples
    --------
    >>> import mdpkit as mk
    >>> run = mk.learners.q_learning(mk.small(gamma=0.5), n_iterations=2000, n_runs=4, rng=0)
    >>> run.error.shape[0], int(run.checkpoints[-1]), bool(run.error[:, -1].max() < 0.5)
    (4, 2000, True)
    """
    sched = _schedule(eta, omega)
    T = check_int("n_iterations", n_iterations, lo=1)
    mode = check_choice("sampling", sampling, ("generative", "trajectory"))
    ck = _checkpoints(T, n_checkpoints)
    if mode == "generative":
        if behavior is not None:
            raise ValueError("`behavior` is for sampling='trajectory'; the generative model samples every pair.")
        L = int(mdp.action_mask.sum()) if isinstance(mdp, TabularMDP) else 0
        return _run(mdp, 0, QK.ALG_Q, T, sched, n_runs, rng, ck, ck * L, "q_learning")
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"`mdp` must be a TabularMDP; got {type(mdp).__name__}.")
    mask = mdp.action_mask
    pi_b = mask / mask.sum(axis=1, keepdims=True) if behavior is None else mdp.check_policy(behavior, "behavior")
    return _run(mdp, 2, QK.ALG_Q, T, sched, n_runs, rng, ck, ck.copy(), "q_learning_trajectory",
                cum_pi=np.ascontiguousarray(np.cumsum(pi_b, axis=1)))


def speedy_q_learning(mdp: TabularMDP, *, n_iterations: int, n_runs: int = 1, n_checkpoints: int = 20,
                      rng: RNGLike = None) -> QLearningRun:
    r"""Speedy Q-learning on a generative model (Azar et al. 2011).

    With :math:`\alpha_t = 1/t` and one next state per pair shared by both empirical
    operators :math:`\hat T_t`,
    :math:`Q_t = Q_{t-1} + \alpha_t(\hat T_t Q_{t-2} - Q_{t-1}) + (1-\alpha_t)(\hat T_t Q_{t-1} - \hat T_t Q_{t-2})`;
    :math:`\|Q_T - Q^*\|_\infty = O\big(\sqrt{\log(SA/\delta)/T}/(1-\gamma)^2\big)` w.p. :math:`1-\delta`.
    Same conventions as :func:`q_learning`.

    Examples
    --------
    >>> import mdpkit as mk
    >>> run = mk.learners.speedy_q_learning(mk.small(gamma=0.5), n_iterations=2000, n_runs=2, rng=0)
    >>> bool(run.error[:, -1].max() < 0.5)
    True
    """
    T = check_int("n_iterations", n_iterations, lo=1)
    ck = _checkpoints(T, n_checkpoints)
    L = int(mdp.action_mask.sum()) if isinstance(mdp, TabularMDP) else 0
    return _run(mdp, 0, QK.ALG_SPEEDY, T, (QK.ETA_LINEAR, 0.0, 1.0), n_runs, rng, ck, ck * L,
                "speedy_q_learning")


def variance_reduced_q_learning(mdp: TabularMDP, *, n_epochs: int, epoch_length: int | None = None,
                                recenter_samples: int | None = None, n_runs: int = 1,
                                rng: RNGLike = None) -> QLearningRun:
    r"""Variance-reduced Q-learning on a generative model (Wainwright 2019).

    Epoch :math:`m = 1..M` recentres at :math:`\bar Q = Q` with a Monte-Carlo estimate
    :math:`\tilde T(\bar Q)` from :math:`N_m = N_1 4^{m-1}` samples per pair, then runs
    ``epoch_length`` steps :math:`Q \leftarrow (1-\eta_k) Q + \eta_k(\hat T_k Q - \hat T_k \bar Q +
    \tilde T(\bar Q))`, :math:`\eta_k = 1/(1 + (1-\gamma)k)`. Each epoch halves the error
    once the recentring noise dominates, so the error falls like (samples)\ :sup:`-1/2`.
    Defaults: ``epoch_length`` :math:`= \lceil 1/(1-\gamma)^2 \rceil`, :math:`N_1` = ``epoch_length``.
    One checkpoint per epoch.

    Examples
    --------
    >>> import mdpkit as mk
    >>> run = mk.learners.variance_reduced_q_learning(mk.small(gamma=0.5), n_epochs=5, n_runs=2, rng=0)
    >>> run.checkpoints.tolist(), bool(run.error[:, -1].max() < 0.5)
    ([1, 2, 3, 4, 5], True)
    """
    M = check_int("n_epochs", n_epochs, lo=1)
    g = mdp.gamma if isinstance(mdp, TabularMDP) and mdp.gamma is not None else 0.0
    K = int(np.ceil(1.0 / (1.0 - g) ** 2)) if epoch_length is None else check_int("epoch_length", epoch_length, lo=1)
    N1 = K if recenter_samples is None else check_int("recenter_samples", recenter_samples, lo=1)
    recenter = N1 * 4 ** np.arange(M, dtype=np.int64)
    ck = np.arange(1, M + 1, dtype=np.int64)
    L = int(mdp.action_mask.sum()) if isinstance(mdp, TabularMDP) else 0
    per_ck = np.cumsum(recenter + K) * L
    return _run(mdp, 1, QK.ALG_Q, 0, (QK.ETA_RESCALED, 0.0, 1.0), n_runs, rng, ck, per_ck,
                "variance_reduced_q_learning", epoch_length=K, recenter=recenter)
