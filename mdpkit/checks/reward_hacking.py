"""Reward-hacking checks: CLAIMS #22-#28 and C13.

Predictions come from routes that do not use the code under test: enumeration of
N-tuples, plain NumPy softmax / linear-algebra formulas, closed-form moments of the
product grids, simulation of the sampling procedure with its standard error, and a
cvxpy program. Properties that are observed rather than proved are marked "empirical".
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.special import logsumexp

from mdpkit import reward_hacking as rh

from ._registry import CheckContext, register


def _enumerated_bon_gold(p, proxy, gold, n):
    """E gold of best-of-N (uniform ties) by listing every N-tuple."""
    acc = 0.0
    for tup in itertools.product(range(len(p)), repeat=n):
        idx = list(tup)
        vals = proxy[idx]
        win = [y for y, v in zip(tup, vals, strict=True) if v == vals.max()]
        acc += float(np.prod(p[idx])) * float(np.mean(gold[win]))
    return acc


def _np_tilt(p, proxy, gold, beta):
    """(KL, E gold) of p e^{proxy/beta}/Z by a NumPy softmax."""
    a = np.log(p) + proxy / beta
    lq = a - logsumexp(a)
    q = np.exp(lq)
    return float(q @ (lq - np.log(p))), float(q @ gold)


# ----------------------------------------------------------------- #24, #28


@register(
    "hacking_gold_vs_proxy",
    paper="Gao et al. (2023) scaling laws for RM overoptimization; Rafailov et al. (2024); "
          "CLAIMS #24, #28",
    statement="The exact gold reward of best-of-N and of the proxy-tilted policy equals the "
              "enumerated / softmax value and the simulated procedure; a proxy wrong in the "
              "reference's tail gives an interior overoptimization peak, and Gao's forms fit.",
)
def check_hacking_gold_vs_proxy(ctx: CheckContext) -> None:
    rng = np.random.default_rng(ctx.seed)
    # exact vs enumeration on a small law with ties
    p = np.array([0.1, 0.3, 0.2, 0.25, 0.15])
    proxy = np.array([0.0, 1.0, 1.0, 2.0, 3.0])
    gold = np.array([0.5, -1.0, 2.0, 1.0, -0.5])
    law = rh.JointLaw(p, gold, proxy)
    ns = [1, 2, 3, 4] if ctx.quick else [1, 2, 3, 4, 5, 6]
    c = rh.gold_reward_curve(law, "best_of_n", n=ns)
    err = max(abs(c.gold[i] - _enumerated_bon_gold(p, proxy, gold, n)) for i, n in enumerate(ns))
    ctx.compare("max |exact BoN gold - enumerated|", err, 0.0, tol=1e-13,
                route="brute-force enumeration of N-tuples")
    betas = np.array([0.1, 0.5, 2.0])
    ct = rh.gold_reward_curve(law, "tilted", beta=betas)
    ref_pts = np.array([_np_tilt(p, proxy, gold, b) for b in betas])
    err = float(np.max(np.abs(np.c_[ct.kl, ct.gold] - ref_pts)))
    ctx.compare("max |exact tilt (KL, gold) - NumPy softmax|", err, 0.0, tol=1e-12,
                route="closed form softmax")

    # heavy-tailed additive noise: exact vs simulation
    law = rh.additive_noise(1.0, noise="student_t", df=3.0, n_grid=24 if ctx.quick else 64)
    m = 20_000 if ctx.quick else 200_000
    for n in (4, 64):
        est = rh.monte_carlo_gold(law, "best_of_n", n, m, rng=rng)
        exact = float(rh.gold_reward_curve(law, "best_of_n", n=[n]).gold[0])
        ctx.compare(f"gold of simulated best-of-{n}, t3 noise", est.mean, exact, tol=4 * est.se,
                    route="Monte-Carlo, 4 SE")
    est = rh.monte_carlo_gold(law, "tilted", 1.0, 4 * m, rng=rng)
    exact = float(rh.gold_reward_curve(law, "tilted", beta=[1.0]).gold[0])
    ctx.compare("gold of the tilt at beta = 1, importance sampling", est.mean, exact,
                tol=4 * est.se, route="Monte-Carlo (self-normalized IS), 4 SE")

    # tail proxy: interior peak; Gao forms
    law = rh.tail_proxy(tail_mass=1e-3, tail_proxy=np.linspace(4.0, 6.0, 5), tail_gold=-3.0,
                        n_grid=64)
    bon_c = rh.gold_reward_curve(law, "best_of_n", n_max=10**5, n_points=80)
    pk = bon_c.peak()
    ctx.compare("BoN peak N, tail mass 1e-3", pk.param, (10.0, 3000.0), relation="in",
                route="empirical; N * tail mass ~ 1 locates the turn")
    ctx.compare("KL of the BoN peak", pk.kl, math.log(pk.param) - (pk.param - 1) / pk.param,
                relation="<=", tol=1e-12, route="closed form KL bound log N - (N-1)/N")
    for cur, form in ((bon_c, "bon"), (rh.gold_reward_curve(law, "tilted", n_points=80), "rl")):
        f = cur.fit(form)
        ctx.compare(f"R^2 of Gao's {form} form", f.r2, 0.8, relation=">=",
                    route="empirical goodness of fit", note=f"alpha={f.alpha:.3g}, decay={f.decay:.3g}")
    raw = rh.gold_reward_curve(law, "tilted", kl_max=4.0, n_points=60)
    par = rh.gold_reward_curve(law, "tilted", transform=rh.par_shaping(), kl_max=4.0, n_points=60)
    ctx.compare("peak gold, PAR-shaped tilt - raw tilt", par.peak().gold - raw.peak().gold, 0.0,
                relation=">=", route="empirical (PAR, CLAIMS #28)")
    if ctx.figures_enabled:
        from mdpkit.plotting import subplots

        fig, ax = subplots()
        d = bon_c.d
        ax.plot(d, bon_c.gold - bon_c.gold_ref, "o", ms=3, label="exact gold (BoN)")
        ax.plot(d, bon_c.proxy - bon_c.proxy_ref, "-", label="proxy (BoN)")
        ax.plot(d, bon_c.fit().predict(d), "k--", label=r"$d(\alpha - \beta d)$")
        ax.set(xlabel=r"$\sqrt{KL}$", ylabel="gain over reference", title="tail-wrong proxy")
        ax.legend(fontsize=7)
        ctx.savefig(fig, "hacking_gold_vs_proxy")


# ----------------------------------------------------------------- #25, #26, #27


@register(
    "hacking_ensembles",
    paper="Coste et al. (2024) RM ensembles; Eisenstein et al. (2024) 'Helping or herding?'; "
          "CLAIMS #25-#27",
    statement="With errors = shared + independent, the mean ensemble's first-order gold gain "
              "per sqrt(KL) is sqrt(2) sigma_g^2 / sqrt(sigma_g^2 + sigma_s^2 + sigma_i^2/M): "
              "ensembling removes the independent part only, so hacking remains in proportion "
              "to the shared-error variance.",
)
def check_hacking_ensembles(ctx: CheckContext) -> None:
    lam = 1e-5
    worst = 0.0
    for share in (0.0, 0.5, 0.9):
        ss, si = math.sqrt(share), math.sqrt(1.0 - share)
        for m in (1, 3):
            ens = rh.ensemble_proxy(m, sigma_shared=ss, sigma_independent=si, n_gold=8,
                                    n_shared=6, n_independent=4)
            c = rh.gold_reward_curve(ens, "tilted", transform=rh.mean_ensemble(), beta=[1 / lam])
            slope = (c.gold[0] - c.gold_ref) / math.sqrt(c.kl[0])
            pred = math.sqrt(2.0) / math.sqrt(1.0 + share + (1.0 - share) / m)
            worst = max(worst, abs(slope / pred - 1.0))
    # Taylor remainder: relative error <= lam * (range of the proxy)^2 ~ 1e-5 * 100
    ctx.compare("max relative error of the first-order slope", worst, 0.0, tol=1e-3,
                route="closed form moments of the product grid")

    # empirical: heavy-tailed errors, tilts at equal KL = 2
    gaps = []
    for share in (0.0, 0.3, 0.6):
        ss, si = math.sqrt(share), math.sqrt(1.0 - share)
        ens = rh.ensemble_proxy(3, sigma_shared=ss, sigma_independent=si, noise="student_t",
                                df=3.0, n_gold=12, n_shared=12, n_independent=6)

        def at_kl2(law, tr):
            return float(rh.gold_reward_curve(law, "tilted", transform=tr, kl_max=2.0,
                                              n_points=2).gold[-1])

        g_mean = at_kl2(ens, rh.mean_ensemble())
        g_one = at_kl2(ens.member(0), None)
        g_oracle = at_kl2(ens, lambda law: law.gold)
        ctx.compare(f"gold at KL 2, mean ensemble - single model (shared {share})",
                    g_mean - g_one, 0.0, relation=">=", route="empirical (t3 errors)")
        ctx.compare(f"gold at KL 2, oracle - mean ensemble (shared {share})", g_oracle - g_mean,
                    0.0, relation=">=", route="empirical (t3 errors)")
        gaps.append(g_oracle - g_mean)
    ctx.compare("min increase of the oracle gap with the shared variance",
                float(np.min(np.diff(gaps))), 0.0, relation=">=", route="empirical (t3 errors)")


# ----------------------------------------------------------------- #22, C13


def _occupancy(P, pi, mu0, gamma):
    Ppi = np.einsum("sa,sat->st", pi, P)
    dS = np.linalg.solve(np.eye(P.shape[0]) - gamma * Ppi.T, (1 - gamma) * mu0)
    return dS[:, None] * pi


def _bound_sides(P, mu0, gamma, pi, pi_ref, R, Rt):
    """Both sides of C13 with NumPy only (independent of TabularMDP.occupancy)."""
    mu, mr = _occupancy(P, pi, mu0, gamma), _occupancy(P, pi_ref, mu0, gamma)
    mR, mT = np.sum(mr * R), np.sum(mr * Rt)
    sR, sT = np.sqrt(np.sum(mr * (R - mR) ** 2)), np.sqrt(np.sum(mr * (Rt - mT) ** 2))
    r = np.sum(mr * (R - mR) * (Rt - mT)) / (sR * sT)
    chi2 = np.sum((mu - mr) ** 2 / mr)
    lhs = np.sum((mu - mr) * R)
    rhs = r * sR / sT * np.sum((mu - mr) * Rt) - sR * np.sqrt(1 - r * r) * np.sqrt(chi2)
    return float(lhs), float(rhs)


@register(
    "hacking_correlated_proxy",
    paper="Laidlaw, Singhal, Dragan (2025) correlated proxies, Thm 5.1 and ORPO; CLAIMS #22, C13",
    statement="J(pi,R) - J(pi_ref,R) >= (r s_R/s_Rt)(J(pi,Rt) - J(pi_ref,Rt)) - s_R sqrt(1-r^2) "
              "sqrt(chi2(mu_pi||mu_ref)) for every policy; the chi2-occupancy optimizer at "
              "lambda = s_Rt sqrt(1-r^2)/r never loses gold reward, at s_Rt sqrt(1-r^2) it can "
              "lose the guarantee, and action-KL regularization can hack the tomato gridworld.",
    requires=("cvxpy",),
)
def check_hacking_correlated_proxy(ctx: CheckContext) -> None:
    import mdpkit as mk

    rng = np.random.default_rng(ctx.seed + 3)
    worst_slack, worst_err = math.inf, 0.0
    for _ in range(60 if ctx.quick else 1000):
        S, A = int(rng.integers(2, 9)), 3
        mdp = mk.random_mdp(n_states=S, n_actions=A, gamma=0.9, rng=int(rng.integers(2**31)))
        R = rng.normal(size=(S, A))
        Rt = rng.uniform(-1, 1) * R + rng.normal(size=(S, A))
        pr = rng.dirichlet(np.ones(A), size=S)
        pols = [rng.dirichlet(np.full(A, 0.3), size=S),
                mk.solve(mk.TabularMDP(mdp.P, Rt, gamma=0.9, mu0=mdp.mu0)).pi,
                mk.solve_kl_regularized(mk.TabularMDP(mdp.P, Rt, gamma=0.9, mu0=mdp.mu0), pr, 0.1).pi]
        for pi in pols:
            b = rh.chi2_occupancy_bound(mdp, pi, pr, R, Rt)
            lhs, rhs = _bound_sides(np.asarray(mdp.P), np.asarray(mdp.mu0), 0.9, pi, pr, R, Rt)
            worst_err = max(worst_err, abs(b.gold_gain - lhs), abs(b.lower_bound - rhs))
            worst_slack = min(worst_slack, b.slack)
    ctx.compare("max |package sides - NumPy sides|", worst_err, 0.0, tol=1e-10,
                route="closed form occupancy by a dense solve")
    ctx.compare("min slack over random, proxy-optimal and KL-regularized policies", worst_slack,
                0.0, relation=">=", tol=1e-10, route="Cauchy-Schwarz (module docstring)")

    # the constant: lambda* certifies, r * lambda* need not
    min_gold, min_lb_r = math.inf, math.inf
    for seed in range(8 if ctx.quick else 40):
        mdp = mk.random_mdp(n_states=6, n_actions=3, gamma=0.9, rng=seed)
        g = np.random.default_rng(1000 + seed)
        R = g.normal(size=(6, 3))
        Rt = 0.3 * R + g.normal(size=(6, 3))
        pr = mk.uniform_policy(mdp)
        st = rh.proxy_statistics(mdp, pr, R, Rt)
        if st.corr <= 0:
            continue
        lam = rh.chi2_regularization_coef(mdp, pr, R, Rt)
        b1 = rh.chi2_occupancy_bound(mdp, rh.chi2_occupancy_planner(mdp, pr, Rt, lam).pi, pr, R, Rt)
        b2 = rh.chi2_occupancy_bound(mdp, rh.chi2_occupancy_planner(mdp, pr, Rt, lam * st.corr).pi,
                                     pr, R, Rt)
        min_gold = min(min_gold, b1.gold_gain, b1.lower_bound)
        min_lb_r = min(min_lb_r, b2.lower_bound)
    # tolerance: the SOCP solver's feasibility/optimality tolerance (~1e-8)
    ctx.compare("min gold gain and lower bound at lambda* = s sqrt(1-r^2)/r", min_gold, 0.0,
                relation=">=", tol=1e-7, route="Thm 5.1 at the maximizer of the bound")
    ctx.compare("min lower bound at r lambda* = s sqrt(1-r^2)", min_lb_r, 0.0, relation="<=",
                tol=-1e-3, route="counterexample: the bound goes negative")

    env = rh.tomato_gridworld()
    mdp_p = mk.TabularMDP(env.mdp.P, env.proxy, gamma=env.mdp.gamma, mu0=env.mdp.mu0)
    lam = rh.chi2_regularization_coef(env.mdp, env.pi_ref, env.gold, env.proxy)
    plan = rh.chi2_occupancy_planner(env.mdp, env.pi_ref, env.proxy, lam)
    g_chi = rh.chi2_occupancy_bound(env.mdp, plan.pi, env.pi_ref, env.gold, env.proxy).gold_gain
    ctx.compare("tomato: gold gain of the chi2-OM optimizer at lambda*", g_chi, 0.0,
                relation=">=", tol=1e-7, route="Thm 5.1 (solver tolerance)")
    if not ctx.quick:  # ORPO's coefficients: {1, .5, .2, .1, .05, .02, .01} x the proxy's std
        sd = rh.proxy_statistics(env.mdp, env.pi_ref, env.gold, env.proxy).sigma_proxy
        worst = min(rh.chi2_occupancy_bound(
            env.mdp, rh.chi2_occupancy_planner(env.mdp, env.pi_ref, env.proxy, c * sd).pi,
            env.pi_ref, env.gold, env.proxy).gold_gain for c in (1, .5, .2, .1, .05, .02, .01))
        ctx.compare("tomato: min gold gain of chi2-OM at ORPO's coefficients", worst, 0.0,
                    relation=">=", tol=1e-7, route="Thm 5.1 for coef >= lambda*, empirical below")
    pi_kl = mk.solve_kl_regularized(mdp_p, env.pi_ref, 0.01).pi
    g_kl = rh.chi2_occupancy_bound(env.mdp, pi_kl, env.pi_ref, env.gold, env.proxy).gold_gain
    ctx.compare("tomato: gold gain of action-KL at beta = 0.01", g_kl, 0.0, relation="<=",
                route="empirical: action-KL can hack")


# ----------------------------------------------------------------- #23


@register(
    "hacking_starc",
    paper="Skalse et al. (2024) STARC; Ng, Harada, Russell (1999) potential shaping; CLAIMS #23",
    statement="d_STARC is invariant to potential shaping and positive scaling, and the R1-regret "
              "of an R2-optimal policy is <= 2 ||c(R1)||_2 d(R1, R2)/(1 - gamma).",
)
def check_hacking_starc(ctx: CheckContext) -> None:
    import mdpkit as mk

    rng = np.random.default_rng(ctx.seed + 4)
    worst_ratio, worst_inv, worst_opt = -math.inf, 0.0, 0.0
    for _ in range(40 if ctx.quick else 400):
        S, A = int(rng.integers(2, 7)), int(rng.integers(2, 4))
        gamma = float(rng.choice([0.5, 0.9]))
        mdp = mk.random_mdp(n_states=S, n_actions=A, gamma=gamma, rng=int(rng.integers(2**31)))
        R1 = rng.normal(size=(S, A, S))
        R2 = R1 + rng.uniform(0, 1.5) * rng.normal(size=(S, A, S))
        out = rh.starc_regret_bound(mdp, R1, R2)
        worst_ratio = max(worst_ratio, out.regret - out.bound)
        phi = rng.normal(size=S) * 3
        R3 = rng.uniform(0.1, 10) * rh.potential_shaping(mdp, R1, phi)
        worst_inv = max(worst_inv, rh.starc_distance(mdp, R1, R3))
        # Ng et al.: the shaped MDP's optimal Q is Q* - phi(s) (NumPy value iteration)
        r_sh = rh.expected_reward(mdp, rh.potential_shaping(mdp, R1, phi))
        q1 = _np_q_star(np.asarray(mdp.P), rh.expected_reward(mdp, R1), gamma)
        q2 = _np_q_star(np.asarray(mdp.P), r_sh, gamma)
        worst_opt = max(worst_opt, float(np.max(np.abs(q2 - (q1 - phi[:, None])))))
    ctx.compare("max regret - STARC bound", worst_ratio, 0.0, relation="<=", tol=1e-9,
                route="derived bound 2||c(R1)|| d / (1-gamma)")
    ctx.compare("max d(R, a * shaped R)", worst_inv, 0.0, tol=1e-9, route="shaping invariance")
    ctx.compare("max |Q*_shaped - (Q* - phi)|", worst_opt, 0.0, tol=1e-8,
                route="Ng et al. (1999), NumPy value iteration")


def _np_q_star(P, r, gamma, n_iter=2000):
    V = np.zeros(P.shape[0])
    for _ in range(n_iter):
        Q = r + gamma * P @ V
        V = Q.max(axis=1)
    return r + gamma * P @ V
