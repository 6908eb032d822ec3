r"""Reward hacking and overoptimization: gold vs proxy rewards, exactly.

* Proxy models (:mod:`._proxy`): joint laws of a gold and a proxy reward on a discrete
  reference: additive Gaussian / Student-t noise, an r-correlated proxy, a proxy wrong
  only in the reference's tail, ensembles with shared and independent errors.
* Exact curves (:mod:`._curves`): gold reward of best-of-N, of the proxy-tilted policy
  and of f-regularized policies against :math:`\mathrm{KL}(\pi\|p)` and
  :math:`d = \sqrt{\mathrm{KL}}`, Gao et al.'s fits, the overoptimization peak, and
  Monte-Carlo cross-checks.
* Mitigations (:mod:`._mitigations`): ensemble aggregates (mean, min, mean - c var,
  BRME) and PAR's sigmoid shaping, as transforms the curves accept.
* Correlated proxies on MDPs (:mod:`._occupancy`): the chi-square occupancy bound of
  Laidlaw et al. (C13), the chi-square-occupancy-regularized planner and its
  coefficient, and a tomato-watering gridworld (:mod:`._tomato`).
* Reward distances (:mod:`._starc`): STARC canonicalization, distance and regret bound,
  potential shaping.

>>> import mdpkit as mk
>>> law = mk.reward_hacking.correlated_proxy(0.5, n_grid=16)
>>> c = mk.reward_hacking.gold_reward_curve(law, "tilted", n_points=20)
>>> bool(c.gold[-1] > c.gold_ref)
True
"""

from ._curves import (
    GaoFit,
    GoldCurve,
    Peak,
    fit_gao,
    gold_reward_curve,
    monte_carlo_gold,
    overoptimization_peak,
)
from ._mitigations import (
    EnsembleAggregate,
    PARShaping,
    brme_ensemble,
    mean_ensemble,
    min_ensemble,
    par_shaping,
    uncertainty_weighted_ensemble,
)
from ._occupancy import (
    Chi2OccupancyBound,
    OccupancyPlan,
    ProxyStatistics,
    chi2_occupancy_bound,
    chi2_occupancy_planner,
    chi2_regularization_coef,
    proxy_statistics,
)
from ._proxy import (
    EnsembleLaw,
    JointLaw,
    additive_noise,
    correlated_proxy,
    ensemble_proxy,
    noise_grid,
    tail_proxy,
)
from ._starc import (
    StarcRegret,
    expected_reward,
    potential_shaping,
    starc_canonicalize,
    starc_distance,
    starc_regret_bound,
)
from ._tomato import DEFAULT_LAYOUT, TomatoGridworld, tomato_gridworld

__all__ = [
    "DEFAULT_LAYOUT",
    "StarcRegret",
    "TomatoGridworld",
    "expected_reward",
    "potential_shaping",
    "starc_canonicalize",
    "starc_distance",
    "starc_regret_bound",
    "tomato_gridworld",
    "Chi2OccupancyBound",
    "OccupancyPlan",
    "ProxyStatistics",
    "chi2_occupancy_bound",
    "chi2_occupancy_planner",
    "chi2_regularization_coef",
    "proxy_statistics",
    "EnsembleAggregate",
    "EnsembleLaw",
    "GaoFit",
    "GoldCurve",
    "JointLaw",
    "PARShaping",
    "Peak",
    "additive_noise",
    "brme_ensemble",
    "correlated_proxy",
    "ensemble_proxy",
    "fit_gao",
    "gold_reward_curve",
    "mean_ensemble",
    "min_ensemble",
    "monte_carlo_gold",
    "noise_grid",
    "overoptimization_peak",
    "par_shaping",
    "tail_proxy",
    "uncertainty_weighted_ensemble",
]
