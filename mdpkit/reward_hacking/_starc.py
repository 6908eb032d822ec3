r"""Reward-function distances (STARC) and potential-based shaping.

Potential shaping (Ng, Harada, Russell, 1999) adds :math:`\gamma\Phi(s') - \Phi(s)` to a
reward; it changes :math:`Q^*` to :math:`Q^* - \Phi(s)` and so leaves the optimal
policies unchanged. STARC (Skalse et al., 2024) measures how different two rewards are
*up to* such changes and positive scaling:

1. canonicalize, removing potential shaping: with :math:`V^\pi_R` the value of a fixed
   policy (uniform here) for :math:`R`,
   :math:`c(R)(s,a,s') = R(s,a,s') - V^\pi_R(s) + \gamma V^\pi_R(s')`
   ("value-adjusted levelling"); :math:`c(R + \text{shaping}) = c(R)`;
2. normalize: :math:`s(R) = c(R)/\|c(R)\|_2` (0 if :math:`c(R) = 0`);
3. distance: :math:`d(R_1, R_2) = \|s(R_1) - s(R_2)\|_2`.

*Regret bound* (the upper half of STARC's two-sided bound, with a constant we derive).
Telescoping gives :math:`J_{c(R)}(\pi) = J_R(\pi) - \mathbb E_{\mu_0} V^{\pi_u}_R(s_0)`,
with :math:`J_X(\pi) = \mathbb E^\pi \sum_t \gamma^t X(s_t,a_t,s_{t+1})`. For
:math:`\pi_2^\star` optimal for :math:`R_2` and any :math:`X`,
:math:`|J_X(\pi)| \le \|X\|_\infty/(1-\gamma)`, so

.. math::

    J_{R_1}(\pi_1^\star) - J_{R_1}(\pi_2^\star) \le
    \frac{2\,\|c(R_1)\|_2}{1-\gamma}\; d(R_1, R_2).

References
----------
.. [1] J. Skalse, L. Farnik, S. R. Motwani, E. Jenner, A. Gleave, A. Abate, "STARC: a
   general framework for quantifying differences between reward functions", ICLR 2024.
.. [2] A. Y. Ng, D. Harada, S. Russell, "Policy invariance under reward transformations:
   theory and application to reward shaping", ICML 1999.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .._results import ScalarFields
from .._typing import FloatArray
from .._validation import as_float_array
from ..mdp import TabularMDP


def _check_mdp(mdp: TabularMDP) -> None:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"`mdp` must be a TabularMDP; got {type(mdp).__name__}.")
    if mdp.horizon is not None:
        raise NotImplementedError("STARC distances are implemented for discounted MDPs (`gamma=`).")


def _reward3(mdp: TabularMDP, R: npt.ArrayLike, name: str) -> FloatArray:
    """Return a reward on (s, a, s'), from shape (S, A) (independent of s') or (S, A, S)."""
    S, A = mdp.n_states, mdp.n_actions
    x = as_float_array(name, R, ndim=(2, 3))
    if x.shape == (S, A):
        return np.repeat(x[:, :, None], S, axis=2)
    if x.shape != (S, A, S):
        raise ValueError(f"`{name}` must have shape (S, A) = {(S, A)} or (S, A, S); got {x.shape}.")
    return x


def expected_reward(mdp: TabularMDP, R: npt.ArrayLike) -> FloatArray:
    r""":math:`r(s,a) = \sum_{s'} P(s'|s,a) R(s,a,s')`, the reward a TabularMDP takes.

    >>> import mdpkit as mk
    >>> mdp = mk.random_mdp(n_states=3, n_actions=2, gamma=0.9, rng=0)
    >>> bool(np.allclose(expected_reward(mdp, mdp.r), mdp.r))
    True
    """
    _check_mdp(mdp)
    return np.einsum("sat,sat->sa", np.asarray(mdp.P), _reward3(mdp, R, "R"))


def potential_shaping(mdp: TabularMDP, R: npt.ArrayLike, phi: npt.ArrayLike) -> FloatArray:
    r"""Shaped reward :math:`R(s,a,s') + \gamma\Phi(s') - \Phi(s)`, shape (S, A, S) (Ng et al., 1999).

    >>> import mdpkit as mk
    >>> mdp = mk.random_mdp(n_states=3, n_actions=2, gamma=0.5, rng=0)
    >>> potential_shaping(mdp, np.zeros((3, 2)), [1.0, 0.0, 0.0])[0, 0].tolist()
    [-0.5, -1.0, -1.0]
    """
    _check_mdp(mdp)
    assert mdp.gamma is not None  # discounted (_check_mdp)
    x = _reward3(mdp, R, "R")
    p = as_float_array("phi", phi, shape=(mdp.n_states,))
    return x + mdp.gamma * p[None, None, :] - p[:, None, None]


def starc_canonicalize(mdp: TabularMDP, R: npt.ArrayLike) -> FloatArray:
    r"""Value-adjusted levelling :math:`R(s,a,s') - V^{\pi_u}_R(s) + \gamma V^{\pi_u}_R(s')`.

    :math:`\pi_u` is the uniform policy; the result is invariant to potential shaping of ``R``.

    >>> import mdpkit as mk
    >>> mdp = mk.random_mdp(n_states=3, n_actions=2, gamma=0.9, rng=0)
    >>> R2 = potential_shaping(mdp, mdp.r, [1.0, -2.0, 3.0])
    >>> bool(np.allclose(starc_canonicalize(mdp, mdp.r), starc_canonicalize(mdp, R2)))
    True
    """
    _check_mdp(mdp)
    x = _reward3(mdp, R, "R")
    P = np.asarray(mdp.P)
    r_u = np.einsum("sat,sat->s", P, x) / mdp.n_actions
    P_u = P.mean(axis=1)
    V = np.linalg.solve(np.eye(mdp.n_states) - mdp.gamma * P_u, r_u)
    return x - V[:, None, None] + mdp.gamma * V[None, None, :]


def _standardized(mdp: TabularMDP, R: npt.ArrayLike) -> tuple[FloatArray, float]:
    c = starc_canonicalize(mdp, R)
    n = float(np.linalg.norm(c))
    scale = max(1.0, float(np.max(np.abs(_reward3(mdp, R, "R")))))
    return (c / n if n > 1e-12 * scale else np.zeros_like(c)), n


def starc_distance(mdp: TabularMDP, R1: npt.ArrayLike, R2: npt.ArrayLike) -> float:
    r"""STARC distance :math:`\|c(R_1)/\|c(R_1)\| - c(R_2)/\|c(R_2)\|\|_2`, in [0, 2].

    Zero iff the rewards differ by potential shaping and positive scaling (up to rewards
    whose canonical form vanishes).

    >>> import mdpkit as mk
    >>> mdp = mk.random_mdp(n_states=4, n_actions=2, gamma=0.9, rng=0)
    >>> round(starc_distance(mdp, mdp.r, 3 * potential_shaping(mdp, mdp.r, [1, 2, 3, 4])), 12)
    0.0
    >>> round(starc_distance(mdp, mdp.r, -mdp.r), 12)
    2.0
    """
    s1, _ = _standardized(mdp, R1)
    s2, _ = _standardized(mdp, R2)
    return float(np.linalg.norm(s1 - s2))


@dataclass(frozen=True)
class StarcRegret(ScalarFields):
    r"""Regret under :math:`R_1` of a policy optimal for :math:`R_2`, and its STARC bound.

    Attributes
    ----------
    regret : float
        :math:`\mathbb E_{\mu_0}[V^\star_{R_1} - V^{\pi_2^\star}_{R_1}]`.
    bound : float
        :math:`2\|c(R_1)\|_2\, d(R_1,R_2)/(1-\gamma)`.
    distance : float
    """

    regret: float
    bound: float
    distance: float


def starc_regret_bound(mdp: TabularMDP, R1: npt.ArrayLike, R2: npt.ArrayLike) -> StarcRegret:
    r"""Regret of the :math:`R_2`-optimal policy under :math:`R_1`, and the bound of the module docstring.

    >>> import mdpkit as mk
    >>> mdp = mk.random_mdp(n_states=5, n_actions=3, gamma=0.9, rng=0)
    >>> out = starc_regret_bound(mdp, mdp.r, mdp.r + 0.1 * mk.random_mdp(n_states=5, n_actions=3, gamma=0.9, rng=1).r)
    >>> out.regret <= out.bound
    True
    """
    from ..solvers import solve

    _check_mdp(mdp)
    assert mdp.gamma is not None  # discounted (_check_mdp)
    d = starc_distance(mdp, R1, R2)
    _, n1 = _standardized(mdp, R1)
    r1, r2 = expected_reward(mdp, R1), expected_reward(mdp, R2)
    m1 = TabularMDP(mdp.P, r1, gamma=mdp.gamma, mu0=mdp.mu0)
    pi2 = solve(TabularMDP(mdp.P, r2, gamma=mdp.gamma, mu0=mdp.mu0), method="policy_iteration").pi
    v_star = float(mdp.mu0 @ m1.evaluate(solve(m1, method="policy_iteration").pi))
    regret = v_star - float(mdp.mu0 @ m1.evaluate(pi2))  # >= 0 up to the solver's tolerance
    return StarcRegret(regret, 2.0 * n1 * d / (1.0 - mdp.gamma), d)
