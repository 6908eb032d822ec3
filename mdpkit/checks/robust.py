"""Checks of robust MDPs under f-divergence uncertainty and of the offline learner R2PVI.

Predicted values come from independent routes: cvxpy primal programs for the inner
problems, NumPy/SciPy implementations of the closed forms and brute-force worst-case
MDPs for the limits, exact linear-system policy evaluation under the returned
worst-case kernels, and closed-form rates for the learners.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._registry import CheckContext, register

_DIVS = ("tv", "kl", "chi2")


def _div(name: str):
    from mdpkit.divergences import KL, ChiSquare, TotalVariation

    return {"tv": TotalVariation(), "kl": KL(), "chi2": ChiSquare()}[name]


def primal_inner(name: str, v: np.ndarray, p: np.ndarray, par: float, ball: bool) -> float:
    """Solve the inner problem as a cvxpy program (LP for TV, exp-cone for KL, SOC for chi2).

    ``ball=False``: ``min_q <q, v> + par * D(q || p)``; ``ball=True``:
    ``min <q, v>`` s.t. ``D(q || p) <= par``. KL and chi-square are infinite off the
    support of ``p``, so ``q`` vanishes there; TV may put mass anywhere.
    """
    import cvxpy as cp

    n = v.shape[0]
    q = cp.Variable(n, nonneg=True)
    cons = [cp.sum(q) == 1]
    sup = p > 0
    if name == "tv":
        D = 0.5 * cp.norm1(q - p)
    else:
        if not np.all(sup):
            cons.append(q[~sup] == 0)
        if name == "kl":
            D = cp.sum(cp.rel_entr(q[sup], p[sup]))
        else:
            D = cp.sum(cp.multiply(1.0 / p[sup], cp.square(q[sup] - p[sup])))
    if ball:
        prob = cp.Problem(cp.Minimize(q @ v), [*cons, D <= par])
    else:
        prob = cp.Problem(cp.Minimize(q @ v + par * D), cons)
    with warnings.catch_warnings():  # "solution may be inaccurate" at 1e-11: the tolerance is 1e-6
        warnings.simplefilter("ignore", UserWarning)
        prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
    return float(prob.value)


def _random_law(rng: np.random.Generator, n: int, zeros: bool) -> np.ndarray:
    p = rng.dirichlet(np.full(n, rng.uniform(0.3, 3.0)))
    if zeros and n > 2:
        p[rng.choice(n, size=max(1, n // 4), replace=False)] = 0.0
        if p.sum() == 0:
            p[0] = 1.0
    p[p < 1e-3] = 0.0  # exact zeros instead of tiny masses (conic solvers lose accuracy there)
    return p / p.sum()


def _lagrangian_ball(name: str, v: np.ndarray, p: np.ndarray, rho: float) -> float:
    """``sup_{lam >= 0} pen(lam) - lam rho`` by a scalar search (TV: over its breakpoints)."""
    from scipy.optimize import minimize_scalar

    from mdpkit.divergences import penalized_inf

    div = _div(name)
    if name == "tv":  # piecewise linear in lam: the sup sits at a breakpoint lam = v_j - min v
        grid = np.unique(v - v.min())
        return max([float(v.min())] + [penalized_inf(div, v, p, lm)[0] - lm * rho for lm in grid if lm > 0])
    vs = v[p > 0]
    span = float(np.ptp(vs))
    if span == 0.0:
        return float(vs[0])

    def neg(t: float) -> float:
        return -(penalized_inf(div, v, p, np.exp(t))[0] - np.exp(t) * rho)

    r = minimize_scalar(neg, bounds=(np.log(span) - 25, np.log(span) + 25), method="bounded",
                        options={"xatol": 1e-10})
    return max(-float(r.fun), float(vs.min()))  # the lam -> 0 limit is min V on the support


@register(
    "rrmdp_dual_closed_forms",
    paper="Tang, Liu, Xu (ICML 2025, R2PVI): closed-form duals of the regularized inner "
    "problem) and the Lagrangian link to constrained DRMDPs; CLAIMS.md C6",
    statement="For random V in [0, H]^S, mu0 in Delta(S) (with zeros) and lam in [0.05, 5]: "
    "inf_mu E_mu V + lam D(mu||mu0) equals E[min(V, min V + lam)] (TV), -lam log E e^{-V/lam} (KL), "
    "sup_alpha E[V]_alpha - Var([V]_alpha)/(4 lam) (chi2); the ball forms equal their primal programs "
    "and sup_lam {penalized(lam) - lam rho}; the returned worst-case laws attain the values.",
    requires=("cvxpy",),
)
def rrmdp_dual_closed_forms(ctx: CheckContext) -> None:
    from mdpkit.divergences import ball_inf, penalized_inf

    rng = np.random.default_rng(ctx.seed)
    n_inst = 4 if ctx.quick else 40
    H = 3.0
    err = {(d, b): 0.0 for d in _DIVS for b in (False, True)}
    attain = 0.0
    lagr = {d: 0.0 for d in _DIVS}
    for k in range(n_inst):
        S = int(rng.integers(2, 12 if ctx.quick else 51))
        v = rng.uniform(0, H, S)
        if k % 5 == 4:
            v[:] = v[0]  # constant values
        p = _random_law(rng, S, zeros=k % 3 == 0)
        lam = float(rng.uniform(0.05, 5.0))
        rho = float(rng.uniform(0.01, 1.0))
        for name in _DIVS:
            div = _div(name)
            for ball, par in ((False, lam), (True, rho)):
                val_, q = (ball_inf if ball else penalized_inf)(div, v, p, par)
                val = float(val_)  # v is one vector: a scalar value
                err[name, ball] = max(err[name, ball], abs(val - primal_inner(name, v, p, par, ball)))
                D = float(div.value(q, p))
                obj = float(q @ v) + (0.0 if ball else par * D)
                slack = max(D - par, 0.0) if ball else 0.0
                attain = max(attain, abs(obj - val), slack)
            # Lagrangian link: ball(rho) = sup_{lam >= 0} pen(lam) - lam rho (concave in lam)
            ball_val = float(ball_inf(div, v, p, rho)[0])
            lag = _lagrangian_ball(name, v, p, rho)
            lagr[name] = max(lagr[name], abs(ball_val - lag))
    for (name, ball), e in err.items():
        form = "ball" if ball else "penalized"
        ctx.compare(f"max |{name} {form} dual - primal|", e, 0.0, tol=1e-6,
                    route="cvxpy primal program (Clarabel, tol 1e-11)")
    ctx.compare("max |<q*, v> + pen - value|, ball slack", attain, 0.0, tol=1e-9,
                route="divergence of the returned law (D_f.value)")
    for name, e in lagr.items():
        ctx.compare(f"max |{name} ball - sup_lam(pen - lam rho)|", e, 0.0, tol=1e-7,
                    route="Lagrangian dual, bounded scalar search over log lam")


def _worst_support_values(mdp, gamma: float, tv: bool, n_iter: int = 2000) -> np.ndarray:
    """Brute-force lam -> 0 limit: Q = r + gamma min_{s'} V(s') over supp P(.|s,a) (TV: over all s')."""
    P, r = mdp.P, mdp.r
    V = np.zeros(mdp.n_states)
    mask = np.where(P > 0, 0.0, np.inf)
    for _ in range(n_iter):
        nxt = np.full(r.shape, V.min()) if tv else (V[None, None, :] + mask).min(axis=2)
        V = (r + gamma * nxt).max(axis=1)
    return V


@register(
    "robust_mdp_limits_and_contraction",
    paper="Iyengar (2005) and Nilim-El Ghaoui (2005) (robust DP); Tang, Liu, Xu (ICML 2025) "
    "(limits of the regularized dual); He, Liu, Xu (doubly regularized MDPs); CLAIMS.md B1, B6",
    statement="The (s,a)-rectangular robust Bellman operator (penalized and ball; TV, KL, chi2) is a "
    "gamma-contraction; lam -> inf and rho = 0 give the nominal solution, lam -> 0 the worst case over "
    "the support (TV: min V); the robust value of every policy is <= its nominal value; the robust "
    "value is the nominal value of the greedy policy under the returned worst-case kernel (plus the "
    "penalty); the doubly regularized solution solves beta-logsumexp(r + gamma * robust dual).",
)
def robust_mdp_limits_and_contraction(ctx: CheckContext) -> None:
    import mdpkit as mk

    gamma = 0.9
    S, A = (4, 2) if ctx.quick else (5, 3)
    rng = np.random.default_rng(ctx.seed)
    mdps = [mk.random_mdp(n_states=S, n_actions=A, gamma=gamma, rng=ctx.seed + i, concentration=0.5)
            for i in range(2 if ctx.quick else 4)]
    tol = 1e-10
    st = {"ratio": 0.0, "lim_inf": 0.0, "lim_zero": 0.0, "nominal_gap": 0.0, "worst_gap": 0.0, "dom": -np.inf,
          "lim_inf_tol": 0.0, "lim_zero_tol": 0.0}
    for mdp in mdps:
        nom = mk.solve(mdp, tol=tol)
        for name in _DIVS:
            _robust_operator_stats(st, mdp, name, rng, tol)
            _robust_limit_stats(st, mdp, name, nom.V, tol)
    ctx.compare("max ||T V1 - T V2|| / ||V1 - V2||", st["ratio"], gamma, tol=1e-12, relation="<=",
                route="closed form (gamma)")
    ctx.compare("max |V_(lam=1e6) - V_nominal|", st["lim_inf"], 0.0, tol=st["lim_inf_tol"],
                route="nominal VI; Hoeffding bound span^2/(8 lam)")
    ctx.compare("max |V_(rho=0) - V_nominal|", st["nominal_gap"], 0.0, tol=4 * tol, route="nominal VI")
    ctx.compare("max |V_(lam=1e-9) - V_worst-support|", st["lim_zero"], 0.0, tol=st["lim_zero_tol"],
                route="brute-force min over the support (TV: all states)")
    ctx.compare("max_pi max_s V_robust^pi - V_nominal^pi", st["dom"], 0.0, tol=1e-9, relation="<=",
                route="exact nominal policy evaluation, all deterministic policies")
    ctx.compare("max |V_robust - V^pi*(P_worst, r + penalty)|", st["worst_gap"], 0.0, tol=1e-8,
                route="linear solve under the returned worst-case kernel")
    _doubly_regularized_vs_numpy(ctx, mdps[0], rng)


def _robust_operator_stats(st: dict[str, float], mdp: Any, name: str, rng: np.random.Generator,
                           tol: float) -> None:
    """Accumulate one divergence's operator statistics as maxima into ``st``.

    Contraction ratio, worst-case-kernel consistency and robust <= nominal, penalized and
    ball.
    """
    import itertools

    import mdpkit as mk
    from mdpkit.solvers import robust_bellman, robust_policy_evaluation

    S, A, gamma, P = mdp.n_states, mdp.n_actions, mdp.gamma, mdp.P
    div = _div(name)
    kws: tuple[dict[str, Any], ...] = ({"lam": 0.5}, {"rho": 0.2})
    for kw in kws:
        for _ in range(5):
            V1, V2 = rng.normal(size=S) * 5, rng.normal(size=S) * 5
            T1 = robust_bellman(V1, mdp, div=div, **kw)
            T2 = robust_bellman(V2, mdp, div=div, **kw)
            st["ratio"] = max(st["ratio"], np.abs(T1 - T2).max() / np.abs(V1 - V2).max())
        res = mk.solve_robust(mdp, div=div, **kw, tol=tol, return_worst_case=True)
        # the robust value is the nominal value of pi* under P_worst (+ the penalty)
        Pw = res.trace["P_worst"]
        r_eff = mdp.r.copy()
        if "lam" in kw:
            r_eff = r_eff + gamma * kw["lam"] * div.value(Pw, P)
        V_w = mk.TabularMDP(Pw, r_eff, gamma=gamma).evaluate(res.pi)
        st["worst_gap"] = max(st["worst_gap"], float(np.abs(V_w - res.V).max()))
        # robust <= nominal for every deterministic policy
        for acts in itertools.product(range(A), repeat=S):
            pi = np.array(acts)
            Vr = robust_policy_evaluation(mdp, pi, div=div, **kw, tol=tol)
            st["dom"] = max(st["dom"], float((Vr - mdp.evaluate(pi)).max()))


def _robust_limit_stats(st: dict[str, float], mdp: Any, name: str, V_nom: np.ndarray, tol: float) -> None:
    """Accumulate one divergence's limit errors as maxima into ``st``.

    The ``lam -> inf``, ``rho = 0`` and ``lam -> 0`` limits, with their theoretical
    tolerances.
    """
    import mdpkit as mk

    gamma, div = mdp.gamma, _div(name)
    span = float(np.ptp(V_nom))
    pmin_row = np.where(mdp.P > 0, mdp.P, 1.0).min(axis=2)  # smallest positive mass per row
    # lam -> inf: |pen - E v| <= span^2 / (8 lam) (Hoeffding), so |V - V_nom| <= gamma span^2/(8 lam (1-gamma))
    lam_big = 1e6
    V_big = mk.solve_robust(mdp, div=div, lam=lam_big, tol=tol).V
    st["lim_inf"] = max(st["lim_inf"], float(np.abs(V_big - V_nom).max()))
    st["lim_inf_tol"] = max(st["lim_inf_tol"], gamma * span**2 / (8 * lam_big * (1 - gamma)) + 4 * tol)
    # rho = 0: nominal
    V_rho0 = mk.solve_robust(mdp, div=div, rho=0.0, tol=tol).V
    st["nominal_gap"] = max(st["nominal_gap"], float(np.abs(V_rho0 - V_nom).max()))
    # lam -> 0: worst case over the support (TV: over all states); the gap is at most
    # lam * C / (1 - gamma) with C = -log p_min (KL), (1 - p_min)/p_min (chi2), 1 (TV)
    lam_small = 1e-9
    V_small = mk.solve_robust(mdp, div=div, lam=lam_small, tol=tol).V
    V_w0 = _worst_support_values(mdp, gamma, tv=name == "tv")
    st["lim_zero"] = max(st["lim_zero"], float(np.abs(V_small - V_w0).max()))
    C = {"tv": 1.0, "kl": float(-np.log(pmin_row).max()),
         "chi2": float(((1 - pmin_row) / pmin_row).max())}[name]
    st["lim_zero_tol"] = max(st["lim_zero_tol"], gamma * lam_small * C / (1 - gamma) + 4 * tol)


def _doubly_regularized_vs_numpy(ctx: CheckContext, mdp: Any, rng: np.random.Generator) -> None:
    """Compare the doubly regularized solver with a NumPy/SciPy value iteration.

    Policy KL (beta) toward pi_ref + KL-penalized transitions (lam), against the closed
    forms.
    """
    from scipy.special import logsumexp

    import mdpkit as mk

    S, A, gamma = mdp.n_states, mdp.n_actions, mdp.gamma
    pi_ref = rng.dirichlet(np.ones(A), size=S)
    beta, lam = 0.3, 0.7
    res = mk.solve_robust(mdp, div=_div("kl"), lam=lam, tol=1e-12,
                          policy_reg=mk.PolicyRegularizer(_div("kl"), pi_ref, beta))
    V = np.zeros(S)
    for _ in range(3000):
        T = -lam * logsumexp(-V[None, None, :] / lam, b=mdp.P, axis=2)
        V = beta * logsumexp((mdp.r + gamma * T) / beta, b=pi_ref, axis=1)
    ctx.compare("doubly regularized: max |V - V_numpy|", float(np.abs(res.V - V).max()), 0.0, tol=1e-9,
                route="NumPy/SciPy logsumexp value iteration of the closed forms")


@register(
    "d_rectangular_exact_vi",
    paper="Tang, Liu, Xu (ICML 2025): the d-rectangular robust regularized Bellman equation; "
    "CLAIMS.md B1",
    statement="Exact backward induction with known factors, Q_h = phi^T(theta_h + w_h) with "
    "w_{h,i} = inf_mu <mu, V_{h+1}> + lam D(mu||mu_{h,i}), equals the value of its greedy policy in "
    "the tabular MDP with the worst-case factors and the penalty lam sum_i phi_i D(mu*_i||mu_i) as "
    "reward; with one-hot features it equals the (s,a)-rectangular tabular robust solution; it is "
    "<= the nominal value and tends to it as lam -> inf.",
)
def d_rectangular_exact_vi(ctx: CheckContext) -> None:
    import mdpkit as mk
    from mdpkit.solvers import solve_linear_robust

    lins = [mk.r2pvi_linear_mdp()] + [mk.random_linear_mdp(6, 3, 3, 4, rng=ctx.seed + i)
                                      for i in range(1 if ctx.quick else 4)]
    route_gap, onehot_gap, dom, lim = 0.0, 0.0, -np.inf, 0.0
    for lin in lins:
        tab = lin.to_tabular()
        nom = mk.solve(tab)
        for name in _DIVS:
            div = _div(name)
            for lam in (0.1, 1.0):
                res = solve_linear_robust(lin, div=div, lam=lam)
                assert res.trace is not None  # solve_linear_robust always records its trace
                mu_w = res.trace["mu_worst"]
                pen = np.stack([div.value(mu_w[h], lin.mu[h]) for h in range(lin.horizon)])  # (H, d)
                r_pen = tab.r + lam * np.einsum("sai,hi->hsa", lin.phi, pen)
                worst = mk.TabularMDP(lin.with_factors(mu_w).to_tabular().P, r_pen, horizon=lin.horizon,
                                      mu0=lin.mu0)
                route_gap = max(route_gap, float(np.abs(worst.evaluate(res.pi) - res.V).max()))
                dom = max(dom, float((res.V - nom.V).max()))
            big = solve_linear_robust(lin, div=div, lam=1e7)
            lim = max(lim, float(np.abs(big.V - nom.V).max()))
    ctx.compare("max |V_d-rect - V^pi(worst factors, r + penalty)|", route_gap, 0.0, tol=1e-10,
                route="tabular backward evaluation (TabularMDP.evaluate)")
    ctx.compare("max_s V_d-rect - V_nominal", dom, 0.0, tol=1e-12, relation="<=", route="nominal backward induction")
    ctx.compare("max |V_(lam=1e7) - V_nominal|", lim, 0.0, tol=1e-5,
                route="nominal backward induction; H * span^2/(8 lam)")
    # one-hot features: d = S*A, mu_{h,(s,a)} = P_h(.|s,a): d-rectangular = (s,a)-rectangular
    base = mk.random_mdp(n_states=4, n_actions=2, horizon=3, rng=ctx.seed, stationary=False)
    S, A, H = 4, 2, 3
    phi = np.eye(S * A).reshape(S, A, S * A)
    mu = base.P.reshape(H, S * A, S)
    theta = base.r.reshape(H, S * A)
    lin = mk.LinearMDP(phi, mu, theta, mu0=base.mu0)
    for name in _DIVS:
        penalties: tuple[dict[str, Any], ...] = ({"lam": 0.4}, {"rho": 0.3})  # lam= or rho=
        for kw in penalties:
            a = solve_linear_robust(lin, div=_div(name), **kw).V
            b = mk.solve_robust(base, div=_div(name), **kw).V
            onehot_gap = max(onehot_gap, float(np.abs(a - b).max()))
    ctx.compare("one-hot features: max |V_d-rect - V_(s,a)-rect|", onehot_gap, 0.0, tol=1e-12,
                route="tabular robust backward induction")


def _r2pvi_errors(lin, div, lam, Ks, reps, seed):
    import mdpkit as mk
    from mdpkit.solvers import solve_linear_robust

    exact = solve_linear_robust(lin, div=div, lam=lam).Q
    err = np.empty((len(Ks), reps))
    for a, K in enumerate(Ks):
        for b in range(reps):
            data = lin.collect(n_trajectories=K, rng=np.random.SeedSequence([seed, a, b]))
            est = mk.learners.R2PVI(div, lam, bonus_scale=0.0).fit(data, theta=lin.theta)
            err[a, b] = np.abs(est.Q_ - exact).max()
    return err


def robustness_curves(n_reps: int, qs: np.ndarray, seed: int, *, n_trajectories: int = 100,
                      lam: float = 0.1) -> dict[str, np.ndarray]:
    """Exact test return ``V^pi_0(x_1)`` of learned policies on the perturbed R2PVI MDPs.

    Returns ``{learner: array (n_reps, len(qs))}`` for PEVI and R2PVI-TV/KL/chi2
    (beta = 1, ridge = 0.1, known theta, uniform behaviour data, as in the paper).
    """
    import mdpkit as mk

    lin = mk.r2pvi_linear_mdp()
    tests = [mk.r2pvi_linear_mdp(perturbation=float(q)).to_tabular() for q in qs]
    learners = {"PEVI": mk.learners.PEVI()}
    for name, label in (("tv", "R2PVI-TV"), ("kl", "R2PVI-KL"), ("chi2", "R2PVI-chi2")):
        learners[label] = mk.learners.R2PVI(_div(name), lam)
    out = {k: np.empty((n_reps, len(qs))) for k in learners}
    for rep in range(n_reps):
        data = lin.collect(n_trajectories=n_trajectories, rng=np.random.SeedSequence([seed, rep]))
        for k, learner in learners.items():
            learner.fit(data, theta=lin.theta)
            for j, T in enumerate(tests):
                out[k][rep, j] = T.evaluate(learner.pi_)[0, 0]
    return out


@register(
    "r2pvi_consistency_bound_robustness",
    paper="Tang, Liu, Xu (ICML 2025): R2PVI suboptimality O(K^{-1/2}) and the simulated linear MDP "
    "robustness experiment; CLAIMS.md C7",
    statement="(i) Without bonus, ||Q_hat_h - Q*_lam,h||_inf of R2PVI (TV, KL, chi2) decays like "
    "K^{-1/2} in the number of trajectories K (log-log slope -1/2 +- 0.1); (iii) on the paper's "
    "instance, the drop of the test reward from perturbation q = 0 to q = 1 is smaller for R2PVI "
    "than for PEVI.",
)
def r2pvi_consistency_bound_robustness(ctx: CheckContext) -> None:
    import mdpkit as mk
    from mdpkit.theory import loglog_slope, mean_and_se

    lin = mk.random_linear_mdp(8, 4, 3, 3, rng=ctx.seed)
    Ks = [200, 600, 2000, 6000] if ctx.quick else [100, 200, 500, 1000, 2000, 5000, 10000]
    reps = 6 if ctx.quick else 30
    errs = {}
    for name in _DIVS:
        err = _r2pvi_errors(lin, _div(name), 1.0, Ks, reps, ctx.seed)
        errs[name] = err
        fit = loglog_slope(Ks, err.mean(axis=1))
        ctx.compare(f"R2PVI-{name}: log-log slope of mean ||Q_hat - Q*||_inf vs K", fit.slope, -0.5,
                    tol=0.15 if ctx.quick else 0.1, route="closed-form rate K^{-1/2} (R2PVI guarantee)")
    qs = np.array([0.0, 1.0]) if ctx.quick else np.linspace(0.0, 1.0, 11)
    curves = robustness_curves(5 if ctx.quick else 20, qs, ctx.seed)
    drop = {k: v[:, 0] - v[:, -1] for k, v in curves.items()}
    for k in ("R2PVI-TV", "R2PVI-KL", "R2PVI-chi2"):
        m, se = mean_and_se(drop[k] - drop["PEVI"])
        ctx.compare(f"mean drop(q: 0 -> 1) {k} - PEVI (+- {float(se):.3f} SE)", float(m), 0.0,
                    relation="<=", tol=0.0, route="PEVI on the same datasets (paired)")
    if ctx.figures_enabled:
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        from mdpkit import plotting

        fig, axes = plotting.subplots(1, 2, figsize=(10.0, 3.6))
        for k, v in curves.items():
            m, se = mean_and_se(v)
            axes[0].errorbar(qs, m, yerr=se, marker="o", ms=3, capsize=2, label=k)
        axes[0].set(xlabel="perturbation q", ylabel="average test reward (exact return)",
                    title=f"robustness ({v.shape[0]} datasets, K = 100)")
        axes[0].legend()
        labels = {"tv": "TV", "kl": "KL", "chi2": r"$\chi^2$"}
        for name, err in errs.items():
            m, se = mean_and_se(err.T)
            axes[1].errorbar(Ks, m, yerr=se, marker="o", ms=3, capsize=2, label=f"R2PVI-{labels[name]}")
        ref = errs["tv"].mean(axis=1)[0] * (np.asarray(Ks) / Ks[0]) ** -0.5
        axes[1].plot(Ks, ref, "k--", lw=1, label=r"$\propto K^{-1/2}$")
        axes[1].set(xscale="log", yscale="log", xlabel="trajectories K",
                    ylabel=r"$\|\hat Q - Q^*_\lambda\|_\infty$ (no bonus)",
                    title=r"consistency ($\lambda = 1$, random d-rectangular MDP)")
        axes[1].set_xticks(Ks, labels=[f"{k:g}" for k in Ks])
        axes[1].xaxis.set_minor_formatter(NullFormatter())
        axes[1].yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axes[1].yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
        axes[1].yaxis.set_minor_formatter(NullFormatter())
        axes[1].legend()
        fig.tight_layout()
        ctx.savefig(fig, "r2pvi_robustness_consistency")
