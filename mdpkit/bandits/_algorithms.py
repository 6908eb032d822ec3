r"""Bandit algorithms as small frozen parameter objects.

An algorithm object only holds validated parameters; :func:`mdpkit.bandits.simulate`
dispatches it to the compiled kernel of its family (``index``, ``weights``, ``linear``)
with the parameters packed into a float vector. Conventions shared by the index policies:
:math:`t` is the number of pulls made so far, :math:`n_a` and :math:`\hat\mu_a` the
number of pulls and the empirical mean of arm ``a``; UCB-type policies first pull every
arm once; ties go to the lowest arm index.

References
----------
.. [AUE02] P. Auer, N. Cesa-Bianchi, P. Fischer, "Finite-time analysis of the multiarmed
   bandit problem", Machine Learning 47, 2002.
.. [AUE02b] P. Auer, N. Cesa-Bianchi, Y. Freund, R. Schapire, "The nonstochastic
   multiarmed bandit problem", SIAM J. Comput. 32, 2002.
.. [AMS09] J.-Y. Audibert, R. Munos, Cs. Szepesvari, "Exploration-exploitation tradeoff
   using variance estimates in multi-armed bandits", TCS 410, 2009.
.. [AB09] J.-Y. Audibert, S. Bubeck, "Minimax policies for adversarial and stochastic
   bandits", COLT 2009.
.. [GC11] A. Garivier, O. Cappe, "The KL-UCB algorithm for bounded stochastic bandits
   and beyond", COLT 2011.
.. [AG12] S. Agrawal, N. Goyal, "Analysis of Thompson sampling for the multi-armed bandit
   problem", COLT 2012; "Further optimal regret bounds for Thompson sampling", AISTATS 2013.
.. [SLI19] A. Slivkins, "Introduction to Multi-Armed Bandits", Found. Trends ML, 2019.
.. [AYPS11] Y. Abbasi-Yadkori, D. Pal, Cs. Szepesvari, "Improved algorithms for linear
   stochastic bandits", NeurIPS 2011.
.. [LCLS10] L. Li, W. Chu, J. Langford, R. Schapire, "A contextual-bandit approach to
   personalized news article recommendation", WWW 2010.
.. [AG13] S. Agrawal, N. Goyal, "Thompson sampling for contextual bandits with linear
   payoffs", ICML 2013.
.. [FS97] Y. Freund, R. Schapire, "A decision-theoretic generalization of on-line
   learning", JCSS 55, 1997.
.. [HM00] S. Hart, A. Mas-Colell, "A simple adaptive procedure leading to correlated
   equilibrium", Econometrica 68, 2000.
.. [CEN22] S. Cen, C. Cheng, Y. Chen, Y. Wei, Y. Chi, "Fast global convergence of natural
   policy gradient methods with entropy regularization", Operations Research 70, 2022.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .._typing import FloatArray
from .._validation import as_float_array, check_int, check_scalar, check_simplex
from . import _bandit_kernels as kr


def _pos(name: str, v: Any) -> float:
    return check_scalar(name, v, lo=0.0, lo_inclusive=False)


def _require_unit_rewards(algo: Any, env: Any) -> None:
    lo, hi = getattr(env, "reward_range", (-np.inf, np.inf))
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"`env` must have rewards in [0, 1] for {type(algo).__name__}; got "
            f"{type(env).__name__} with rewards in [{lo:g}, {hi:g}]."
        )


@dataclass(frozen=True)
class _Algorithm:
    family: ClassVar[str] = ""
    code: ClassVar[int] = -1

    @property
    def name(self) -> str:
        """Short label used in tables and legends."""
        return type(self).__name__

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:  # pragma: no cover
        raise NotImplementedError


# ------------------------------------------------------------------ index family
@dataclass(frozen=True)
class UCB1(_Algorithm):
    r"""UCB1 of Auer et al. (2002): pull :math:`\arg\max_a \hat\mu_a + \sqrt{c \ln t / n_a}`.

    With ``c = 2`` this is the algorithm of Theorem 1 of [AUE02]_, whose regret bound is
    :func:`mdpkit.theory.ucb1_regret_bound`.

    Parameters
    ----------
    c : float
        Exploration constant, ``> 0`` (default 2).

    Examples
    --------
    >>> UCB1().c
    2.0
    """

    c: float = 2.0
    family: ClassVar[str] = "index"
    code: ClassVar[int] = kr.UCB1

    def __post_init__(self) -> None:
        object.__setattr__(self, "c", _pos("c", self.c))

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        return np.array([self.c])


@dataclass(frozen=True)
class UCBV(_Algorithm):
    r"""UCB-V of Audibert, Munos and Szepesvari (2009), with the empirical variance :math:`V_a`.

    .. math::
        a_t = \arg\max_a \hat\mu_a + \sqrt{\frac{2 V_a \mathcal E_t}{n_a}}
              + \frac{3 c\, b\, \mathcal E_t}{n_a}, \qquad \mathcal E_t = \zeta \ln t,

    where rewards lie in an interval of length ``b`` (Eq. (1) of [AMS09]_; their regret
    bound needs :math:`\zeta > 1`, ``c = 1``).

    Parameters
    ----------
    zeta : float
        ``> 0`` (default 1.2).
    c : float
        ``> 0`` (default 1).
    b : float
        Reward range, ``> 0`` (default 1 for rewards in [0, 1]).

    Examples
    --------
    >>> UCBV(zeta=1.5).zeta
    1.5
    """

    zeta: float = 1.2
    c: float = 1.0
    b: float = 1.0
    family: ClassVar[str] = "index"
    code: ClassVar[int] = kr.UCBV

    def __post_init__(self) -> None:
        for f in ("zeta", "c", "b"):
            object.__setattr__(self, f, _pos(f, getattr(self, f)))

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        return np.array([self.zeta, self.c, self.b])


_KL_KINDS = ("bernoulli", "gaussian")


@dataclass(frozen=True)
class KLUCB(_Algorithm):
    r"""KL-UCB of Garivier and Cappe (2011).

    .. math::
        a_t = \arg\max_a \max\{q : n_a\, \mathrm{kl}(\hat\mu_a, q) \le \ln t + c \ln\ln t\},

    with the Bernoulli divergence :math:`\mathrm{kl}(p, q) = p\ln\frac pq + (1-p)\ln\frac{1-p}{1-q}`
    (``kind="bernoulli"``, rewards in [0, 1]; the index is solved by Newton's method to
    1e-12) or the Gaussian one :math:`(p-q)^2/(2\sigma^2)`, which gives
    :math:`\hat\mu_a + \sigma\sqrt{2(\ln t + c\ln\ln t)/n_a}` (``kind="gaussian"``).
    :math:`\ln\ln t` is read as :math:`\ln\max(\ln t, 1)` for small ``t``. KL-UCB attains
    the Lai-Robbins constant (Theorem 2 of [GC11]_; ``c = 3`` in the proof, ``c = 0``
    recommended in practice).

    Parameters
    ----------
    kind : {"bernoulli", "gaussian"}
    c : float
        ``>= 0`` (default 0).
    sigma : float
        Noise level of the Gaussian index, ``> 0`` (default 1).

    Examples
    --------
    >>> KLUCB(kind="gaussian", sigma=0.5).name
    'KLUCB(gaussian)'
    """

    kind: str = "bernoulli"
    c: float = 0.0
    sigma: float = 1.0
    family: ClassVar[str] = "index"

    def __post_init__(self) -> None:
        if self.kind not in _KL_KINDS:
            raise ValueError(f"`kind` must be one of {list(_KL_KINDS)}; got {self.kind!r}.")
        object.__setattr__(self, "c", check_scalar("c", self.c, lo=0.0))
        object.__setattr__(self, "sigma", _pos("sigma", self.sigma))

    @property
    def name(self) -> str:
        return f"KLUCB({self.kind})"

    @property
    def kernel_code(self) -> int:
        return kr.KLUCB_BERNOULLI if self.kind == "bernoulli" else kr.KLUCB_GAUSSIAN

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        if self.kind == "bernoulli":
            _require_unit_rewards(self, env)
        return np.array([self.c, self.sigma])


@dataclass(frozen=True)
class MOSS(_Algorithm):
    r"""MOSS of Audibert and Bubeck (2009): index :math:`\hat\mu_a + \sqrt{\max(\ln\frac{T}{K n_a}, 0)/n_a}`.

    Needs the horizon ``T``; minimax optimal, :math:`\mathbb E R_T \le 49\sqrt{KT}`
    (Theorem 5 of [AB09]_, :func:`mdpkit.theory.moss_regret_bound`).

    Examples
    --------
    >>> MOSS().name
    'MOSS'
    """

    family: ClassVar[str] = "index"
    code: ClassVar[int] = kr.MOSS

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        return np.zeros(1)


@dataclass(frozen=True)
class SuccessiveElimination(_Algorithm):
    r"""Successive Elimination (Slivkins 2019, Sec. 1.3) with radius :math:`\sqrt{2\ln T/n_a}`.

    Active arms are played in round-robin phases; after each phase every arm ``a`` with
    :math:`\mathrm{UCB}(a) < \max_b \mathrm{LCB}(b)` is deactivated. Regret bound:
    :func:`mdpkit.theory.successive_elimination_regret_bound`.

    Examples
    --------
    >>> SuccessiveElimination().name
    'SuccessiveElimination'
    """

    family: ClassVar[str] = "index"
    code: ClassVar[int] = kr.SUCCESSIVE_ELIMINATION

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        return np.zeros(1)


@dataclass(frozen=True)
class ExploreThenCommit(_Algorithm):
    r"""Explore-then-commit: ``m`` round-robin pulls of each arm, then the best empirical arm forever.

    With :math:`m \asymp (T/K)^{2/3} (\ln T)^{1/3}`, :math:`\mathbb E R_T = O(T^{2/3}(K\ln T)^{1/3})`
    (Slivkins 2019, Sec. 1.2).

    Parameters
    ----------
    m : int
        Exploration pulls per arm, ``>= 1``.

    Examples
    --------
    >>> ExploreThenCommit(m=10).m
    10
    """

    m: int = 10
    family: ClassVar[str] = "index"
    code: ClassVar[int] = kr.EXPLORE_THEN_COMMIT

    def __post_init__(self) -> None:
        object.__setattr__(self, "m", check_int("m", self.m, lo=1))

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        return np.array([float(self.m)])


@dataclass(frozen=True)
class EpsilonGreedy(_Algorithm):
    r"""Epsilon-greedy with a fixed rate: explore a uniform arm w.p. ``epsilon``, else the best empirical arm.

    Parameters
    ----------
    epsilon : float
        Exploration probability in [0, 1].

    Examples
    --------
    >>> EpsilonGreedy(0.05).epsilon
    0.05
    """

    epsilon: float = 0.1
    family: ClassVar[str] = "index"
    code: ClassVar[int] = kr.EPS_GREEDY

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", check_scalar("epsilon", self.epsilon, lo=0.0, hi=1.0))

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        return np.array([self.epsilon])


@dataclass(frozen=True)
class DecayingEpsilonGreedy(_Algorithm):
    r"""Epsilon-greedy with :math:`\varepsilon_t = \min(1, c\,(K \ln t / t)^{1/3})` (Slivkins 2019, Sec. 1.2).

    Gives :math:`\mathbb E R_t = O(t^{2/3} (K \ln t)^{1/3})` at every round ``t``.

    Parameters
    ----------
    c : float
        ``> 0`` (default 1).

    Examples
    --------
    >>> DecayingEpsilonGreedy(c=0.5).c
    0.5
    """

    c: float = 1.0
    family: ClassVar[str] = "index"
    code: ClassVar[int] = kr.EPS_GREEDY_DECAYING

    def __post_init__(self) -> None:
        object.__setattr__(self, "c", _pos("c", self.c))

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        return np.array([self.c])


@dataclass(frozen=True)
class ThompsonSampling(_Algorithm):
    r"""Beta-Bernoulli Thompson sampling: pull :math:`\arg\max_a \theta_a`, :math:`\theta_a \sim \mathrm{Beta}(a_0 + S_a, b_0 + F_a)`.

    :math:`S_a, F_a` count successes and failures; a reward :math:`x \in (0, 1)` counts as
    a Bernoulli(:math:`x`) trial (Agrawal and Goyal [AG12]_), so any [0, 1] bandit works.
    With the uniform prior it attains the Lai-Robbins constant for Bernoulli arms.

    Parameters
    ----------
    prior : (float, float)
        Beta prior :math:`(a_0, b_0)`, both ``> 0`` (default (1, 1)).

    Examples
    --------
    >>> ThompsonSampling().prior
    (1.0, 1.0)
    """

    prior: tuple[float, float] = (1.0, 1.0)
    family: ClassVar[str] = "index"
    code: ClassVar[int] = kr.TS_BETA

    def __post_init__(self) -> None:
        if not isinstance(self.prior, (tuple, list)) or len(self.prior) != 2:
            raise TypeError(f"`prior` must be a pair (a0, b0); got {self.prior!r}.")
        object.__setattr__(self, "prior", (_pos("prior[0]", self.prior[0]), _pos("prior[1]", self.prior[1])))

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        _require_unit_rewards(self, env)
        return np.array(self.prior)


@dataclass(frozen=True)
class GaussianThompsonSampling(_Algorithm):
    r"""Gaussian Thompson sampling: :math:`\theta_a \sim \mathcal N(S_a/(n_a+1),\ \sigma^2/(n_a+1))`.

    The posterior of a :math:`\mathcal N(0, \sigma^2)` prior under :math:`\mathcal N(\mu_a,
    \sigma^2)` rewards (Agrawal and Goyal 2013, [AG12]_).

    Parameters
    ----------
    sigma : float
        Assumed noise standard deviation, ``> 0`` (default 1).

    Examples
    --------
    >>> GaussianThompsonSampling(sigma=2).sigma
    2.0
    """

    sigma: float = 1.0
    family: ClassVar[str] = "index"
    code: ClassVar[int] = kr.TS_GAUSSIAN

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma", _pos("sigma", self.sigma))

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        return np.array([self.sigma])


# ------------------------------------------------------------------ weights family
@dataclass(frozen=True)
class EXP3(_Algorithm):
    r"""EXP3 of Auer et al. (2002b) for adversarial bandits with rewards in [0, 1].

    .. math::
        p_t(a) = (1-\gamma)\frac{w_t(a)}{\sum_b w_t(b)} + \frac{\gamma}{K}, \qquad
        w_{t+1}(a_t) = w_t(a_t)\exp\Big(\frac{\gamma\, x_t}{K p_t(a_t)}\Big).

    The default :math:`\gamma = \min\{1, \sqrt{K\ln K / ((e-1) T)}\}` gives
    :math:`\mathbb E R_T \le 2\sqrt{e-1}\sqrt{TK\ln K}` (Corollary 3.2 of [AUE02b]_ with
    :math:`g = T`; :func:`mdpkit.theory.exp3_regret_bound`). Weights are kept in log space.

    Parameters
    ----------
    gamma : float, optional
        Exploration rate in (0, 1].

    Examples
    --------
    >>> round(EXP3().tuned_gamma(n_arms=10, horizon=10_000), 4)
    0.0366
    """

    gamma: float | None = None
    family: ClassVar[str] = "weights"
    code: ClassVar[int] = kr.EXP3

    def __post_init__(self) -> None:
        if self.gamma is not None:
            object.__setattr__(self, "gamma", check_scalar("gamma", self.gamma, lo=0.0, hi=1.0,
                                                           lo_inclusive=False))

    @staticmethod
    def tuned_gamma(n_arms: int, horizon: int) -> float:
        """Return the rate of Corollary 3.2 of [AUE02b]_ with ``g = horizon``."""
        return min(1.0, math.sqrt(n_arms * math.log(n_arms) / ((math.e - 1.0) * horizon)))

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        _require_unit_rewards(self, env)
        g = self.tuned_gamma(env.n_arms, horizon) if self.gamma is None else self.gamma
        return np.array([g])


@dataclass(frozen=True)
class Hedge(_Algorithm):
    r"""Hedge / exponential weights with full information (Freund and Schapire 1997).

    :math:`p_t(a) \propto \exp(\eta \sum_{s<t} x_{s,a})` (equivalently
    :math:`\exp(-\eta L_{t-1}(a))` in losses); the played arm is drawn from :math:`p_t` and
    every arm's reward is observed. The default :math:`\eta = \sqrt{8 \ln K / T}` gives
    :math:`\mathbb E R_T \le \sqrt{(T/2)\ln K}` (Cesa-Bianchi and Lugosi 2006, Theorem 2.2;
    :func:`mdpkit.theory.hedge_regret_bound`). In :func:`self_play`, :math:`\eta` is divided
    by the payoff range.

    Parameters
    ----------
    eta : float, optional
        Learning rate, ``> 0``.

    Examples
    --------
    >>> round(Hedge().tuned_eta(n_arms=4, horizon=1000), 5)
    0.10531
    """

    eta: float | None = None
    family: ClassVar[str] = "weights"
    code: ClassVar[int] = kr.HEDGE

    def __post_init__(self) -> None:
        if self.eta is not None:
            object.__setattr__(self, "eta", _pos("eta", self.eta))

    @staticmethod
    def tuned_eta(n_arms: int, horizon: int) -> float:
        r""":math:`\sqrt{8 \ln K / T}`."""
        return math.sqrt(8.0 * math.log(n_arms) / horizon)

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        return np.array([self.tuned_eta(env.n_arms, horizon) if self.eta is None else self.eta])


@dataclass(frozen=True)
class RegretMatching(_Algorithm):
    r"""Regret matching (Hart and Mas-Colell 2000): :math:`p_t(a) \propto \max(R_{t-1}(a), 0)`.

    :math:`R_t(a) = \sum_{s\le t} (x_{s,a} - \langle p_s, x_s\rangle)` is the cumulative
    regret against arm ``a`` (uniform play when no regret is positive). Needs full
    information; with rewards of range ``b``, :math:`\max_a R_T(a) \le b\sqrt{KT}`
    (:func:`mdpkit.theory.regret_matching_regret_bound`).

    Examples
    --------
    >>> RegretMatching().name
    'RegretMatching'
    """

    family: ClassVar[str] = "weights"
    code: ClassVar[int] = kr.REGRET_MATCHING

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        return np.zeros(1)


@dataclass(frozen=True)
class SoftmaxPolicyGradient(_Algorithm):
    r"""Softmax policy-gradient bandit, :math:`\pi_t = \mathrm{softmax}(z_t)`, optionally KL-regularized.

    Stochastic ascent on :math:`J(z) = \mathbb E_{\pi}[r] - \beta\,\mathrm{KL}(\pi \| \pi_{\mathrm{ref}})`
    from one sampled arm :math:`a_t \sim \pi_t` with reward :math:`x_t` per round:

    * REINFORCE (``natural=False``): :math:`z \leftarrow z + \eta[(x_t - b_t)(e_{a_t} - \pi_t)
      - \beta\,\pi_t \odot (\log\frac{\pi_t}{\pi_{\mathrm{ref}}} - \mathrm{KL}(\pi_t\|\pi_{\mathrm{ref}}))]`
      (the KL term is its exact gradient);
    * natural PG (``natural=True``): :math:`z \leftarrow z + \eta[\hat Q_t - \beta(z - \log
      \pi_{\mathrm{ref}})]` with the importance-weighted :math:`\hat Q_t = (x_t - b_t)
      e_{a_t}/\pi_t(a_t)`, i.e. :math:`\pi_{t+1} \propto \pi_t^{1-\eta\beta}\pi_{\mathrm{ref}}^{\eta\beta}
      e^{\eta \hat Q_t}` (the regularized NPG update of Cen et al. 2022).

    The baseline :math:`b_t` is the mean reward observed before round ``t`` (``baseline=True``)
    or 0.

    Parameters
    ----------
    eta : float
        Step size :math:`\eta > 0`.
    baseline : bool
    natural : bool
    beta : float
        :math:`\beta \ge 0`.
    pi_ref : array_like, shape (K,), optional
        Reference policy (uniform by default); must be strictly positive when
        ``beta > 0``.

    Examples
    --------
    >>> SoftmaxPolicyGradient(eta=0.1, natural=True).name
    'SoftmaxPG(natural, baseline)'
    """

    eta: float = 0.1
    baseline: bool = True
    natural: bool = False
    beta: float = 0.0
    pi_ref: Any = None
    family: ClassVar[str] = "weights"
    code: ClassVar[int] = kr.SOFTMAX_PG

    def __post_init__(self) -> None:
        object.__setattr__(self, "eta", _pos("eta", self.eta))
        for f in ("baseline", "natural"):
            if not isinstance(getattr(self, f), (bool, np.bool_)):
                raise TypeError(f"`{f}` must be a bool; got {getattr(self, f)!r}.")
        object.__setattr__(self, "beta", check_scalar("beta", self.beta, lo=0.0))
        if self.pi_ref is not None:
            ref = as_float_array("pi_ref", self.pi_ref, ndim=1)
            check_simplex("pi_ref", ref)
            if self.beta > 0 and np.any(ref <= 0):
                raise ValueError("`pi_ref` must be strictly positive when `beta` > 0; "
                                 f"`pi_ref[{int(np.argmin(ref))}]` = {ref.min()!r}.")
            ref.setflags(write=False)
            object.__setattr__(self, "pi_ref", ref)

    @property
    def name(self) -> str:
        tags = ["natural" if self.natural else "reinforce"]
        if self.baseline:
            tags.append("baseline")
        if self.beta > 0:
            tags.append(f"kl={self.beta:g}")
        return f"SoftmaxPG({', '.join(tags)})"

    def _log_ref(self, n_arms: int) -> FloatArray:
        if self.pi_ref is None:
            return np.full(n_arms, -math.log(n_arms))
        if self.pi_ref.size != n_arms:
            raise ValueError(f"`pi_ref` must have one entry per arm (K = {n_arms}); got {self.pi_ref.size}.")
        with np.errstate(divide="ignore"):
            return np.log(self.pi_ref)

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        return np.array([self.eta, float(self.baseline), float(self.natural), self.beta])


# ------------------------------------------------------------------ linear family
@dataclass(frozen=True)
class LinUCB(_Algorithm):
    r"""LinUCB with a constant width (Li et al. 2010): :math:`\arg\max_x \langle x, \hat\theta_t\rangle + \alpha\|x\|_{V_t^{-1}}`.

    :math:`V_t = \lambda_r I + \sum_{s<t} x_s x_s^\top`, :math:`\hat\theta_t = V_t^{-1}\sum_{s<t} r_s x_s`
    (ridge regression, updated by Sherman--Morrison).

    Parameters
    ----------
    alpha : float
        Width ``>= 0``.
    ridge : float
        Ridge parameter ``> 0``.

    Examples
    --------
    >>> LinUCB(alpha=0.5).alpha
    0.5
    """

    alpha: float = 1.0
    ridge: float = 1.0
    family: ClassVar[str] = "linear"
    code: ClassVar[int] = kr.LINUCB

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", check_scalar("alpha", self.alpha, lo=0.0))
        object.__setattr__(self, "ridge", _pos("ridge", self.ridge))

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        return np.array([self.ridge, self.alpha, 0.0, 0.0])


@dataclass(frozen=True)
class OFUL(_Algorithm):
    r"""OFUL (Abbasi-Yadkori et al. 2011): LinUCB with the self-normalized confidence radius.

    .. math::
        \beta_t = \sigma\sqrt{\ln\frac{\det V_t}{\det \lambda_r I} + 2\ln\frac1\delta} + \sqrt{\lambda_r}\, S,

    Theorem 2 of [AYPS11]_, where :math:`\sigma` is the environment's noise level and
    :math:`\|\theta\| \le S`; regret bound :func:`mdpkit.theory.oful_regret_bound`.

    Parameters
    ----------
    delta : float
        Confidence level in (0, 1).
    ridge : float
        Ridge parameter ``> 0``.
    S : float
        Assumed bound on :math:`\|\theta\|_2`, ``> 0``.

    Examples
    --------
    >>> OFUL(delta=0.1).delta
    0.1
    """

    delta: float = 0.05
    ridge: float = 1.0
    S: float = 1.0
    family: ClassVar[str] = "linear"
    code: ClassVar[int] = kr.OFUL

    def __post_init__(self) -> None:
        object.__setattr__(self, "delta", check_scalar("delta", self.delta, lo=0.0, hi=1.0,
                                                       lo_inclusive=False, hi_inclusive=False))
        object.__setattr__(self, "ridge", _pos("ridge", self.ridge))
        object.__setattr__(self, "S", _pos("S", self.S))

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        return np.array([self.ridge, 0.0, math.log(1.0 / self.delta), self.S])


@dataclass(frozen=True)
class LinearThompsonSampling(_Algorithm):
    r"""Linear Thompson sampling (Agrawal and Goyal 2013): :math:`\tilde\theta_t \sim \mathcal N(\hat\theta_t, v^2 V_t^{-1})`.

    Pulls :math:`\arg\max_x \langle x, \tilde\theta_t\rangle`; :math:`\tilde\theta_t =
    \hat\theta_t + v L_t z`, :math:`L_t L_t^\top = V_t^{-1}` (Cholesky), :math:`z \sim
    \mathcal N(0, I_d)`.

    Parameters
    ----------
    v : float
        Posterior scale ``> 0``.
    ridge : float
        Ridge parameter ``> 0``.

    Examples
    --------
    >>> LinearThompsonSampling(v=0.5).v
    0.5
    """

    v: float = 1.0
    ridge: float = 1.0
    family: ClassVar[str] = "linear"
    code: ClassVar[int] = kr.LINTS

    def __post_init__(self) -> None:
        object.__setattr__(self, "v", _pos("v", self.v))
        object.__setattr__(self, "ridge", _pos("ridge", self.ridge))

    def _kernel_params(self, env: Any, horizon: int) -> FloatArray:
        return np.array([self.ridge, self.v, 0.0, 0.0])


def kernel_code(algo: Any) -> int:
    """Return the kernel's algorithm code (KL-UCB picks its variant)."""
    return algo.kernel_code if isinstance(algo, KLUCB) else type(algo).code
