r"""Optimistic online learners for finite-horizon tabular MDPs, with compiled episode loops.

Every learner keeps the empirical model :math:`\hat P_h(s'|s,a) = n_h(s,a,s')/n_h(s,a)`,
:math:`\hat r_h(s,a)` (stage-dependent, as the MDP may be) and, before each episode,
runs backward induction on it with an exploration bonus :math:`b_h(s,a)`:

.. math::

    \bar Q_h(s,a) = \min\big(H-h,\ \hat r_h(s,a) + \hat P_h \bar V_{h+1}(s,a) + b_h(s,a)\big),
    \qquad \bar V_h(s) = \mathcal M_h[\bar Q_h(s,\cdot)],

with :math:`\bar Q_h = H - h` on unvisited pairs and :math:`\bar V_H = 0`. The action
part :math:`\mathcal M` is the max (UCBVI, Azar et al. 2017) or the KL-regularized max
:math:`\beta\log\sum_a\pi_{ref,h}(a|s)e^{\bar Q_h(s,a)/\beta}` with the policy
:math:`\pi_h(a|s)\propto\pi_{ref,h}(a|s)e^{\bar Q_h(s,a)/\beta}` (the optimistic soft
backup of UCBVI-Ent, Tiapkin et al. 2023); demonstration-regularized RL is the latter with
:math:`\pi_{ref} = \pi^{BC}` (Tiapkin et al. 2024). A mirror pessimistic recursion
:math:`\underline Q_h = \max(0, \hat r + \hat P\underline V_{h+1} - b)` is run alongside.

Bonuses (rewards of a :class:`~mdpkit.mdp.TabularMDP` are deterministic and in
:math:`[0, 1]`, so :math:`\hat r` is exact after one visit and only the next-state
expectation needs a bonus; :math:`n = n_h(s,a)`, :math:`R_h = H - h - 1` the range of
:math:`V_{h+1}`):

* ``"hoeffding"``: :math:`b = R_h\sqrt{L/(2n)}`, :math:`L = \log(2SAHK/\delta)`
  (Hoeffding's inequality for the fixed :math:`V^*_{h+1}`, union bound over
  :math:`(h,s,a)` and :math:`n \le K`);
* ``"bernstein"``: the minimum of the Hoeffding bonus and the empirical-Bernstein bonus
  (Maurer & Pontil 2009, Thm. 4)
  :math:`2\sqrt{L\,\widehat{\mathrm{Var}}(\bar V_{h+1})/(n-1)} +
  2\sqrt{L\,\hat{\mathbb E}[(\bar V_{h+1}-\underline V_{h+1})^2]/(n-1)} + 7R_hL/(3(n-1))`,
  :math:`L = \log(8SAHK/\delta)`; the middle term pays for using :math:`\bar V` in place
  of the unknown :math:`V^*` in the variance, as in UCBVI-BF (Azar et al. 2017, Alg. 4,
  whose correction term plays the same role).

Alongside, the certainty-equivalent plan (no bonus, :math:`\hat Q = 0` on unvisited
pairs, soft toward :math:`\pi_{ref}` for the regularized learners) is the *recommended*
policy of best-policy identification; its exact suboptimality is traced too, since the
fast :math:`1/(\beta\varepsilon)` rate of regularized exploration is a statement about it.
The three recursions share one compiled pass over the counts per stage.

With ``bonus_scale = 1`` these bonuses make, with probability at least
:math:`1-\delta`, :math:`\underline V_h \le V^\star_h \le \bar V_h` in every episode
(:math:`V^\star` the optimal, or the optimal KL-regularized, value), by induction over
:math:`h`. ``bonus_scale < 1`` trades that guarantee for speed.

References
----------
.. [1] M. G. Azar, I. Osband, R. Munos, "Minimax Regret Bounds for Reinforcement
   Learning", ICML 2017 (UCBVI, Alg. 1-4, Thm. 1-2).
.. [2] D. Tiapkin, D. Belomestny, D. Calandriello, E. Moulines, R. Munos, A. Naumov,
   P. Perrault, Y. Tang, M. Valko, P. Ménard, "Fast Rates for Maximum Entropy
   Exploration", ICML 2023 (UCBVI-Ent).
.. [3] D. Tiapkin et al., "Demonstration-Regularized RL", ICLR 2024 (arXiv 2310.17303),
   Sec. 4.
.. [4] A. Maurer, M. Pontil, "Empirical Bernstein Bounds and Sample Variance
   Penalization", COLT 2009.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .._config import PARALLEL_MIN_WORK, get_num_threads
from .._results import RegretTraces, as_frame
from .._typing import FloatArray, RNGLike
from .._validation import (
    check_choice,
    check_int,
    check_positive,
    check_scalar,
    check_support,
)
from ..bandits._simulate import run_seeds
from ..mdp import TabularMDP, Trajectories
from . import _online_kernels as OK
from ._bc import behavior_cloning

_BONUSES = {"hoeffding": OK.BONUS_HOEFFDING, "bernstein": OK.BONUS_BERNSTEIN}
_LOG_FACTOR = {"hoeffding": 2.0, "bernstein": 8.0}


@dataclass(frozen=True, slots=True, kw_only=True)
class OnlineRun(RegretTraces):
    r"""Traces of ``n_runs`` independent runs of an online learner on a known test MDP.

    Every per-episode array has the run axis first, as :class:`mdpkit.bandits.BanditRun`:
    ``regret[run, k]`` after episode ``k + 1`` (the checkpoints are all episodes).

    Attributes
    ----------
    suboptimality : ndarray, shape (n_runs, K)
        :math:`V^*_0(\mu_0) - V^{\pi_k}_0(\mu_0)` of the policy played in episode ``k``
        (exact, by backward recursion on the true model; unregularized values).
    regret : ndarray, shape (n_runs, K)
        Cumulative (pseudo-)regret :math:`\sum_{j \le k}` ``suboptimality[:, j]``.
    recommended_suboptimality : ndarray, shape (n_runs, K)
        The same for the recommended (best-policy-identification) policy available
        before episode ``k``: the certainty-equivalent plan on the empirical model, no
        bonus (greedy for UCBVI, soft toward ``pi_ref`` for the regularized learners).
        The fast :math:`1/(\beta\varepsilon)` rate of regularized BPI is a statement
        about this policy.
    returns : ndarray, shape (n_runs, K)
        Realized return of each episode.
    upper_value, lower_value : ndarray, shape (n_runs, K)
        :math:`\mu_0^\top\bar V^k_0` and :math:`\mu_0^\top\underline V^k_0`, the
        learner's confidence bounds on ``target_value``.
    target_value : float
        :math:`\mu_0^\top V^\star_0`: the optimal value (UCBVI) or the optimal
        KL-regularized value (regularized learners) that the bounds bracket.
    optimal_value : float
        :math:`\mu_0^\top V^*_0`, the unregularized optimum.
    policy, recommended_policy : ndarray, shape (n_runs, H, S, A)
        The played and recommended policies planned from all ``K`` episodes of each run.
    counts : ndarray, shape (n_runs, H, S, A)
        Visit counts :math:`n_h(s,a)` of each run.
    seeds : ndarray of int64, shape (n_runs,)
        The seed of every run (children of one ``SeedSequence``, as in ``bandits.simulate``).
    agent : str
    info : dict
        Learner constants (log term ``L``, ``beta``, ``bonus``; linear learners:
        ``bonus_width``, ``beta``, ``ridge``).
    """

    suboptimality: FloatArray
    regret: FloatArray
    recommended_suboptimality: FloatArray
    returns: FloatArray
    upper_value: FloatArray
    lower_value: FloatArray
    target_value: float
    optimal_value: float
    policy: FloatArray
    recommended_policy: FloatArray
    counts: FloatArray
    seeds: npt.NDArray[np.int64]
    agent: str
    info: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_runs(self) -> int:
        return int(self.suboptimality.shape[0])

    @property
    def n_episodes(self) -> int:
        return int(self.suboptimality.shape[1])

    @property
    def checkpoints(self) -> npt.NDArray[np.int64]:
        """Episodes ``1..K`` (every episode is a checkpoint)."""
        return np.arange(1, self.n_episodes + 1, dtype=np.int64)


    def episodes_to_epsilon(self, epsilon: float, *, recommended: bool = True) -> npt.NDArray[np.int64]:
        r"""Episodes after which the recommended (or played) policy stays ``epsilon``-optimal, per run.

        :math:`\min\{k : \text{sub}[j] \le \varepsilon\ \forall j \ge k\}` with
        ``sub = recommended_suboptimality[run]`` (or ``suboptimality[run]`` if
        ``recommended`` is false): the number of episodes of data needed; ``K`` when the
        last policy is not ``epsilon``-optimal (censored). Shape ``(n_runs,)``.
        """
        eps = check_positive("epsilon", epsilon)
        sub = self.recommended_suboptimality if recommended else self.suboptimality
        bad = sub > eps
        last_bad = sub.shape[1] - np.argmax(bad[:, ::-1], axis=1)
        return np.where(bad.any(axis=1), last_bad, 0).astype(np.int64)

    def summary(self) -> str:
        """One line: agent, runs x episodes, mean final regret (with its SE) and suboptimality."""
        se = f" +- {float(self.regret_se[-1]):.3g}" if self.n_runs > 1 else ""
        return (f"{self.agent}: {self.n_runs} run(s) x {self.n_episodes} episodes, mean final regret "
                f"{float(self.mean_regret[-1]):.4g}{se}, mean final suboptimality "
                f"{float(self.suboptimality[:, -1].mean()):.3g}")

    def to_frame(self) -> Any:
        """One row per (run, episode) with every per-episode trace (a pandas DataFrame)."""
        R, K = self.suboptimality.shape
        return as_frame({"run": np.repeat(np.arange(R), K), "episode": np.tile(self.checkpoints, R),
                         "suboptimality": self.suboptimality.ravel(), "regret": self.regret.ravel(),
                         "recommended_suboptimality": self.recommended_suboptimality.ravel(),
                         "return": self.returns.ravel(), "upper_value": self.upper_value.ravel(),
                         "lower_value": self.lower_value.ravel()})

    def __repr__(self) -> str:
        return (f"OnlineRun(agent={self.agent!r}, n_runs={self.n_runs}, n_episodes={self.n_episodes}, "
                f"mean final regret={float(self.mean_regret[-1]):.4g})")


def run_traces(one: Any, many: Any, seeds: npt.NDArray[np.int64], common: tuple, shape: tuple[int, ...],
               K: int, work: float) -> tuple[FloatArray, ...]:
    """Run ``one`` (serial, per run) or ``many`` (``prange`` over runs) and return the traces.

    Returns ``(counts, pi, pi_rec, subopt, rec_subopt, returns, upper, lower)`` with the run
    axis first. Small problems run serially (a parallel region costs milliseconds on a busy
    machine, DESIGN.md section 4); the per-run seeds make both paths give the same numbers.
    """
    R = int(seeds.size)
    outs = (np.zeros((R, *shape)), np.empty((R, *shape)), np.empty((R, *shape)),
            *(np.empty((R, K)) for _ in range(5)))
    if R == 1 or get_num_threads() == 1 or work * R < PARALLEL_MIN_WORK:
        for r in range(R):
            one(seeds[r], *common, *(o[r] for o in outs))
    else:
        many(seeds, *common, *outs)
    return outs


def make_run(outs: tuple[FloatArray, ...], *, seeds: npt.NDArray[np.int64], target: float, v_star: float,
             name: str, info: dict[str, Any]) -> OnlineRun:
    """Return the :class:`OnlineRun` of the traces returned by :func:`run_traces`."""
    counts, pi, pi_rec, subopt, rec_subopt, returns, upper, lower = outs
    return OnlineRun(suboptimality=subopt, regret=np.cumsum(subopt, axis=1), recommended_suboptimality=rec_subopt,
                     returns=returns, upper_value=upper, lower_value=lower, target_value=target,
                     optimal_value=v_star, policy=pi, recommended_policy=pi_rec, counts=counts,
                     seeds=seeds, agent=name, info=info)


def _check_bonus(bonus: str, delta: float, bonus_scale: float) -> None:
    check_choice("bonus", bonus, _BONUSES)
    check_scalar("delta", delta, lo=0.0, hi=1.0, lo_inclusive=False, hi_inclusive=False)
    check_positive("bonus_scale", bonus_scale)


def _check_mdp(mdp: Any) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"`mdp` must be a TabularMDP for a tabular learner; got {type(mdp).__name__}.")
    if not mdp.is_finite_horizon:
        raise ValueError(f"`mdp` must be finite-horizon (`horizon=`); got gamma={mdp.gamma}.")
    r = mdp.r
    if r.min() < 0.0 or r.max() > 1.0:
        raise ValueError("`mdp` rewards must lie in [0, 1] (the bonuses assume it); got range "
                         f"[{r.min():.6g}, {r.max():.6g}].")
    return mdp


def _log_term(bonus: str, S: int, A: int, H: int, K: int, delta: float) -> float:
    return float(np.log(_LOG_FACTOR[bonus] * S * A * H * K / delta))


def _run_tabular(mdp: TabularMDP, K: int, seeds: npt.NDArray[np.int64], *, name: str, bonus: str,
                 delta: float, bonus_scale: float, beta: float, pi_ref: FloatArray | None) -> OnlineRun:
    from ..solvers import solve, solve_kl_regularized

    S, A, H = mdp.n_states, mdp.n_actions, mdp.horizon
    assert H is not None
    P = mdp.P
    P4 = np.ascontiguousarray(P if P.ndim == 4 else P[None])
    r3 = np.ascontiguousarray(mdp.r if mdp.r.ndim == 3 else mdp.r[None])
    mu0 = np.ascontiguousarray(mdp.mu0)
    v_star = float(mu0 @ solve(mdp).V[0])
    if pi_ref is None:
        log_ref = np.zeros((H, S, A))
        target = v_star
    else:
        with np.errstate(divide="ignore"):
            log_ref = np.ascontiguousarray(np.log(pi_ref))
        target = float(mu0 @ solve_kl_regularized(mdp, pi_ref, beta).V[0])
    L = _log_term(bonus, S, A, H, K, delta)
    common = (np.cumsum(mu0), np.ascontiguousarray(np.cumsum(P4, axis=-1)), P4, r3, mu0, v_star,
              _BONUSES[bonus], L, bonus_scale, beta, log_ref)
    outs = run_traces(OK.run_tabular_one, OK.run_tabular_many, seeds, common, (H, S, A), K,
                      work=float(K) * H * S * A * S)
    return make_run(outs, seeds=seeds, target=target, v_star=v_star, name=name,
                    info={"log_term": L, "beta": beta, "bonus": bonus})


@dataclass(frozen=True)
class UCBVI:
    r"""UCBVI (Azar et al. 2017): optimistic backward induction on the empirical model.

    Plays the greedy policy of :math:`\bar Q` (first maximizer on ties); the bonuses
    are described in :mod:`mdpkit.learners._online`. With ``bonus_scale = 1``,
    :math:`\bar V^k \ge V^*` in every episode with probability :math:`\ge 1-\delta`, and
    the regret satisfies :math:`\mathrm{Regret}(K) = \tilde O(\sqrt{H^3 SAK})` for
    stage-dependent transitions (Azar et al. 2017, Thm. 1, with an extra
    :math:`\sqrt H` because :math:`P_h` depends on :math:`h`).

    Parameters
    ----------
    bonus : {"hoeffding", "bernstein", "azar_ch", "azar_bf"}
        mdpkit's bonuses (module docstring; Azar et al.'s theorems do not apply to them),
        or Azar et al.'s exact algorithms UCBVI-CH (bonus :math:`7HL/\sqrt N`, Thm. 1) and
        UCBVI-BF (Bernstein-Freedman, Thm. 2), with the min over previous Q-values, run on
        the layered MDP of the pairs :math:`(h, s)` (:mod:`mdpkit.learners._ucbvi_azar`).
    delta : float
        Confidence level, in (0, 1).
    bonus_scale : float
        Multiplier of the bonus (1 = the valid bonus; must be 1 for the Azar bonuses).

    Examples
    --------
    >>> import mdpkit as mk
    >>> mdp = mk.random_mdp(n_states=3, n_actions=2, horizon=3, rng=0)
    >>> run = mk.learners.run_online(mk.learners.UCBVI(), mdp, n_episodes=300, rng=0)
    >>> bool(run.suboptimality[0, -50:].mean() < run.suboptimality[0, :50].mean())
    True
    >>> bool((run.upper_value >= run.target_value).all())     # optimism
    True
    """

    bonus: str = "hoeffding"
    delta: float = 0.05
    bonus_scale: float = 1.0

    def __post_init__(self) -> None:
        from ._ucbvi_azar import AZAR_BONUSES

        if self.bonus in AZAR_BONUSES:
            _check_bonus("hoeffding", self.delta, self.bonus_scale)
            if self.bonus_scale != 1.0:
                raise ValueError(f"`bonus_scale` must be 1 with bonus={self.bonus!r} (Azar et al.'s exact "
                                 f"bonus); got {self.bonus_scale!r}.")
        else:
            check_choice("bonus", self.bonus, [*_BONUSES, *AZAR_BONUSES])
            _check_bonus(self.bonus, self.delta, self.bonus_scale)

    def _run(self, mdp: Any, K: int, seeds: npt.NDArray[np.int64]) -> OnlineRun:
        m = _check_mdp(mdp)
        if self.bonus.startswith("azar_"):
            from ._ucbvi_azar import run_azar

            return run_azar(m, K, seeds, bonus=self.bonus, delta=self.delta)
        return _run_tabular(m, K, seeds, name=f"UCBVI({self.bonus})", bonus=self.bonus, delta=self.delta,
                            bonus_scale=self.bonus_scale, beta=0.0, pi_ref=None)


@dataclass(frozen=True)
class KLRegularizedUCBVI:
    r"""Optimistic KL-regularized value iteration toward ``pi_ref`` (UCBVI-Ent style).

    Targets the KL-regularized objective
    :math:`V^\pi_\beta = \mathbb E^\pi[\sum_h r_h - \beta\,\mathrm{KL}(\pi_h(\cdot|s_h)\|\pi_{ref,h}(\cdot|s_h))]`
    with optimistic soft backups
    :math:`\bar V_h(s) = \beta\log\sum_a\pi_{ref,h}(a|s)e^{\bar Q_h(s,a)/\beta}` and
    plays :math:`\pi_h(a|s)\propto\pi_{ref,h}(a|s)e^{\bar Q_h(s,a)/\beta}` (Tiapkin et
    al. 2023, UCBVI-Ent; ``pi_ref`` uniform gives entropy regularization). The
    regularized problem is strongly concave in the occupancy, which gives the fast
    :math:`\tilde O(\mathrm{poly}(S,A,H)/(\beta\varepsilon))` rate for
    :math:`\varepsilon`-optimality of the regularized value.

    Parameters
    ----------
    beta : float
        KL strength :math:`\beta > 0`.
    pi_ref : array_like, shape (H, S, A) or (S, A), optional
        Strictly positive reference policy; uniform if omitted.
    bonus, delta, bonus_scale
        As in :class:`UCBVI`.

    Examples
    --------
    >>> import mdpkit as mk
    >>> mdp = mk.random_mdp(n_states=3, n_actions=2, horizon=3, rng=0)
    >>> run = mk.learners.run_online(mk.learners.KLRegularizedUCBVI(beta=0.1), mdp, n_episodes=200, rng=0)
    >>> bool((run.upper_value >= run.target_value).all() and (run.lower_value <= run.target_value).all())
    True
    """

    beta: float
    pi_ref: npt.ArrayLike | None = None
    bonus: str = "hoeffding"
    delta: float = 0.05
    bonus_scale: float = 1.0

    def __post_init__(self) -> None:
        check_positive("beta", self.beta)
        _check_bonus(self.bonus, self.delta, self.bonus_scale)

    def _run(self, mdp: Any, K: int, seeds: npt.NDArray[np.int64], name: str = "KLRegularizedUCBVI",
             ref_name: str = "pi_ref") -> OnlineRun:
        m = _check_mdp(mdp)
        if self.pi_ref is None:
            assert m.horizon is not None  # _check_mdp admits finite-horizon MDPs only
            ref = np.full((m.horizon, m.n_states, m.n_actions), 1.0 / m.n_actions)
        else:
            ref = m.check_policy(self.pi_ref, name=ref_name)
            check_support("kl", ref, ref_name)
        return _run_tabular(m, K, seeds, name=f"{name}(beta={self.beta:g}, {self.bonus})", bonus=self.bonus,
                            delta=self.delta, bonus_scale=self.bonus_scale, beta=float(self.beta), pi_ref=ref)


def demo_regularization_beta(epsilon: float, kl_traj: float) -> float:
    r"""Return mdpkit's choice of the regularization strength for demonstration-regularized RL.

    .. math::

        \beta = \frac{\varepsilon}{2\,\mathrm{KL}_{traj}(\pi^E\|\pi^{BC})},

    so that the regularization bias :math:`V^{\pi^E} - V^{\pi_\beta} \le
    \beta\,\mathrm{KL}_{traj}(\pi^E\|\pi^{BC}) \le \varepsilon/2` (the gap inequality of
    [1]_, Sec. 4) and the other half of the budget goes to solving the regularized
    problem, whose fast rate :math:`\tilde O(\mathrm{poly}(S,A,H)/(\beta\varepsilon))`
    then becomes :math:`\tilde O(\mathrm{poly}(S,A,H)\,\mathrm{KL}_{traj}/\varepsilon^2)
    = \tilde O(\mathrm{poly}(S,A,H)/(\varepsilon^2 N^E))` with the BC rate
    :math:`\mathrm{KL}_{traj} = \tilde O(SAH/N^E)`. ``kl_traj`` is the exact value (an
    oracle, see :func:`trajectory_kl`) or a bound on it.

    This is a valid choice inside the decomposition
    :math:`V^* - V^{\pi} \le \varepsilon_E + \beta\,\mathrm{KL}_{traj} + \varepsilon_{reg}`,
    not the paper's own prescription (whose constants mdpkit does not reproduce; CLAIMS
    C9, corrections after 0.1).

    References
    ----------
    .. [1] Tiapkin et al., "Demonstration-Regularized RL", ICLR 2024, Sec. 4 (the
       decomposition the choice is made in).

    Examples
    --------
    >>> demo_regularization_beta(0.1, 0.05)
    1.0
    """
    eps = check_positive("epsilon", epsilon)
    kl = check_positive("kl_traj", kl_traj)
    return eps / (2.0 * kl)


@dataclass(frozen=True)
class DemoRegularizedUCBVI:
    r"""Demonstration-regularized UCBVI: :class:`KLRegularizedUCBVI` toward :math:`\pi^{BC}`.

    Solves :math:`\max_\pi V^\pi_1 - \beta\,\mathrm{KL}_{traj}(\pi\|\pi^{BC})` online
    ([1]_, Sec. 4). Choose ``beta`` with :func:`demo_regularization_beta`
    (:math:`\beta = \varepsilon/(2\,\mathrm{KL}_{traj}(\pi^E\|\pi^{BC}))`), or build the
    agent from demonstrations with :meth:`from_demonstrations`.

    Parameters
    ----------
    beta : float
        :math:`\beta > 0`.
    pi_bc : array_like, shape (H, S, A)
        The behaviour-cloning policy (strictly positive, e.g. from
        :func:`behavior_cloning`).
    bonus, delta, bonus_scale
        As in :class:`UCBVI`.

    References
    ----------
    .. [1] Tiapkin et al., "Demonstration-Regularized RL", ICLR 2024.

    Examples
    --------
    >>> import mdpkit as mk
    >>> mdp = mk.random_mdp(n_states=3, n_actions=2, horizon=3, rng=0)
    >>> expert = mk.solve(mdp).pi
    >>> pi_bc = mk.learners.behavior_cloning(mdp.simulate(expert, 100, rng=0), 3, 2, horizon=3).pi
    >>> agent = mk.learners.DemoRegularizedUCBVI(beta=0.2, pi_bc=pi_bc)
    >>> run = mk.learners.run_online(agent, mdp, n_episodes=50, rng=0)
    >>> float(run.suboptimality[0, 0]) < 0.02       # plays pi_bc before it has data
    True
    """

    beta: float
    pi_bc: npt.ArrayLike
    bonus: str = "hoeffding"
    delta: float = 0.05
    bonus_scale: float = 1.0

    def __post_init__(self) -> None:
        check_positive("beta", self.beta)
        _check_bonus(self.bonus, self.delta, self.bonus_scale)

    def as_kl_regularized(self) -> KLRegularizedUCBVI:
        """Return the same learner as a :class:`KLRegularizedUCBVI` with ``pi_ref = pi_bc``."""
        return KLRegularizedUCBVI(beta=self.beta, pi_ref=self.pi_bc, bonus=self.bonus, delta=self.delta,
                                  bonus_scale=self.bonus_scale)

    @classmethod
    def from_demonstrations(
        cls,
        demos: Trajectories | tuple[npt.ArrayLike, npt.ArrayLike],
        n_states: int,
        n_actions: int,
        *,
        horizon: int,
        epsilon: float,
        kl_traj: float | None = None,
        kappa: float = 1.0,
        bonus: str = "hoeffding",
        delta: float = 0.05,
        bonus_scale: float = 1.0,
    ) -> DemoRegularizedUCBVI:
        r"""Behaviour cloning, then :math:`\beta = \varepsilon/(2\,\mathrm{KL}_{traj})`.

        ``kl_traj`` defaults to the tabular BC rate :math:`SAH/N^E` with unit constant and
        without logarithmic factors ([1]_, Sec. 3); pass the exact value
        (:func:`trajectory_kl`, an oracle) or your own bound to override it.

        Examples
        --------
        >>> import numpy as np
        >>> demos = (np.zeros((10, 2), dtype=int), np.ones((10, 2), dtype=int))
        >>> agent = DemoRegularizedUCBVI.from_demonstrations(demos, 2, 2, horizon=2, epsilon=0.1)
        >>> agent.beta                     # 0.1 / (2 * 2*2*2/10)
        0.0625
        """
        S = check_int("n_states", n_states, lo=1)
        A = check_int("n_actions", n_actions, lo=1)
        H = check_int("horizon", horizon, lo=1)
        pi_bc = behavior_cloning(demos, S, A, horizon=H, kappa=kappa).pi
        n_demos = demos.n_episodes if isinstance(demos, Trajectories) else int(np.shape(demos[1])[0])
        kl = S * A * H / n_demos if kl_traj is None else kl_traj
        return cls(beta=demo_regularization_beta(epsilon, kl), pi_bc=pi_bc, bonus=bonus, delta=delta,
                   bonus_scale=bonus_scale)

    def _run(self, mdp: Any, K: int, seeds: npt.NDArray[np.int64]) -> OnlineRun:
        return self.as_kl_regularized()._run(mdp, K, seeds, name="DemoRegularizedUCBVI", ref_name="pi_bc")


def run_online(agent: Any, mdp: Any, *, n_episodes: int, n_runs: int = 1, rng: RNGLike = None) -> OnlineRun:
    r"""Run an online learner for ``n_episodes`` episodes on ``mdp``, ``n_runs`` times (compiled).

    Each episode the learner plans on its data, plays its policy :math:`\pi_k` for one
    episode from :math:`s_0\sim\mu_0`, and updates its counts. The trace records the
    exact suboptimality :math:`V^*_0(\mu_0) - V^{\pi_k}_0(\mu_0)` of every played policy
    (the pseudo-regret increments), realized returns, and the learner's confidence
    bounds. Runs are independent and run in parallel when the problem is large enough.

    Seeding is that of :func:`mdpkit.bandits.simulate`: ``rng`` becomes a root
    ``SeedSequence`` and run ``r`` is seeded by its ``r``-th child, so run ``r`` is the
    same for any ``n_runs`` and any thread count (``OnlineRun.seeds`` replays it).

    Parameters
    ----------
    agent : UCBVI, KLRegularizedUCBVI, DemoRegularizedUCBVI, LSVIUCB, KLRegularizedLSVIUCB
    mdp : TabularMDP (tabular learners) or LinearMDP (linear learners)
        Finite horizon, rewards in [0, 1].
    n_episodes : int
        ``K >= 1``.
    n_runs : int
        Independent runs, ``>= 1``.
    rng : int, SeedSequence, Generator or None
        Root seed of the runs.

    Returns
    -------
    OnlineRun
        Traces with the run axis first, ``regret[run, episode]``.

    Examples
    --------
    >>> import mdpkit as mk
    >>> mdp = mk.random_mdp(n_states=4, n_actions=2, horizon=3, rng=1)
    >>> a = run_online(mk.learners.UCBVI(), mdp, n_episodes=100, n_runs=3, rng=7)
    >>> b = run_online(mk.learners.UCBVI(), mdp, n_episodes=100, n_runs=1, rng=7)
    >>> a.regret.shape, bool((a.regret[:1] == b.regret).all())
    ((3, 100), True)
    """
    run = getattr(agent, "_run", None)
    if isinstance(agent, type):
        raise TypeError(f"`agent` must be a learner instance, e.g. {agent.__name__}(); got the class "
                        f"{agent.__name__} itself.")
    if run is None:
        raise TypeError("`agent` must be an mdpkit online learner (UCBVI, KLRegularizedUCBVI, "
                        f"DemoRegularizedUCBVI, LSVIUCB, KLRegularizedLSVIUCB); got {type(agent).__name__}.")
    K = check_int("n_episodes", n_episodes, lo=1)
    R = check_int("n_runs", n_runs, lo=1)
    return run(mdp, K, run_seeds(rng, R))


__all__ = [
    "DemoRegularizedUCBVI",
    "KLRegularizedUCBVI",
    "OnlineRun",
    "UCBVI",
    "demo_regularization_beta",
    "run_online",
]
