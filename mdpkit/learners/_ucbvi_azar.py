r"""UCBVI-CH and UCBVI-BF exactly as in Azar, Osband, Munos (ICML 2017), Alg. 1-4.

The episode loop plans with UCB-Q-values (Alg. 2),
:math:`Q_{k,h}(s,a) = \min(Q_{k-1,h}(s,a),\ H,\ \hat r + \hat P V_{k,h+1}(s,a) + b)`
(:math:`Q = H` on unvisited pairs), plays the greedy policy and updates the counts. The
bonuses, with :math:`n = N_{k,h}(s,a)`, :math:`L = \ln(5HS'AT/\delta)`:

* ``"azar_ch"`` (Alg. 3, Chernoff-Hoeffding): :math:`b = 7HL/\sqrt{n}`;
* ``"azar_bf"`` (Alg. 4, Bernstein-Freedman):
  :math:`b = \sqrt{8L\,\mathrm{Var}_{\hat P}(V_{k,h+1})/n} + 14HL/(3n) +
  \sqrt{8\,\mathbb E_{\hat P}[\min(100^2 H^3 S'^2 A L^2/N'_{k,h+1}(y),\ H^2)]/n}`,
  :math:`N'_{k,h+1}(y)` the visits of :math:`y` at stage :math:`h+1` (the last term is 0 at
  the last stage, where :math:`V_{k,H} = 0` is exact).

Counts are per stage, i.e. the algorithm runs on the stationary layered MDP of the pairs
:math:`(h, s)`, :math:`S' = SH`; Theorems 1 and 2 of the paper then bound its regret
(:func:`mdpkit.theory.azar_regret_bound` with ``layered=True``).
"""

from __future__ import annotations

import numpy as np

from ..mdp import TabularMDP
from . import _ucbvi_azar_kernels as AK

AZAR_BONUSES = {"azar_ch": AK.AZAR_CH, "azar_bf": AK.AZAR_BF}


def _one_azar_run(seed: int, mdp: TabularMDP, K: int, code: int, L: float, v_star: float):
    """One seeded run of the compiled UCBVI-CH / -BF episode loop; returns its traces."""
    S, A, H = mdp.n_states, mdp.n_actions, mdp.horizon
    assert H is not None  # a validated finite-horizon MDP (run_azar's contract)
    P4 = np.ascontiguousarray(mdp.P if mdp.P.ndim == 4 else mdp.P[None])
    r3 = np.ascontiguousarray(mdp.r if mdp.r.ndim == 3 else mdp.r[None])
    mu0 = np.ascontiguousarray(mdp.mu0)
    N, Rsum = np.zeros((H, S, A)), np.zeros((H, S, A))
    Nsas, Nstate = np.zeros((H, S, A, S)), np.zeros((H, S))
    Q_prev = np.full((H, S, A), float(H))
    V, pi = np.zeros((H + 1, S)), np.empty((H, S, A))
    subopt, returns, upper = np.empty(K), np.empty(K), np.empty(K)
    AK.run_azar_episodes(int(seed), np.cumsum(mu0), np.ascontiguousarray(np.cumsum(P4, axis=-1)), P4, r3, mu0,
                         v_star, code, L, float(S * H), N, Nsas, Rsum, Nstate, Q_prev, V, pi,
                         np.empty((H + 1, S)), subopt, returns, upper)
    return subopt, returns, upper, pi, N


def run_azar(mdp: TabularMDP, K: int, seeds: np.ndarray, *, bonus: str, delta: float):
    """Run UCBVI-CH / -BF for ``K`` episodes per seed on a validated finite-horizon ``mdp``.

    Returns an :class:`~mdpkit.learners.OnlineRun` with the run axis first (one run per seed).
    """
    from ..solvers import solve
    from ..theory import azar_log_term
    from ._online import OnlineRun

    S, A, H = mdp.n_states, mdp.n_actions, mdp.horizon
    assert H is not None  # validated finite-horizon MDP
    v_star = float(np.asarray(mdp.mu0) @ solve(mdp).V[0])
    L = azar_log_term(S, A, H, K, delta, layered=True)
    seeds = np.asarray(seeds, dtype=np.int64)
    runs = [_one_azar_run(sd, mdp, K, AZAR_BONUSES[bonus], L, v_star) for sd in seeds]
    subopt, returns, upper, pi, N = (np.stack(x) for x in zip(*runs, strict=True))
    # Azar et al. keep no lower confidence bound; values are >= 0, so 0 is the trivial one
    return OnlineRun(suboptimality=subopt, regret=np.cumsum(subopt, axis=1), recommended_suboptimality=subopt.copy(),
                     returns=returns, upper_value=upper, lower_value=np.zeros_like(upper), target_value=v_star,
                     optimal_value=v_star, policy=pi, recommended_policy=pi.copy(), counts=N, seeds=seeds,
                     agent=f"UCBVI({bonus})", info={"log_term": L, "bonus": bonus, "layered_states": S * H})
