"""Chi-square occupancy vs action-KL regularization on the tomato-watering gridworld.

The proxy reward is fooled on the sprinkler cell (``mdpkit.reward_hacking.tomato_gridworld``).
Each cell optimizes the proxy with

* ``chi2_om``: the chi-square-occupancy-regularized program (cvxpy) with coefficient
  ``coef`` times the reference's proxy standard deviation (ORPO's scaling), or the
  derived lambda* = sigma sqrt(1 - r^2)/r when ``coef`` = 0 (recorded as "lambda*");
* ``action_kl``: soft value iteration with KL strength beta = ``coef`` toward pi_ref;

and records the exact gold and proxy gains over the reference policy
(``gold_gain``, ``proxy_gain``) and the C13 lower bound. The seed is unused.
"""

import mdpkit as mk

COEFS = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
GRID = {"regularizer": ["chi2_om", "action_kl"], "coef": COEFS, "dry_prob": [0.05]}
QUICK_GRID = [{"regularizer": "chi2_om", "coef": 0.0, "dry_prob": 0.05},
              {"regularizer": "action_kl", "coef": 0.01, "dry_prob": 0.05}]
N_SEEDS = 1
QUICK_N_SEEDS = 1


def run_cell(settings, seed):
    rh = mk.reward_hacking
    env = rh.tomato_gridworld(dry_prob=settings["dry_prob"])
    st = rh.proxy_statistics(env.mdp, env.pi_ref, env.gold, env.proxy)
    c = settings["coef"]
    if settings["regularizer"] == "chi2_om":
        lam = rh.chi2_regularization_coef(env.mdp, env.pi_ref, env.gold, env.proxy) if c == 0 else c * st.sigma_proxy
        pi = rh.chi2_occupancy_planner(env.mdp, env.pi_ref, env.proxy, lam).pi
    else:
        beta = c if c > 0 else 1e-3
        proxy_mdp = mk.TabularMDP(env.mdp.P, env.proxy, gamma=env.mdp.gamma, mu0=env.mdp.mu0)
        pi = mk.solve_kl_regularized(proxy_mdp, env.pi_ref, beta).pi
    b = rh.chi2_occupancy_bound(env.mdp, pi, env.pi_ref, env.gold, env.proxy)
    return {"gold_gain": b.gold_gain, "proxy_gain": b.proxy_gain, "lower_bound": b.lower_bound,
            "chi2": b.chi2, "corr": st.corr}
