r"""d-rectangular linear MDPs (finite horizon) and the R2PVI paper's simulated instance.

A linear MDP with features on the simplex has

.. math::

    P_h(s' \mid s, a) = \sum_{i=1}^d \phi_i(s, a)\, \mu_{h,i}(s'), \qquad
    r_h(s, a) = \phi(s, a)^\top \theta_h,

with :math:`\phi(s, a) \in \Delta^{d-1}` and every latent factor
:math:`\mu_{h,i} \in \Delta(\mathcal S)`, so that each :math:`P_h(\cdot|s,a)` is a
mixture of the ``d`` factors. Robustness that perturbs the factors
:math:`\mu_{h,i}` one at a time is *d-rectangular* (Tang, Liu, Xu 2025).

========================  ==========================  =================
math                      code                        shape
========================  ==========================  =================
:math:`\phi(s, a)`        ``phi[s, a, :]``            ``(S, A, d)``
:math:`\mu_{h,i}(s')`     ``mu[h, i, s_next]``        ``(H, d, S)``
:math:`\theta_h`          ``theta[h, :]``             ``(H, d)``
========================  ==========================  =================

References
----------
.. [1] C. Tang, Z. Liu, P. Xu, "Robust Offline Reinforcement Learning with Linearly
   Structured f-Divergence Regularization", ICML 2025 (arXiv 2411.18612): the d-rectangular
   setting and the simulated linear MDP of the experiments.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

from .._typing import FloatArray, RNGLike
from .._validation import (
    as_float_array,
    as_generator,
    check_int,
    check_positive,
    check_scalar,
    check_simplex,
)
from ._dataset import OfflineDataset
from ._tabular import TabularMDP, Trajectories


class LinearMDP:
    r"""A finite-horizon d-rectangular linear MDP :math:`(\phi, \mu, \theta, \mu_0)`.

    Parameters
    ----------
    phi : array_like, shape (S, A, d)
        Features; every ``phi[s, a, :]`` must lie on the simplex (d-rectangular model).
    mu : array_like, shape (H, d, S)
        Latent factors; every ``mu[h, i, :]`` is a law over next states. The horizon is
        ``H = mu.shape[0]``.
    theta : array_like, shape (H, d)
        Reward parameters, :math:`r_h(s, a) = \phi(s, a)^\top \theta_h`.
    mu0 : array_like, shape (S,), optional
        Initial state law (uniform by default).

    Examples
    --------
    >>> import numpy as np
    >>> phi = np.array([[[1.0, 0.0], [0.5, 0.5]]])                # S=1, A=2, d=2
    >>> mu = np.ones((2, 2, 1)); theta = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> lin = LinearMDP(phi, mu, theta)
    >>> lin.n_states, lin.n_actions, lin.dim, lin.horizon
    (1, 2, 2, 2)
    >>> lin.to_tabular().r[1]                                    # phi @ theta[1]
    array([[1. , 0.5]])
    """

    def __init__(self, phi: npt.ArrayLike, mu: npt.ArrayLike, theta: npt.ArrayLike,
                 mu0: npt.ArrayLike | None = None) -> None:
        ph = as_float_array("phi", phi, ndim=3)
        S, A, d = ph.shape
        if S < 1 or A < 1 or d < 1:
            raise ValueError(f"`phi` must have shape (S, A, d) with S, A, d >= 1; got {ph.shape}.")
        check_simplex("phi", ph)
        m = as_float_array("mu", mu, ndim=3)
        if m.shape[0] < 1 or m.shape[1:] != (d, S):
            raise ValueError(f"`mu` must have shape (H, d, S) = (H, {d}, {S}) with H >= 1 to match "
                             f"`phi` of shape {ph.shape}; got {m.shape}.")
        check_simplex("mu", m)
        H = m.shape[0]
        th = as_float_array("theta", theta, shape=(H, d))
        if mu0 is None:
            m0 = np.full(S, 1.0 / S)
        else:
            m0 = as_float_array("mu0", mu0, shape=(S,))
            check_simplex("mu0", m0)
        for a in (ph, m, th, m0):
            a.setflags(write=False)
        self._phi, self._mu, self._theta, self._mu0 = ph, m, th, m0
        self._tabular: TabularMDP | None = None

    # -- properties ---------------------------------------------------------------------
    @property
    def phi(self) -> FloatArray:
        """Features ``phi[s, a, :]``, shape ``(S, A, d)``."""
        return self._phi

    @property
    def mu(self) -> FloatArray:
        """Latent factors ``mu[h, i, s_next]``, shape ``(H, d, S)``."""
        return self._mu

    @property
    def theta(self) -> FloatArray:
        """Reward parameters ``theta[h, :]``, shape ``(H, d)``."""
        return self._theta

    @property
    def mu0(self) -> FloatArray:
        return self._mu0

    @property
    def n_states(self) -> int:
        return int(self._phi.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self._phi.shape[1])

    @property
    def dim(self) -> int:
        return int(self._phi.shape[2])

    @property
    def horizon(self) -> int:
        return int(self._mu.shape[0])

    @property
    def P(self) -> FloatArray:
        r"""Transitions :math:`P_h(s'|s,a) = \phi(s,a)^\top \mu_h(s')`, shape ``(H, S, A, S)``."""
        return self.to_tabular().P

    @property
    def r(self) -> FloatArray:
        r"""Rewards :math:`r_h(s,a) = \phi(s,a)^\top\theta_h`, shape ``(H, S, A)``."""
        return self.to_tabular().r

    def __repr__(self) -> str:
        return (f"LinearMDP(n_states={self.n_states}, n_actions={self.n_actions}, dim={self.dim}, "
                f"horizon={self.horizon})")

    # -- conversions and sampling ---------------------------------------------------------
    def to_tabular(self) -> TabularMDP:
        """Return the same MDP as a finite-horizon :class:`TabularMDP` (cached).

        Examples
        --------
        >>> import mdpkit as mk
        >>> mk.r2pvi_linear_mdp().to_tabular()
        TabularMDP(n_states=5, n_actions=16, horizon=3, dense)
        """
        if self._tabular is None:
            P = np.einsum("sai,hit->hsat", self._phi, self._mu)
            # The mixture of simplex rows is on the simplex up to rounding; renormalize the
            # last ulp so that TabularMDP's 1e-10 check never trips on large d.
            P /= P.sum(axis=-1, keepdims=True)
            r = np.einsum("sai,hi->hsa", self._phi, self._theta)
            self._tabular = TabularMDP(P, r, horizon=self.horizon, mu0=self._mu0)
        return self._tabular

    def with_factors(self, mu: npt.ArrayLike) -> LinearMDP:
        """Return the same features, rewards and ``mu0`` with other latent factors (e.g. a worst case)."""
        return LinearMDP(self._phi, mu, self._theta, self._mu0)

    def simulate(self, pi: npt.ArrayLike, n_episodes: int, *, rng: RNGLike = None) -> Trajectories:
        """Sample episodes of ``pi`` (shape ``(S, A)`` or ``(H, S, A)``); see :meth:`TabularMDP.simulate`."""
        return self.to_tabular().simulate(pi, n_episodes, rng=rng)

    def collect(self, behavior: str | npt.ArrayLike = "uniform", n_trajectories: int = 100, *,
                rng: RNGLike = None):
        r"""Collect an offline dataset of ``n_trajectories`` episodes of a behaviour policy.

        Parameters
        ----------
        behavior : "uniform" or array_like, shape (S, A) or (H, S, A)
            The behaviour policy (uniform over actions by default, as in the paper).
        n_trajectories : int
            ``K >= 1``.
        rng : int, Generator or None

        Returns
        -------
        mdpkit.mdp.OfflineDataset

        Examples
        --------
        >>> import mdpkit as mk
        >>> data = mk.r2pvi_linear_mdp().collect(n_trajectories=10, rng=0)
        >>> data.states.shape, data.phi_taken.shape
        ((10, 4), (10, 3, 4))
        """
        K = check_int("n_trajectories", n_trajectories, lo=1)
        if isinstance(behavior, str):
            if behavior != "uniform":
                raise ValueError(f"`behavior` must be 'uniform' or a policy array; got {behavior!r}.")
            pi = np.full((self.n_states, self.n_actions), 1.0 / self.n_actions)
        else:
            pi = self.to_tabular().check_policy(behavior, name="behavior")
        tr = self.simulate(pi, K, rng=rng)
        return OfflineDataset(self._phi, tr.states, tr.actions, tr.rewards)


def r2pvi_linear_mdp(delta: float = 0.3, xi_norm: float = 0.2, *,
                     perturbation: float | None = None) -> LinearMDP:
    r"""Return the simulated d-rectangular linear MDP of the R2PVI paper's experiments (Tang, Liu, Xu 2025).

    States :math:`x_1, \dots, x_5` (indices 0-4), horizon ``H = 3``, ``d = 4``, and the 16
    actions :math:`a \in \{-1, 1\}^4` (index ``k`` is the ``k``-th element of
    ``itertools.product([-1, 1], repeat=4)``). With :math:`\xi = \xi_{norm}\mathbf 1/4`,

    .. math::

        \phi(x_j, a) = (1 - \delta - \xi^\top a)\, e_j + (\delta + \xi^\top a)\, e_4
        \ (j = 1, 2, 3), \qquad \phi(x_4, a) = e_3, \qquad \phi(x_5, a) = e_4,

    rewards :math:`\theta_1 = 0`, :math:`\theta_2 = \theta_3 = e_4` (reward 1 per step in
    the good absorbing state :math:`x_5`, 0 in the fail state :math:`x_4`), start in
    :math:`x_1`, and factors :math:`\mu_{h,1} = 0.999\,\delta_{x_2} + 0.001\,\delta_{x_4}`,
    :math:`\mu_{h,2} = 0.999\,\delta_{x_3} + 0.001\,\delta_{x_4}`,
    :math:`\mu_{h,3} = \delta_{x_4}`, :math:`\mu_{h,4} = \delta_{x_5}`.

    Parameters
    ----------
    delta : float
        :math:`\delta`, with ``delta + xi_norm <= 1`` and ``delta - xi_norm >= 0`` so the
        features stay on the simplex.
    xi_norm : float
        :math:`\|\xi\|_1 \ge 0`.
    perturbation : float in [0, 1], optional
        ``None``: the nominal (training) MDP. A value ``q`` gives the paper's test
        environment: at the first step factor 4 leads to :math:`x_4` with probability
        ``q`` (instead of to :math:`x_5`) and factor 1 leads to :math:`x_2`.

    Examples
    --------
    >>> lin = r2pvi_linear_mdp()
    >>> lin
    LinearMDP(n_states=5, n_actions=16, dim=4, horizon=3)
    >>> round(float(lin.phi[0, 0, 3]), 10)        # delta + xi^T a with a = (-1, -1, -1, -1)
    0.1
    """
    dl = check_scalar("delta", delta, lo=0.0, hi=1.0)
    xn = check_scalar("xi_norm", xi_norm, lo=0.0)
    if dl + xn > 1.0 or dl - xn < 0.0:
        raise ValueError(f"`delta` and `xi_norm` must satisfy 0 <= delta - xi_norm and delta + xi_norm <= 1 "
                         f"so that the features lie on the simplex; got delta={delta!r}, xi_norm={xi_norm!r}.")
    actions = np.array(list(itertools.product([-1.0, 1.0], repeat=4)))
    xi = np.full(4, xn / 4.0)
    S, A, d, H = 5, actions.shape[0], 4, 3
    phi = np.zeros((S, A, d))
    w = dl + actions @ xi
    for j in range(3):
        phi[j, :, j] = 1.0 - w
        phi[j, :, 3] = w
    phi[3, :, 2] = 1.0
    phi[4, :, 3] = 1.0
    mu = np.zeros((H, d, S))
    mu[:, 0, 1], mu[:, 0, 3] = 0.999, 0.001
    mu[:, 1, 2], mu[:, 1, 3] = 0.999, 0.001
    mu[:, 2, 3] = 1.0
    mu[:, 3, 4] = 1.0
    if perturbation is not None:
        q = check_scalar("perturbation", perturbation, lo=0.0, hi=1.0)
        mu[0, 0] = 0.0
        mu[0, 0, 1] = 1.0
        mu[0, 3] = 0.0
        mu[0, 3, 3], mu[0, 3, 4] = q, 1.0 - q
    theta = np.zeros((H, d))
    theta[1:, 3] = 1.0
    mu0 = np.zeros(S)
    mu0[0] = 1.0
    return LinearMDP(phi, mu, theta, mu0)


def random_linear_mdp(n_states: int, n_actions: int, dim: int, horizon: int, *, rng: RNGLike = None,
                      concentration: float = 1.0) -> LinearMDP:
    r"""Return a random d-rectangular linear MDP with Dirichlet features and factors.

    ``phi[s, a] ~ Dir(concentration)`` on the simplex of dimension ``dim``,
    ``mu[h, i] ~ Dir(1)`` over states, ``theta[h] ~ U[0, 1]^d`` (rewards in ``[0, 1]``),
    uniform ``mu0``. Every state is reachable at every stage and, under the uniform
    behaviour policy, every coordinate is covered: the setting of rate checks.

    Examples
    --------
    >>> lin = random_linear_mdp(6, 3, 2, 4, rng=0)
    >>> lin
    LinearMDP(n_states=6, n_actions=3, dim=2, horizon=4)
    >>> bool(lin.r.min() >= 0 and lin.r.max() <= 1)
    True
    """
    S = check_int("n_states", n_states, lo=1)
    A = check_int("n_actions", n_actions, lo=1)
    d = check_int("dim", dim, lo=1)
    H = check_int("horizon", horizon, lo=1)
    c = check_positive("concentration", concentration)
    gen = as_generator(rng)
    phi = gen.dirichlet(np.full(d, c), size=(S, A))
    mu = gen.dirichlet(np.ones(S), size=(H, d))
    theta = gen.uniform(size=(H, d))
    return LinearMDP(phi, mu, theta)
