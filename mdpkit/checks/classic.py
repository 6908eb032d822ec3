"""Checks of the classic MDP toolbox.

The LP with its certificate, infeasible actions, average reward, and the
sample-complexity rate of the Q-learning family.

Predicted values come from independent routes: cvxpy programs over values, a HiGHS
program over normalized occupancy measures written here, brute-force enumeration of
deterministic policies with NumPy linear solves, pymdptoolbox's published instances with
their closed forms, and the rate theorems of the Q-learning literature.
"""

from __future__ import annotations

import itertools

import numpy as np

from ._registry import CheckContext, register


def enumerate_optimum(P: np.ndarray, r: np.ndarray, gamma: float) -> np.ndarray:
    """Maximize (I - gamma P_pi)^{-1} r_pi over feasible deterministic policies (NumPy only)."""
    S = r.shape[0]
    best = np.full(S, -np.inf)
    for pol in itertools.product(*[np.flatnonzero(np.isfinite(r[s])) for s in range(S)]):
        Pp, rp = P[np.arange(S), pol], r[np.arange(S), pol]
        best = np.maximum(best, np.linalg.solve(np.eye(S) - gamma * Pp, rp))
    return best


def occupancy_highs(P: np.ndarray, r: np.ndarray, mu0: np.ndarray, gamma: float) -> tuple[float, np.ndarray]:
    """Maximize <d, r> over normalized occupancies (dense HiGHS program); return it over 1 - gamma, and d."""
    from scipy.optimize import linprog

    S, A = r.shape
    Aeq = np.kron(np.eye(S), np.ones((1, A))) - gamma * P.reshape(S * A, S).T
    res = linprog(-r.ravel(), A_eq=Aeq, b_eq=(1 - gamma) * mu0, bounds=(0, None), method="highs")
    return float(-res.fun / (1 - gamma)), np.asarray(res.x).reshape(S, A)


@register(
    "classic_lp_certificate",
    paper="Puterman (2005), Sec. 6.9 (primal and dual LP), Sec. 6.6.3 (MacQueen bounds); QuantEcon DiscreteDP",
    statement="solve(method='linear_programming') returns V* (primal LP) with the optimal policy from the "
    "dual occupancy LP and a vanishing duality gap; every discounted solve's bounds bracket V*, also with "
    "infeasible actions (r = -inf), where V* is the best feasible deterministic policy.",
)
def classic_lp_certificate(ctx: CheckContext) -> None:
    import mdpkit as mk

    from ._oracles import lp_optimal_values

    rng = np.random.default_rng(ctx.seed)
    gap, err_cvx, err_occ, err_mask, bracket = 0.0, 0.0, 0.0, 0.0, np.inf
    for _ in range(2 if ctx.quick else 6):
        S, A = 6, 3
        P = rng.dirichlet(np.ones(S), size=(S, A))
        r = rng.normal(size=(S, A))
        mdp = mk.TabularMDP(P, r.copy(), gamma=0.9)
        res = mk.solve(mdp, method="linear_programming")
        gap = max(gap, abs(res.trace["duality_gap"]))
        err_cvx = max(err_cvx, float(np.abs(res.V - lp_optimal_values(mdp)).max()))
        err_occ = max(err_occ, abs(float(mdp.mu0 @ mdp.evaluate(res.pi)) - occupancy_highs(P, r, mdp.mu0, 0.9)[0]))
        r[rng.random((S, A)) < 0.3] = -np.inf
        r[:, 0] = np.where(np.isfinite(r).any(1), r[:, 0], 0.0)
        masked = mk.TabularMDP(P, r, gamma=0.9)
        v_enum = enumerate_optimum(P, r, 0.9)
        for method in ("linear_programming", "policy_iteration", "value_iteration", "gauss_seidel"):
            out = mk.solve(masked, method=method, tol=1e-3)
            err_mask = max(err_mask, float(np.abs(out.V - v_enum).max() - out.error_bound))
            lo, hi = out.bounds
            bracket = min(bracket, float(np.min(v_enum - lo)), float(np.min(hi - v_enum)))
    ctx.compare("max |duality gap| (HiGHS)", gap, 0.0, tol=1e-8, route="HiGHS feasibility tolerance 1e-10 x S")
    ctx.compare("max |V_LP - V_cvxpy|", err_cvx, 0.0, tol=1e-6, route="cvxpy primal LP (solver accuracy ~1e-8)")
    ctx.compare("max |mu0.V^pi_dual - occupancy LP|", err_occ, 0.0, tol=1e-8,
                route="HiGHS normalized occupancy LP (separate formulation)")
    ctx.compare("masked: max (|V - V*| - certified error bound)", err_mask, 0.0, tol=1e-9, relation="<=",
                route="enumeration of feasible deterministic policies")
    ctx.compare("masked: min distance of V* inside [lower, upper]", bracket, 0.0, tol=1e-9, relation=">=",
                route="enumeration of feasible deterministic policies")


@register(
    "classic_average_reward",
    paper="Puterman (2005), Ch. 8 (Thm. 8.2.3 Laurent series, Sec. 8.5-8.6 RVI and PI); pymdptoolbox forest/small",
    statement="Relative value iteration and unichain policy iteration reach the optimal gain: 3.24 on "
    "forest() (stationary law (0.1, 0.09, 0.81)) and 7/1.8 on small(); on random unichain MDPs the gain, "
    "bias and sp(h*) equal the enumeration of stationary laws, and (1-gamma) V*_gamma -> g* with error "
    "at most (1-gamma)(max|h| + 1).",
)
def classic_average_reward(ctx: CheckContext) -> None:
    import mdpkit as mk

    for method in ("policy_iteration", "relative_value_iteration"):
        ctx.compare(f"forest(): gain ({method})", mk.solve_average_reward(mk.forest(), method=method).gain,
                    4 * 0.81, tol=1e-9, route="closed form: r1 x stationary mass 0.81 of the oldest state")
        ctx.compare(f"small(): gain ({method})", mk.solve_average_reward(mk.small(), method=method).gain,
                    7 / 1.8, tol=1e-9, route="closed form: (0.8 x 10 - 1) / 1.8")
    rng = np.random.default_rng(ctx.seed + 1)
    worst_g, worst_h, worst_lim = 0.0, 0.0, -np.inf
    for _ in range(2 if ctx.quick else 6):
        S, A = 5, 3
        P = rng.dirichlet(np.ones(S), size=(S, A))
        r = rng.normal(size=(S, A))
        g_ref, h_ref, _ = enumerate_gain(P, r)
        mdp = mk.TabularMDP(P, r, gamma=0.9)
        res = mk.solve_average_reward(mdp, method="relative_value_iteration")
        worst_g = max(worst_g, abs(res.gain - g_ref))
        worst_h = max(worst_h, float(np.abs(res.bias - h_ref).max()))
        for gamma in (0.99, 0.999):
            V = mk.solve(mk.TabularMDP(P, r, gamma=gamma), method="policy_iteration").V
            slack = (1 - gamma) * (np.abs(h_ref).max() + 1) - np.abs((1 - gamma) * V - g_ref).max()
            worst_lim = max(worst_lim, -float(slack))
    ctx.compare("random unichain: max |gain - enumeration|", worst_g, 0.0, tol=1e-9,
                route="NumPy stationary laws of every deterministic policy")
    ctx.compare("random unichain: max |bias - fundamental-matrix bias|", worst_h, 0.0, tol=1e-7,
                route="NumPy (I - P + 1 d^T)^{-1}(r - g)")
    ctx.compare("max (|(1-gamma)V_gamma - g*| - (1-gamma)(max|h|+1))", worst_lim, 0.0, relation="<=",
                route="Laurent expansion V_gamma = g/(1-gamma) + h + O(1-gamma)")
    if ctx.figures_enabled:
        _vanishing_discount_figure(ctx)


def _vanishing_discount_figure(ctx: CheckContext) -> None:
    """|(1 - gamma) V*_gamma(s) - g*| against 1 - gamma on forest() and small()."""
    import mdpkit as mk
    from mdpkit import plotting

    fig, ax = plotting.subplots()
    eps = np.geomspace(1e-4, 0.3, 12)
    for name, make in (("forest()", mk.forest), ("small()", mk.small)):
        g = mk.solve_average_reward(make()).gain
        err = [np.abs(e * mk.solve(make(gamma=1 - e), method="policy_iteration").V - g).max() for e in eps]
        ax.plot(eps, err, marker="o", label=f"{name}, g* = {g:.4g}")
    ax.plot(eps, eps * 3, "k--", label="slope 1")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$1 - \gamma$")
    ax.set_ylabel(r"$\max_s |(1-\gamma) V^*_\gamma(s) - g^*|$")
    ax.set_title("vanishing discount: (1 - gamma) V* -> optimal gain")
    ax.legend()
    ctx.savefig(fig, "classic_average_reward")


def enumerate_gain(P: np.ndarray, r: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Best gain over feasible deterministic policies, the bias of the maximizer and the policy.

    Stationary laws by least squares on ``d^T (I - P_pi) = 0, sum d = 1``; bias by the
    fundamental matrix ``h = (I - P_pi + 1 d^T)^{-1} (r_pi - g)`` (so ``d^T h = 0``). NumPy only.
    """
    S = r.shape[0]
    best: tuple[float, np.ndarray, np.ndarray] = (-np.inf, np.zeros(S), np.zeros(S, dtype=int))
    for pol in itertools.product(*[np.flatnonzero(np.isfinite(r[s])) for s in range(S)]):
        Pp, rp = P[np.arange(S), pol], r[np.arange(S), pol]
        M = np.vstack([(np.eye(S) - Pp).T, np.ones(S)])
        d = np.linalg.lstsq(M, np.r_[np.zeros(S), 1.0], rcond=None)[0]
        g = float(d @ rp)
        if g > best[0] + 1e-12:
            best = (g, np.linalg.solve(np.eye(S) - Pp + np.outer(np.ones(S), d), rp - g), np.array(pol))
    return best


@register(
    "classic_qlearning_rate",
    paper="Li et al. (2021/2023) 'Is Q-learning minimax optimal?', Thm. 1 (rescaled linear rate); Azar et al. "
    "(2011) Thm. 1 (speedy); Wainwright (2019) (variance-reduced)",
    statement="On a generative model, ||Q_T - Q*||_inf falls like (samples)^(-1/2) up to log factors for "
    "Q-learning with the rescaled-linear rate 1/(1+(1-gamma)t) and for speedy Q-learning: the log-log slope "
    "of the per-run errors over the last two decades of samples is -1/2 (empirical tolerance, see note); "
    "variance-reduced Q-learning's error falls at least that fast over its last epochs.",
)
def classic_qlearning_rate(ctx: CheckContext) -> None:
    import mdpkit as mk

    mdp = mk.random_mdp(n_states=6, n_actions=2, gamma=0.6, rng=ctx.seed)
    T, n_runs = (30_000, 12) if ctx.quick else (200_000, 40)
    runs = {"Q-learning (rescaled linear)": mk.learners.q_learning(mdp, n_iterations=T, n_runs=n_runs,
                                                                    n_checkpoints=30, rng=ctx.seed),
            "speedy Q-learning": mk.learners.speedy_q_learning(mdp, n_iterations=T, n_runs=n_runs,
                                                               n_checkpoints=30, rng=ctx.seed + 1)}
    for name, run in runs.items():
        n = run.n_samples
        sel = n >= n[-1] / 100
        slopes = np.array([np.polyfit(np.log(n[sel]), np.log(e[sel]), 1)[0] for e in run.error])
        se = float(slopes.std(ddof=1) / np.sqrt(slopes.size))
        # tolerance: 3 SE of the mean per-run slope, plus 0.1 for what the rate hides: the sqrt(log)
        # factor (it flattens the slope by at most 1/(2 ln n) ~ 0.05 here) and the O(1/t) bias term of
        # the step sizes (it steepens it). Not derived exactly: this comparison is empirical.
        ctx.compare(f"{name}: error-vs-samples log-log slope", float(slopes.mean()), -0.5, tol=3 * se + 0.1,
                    route="rate theorem (T^(-1/2) up to logs)", note="empirical tolerance")
    vr = mk.learners.variance_reduced_q_learning(mdp, n_epochs=5 if ctx.quick else 6, n_runs=n_runs,
                                                 rng=ctx.seed + 2)
    ql = runs["Q-learning (rescaled linear)"]
    last = slice(-3, None)  # the last three epochs (recentring batches growing 4x per epoch)
    slopes = np.array([np.polyfit(np.log(vr.n_samples[last]), np.log(e[last]), 1)[0] for e in vr.error])
    se = float(slopes.std(ddof=1) / np.sqrt(slopes.size))
    # the error falls at least as fast as samples^(-1/2) (faster while the geometric phase lasts);
    # 0.05 allows the sqrt(log) factor, 3 SE the Monte-Carlo spread of the per-run slopes
    ctx.compare("variance-reduced Q-learning: log-log slope over the last 3 epochs", float(slopes.mean()), -0.5,
                tol=3 * se + 0.05, relation="<=", route="Wainwright (2019): error O(samples^(-1/2))",
                note="empirical tolerance")
    if ctx.figures_enabled:
        from mdpkit import plotting

        fig, ax = plotting.subplots()
        for name, run in [*runs.items(), ("variance-reduced Q-learning", vr)]:
            m = run.error.mean(0)
            s = run.error.std(0, ddof=1) / np.sqrt(run.n_runs)
            ax.plot(run.n_samples, m, marker="o" if run is vr else None, label=name)
            ax.fill_between(run.n_samples, m - 3 * s, m + 3 * s, alpha=0.2, lw=0)
        n = ql.n_samples
        ax.plot(n, ql.error.mean(0)[-1] * np.sqrt(n[-1] / n), "k--", label="slope -1/2")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("samples drawn")
        ax.set_ylabel(r"$\|Q_T - Q^*\|_\infty$")
        ax.set_title(f"S=6, A=2, gamma=0.6, {n_runs} runs (± 3 SE)")
        ax.legend()
        ctx.savefig(fig, "classic_qlearning_rate")
