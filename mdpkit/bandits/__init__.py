r"""Bandits: environments, classic algorithms and a compiled many-run simulator.

>>> import mdpkit as mk
>>> env = mk.bandits.BernoulliBandit([0.5, 0.45, 0.4, 0.3])
>>> runs = mk.bandits.simulate(env, mk.bandits.UCB1(), horizon=2000, n_runs=8, rng=0)
>>> runs.regret.shape == (8, runs.checkpoints.size), runs.pulls.shape
(True, (8, 4))

Environments: :class:`BernoulliBandit`, :class:`GaussianBandit`, :class:`BetaBandit`
(stochastic), :class:`AdversarialBandit` (oblivious reward table), :class:`FullInformation`
(experts), :class:`LinearBandit` (fixed or random action sets), :class:`MatrixGame`.

Algorithms: :class:`ExploreThenCommit`, :class:`EpsilonGreedy`,
:class:`DecayingEpsilonGreedy`, :class:`SuccessiveElimination`, :class:`UCB1`,
:class:`UCBV`, :class:`KLUCB`, :class:`MOSS`, :class:`ThompsonSampling`,
:class:`GaussianThompsonSampling`, :class:`EXP3`, :class:`Hedge`, :class:`RegretMatching`,
:class:`SoftmaxPolicyGradient`, :class:`LinUCB`, :class:`OFUL`,
:class:`LinearThompsonSampling`; user policies :class:`IndexPolicy` and :class:`StepPolicy`.

Simulation: :func:`simulate` -> :class:`BanditRun`; :func:`self_play` -> :class:`SelfPlayRun`;
:func:`compare` -> :class:`Comparison` (table, optional figure with bound overlays).
"""

from ._algorithms import (
    EXP3,
    KLUCB,
    MOSS,
    OFUL,
    UCB1,
    UCBV,
    DecayingEpsilonGreedy,
    EpsilonGreedy,
    ExploreThenCommit,
    GaussianThompsonSampling,
    Hedge,
    LinearThompsonSampling,
    LinUCB,
    RegretMatching,
    SoftmaxPolicyGradient,
    SuccessiveElimination,
    ThompsonSampling,
)
from ._compare import Comparison, compare
from ._custom import IndexPolicy, StepPolicy
from ._envs import (
    AdversarialBandit,
    BernoulliBandit,
    BetaBandit,
    FullInformation,
    GaussianBandit,
    LinearBandit,
    MatrixGame,
)
from ._simulate import BanditRun, SelfPlayRun, make_checkpoints, run_seeds, self_play, simulate

__all__ = [
    "EXP3",
    "KLUCB",
    "MOSS",
    "OFUL",
    "UCB1",
    "UCBV",
    "AdversarialBandit",
    "BanditRun",
    "BernoulliBandit",
    "BetaBandit",
    "Comparison",
    "DecayingEpsilonGreedy",
    "EpsilonGreedy",
    "ExploreThenCommit",
    "FullInformation",
    "GaussianBandit",
    "GaussianThompsonSampling",
    "Hedge",
    "IndexPolicy",
    "LinUCB",
    "LinearBandit",
    "LinearThompsonSampling",
    "MatrixGame",
    "RegretMatching",
    "SelfPlayRun",
    "SoftmaxPolicyGradient",
    "StepPolicy",
    "SuccessiveElimination",
    "ThompsonSampling",
    "compare",
    "make_checkpoints",
    "run_seeds",
    "self_play",
    "simulate",
]
