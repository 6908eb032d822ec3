"""Checks of demonstration-regularized RL (CLAIMS.md B2, check C9) and of UCBVI.

Each comparison's prediction comes from a route that does not use the code under test:
closed forms over the binomial law of the visit counts, brute-force enumeration of all
trajectories, forward (occupancy) recursions written here, Monte-Carlo standard errors,
and the published regret bound.
"""

from __future__ import annotations

import itertools

import numpy as np

from ._registry import CheckContext, register

_PAPER = ("Tiapkin, Belomestny, Calandriello, Moulines, Munos, Naumov, Perrault, Valko, Ménard, "
          "'Demonstration-Regularized RL', ICLR 2024 (arXiv 2310.17303)")


# -- independent oracles -------------------------------------------------------------------
def _stage_arrays(mdp):
    H, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    P = np.asarray(mdp.P)
    P4 = P if P.ndim == 4 else np.broadcast_to(P, (H, S, A, S))
    r = np.asarray(mdp.r)
    r3 = r if r.ndim == 3 else np.broadcast_to(r, (H, S, A))
    return P4, r3


def forward_state_occupancy(mdp, pi) -> np.ndarray:
    r"""``d[h, s] = Pr^pi(s_h = s)`` by the forward recursion :math:`d_{h+1} = P_{\pi,h}^\top d_h`."""
    P4, _ = _stage_arrays(mdp)
    H = mdp.horizon
    d = np.empty((H, mdp.n_states))
    d[0] = mdp.mu0
    for h in range(H - 1):
        d[h + 1] = np.einsum("s,sa,sat->t", d[h], pi[h], P4[h])
    return d


def forward_value(mdp, pi) -> float:
    r""":math:`\sum_h \sum_{s,a} d_h(s)\pi_h(a|s) r_h(s,a)` (forward occupancy route)."""
    _, r3 = _stage_arrays(mdp)
    d = forward_state_occupancy(mdp, pi)
    return float(np.einsum("hs,hsa,hsa->", d, pi, r3))


def enumerate_trajectories(mdp, pi) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All ``(s_0, a_0, ..., s_{H-1}, a_{H-1})``: their probabilities under ``pi``, returns, and
    the per-trajectory policy log-likelihood terms, by brute force (tiny instances only)."""
    P4, r3 = _stage_arrays(mdp)
    H, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    combos = np.array(list(itertools.product(range(S * A), repeat=H)))      # (n, H) of s*A + a
    s, a = combos // A, combos % A
    h = np.arange(H)
    prob = mdp.mu0[s[:, 0]] * np.prod(pi[h, s, a], axis=1)
    if H > 1:
        prob = prob * np.prod(P4[h[:-1], s[:, :-1], a[:, :-1], s[:, 1:]], axis=1)
    ret = r3[h, s, a].sum(axis=1)
    return prob, ret, np.stack([s, a])


def enumerated_kl(mdp, pi_e, pi) -> float:
    """KL between the trajectory laws of ``pi_e`` and ``pi``, by enumeration."""
    p_e, _, sa = enumerate_trajectories(mdp, pi_e)
    p, _, _ = enumerate_trajectories(mdp, pi)
    m = p_e > 0
    return float(np.sum(p_e[m] * np.log(p_e[m] / p[m])))


def expected_bc_kl_deterministic(mdp, pi_e, n_demos: int, kappa: float = 1.0) -> float:
    r"""Exact :math:`\mathbb E[\mathrm{KL}_{traj}(\pi^E\|\pi^{BC})]` for a deterministic expert.

    The expert visits :math:`(h, s)` in :math:`n \sim \mathrm{Bin}(N^E, d_h(s))`
    demonstrations, always with its action, so add-:math:`\kappa` BC gives
    :math:`\mathrm{KL} = \log\frac{n + \kappa A}{n + \kappa}` there; the expectation is a
    finite sum over the binomial law.
    """
    from scipy.stats import binom

    A = mdp.n_actions
    d = forward_state_occupancy(mdp, pi_e)
    n = np.arange(n_demos + 1)
    kl_n = np.log((n + kappa * A) / (n + kappa))
    total = 0.0
    for dh in d:
        for ds in dh:
            if ds > 0:
                total += ds * float(binom.pmf(n, n_demos, min(ds, 1.0)) @ kl_n)
    return total


def slope_mc_se(x, means, ses) -> float:
    r"""Standard error of the OLS log-log slope due to Monte-Carlo noise in ``means``.

    The slope is :math:`\sum_i c_i \log m_i` with OLS weights
    :math:`c_i = (\log x_i - \overline{\log x})/\sum_j(\log x_j - \overline{\log x})^2`;
    by the delta method :math:`\mathrm{Var}(\log m_i) \approx (\mathrm{se}_i/m_i)^2`.
    """
    lx = np.log(np.asarray(x, dtype=float))
    c = (lx - lx.mean()) / np.sum((lx - lx.mean()) ** 2)
    return float(np.sqrt(np.sum((c * np.asarray(ses) / np.asarray(means)) ** 2)))


def _random_instance(seed: int, S: int, A: int, H: int):
    import mdpkit as mk

    return mk.random_mdp(n_states=S, n_actions=A, horizon=H, rng=seed, stationary=False)


# -- (i) BC rate ---------------------------------------------------------------------------
@register(
    "demo_reg_bc_rate",
    paper=_PAPER + ", Sec. 3 (BC guarantees); CLAIMS C9 (i)",
    statement="Behaviour cloning from N^E expert episodes has E[KL_traj(pi^E || pi^BC)] = O~(SAH/N^E) "
    "(tabular, add-one smoothed MLE) and O~(dH/N^E) (log-linear MLE): log-log slope -1 in N^E, "
    "N^E KL_traj/(SAH) bounded; tabular mean equals its exact binomial expectation.",
)
def demo_reg_bc_rate(ctx: CheckContext) -> None:
    import mdpkit as mk
    from mdpkit.theory import loglog_slope, mean_and_se

    L = mk.learners
    q = ctx.quick
    n_seeds = 40 if q else 200          # tabular BC is cheap; the KL has a heavy right tail at small N^E
    n_seeds_lin = 8 if q else 30
    # tabular, deterministic expert
    S, A, H = (6, 3, 4) if q else (10, 4, 5)
    mdp = _random_instance(ctx.seed, S, A, H)
    expert = mk.solve(mdp).pi
    grid = [300, 1000, 3000] if q else [100, 300, 1000, 3000, 10000]
    means, ses, exact = [], [], []
    for N in grid:
        kls = [L.trajectory_kl(mdp, expert, L.behavior_cloning(mdp.simulate(expert, N, rng=ctx.seed * 1000 + i),
                                                                 S, A, horizon=H).pi) for i in range(n_seeds)]
        m, se = mean_and_se(kls)
        means.append(float(m))
        ses.append(float(se))
        exact.append(expected_bc_kl_deterministic(mdp, expert, N))
    for N, m, se, ex in zip(grid, means, ses, exact, strict=True):
        ctx.compare(f"tabular E[KL_traj], N^E={N}", m, ex, tol=4 * se + 1e-12,
                    route="exact sum over Binomial(N^E, d_h(s)) visit counts; Monte-Carlo 4 SE")
    fit = loglog_slope(grid, means)
    ctx.compare("tabular log-log slope of E[KL_traj] in N^E", fit.slope, -1.0,
                tol=max(0.1, 3 * slope_mc_se(grid, means, ses)),
                route="rate of the paper (O~(SAH/N^E)); tol max(0.1, 3 Monte-Carlo SE)",
                note=f"95% CI [{fit.ci_low:.3f}, {fit.ci_high:.3f}]")
    j = int(np.argmax([(N + 1) * m for N, m in zip(grid, means, strict=True)]))
    ctx.compare("tabular max_N (N^E+1) KL_traj / (SAH) (Monte-Carlo mean)", (grid[j] + 1) * means[j] / (S * A * H),
                (A - 1) / A, tol=4 * (grid[j] + 1) * ses[j] / (S * A * H), relation="<=",
                route="closed-form bound: log(1 + (A-1)/(n+1)) <= (A-1)/(n+1), E[1/(n+1)] <= 1/((N+1) d); 4 SE")
    # linear MDP, log-linear expert on its features (realizable)
    d = 4
    lin = mk.random_linear_mdp(S, A, d, H, rng=ctx.seed + 17, concentration=0.5)
    phi = lin.phi
    pi_e = L.log_linear_policy(np.random.default_rng(ctx.seed + 18).normal(0.0, 4.0, size=(H, d)), phi)
    lin_means, lin_ses = [], []
    for N in grid:
        kls = [L.trajectory_kl(lin, pi_e, L.linear_behavior_cloning(
            lin.simulate(pi_e, N, rng=ctx.seed * 1000 + 500 + i), phi, horizon=H, ridge=1e-3).pi)
            for i in range(n_seeds_lin)]
        m, se = mean_and_se(kls)
        lin_means.append(float(m))
        lin_ses.append(float(se))
    fit_l = loglog_slope(grid, lin_means)
    ctx.compare("linear log-log slope of E[KL_traj] in N^E", fit_l.slope, -1.0,
                tol=max(0.1, 3 * slope_mc_se(grid, lin_means, lin_ses)),
                route="rate of the paper (O~(dH/N^E)); tol max(0.1, 3 Monte-Carlo SE)",
                note=f"95% CI [{fit_l.ci_low:.3f}, {fit_l.ci_high:.3f}]")
    # Asymptotic MLE (Wilks): E KL ~ (d - 1) / (2N) per stage; phi on the simplex makes theta . 1 unidentified.
    wilks = (d - 1) * H / (2 * grid[-1])
    ctx.compare(f"linear E[KL_traj] at N^E={grid[-1]} / ((d-1)H/(2N^E))", lin_means[-1] / wilks, 1.0,
                tol=4 * lin_ses[-1] / wilks + 0.25,
                route="asymptotic MLE theory (Wilks): E KL = dim/(2N) + O(N^-2); Monte-Carlo 4 SE + 25%")
    if ctx.figures_enabled:
        from mdpkit.plotting import subplots

        fig, ax = subplots()
        ax.errorbar(grid, means, yerr=ses, marker="o", label=f"tabular BC (S={S}, A={A}, H={H})")
        ax.plot(grid, exact, "k:", label="exact expectation (binomial)")
        ax.errorbar(grid, lin_means, yerr=lin_ses, marker="s", label=f"log-linear BC (d={d})")
        ax.plot(grid, [lin_means[0] * grid[0] / N for N in grid], "k--", lw=1, label="slope -1")
        ax.set(xscale="log", yscale="log", xlabel="expert episodes $N^E$",
               ylabel=r"$\mathrm{KL}_{traj}(\pi^E\|\pi^{BC})$")
        ax.minorticks_off()
        ax.set_xticks(grid, [str(n) for n in grid])
        ax.legend()
        ctx.savefig(fig, "demo_reg_bc_rate")


# -- (ii) gap inequality -------------------------------------------------------------------
def _closed_form_kl(mdp, pi_e, pi) -> float:
    """``sum_{h,s} d_h(s) KL(pi_e(.|s) || pi(.|s))`` with the forward occupancy written here."""
    d = forward_state_occupancy(mdp, pi_e)
    with np.errstate(divide="ignore"):
        return float(np.sum(d[..., None] * pi_e * (np.log(np.where(pi_e > 0, pi_e, 1.0)) - np.log(pi))))


def gap_inequality_terms(mdp, pi_e, pi_bc, beta):
    """``(V^{pi_E} - V^{pi_beta}, beta * KL_traj(pi_E || pi_BC), solve result)`` with ``pi_beta`` from the
    solver and values and KL from forward recursions written here."""
    import mdpkit as mk

    res = mk.solve_kl_regularized(mdp, pi_bc, beta)
    kl = _closed_form_kl(mdp, pi_e, pi_bc)
    return forward_value(mdp, pi_e) - forward_value(mdp, res.pi), beta * kl, res


@register(
    "demo_reg_gap_inequality",
    paper=_PAPER + ", Sec. 4 (regularization bias); CLAIMS B2 item 3, C9 (ii)",
    statement="For pi_beta = argmax_pi V^pi - beta KL_traj(pi || pi_BC): V^{pi_E} - V^{pi_beta} <= "
    "beta KL_traj(pi_E || pi_BC), exactly, for every MDP, expert, BC policy and beta > 0; and "
    "V*_beta = V^{pi_beta} - beta KL_traj(pi_beta || pi_BC).",
)
def demo_reg_gap_inequality(ctx: CheckContext) -> None:
    import mdpkit as mk

    L = mk.learners
    n_inst = 4 if ctx.quick else 20
    worst_slack, worst_kl, worst_val = -np.inf, 0.0, 0.0
    for i in range(n_inst):
        for S, A, H, enum in ((3, 2, 3, True), (8, 3, 5, False)):
            mdp = _random_instance(ctx.seed * 100 + i, S, A, H)
            expert = mk.solve_kl_regularized(mdp, mk.uniform_policy(mdp), 0.05).pi
            pi_bc = L.behavior_cloning(mdp.simulate(expert, 5, rng=i), S, A, horizon=H).pi
            for beta in (0.01, 0.1, 1.0, 10.0):
                gap, bound, res = gap_inequality_terms(mdp, expert, pi_bc, beta)
                worst_slack = max(worst_slack, gap - bound)
                if enum:
                    kl_e = enumerated_kl(mdp, expert, pi_bc)
                    worst_kl = max(worst_kl, abs(L.trajectory_kl(mdp, expert, pi_bc) - kl_e))
                    p, ret, _ = enumerate_trajectories(mdp, res.pi)
                    soft = float(p @ ret) - beta * enumerated_kl(mdp, res.pi, pi_bc)
                    worst_val = max(worst_val, abs(float(mdp.mu0 @ res.V[0]) - soft))
    ctx.compare("max (V^piE - V^pi_beta) - beta KL_traj(piE||piBC)", worst_slack, 0.0, tol=1e-10, relation="<=",
                route="forward occupancy recursion (values) and closed-form KL sum")
    ctx.compare("max |trajectory_kl - KL by trajectory enumeration|", worst_kl, 0.0, tol=1e-10,
                route="brute-force enumeration of all (SA)^H trajectories")
    ctx.compare("max |mu0.V*_beta - (E[R] - beta KL_traj(pi_beta||pi_BC))|", worst_val, 0.0, tol=1e-10,
                route="brute-force enumeration of all (SA)^H trajectories")


# -- (iii) sample complexity vs N^E ---------------------------------------------------------
@register(
    "demo_reg_sample_complexity",
    paper=_PAPER + ", Sec. 4 (demonstration-regularized BPI, O~(poly(S,A,H)/(eps^2 N^E))); "
    "CLAIMS C9 (iii)",
    statement="With beta = eps/(2 KL_traj(pi^E||pi^BC)), the episodes a KL-regularized optimistic learner "
    "toward pi^BC needs before its recommended policy stays eps-optimal shrink as N^E grows, and are far "
    "fewer than UCBVI (no demonstrations) needs.",
)
def demo_reg_sample_complexity(ctx: CheckContext) -> None:
    import mdpkit as mk
    from mdpkit.theory import loglog_slope

    L = mk.learners
    S, A, H = 10, 4, 5
    eps = 0.05
    mdp = _random_instance(ctx.seed + 3, S, A, H)
    expert = mk.solve(mdp).pi
    grid = [10, 30, 100, 300, 1000]
    n_seeds = 6 if ctx.quick else 12
    K_ucb = 20_000
    K_demo = 2_000
    ucb = [L.run_online(L.UCBVI(), mdp, n_episodes=K_ucb, rng=ctx.seed * 100 + i).episodes_to_epsilon(eps)[0]
           for i in range(1 if ctx.quick else 3)]
    tau_ucb = float(np.mean(ucb))
    taus = []
    for N in grid:
        t = []
        for i in range(n_seeds):
            seed = ctx.seed * 1000 + 10 * N + i
            pi_bc = L.behavior_cloning(mdp.simulate(expert, N, rng=seed), S, A, horizon=H).pi
            beta = L.demo_regularization_beta(eps, L.trajectory_kl(mdp, expert, pi_bc))
            run = L.run_online(L.DemoRegularizedUCBVI(beta=beta, pi_bc=pi_bc), mdp, n_episodes=K_demo, rng=seed)
            t.append(run.episodes_to_epsilon(eps)[0])
        taus.append(float(np.mean(t)))
    ctx.compare("max_N^E episodes(demo-regularized) / episodes(UCBVI)", max(taus) / tau_ucb, 0.1,
                relation="<=", route="UCBVI run on the same MDP (no demonstrations)",
                note=f"UCBVI needs {tau_ucb:.0f} episodes; demo-regularized {taus}")
    # linear MDP: KL-regularized LSVI-UCB toward the log-linear BC policy vs LSVI-UCB
    lin = mk.random_linear_mdp(S, A, 4, H, rng=ctx.seed + 4)
    lin_expert = mk.solve(lin.to_tabular()).pi
    K_lin = 1500
    n_lin = 2 if ctx.quick else 5
    tau_lsvi = float(np.mean([L.run_online(L.LSVIUCB(), lin, n_episodes=K_lin, rng=ctx.seed * 100 + i).episodes_to_epsilon(eps)[0]
                              for i in range(n_lin)]))
    tau_lin = []
    for i in range(n_lin):
        bc = L.linear_behavior_cloning(lin.simulate(lin_expert, grid[-1], rng=ctx.seed * 100 + i), lin.phi, horizon=H)
        beta = L.demo_regularization_beta(eps, L.trajectory_kl(lin, lin_expert, bc.pi))
        run = L.run_online(L.KLRegularizedLSVIUCB(beta=beta, pi_ref=bc), lin, n_episodes=K_lin, rng=ctx.seed * 100 + i)
        tau_lin.append(run.episodes_to_epsilon(eps)[0])
    ctx.compare(f"linear: episodes(demo-regularized LSVI-UCB, N^E={grid[-1]}) / episodes(LSVI-UCB)",
                float(np.mean(tau_lin)) / max(tau_lsvi, 1.0), 0.5, relation="<=",
                route="LSVI-UCB run on the same linear MDP (no demonstrations)",
                note=f"LSVI-UCB needs {tau_lsvi:.0f} episodes")
    fit = loglog_slope(grid, np.maximum(taus, 1.0))
    ctx.compare(f"episodes-to-eps at N^E={grid[-1]} / at N^E={grid[0]}", taus[-1] / max(taus[0], 1.0), 0.25,
                relation="<=", route=f"rate of the paper O~(1/N^E) predicts {grid[0] / grid[-1]:g}; shrinking "
                "by at least 4x over two decades", note=f"log-log slope {fit.slope:.2f}; means {taus}")
    if ctx.figures_enabled:
        from mdpkit.plotting import subplots

        fig, ax = subplots()
        ax.plot(grid, np.maximum(taus, 0.5), "o-", label=r"demo-regularized UCBVI, $\beta=\varepsilon/(2\,KL_{traj})$")
        ax.axhline(tau_ucb, color="C1", ls="--", label="UCBVI (no demonstrations)"
                   + (" (censored at K)" if tau_ucb >= K_ucb else ""))
        ax.plot(grid, [taus[0] * grid[0] / N for N in grid], "k:", label=r"$\propto 1/N^E$")
        ax.set(xscale="log", yscale="log", xlabel="expert episodes $N^E$",
               ylabel=rf"episodes to ${eps}$-optimality")
        ax.legend()
        ctx.savefig(fig, "demo_reg_sample_complexity")


# -- (iv) UCBVI regret ----------------------------------------------------------------------
def _gap_instance(S: int, A: int, H: int, gap: float, seed: int):
    """Actions do not move the state (uniform next state); one action per state pays ``gap`` more."""
    import mdpkit as mk

    g = np.random.default_rng(seed)
    r = np.full((S, A), 0.5)
    r[np.arange(S), g.integers(A, size=S)] += gap
    return mk.TabularMDP(np.full((S, A, S), 1.0 / S), r, horizon=H)


def azar_regret_bound(S: int, A: int, H: int, n_episodes: int, delta: float) -> float:
    r"""Azar, Osband, Munos (2017), Thm. 1 (UCBVI-CH): :math:`20HL\sqrt{SAT} + 250H^2S^2AL^2`,
    :math:`T = KH`, :math:`L = \ln(5SAT/\delta)`, applied to the layered MDP with :math:`SH` states
    (stage-dependent transitions)."""
    T = n_episodes * H
    SH = S * H
    L = np.log(5 * SH * A * T / delta)
    return float(20 * H * L * np.sqrt(SH * A * T) + 250 * H**2 * SH**2 * A * L**2)


@register(
    "ucbvi_regret_sqrt_k",
    paper="Azar, Osband, Munos, 'Minimax Regret Bounds for RL', ICML 2017, Thm. 1 and the minimax "
    "lower bound; CLAIMS C9 (iv)",
    statement="UCBVI's regret grows as sqrt(K): on instances with gap ~ 1/sqrt(K) (the worst case) the "
    "log-log slope of regret in K is 1/2; its optimistic value upper-bounds V* in every episode (w.p. "
    ">= 1 - delta) and its regret stays under the bound of Thm. 1.",
)
def ucbvi_regret_sqrt_k(ctx: CheckContext) -> None:
    import mdpkit as mk
    from mdpkit.theory import loglog_slope, mean_and_se

    L = mk.learners
    S, A, H = 3, 3, 3
    Ks = [250, 500, 1000, 2000, 4000] if ctx.quick else [250, 500, 1000, 2000, 4000, 8000, 16000]
    n_seeds = 6 if ctx.quick else 20
    means, ses = [], []
    optimism_fail = 0
    n_runs = 0
    worst_bound_ratio = 0.0
    for K in Ks:
        regs = []
        for i in range(n_seeds):
            mdp = _gap_instance(S, A, H, min(0.45, 3.0 / np.sqrt(K)), seed=ctx.seed * 100 + i)
            run = L.run_online(L.UCBVI(delta=0.05), mdp, n_episodes=K, rng=ctx.seed * 1000 + i)
            regs.append(run.final_regret[0])
            optimism_fail += int(np.any(run.upper_value < run.target_value - 1e-12))
            n_runs += 1
            worst_bound_ratio = max(worst_bound_ratio, run.final_regret[0] / azar_regret_bound(S, A, H, K, 0.05))
        m, se = mean_and_se(regs)
        means.append(float(m))
        ses.append(float(se))
    fit = loglog_slope(Ks, means)
    ctx.compare("log-log slope of regret in K (gap 3/sqrt(K))", fit.slope, 0.5, tol=0.1,
                route="minimax rate sqrt(K) (Azar et al. 2017 Thm. 1 and lower bound)",
                note=f"95% CI [{fit.ci_low:.3f}, {fit.ci_high:.3f}]")
    ctx.compare("fraction of runs with an episode where mu0.V_up < mu0.V*", optimism_fail / n_runs, 0.05,
                relation="<=", route="Hoeffding + union bound: optimism w.p. >= 1 - delta, delta = 0.05")
    ctx.compare("max regret(K) / Azar Thm. 1 bound", worst_bound_ratio, 1.0, relation="<=",
                route="Azar et al. 2017 Thm. 1, explicit constants (layered MDP, SH states)")
    # a fixed MDP: the bound again, and sublinear growth over a long run
    mdp = _random_instance(ctx.seed + 11, 5, 3, 4)
    K = 5000 if ctx.quick else 20000
    run = L.run_online(L.UCBVI(), mdp, n_episodes=K, rng=ctx.seed)
    ctx.compare("fixed MDP: regret(K) / Azar Thm. 1 bound", run.final_regret[0] / azar_regret_bound(5, 3, 4, K, 0.05),
                1.0, relation="<=", route="Azar et al. 2017 Thm. 1, explicit constants")
    ctx.compare("fixed MDP: optimism min_k mu0.(V_up - V*)", float(np.min(run.upper_value - run.target_value)),
                0.0, relation=">=", tol=1e-12, route="Hoeffding + union bound (w.p. >= 1 - delta)")
    if ctx.figures_enabled:
        from mdpkit.plotting import subplots

        fig, (ax1, ax2) = subplots(1, 2, figsize=(9, 3.4))
        ax1.errorbar(Ks, means, yerr=ses, marker="o", label="UCBVI (Hoeffding)")
        ax1.plot(Ks, [means[0] * np.sqrt(K / Ks[0]) for K in Ks], "k:", label=r"$\propto\sqrt{K}$")
        ax1.set(xscale="log", yscale="log", xlabel="episodes $K$", ylabel="regret",
                title=r"gap $3/\sqrt{K}$ instances")
        ax1.minorticks_off()
        ax1.set_xticks(Ks, [str(k) for k in Ks])
        ax1.legend()
        k = np.arange(1, K + 1)
        ax2.plot(k, run.regret[0], label="UCBVI (Hoeffding)")
        ax2.plot(k, run.final_regret[0] * np.sqrt(k / K), "k:", label=r"$\propto\sqrt{k}$")
        ax2.set(xlabel="episode $k$", ylabel="cumulative regret", title="random MDP S=5, A=3, H=4")
        ax2.legend()
        ctx.savefig(fig, "ucbvi_regret_sqrt_k")


# -- (v) RLHF -------------------------------------------------------------------------------
@register(
    "demo_reg_rlhf_pairs",
    paper=_PAPER + ", Sec. 5 (demonstration-regularized RLHF); CLAIMS B2 item 5, C9 (v)",
    statement="BC from demonstrations + Bradley-Terry MLE reward from trajectory-pair preferences + "
    "KL-regularized planning toward pi^BC: the suboptimality V* - V^{pi_hat} (true reward) shrinks as the "
    "number of preference pairs grows, tabular and linear.",
)
def demo_reg_rlhf_pairs(ctx: CheckContext) -> None:
    import mdpkit as mk
    from mdpkit.theory import mean_and_se

    L = mk.learners
    S, A, H = 6, 3, 4
    mdp = _random_instance(ctx.seed + 1, S, A, H)
    expert = mk.solve(mdp).pi
    v_star = forward_value(mdp, expert)
    pairs = [20, 300, 5000] if ctx.quick else [20, 60, 200, 600, 2000, 6000]
    n_seeds = 4 if ctx.quick else 12
    beta = 0.05
    d = S * A // 2
    g = np.random.default_rng(ctx.seed + 5)
    # linear reward class: the true reward is in the span of phi
    phi = np.concatenate([np.asarray(mdp.r).transpose(1, 2, 0), g.random((S, A, d - H))], axis=2)
    curves: dict[str, tuple[list[float], list[float]]] = {}
    floor = []
    for i in range(n_seeds):
        pi_bc = L.behavior_cloning(mdp.simulate(expert, 10, rng=ctx.seed * 1000 + i), S, A, horizon=H).pi
        floor.append(beta * _closed_form_kl(mdp, expert, pi_bc))
    floor_m, floor_se = mean_and_se(floor)
    for label, feat in (("tabular", None), ("linear", phi)):
        means, ses = [], []
        for n in pairs:
            subs = []
            for i in range(n_seeds):
                seed = ctx.seed * 1000 + i
                pi_bc = L.behavior_cloning(mdp.simulate(expert, 10, rng=seed), S, A, horizon=H).pi
                prefs = L.preference_pairs(mdp, pi_bc, n, rng=seed + 7)
                plan = L.demo_regularized_rlhf(mdp, prefs, pi_bc, beta, phi=feat).plan
                subs.append(v_star - forward_value(mdp, plan.pi))
            m, se = mean_and_se(subs)
            means.append(float(m))
            ses.append(float(se))
        ctx.compare(f"{label}: suboptimality at {pairs[-1]} pairs", means[-1],
                    means[0] - 3 * np.hypot(ses[0], ses[-1]), relation="<=",
                    route=f"suboptimality at {pairs[0]} pairs minus 3 SE of the difference (Monte-Carlo)",
                    note="means " + ", ".join(f"{m:.3g}" for m in means))
        ctx.compare(f"{label}: suboptimality at {pairs[-1]} pairs vs the regularization floor", means[-1],
                    float(floor_m) + 3 * np.hypot(float(floor_se), ses[-1]), relation="<=",
                    route="gap inequality: V* - V^{pi_beta} <= beta KL_traj(pi_E||pi_BC) (optimal expert), "
                    "KL in closed form; Monte-Carlo 3 SE")
        if ctx.figures_enabled:
            curves[label] = (means, ses)
    if ctx.figures_enabled:
        from mdpkit.plotting import subplots

        fig, ax = subplots()
        for label, (m, se) in curves.items():
            ax.errorbar(pairs, m, yerr=se, marker="o", label=f"{label} BT reward")
        ax.axhline(float(floor_m), color="k", ls=":", label=r"$\beta\,KL_{traj}(\pi^E\|\pi^{BC})$")
        ax.set(xscale="log", xlabel="preference pairs", ylabel=r"$V^* - V^{\hat\pi}$")
        ax.legend()
        ctx.savefig(fig, "demo_reg_rlhf_pairs")
