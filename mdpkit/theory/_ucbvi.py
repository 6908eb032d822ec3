r"""Regret bounds of UCBVI (Azar, Osband, Munos, ICML 2017), with their exact constants.

For a stationary MDP with :math:`S` states, :math:`A` actions, horizon :math:`H`, rewards
in :math:`[0, 1]`, :math:`K` episodes, :math:`T = KH` and :math:`L = \ln(5HSAT/\delta)`,
with probability at least :math:`1-\delta`:

* Theorem 1 (UCBVI-CH, bonus :math:`7HL/\sqrt{N}`):
  :math:`\mathrm{Regret}(K) \le 20 H^{3/2} L\sqrt{SAK} + 250 H^2 S^2 A L^2`;
* Theorem 2 (UCBVI-BF, Bernstein-Freedman bonus):
  :math:`\mathrm{Regret}(K) \le 30 H L\sqrt{SAK} + 2500 H^2 S^2 A L^2 + 4 H^{3/2}\sqrt{KL}`.

The theorems are statements about those two algorithms only (``UCBVI(bonus="azar_ch")``
and ``"azar_bf"`` in :mod:`mdpkit.learners`), not about other bonuses. An MDP whose
transitions depend on the stage is the stationary layered MDP on the :math:`SH` pairs
:math:`(h, s)`; the bounds then hold with :math:`S` replaced by :math:`SH` everywhere,
inside :math:`L` too (``layered=True``). The second-order terms dominate at small sizes:
at :math:`S = 5, A = 2, H = 3, K = 10^3` (layered, :math:`S' = 15`) Theorem 1 gives
:math:`2.97\times 10^8` while the regret is at most :math:`KH = 3000`; CLAIMS' figure of
:math:`2.6\times 10^8` used :math:`L` without the factor :math:`H`.
"""

from __future__ import annotations

import math

from .._validation import check_choice, check_int, check_scalar


def azar_log_term(n_states: int, n_actions: int, horizon: int, n_episodes: int, delta: float, *,
                  layered: bool = True) -> float:
    r""":math:`L = \ln(5 H S' A T/\delta)`, :math:`T = KH`, :math:`S' = SH` if ``layered`` else :math:`S`.

    >>> round(azar_log_term(1, 1, 1, 1, 0.05, layered=False), 6)   # ln(100)
    4.60517
    """
    S = check_int("n_states", n_states, lo=1)
    A = check_int("n_actions", n_actions, lo=1)
    H = check_int("horizon", horizon, lo=1)
    K = check_int("n_episodes", n_episodes, lo=1)
    d = check_scalar("delta", delta, lo=0.0, hi=1.0, lo_inclusive=False, hi_inclusive=False)
    s_eff = S * H if layered else S
    return math.log(5.0 * H * s_eff * A * K * H / d)


def azar_regret_bound(n_states: int, n_actions: int, horizon: int, n_episodes: int, delta: float, *,
                      kind: str = "ch", layered: bool = True) -> float:
    r"""Theorem 1 (``kind="ch"``) or Theorem 2 (``kind="bf"``) of Azar et al. (2017), module docstring.

    Examples
    --------
    >>> round(azar_regret_bound(5, 2, 3, 1000, 0.05) / 1e8, 2)    # layered: S' = 15, L = ln(5*3*15*2*3000/0.05)
    2.97
    """
    check_choice("kind", kind, ("ch", "bf"))
    L = azar_log_term(n_states, n_actions, horizon, n_episodes, delta, layered=layered)
    S = n_states * horizon if layered else n_states
    A, H, K = n_actions, horizon, n_episodes
    if kind == "ch":
        return 20.0 * H**1.5 * L * math.sqrt(S * A * K) + 250.0 * H**2 * S**2 * A * L**2
    return 30.0 * H * L * math.sqrt(S * A * K) + 2500.0 * H**2 * S**2 * A * L**2 + 4.0 * H**1.5 * math.sqrt(K * L)
