r"""Offline pessimistic value iteration on linear MDPs: PEVI, R2PVI and DRPVI.

All three run backward induction on an :class:`~mdpkit.mdp.OfflineDataset` of ``K`` trajectories,
with ridge regression on the features of the visited pairs,

.. math::

    \Lambda_h = \sum_{\tau=1}^K \phi^\tau_h \phi^{\tau\top}_h + \gamma_{ridge} I, \qquad
    \hat\theta_h = \Lambda_h^{-1} \sum_\tau \phi^\tau_h r^\tau_h,

(or the known :math:`\theta_h`), an estimate :math:`\hat\nu_h` of the (robust) next-state
value, and a pessimistic, clipped Q function

.. math::

    \hat Q_h(s, a) = \min\{\phi(s,a)^\top(\hat\theta_h + \hat\nu_h) - \Gamma_h(s,a),\
        H - h\}^+, \qquad \hat V_h(s) = \max_a \hat Q_h(s, a),

with :math:`\hat V_H = 0` and the greedy policy. Writing :math:`y_\tau = \hat V_{h+1}(s^\tau_{h+1})`:

* **PEVI** (Jin, Yang, Wang 2021, pessimistic value iteration for linear MDPs): :math:`\hat\nu_h = \Lambda_h^{-1}\sum_\tau
  \phi^\tau_h y_\tau`, bonus :math:`\Gamma = c\sqrt{\phi^\top\Lambda_h^{-1}\phi}`.
* **R2PVI** (Tang, Liu, Xu 2025), d-rectangular bonus
  :math:`\Gamma = c\sum_i \phi_i \sqrt{\mathbf 1_i^\top\Lambda_h^{-1}\mathbf 1_i}`:

  - TV: :math:`\hat\nu_h = \Lambda_h^{-1}\sum_\tau \phi^\tau_h \min(y_\tau, \min_s \hat V_{h+1}(s) + \lambda)`;
  - KL: :math:`\hat\nu_{h,i} = -\lambda \log \max(\hat z_i, e^{-H/\lambda})`,
    :math:`\hat z = \Lambda_h^{-1}\sum_\tau \phi^\tau_h e^{-y_\tau/\lambda}` (in log space);
  - :math:`\chi^2`: :math:`\hat\nu_{h,i} = \sup_{\alpha\in[0,H]} \hat z_{1,i}(\alpha)
    - (\hat z_{2,i}(\alpha) - \hat z_{1,i}(\alpha)^2)/(4\lambda)` with
    :math:`\hat z_{k}(\alpha) = \Lambda_h^{-1}\sum_\tau\phi^\tau_h \min(y_\tau,\alpha)^k`,
    an exact sup over the breakpoints :math:`y_\tau`.

* **DRPVI** (Liu and Xu 2024; TV ball of radius :math:`\rho_i` on each factor):
  :math:`\hat\nu_{h,i} = \max_{\alpha\in[m, H]} \hat z_i(\alpha) - \rho_i(\alpha - m)`,
  :math:`m = \min_s \hat V_{h+1}(s)`, exact over the breakpoints.

Note: the public R2PVI code minimizes the chi-square objective over :math:`\alpha`,
whereas the chi-square dual of the paper is a supremum; this module takes the sup by
default (``chi2_dual="reference"`` reproduces the code). It also uses the paper's
d-rectangular bonus by default rather than the code's
:math:`c\sqrt{\phi^\top \mathrm{diag}(\Lambda^{-1})\phi}` (``bonus="diagonal"``),
clips :math:`\hat Q` at 0 as the paper does (the code does not: ``lower_clip=False``),
and uses :math:`\min_s \hat V_{h+1}(s)` over all states (the feature map is known). With
the three code options the paper's Figure 1(a) is reproduced within Monte-Carlo error
(check ``r2pvi_paper_figure1a``).

References
----------
.. [1] C. Tang, Z. Liu, P. Xu, "Robust Offline Reinforcement Learning with Linearly
   Structured f-Divergence Regularization", ICML 2025 (R2PVI and the simulated
   linear MDP experiment).
.. [2] Y. Jin, Z. Yang, Z. Wang, "Is Pessimism Provably Efficient for Offline RL?",
   ICML 2021 (PEVI).
.. [3] Z. Liu, P. Xu, "Minimax Optimal and Computationally Efficient Algorithms for
   Distributionally Robust Offline Reinforcement Learning", NeurIPS 2024 (DRPVI).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._results import policy_frame
from .._typing import FloatArray
from .._validation import (
    as_float_array,
    check_nonnegative,
    check_positive,
    check_simplex,
)
from ..divergences import FDivergence
from ..divergences import _kernels as DK
from ..divergences._robust import check_robust_div
from ..mdp import OfflineDataset
from ..solvers._solve import greedy_policy
from . import _offline_kernels as OK


@dataclass(frozen=True, slots=True, kw_only=True)
class OfflineResult:
    r"""What a fitted offline learner (:class:`PEVI`, :class:`R2PVI`, :class:`DRPVI`) learned.

    Attributes
    ----------
    w : ndarray, shape (H, d)
        :math:`\hat\theta_h + \hat\nu_h`.
    Lambda : ndarray, shape (H, d, d)
        The regularized Gram matrices :math:`\Lambda_h`.
    Q : ndarray, shape (H, S, A)
        Pessimistic, clipped :math:`\hat Q_h`.
    V : ndarray, shape (H+1, S)
        :math:`\hat V_h` with :math:`\hat V_H = 0`.
    pi : ndarray, shape (H, S, A)
        The greedy policy (first maximizer on ties).
    learner : str
        The learner and its parameters.
    n_trajectories : int
        Episodes in the dataset.
    """

    w: FloatArray
    Lambda: FloatArray
    Q: FloatArray
    V: FloatArray
    pi: FloatArray
    learner: str
    n_trajectories: int

    def summary(self) -> str:
        """One line: learner, data size and the pessimistic value range at stage 0."""
        return (f"{self.learner}: {self.n_trajectories} trajectories, H={self.Q.shape[0]}, "
                f"V_0 in [{self.V[0].min():.6g}, {self.V[0].max():.6g}]")

    def to_frame(self) -> Any:
        """One row per (stage, state, action): ``pi`` and ``Q`` (a pandas DataFrame)."""
        return policy_frame(pi=self.pi, Q=self.Q)

_BONUSES = ("d_rectangular", "diagonal")
_CHI2_DUALS = ("exact", "reference")


class _PessimisticLinearVI:
    """Shared backward induction; subclasses define the next-value estimate and bonus.

    ``fit`` stores an :class:`OfflineResult` in ``result_``; ``w_``, ``Lambda_``, ``Q_``,
    ``V_`` and ``pi_`` read from it.
    """

    name = "base"
    _d_rectangular = False
    _q_floor = 0.0  # the paper's {.}^+; -inf reproduces the official R2PVI code (no lower clip)

    def __init__(self, *, bonus_scale: float = 1.0, ridge: float = 0.1) -> None:
        self.bonus_scale = check_nonnegative("bonus_scale", bonus_scale)
        self.ridge = check_positive("ridge", ridge)

    # -- to override --------------------------------------------------------------------
    def _check_data(self, data: OfflineDataset) -> None:
        """Learner-specific checks of ``data`` (before any computation)."""

    def _nu(self, C: FloatArray, y: FloatArray, V_next: FloatArray, H: int) -> FloatArray:
        raise NotImplementedError

    def _bonus(self, F2: FloatArray, Lam_inv: FloatArray) -> FloatArray:
        """d-rectangular bonus ``bonus_scale * sum_i phi_i sqrt((Lambda^{-1})_ii)``."""
        return self.bonus_scale * (F2 @ np.sqrt(np.diag(Lam_inv)))

    # -- the algorithm ----------------------------------------------------------------------
    def fit(self, data: OfflineDataset, *, theta: npt.ArrayLike | None = None):
        r"""Run pessimistic backward induction on ``data``; returns ``self``.

        Parameters
        ----------
        data : OfflineDataset
        theta : array_like, shape (H, d), optional
            Known reward parameters (as in the paper's experiments); by default
            :math:`\hat\theta_h` is the ridge estimate from the observed rewards.

        Sets ``w_`` (``(H, d)``, :math:`\hat\theta_h + \hat\nu_h`), ``Lambda_``
        (``(H, d, d)``), ``Q_`` (``(H, S, A)``, pessimistic and clipped), ``V_``
        (``(H+1, S)``) and the greedy policy ``pi_`` (``(H, S, A)``).
        """
        if not isinstance(data, OfflineDataset):
            raise TypeError(f"`data` must be an OfflineDataset (e.g. from LinearMDP.collect); got "
                            f"{type(data).__name__}.")
        H, d, S, A = data.horizon, data.dim, data.n_states, data.n_actions
        if self._d_rectangular:
            check_simplex("data.features", data.features)
        self._check_data(data)
        th = None if theta is None else as_float_array("theta", theta, shape=(H, d))
        Phi_all = data.phi_taken  # (K, H, d)
        F2 = data.features.reshape(S * A, d)
        V = np.zeros((H + 1, S))
        Q = np.empty((H, S, A))
        pi = np.empty((H, S, A))
        W = np.empty((H, d))
        Lams = np.empty((H, d, d))
        eye = np.eye(d)
        for h in range(H - 1, -1, -1):
            Phi = np.ascontiguousarray(Phi_all[:, h])
            Lam = Phi.T @ Phi + self.ridge * eye
            Lam_inv = np.linalg.inv(Lam)
            Lam_inv = 0.5 * (Lam_inv + Lam_inv.T)
            C = np.ascontiguousarray(Lam_inv @ Phi.T)  # (d, K) regression weights
            theta_h = C @ data.rewards[:, h] if th is None else th[h]
            if h == H - 1:
                nu = np.zeros(d)  # V_H = 0: every (robust) expectation of 0 is 0
            else:
                y = np.ascontiguousarray(V[h + 1][data.states[:, h + 1]])
                nu = self._nu(C, y, V[h + 1], H)
            W[h] = theta_h + nu
            Lams[h] = Lam
            q = F2 @ W[h] - self._bonus(F2, Lam_inv)
            Q[h] = np.clip(q, self._q_floor, H - h).reshape(S, A)
            pi[h] = greedy_policy(Q[h])  # the solvers' hard-max action part (first maximizer)
            V[h] = np.einsum("sa,sa->s", pi[h], Q[h])
        self.result_ = OfflineResult(w=W, Lambda=Lams, Q=Q, V=V, pi=pi, learner=repr(self),
                                     n_trajectories=data.n_trajectories)
        self.horizon_ = H
        return self

    def _fitted(self) -> OfflineResult:
        res = getattr(self, "result_", None)
        if res is None:
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call `fit(data)` first.")
        return res

    def _check_fitted(self) -> None:
        self._fitted()

    @property
    def w_(self) -> FloatArray:
        return self._fitted().w

    @property
    def Lambda_(self) -> FloatArray:
        return self._fitted().Lambda

    @property
    def Q_(self) -> FloatArray:
        return self._fitted().Q

    @property
    def V_(self) -> FloatArray:
        return self._fitted().V

    @property
    def pi_(self) -> FloatArray:
        return self._fitted().pi

    def q_values(self, phi: npt.ArrayLike, stage: int) -> FloatArray:
        r"""Pessimistic :math:`\hat Q_h` at arbitrary features ``phi[..., d]`` for stage ``h``."""
        self._check_fitted()
        from .._validation import check_int

        H = self.horizon_
        h = check_int("stage", stage, lo=0, hi=H - 1)
        d = self.w_.shape[1]
        ph = as_float_array("phi", phi)
        if ph.ndim == 0 or ph.shape[-1] != d:
            raise ValueError(f"`phi` must have last dimension d = {d}; got shape {ph.shape}.")
        F2 = ph.reshape(-1, d)
        q = F2 @ self.w_[h] - self._bonus(F2, np.linalg.inv(self.Lambda_[h]))
        return np.clip(q, self._q_floor, H - h).reshape(ph.shape[:-1])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._params()})"

    def _params(self) -> str:
        return f"bonus_scale={self.bonus_scale}, ridge={self.ridge}"


class PEVI(_PessimisticLinearVI):
    r"""Pessimistic value iteration for linear MDPs (Jin, Yang, Wang 2021), non-robust.

    Parameters
    ----------
    bonus_scale : float
        Bonus scale, ``bonus_scale >= 0``: :math:`\Gamma_h = c\sqrt{\phi^\top\Lambda_h^{-1}\phi}`.
    ridge : float
        Ridge parameter, ``ridge > 0``.

    Examples
    --------
    >>> import mdpkit as mk
    >>> lin = mk.r2pvi_linear_mdp()
    >>> data = lin.collect(n_trajectories=200, rng=0)
    >>> pevi = mk.learners.PEVI(bonus_scale=0.0).fit(data, theta=lin.theta)
    >>> pevi.pi_.shape, bool(pevi.V_[0, 0] > 1.4)
    ((3, 5, 16), True)
    """

    name = "PEVI"

    def _nu(self, C, y, V_next, H):
        return C @ y

    def _bonus(self, F2, Lam_inv):
        return self.bonus_scale * np.sqrt(np.einsum("ki,ij,kj->k", F2, Lam_inv, F2).clip(min=0.0))


class R2PVI(_PessimisticLinearVI):
    r"""Robust regularized pessimistic value iteration (R2PVI; Tang, Liu, Xu 2025).

    Learns the d-rectangular robust regularized optimum
    :math:`\max_\pi \inf_\mu \mathbb E[\sum_h r_h + \lambda\sum_i\phi_i D(\mu_{h,i}\|\mu^0_{h,i})]`
    from offline data (module docstring for the per-divergence estimates).

    Parameters
    ----------
    div : KL, ChiSquare or TotalVariation
    lam : float
        Regularization strength :math:`\lambda > 0`.
    bonus_scale : float
        Bonus scale (``bonus_scale = 0`` gives the plain plug-in estimate).
    ridge : float
        Ridge parameter.
    bonus : {"d_rectangular", "diagonal"}
        :math:`c\sum_i\phi_i\sqrt{[\Lambda_h^{-1}]_{ii}}` (the paper's bonus, default) or
        :math:`c\sqrt{\sum_i\phi_i^2[\Lambda_h^{-1}]_{ii}}` (the official code's), with
        :math:`c` = ``bonus_scale`` (the paper's :math:`\beta`).
    chi2_dual : {"exact", "reference"}
        Chi-square only. ``"exact"``: the supremum over the clipping level (the dual of
        the paper, exact over the breakpoints). ``"reference"``: the official code's value
        at a local minimum found by Nelder-Mead from :math:`H/2` on :math:`[0, H]`, which
        reproduces the paper's Figure 1(a) chi-square curve; the two differ on the paper's
        instance (check ``r2pvi_paper_figure1a``).
    lower_clip : bool
        ``True`` (the paper): :math:`\hat Q_h = \min\{\cdot, H-h\}^+`. ``False`` (the official
        code): no clipping at 0, so among pessimistically negative estimates the greedy
        action is the least negative one rather than the first of many ties at 0; on the
        paper's instance at :math:`\lambda = 0.1` this changes the TV and chi-square policies.

    Examples
    --------
    >>> import mdpkit as mk
    >>> from mdpkit.divergences import ChiSquare
    >>> lin = mk.r2pvi_linear_mdp()
    >>> data = lin.collect(behavior="uniform", n_trajectories=100, rng=0)
    >>> pol = mk.learners.R2PVI(div=ChiSquare(), lam=0.1).fit(data)
    >>> pol.Q_.shape, pol.w_.shape
    ((3, 5, 16), (3, 4))
    """

    name = "R2PVI"
    _d_rectangular = True

    def __init__(self, div: FDivergence, lam: float, *, bonus_scale: float = 1.0, ridge: float = 0.1,
                 bonus: str = "d_rectangular", chi2_dual: str = "exact", lower_clip: bool = True) -> None:
        super().__init__(bonus_scale=bonus_scale, ridge=ridge)
        self.code = check_robust_div(div)
        self.div = div
        self.lam = check_positive("lam", lam)
        if bonus not in _BONUSES:
            raise ValueError(f"`bonus` must be one of {list(_BONUSES)}; got {bonus!r}.")
        if chi2_dual not in _CHI2_DUALS:
            raise ValueError(f"`chi2_dual` must be one of {list(_CHI2_DUALS)}; got {chi2_dual!r}.")
        if not isinstance(lower_clip, bool):
            raise TypeError(f"`lower_clip` must be a bool; got {type(lower_clip).__name__}.")
        self.bonus = bonus
        self.chi2_dual = chi2_dual
        self.lower_clip = lower_clip
        self._q_floor = 0.0 if lower_clip else -np.inf

    def _bonus(self, F2, Lam_inv):
        if self.bonus == "diagonal":  # the official code: c sqrt(sum_i phi_i^2 [Lambda^-1]_ii)
            return self.bonus_scale * np.sqrt((F2 * F2) @ np.diag(Lam_inv))
        return super()._bonus(F2, Lam_inv)

    def _nu(self, C, y, V_next, H):
        lam = self.lam
        m = float(V_next.min())
        if self.code == DK.TV:
            return C @ np.minimum(y, m + lam)
        if self.code == DK.KL:
            z = C @ np.exp(-(y - m) / lam)  # shifted by m: exp never overflows, z_i <= ~1
            with np.errstate(divide="ignore", invalid="ignore"):
                nu = m - lam * np.log(z)
            # max(z, e^{-H/lam}) of the paper, i.e. nu <= H; z <= 0 also maps to H
            return np.where(z > 0.0, np.minimum(nu, float(H)), float(H))
        if self.chi2_dual == "reference":
            return _chi2_reference_dual(C, y, lam, float(H))
        out = np.empty(C.shape[0])
        order = np.argsort(y, kind="stable")
        OK.chi2_sup_coords(C, y, order, lam, 0.0, float(H), out)
        return out

    def _params(self) -> str:
        extra = "" if self.bonus == "d_rectangular" else f", bonus={self.bonus!r}"
        extra += "" if self.chi2_dual == "exact" else f", chi2_dual={self.chi2_dual!r}"
        extra += "" if self.lower_clip else ", lower_clip=False"
        return f"div={type(self.div).__name__}(), lam={self.lam}, bonus_scale={self.bonus_scale}, ridge={self.ridge}{extra}"


def _chi2_reference_dual(C: FloatArray, y: FloatArray, lam: float, H: float) -> FloatArray:
    """Return the official R2PVI-chi2 estimate (a local minimum of the dual).

    Per coordinate, the value at a local *minimum* over
    alpha in [0, H] (scipy Nelder-Mead from H/2) of z1 - (z2 - z1^2)/(4 lam), where the dual
    of the paper is the supremum (kept for reproducing the paper's Figure 1(a)).
    """
    from scipy.optimize import minimize

    out = np.empty(C.shape[0])
    for i in range(C.shape[0]):
        ci = C[i]

        def objective(a: np.ndarray, ci: FloatArray = ci) -> float:
            m = np.minimum(y, float(a[0]))
            z1 = float(ci @ m)
            return z1 - (float(ci @ (m * m)) - z1 * z1) / (4.0 * lam)

        out[i] = float(minimize(objective, np.array([H / 2.0]), method="Nelder-Mead", bounds=[(0.0, H)]).fun)
    return out


class DRPVI(_PessimisticLinearVI):
    r"""Distributionally robust pessimistic value iteration, TV balls on the factors (Liu and Xu 2024).

    Parameters
    ----------
    rho : float or array_like, shape (d,)
        TV radius per factor, ``rho >= 0``.
    bonus_scale : float
        Bonus scale (d-rectangular bonus).
    ridge : float

    Examples
    --------
    >>> import mdpkit as mk
    >>> lin = mk.r2pvi_linear_mdp()
    >>> data = lin.collect(n_trajectories=100, rng=0)
    >>> dr = mk.learners.DRPVI(rho=0.1, bonus_scale=0.0).fit(data, theta=lin.theta)
    >>> bool(dr.V_[0, 0] <= mk.learners.PEVI(bonus_scale=0.0).fit(data, theta=lin.theta).V_[0, 0])
    True
    """

    name = "DRPVI"
    _d_rectangular = True

    def __init__(self, rho: float | npt.ArrayLike, *, bonus_scale: float = 1.0, ridge: float = 0.1) -> None:
        super().__init__(bonus_scale=bonus_scale, ridge=ridge)
        r = as_float_array("rho", rho, ndim=1) if np.ndim(rho) else np.float64(check_nonnegative("rho", rho))
        if np.any(r < 0):
            raise ValueError(f"`rho` must be >= 0; got {rho!r}.")
        self.rho = r

    def _check_data(self, data):
        if self.rho.ndim == 1 and self.rho.shape != (data.dim,):
            raise ValueError(f"`rho` must be a scalar or have shape (d,) = ({data.dim},); got {self.rho.shape}.")

    def _nu(self, C, y, V_next, H):
        d = C.shape[0]
        rho = np.ascontiguousarray(np.broadcast_to(self.rho, (d,)), dtype=np.float64)
        out = np.empty(d)
        order = np.argsort(y, kind="stable")
        OK.tv_ball_sup_coords(C, y, order, rho, float(V_next.min()), float(H), out)
        return out

    def _params(self) -> str:
        return f"rho={np.asarray(self.rho).tolist()}, bonus_scale={self.bonus_scale}, ridge={self.ridge}"
