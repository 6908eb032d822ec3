"""C15: regret bounds for stochastic, adversarial and full-information bandits, and games.

Every prediction is a closed form from the literature (:mod:`mdpkit.theory`), a
Monte-Carlo mean with its standard error, or an LP solved by scipy, never the simulator
itself. Quick mode shrinks horizons and run counts so each check takes a few seconds.
"""

from __future__ import annotations

import numpy as np

from mdpkit import theory

from ._registry import CheckContext, register

SLIVKINS = "Slivkins (2019), Introduction to Multi-Armed Bandits"


def _bandits():
    from mdpkit import bandits

    return bandits


@register(
    "bandit_ucb1_bound",
    paper=f"{SLIVKINS}, Sec. 1.3-1.4; Auer, Cesa-Bianchi, Fischer (2002), Theorem 1; "
          "Audibert and Bubeck (2009), Theorem 5",
    statement="UCB1: E[R_T] <= sum_{Delta_a>0} 8 ln T / Delta_a + (1 + pi^2/3) sum_a Delta_a at "
              "every T; Successive Elimination: E[R_T] <= sum (32 ln T / Delta_a + Delta_a) + 2K "
              "Delta_max / T^2; MOSS: E[R_T] <= 49 sqrt(KT).",
)
def check_ucb1_bound(ctx: CheckContext) -> None:
    """Mean regret + 3 SE under the explicit bounds on Bernoulli K=10, gaps 0.05..0.45."""
    B = _bandits()
    T, n_runs = (10_000, 50) if ctx.quick else (100_000, 200)
    env = B.BernoulliBandit(0.9 - 0.05 * np.arange(10))
    gaps = env.gaps
    run = B.simulate(env, B.UCB1(), horizon=T, n_runs=n_runs, rng=ctx.seed, checkpoints=40)
    m, se = run.mean_regret, run.regret_se
    bound = np.array([theory.ucb1_regret_bound(gaps, int(t)) for t in run.checkpoints])
    ctx.compare("UCB1 mean regret + 3 SE at T", m[-1] + 3 * se[-1], bound[-1], relation="<=",
                route="closed form (Auer et al. 2002, Thm 1)")
    ctx.compare("max_t (mean + 3 SE) / bound over checkpoints", float(np.max((m + 3 * se) / bound)),
                1.0, relation="<=", route="closed form, every checkpoint")
    se_run = B.simulate(env, B.SuccessiveElimination(), horizon=T, n_runs=n_runs, rng=ctx.seed,
                        checkpoints=2)
    ctx.compare("Successive Elimination mean regret + 3 SE at T",
                se_run.mean_regret[-1] + 3 * se_run.regret_se[-1],
                theory.successive_elimination_regret_bound(gaps, T), relation="<=",
                route="closed form (clean-event argument, Slivkins Sec. 1.3)")
    moss = B.simulate(env, B.MOSS(), horizon=T, n_runs=n_runs, rng=ctx.seed, checkpoints=2)
    ctx.compare("MOSS mean regret + 3 SE at T", moss.mean_regret[-1] + 3 * moss.regret_se[-1],
                theory.moss_regret_bound(env.n_arms, T), relation="<=",
                route="closed form (Audibert and Bubeck 2009, Thm 5)")
    if ctx.figures_enabled:
        from mdpkit import plotting

        fig, ax = plotting.subplots()
        keep = run.checkpoints >= env.n_arms  # after the initial round robin
        t, m, se, bound = run.checkpoints[keep], m[keep], se[keep], bound[keep]
        ax.plot(t, m, label="UCB1 mean regret")
        ax.fill_between(t, m - 3 * se, m + 3 * se, alpha=0.25, lw=0)
        ax.plot(t, bound, "k--", label="Auer et al. (2002) bound")
        ax.plot(t, theory.lai_robbins_constant(env) * np.log(np.maximum(t, 1)), ":", color="gray",
                label="Lai-Robbins C ln t")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("pulls t")
        ax.set_ylabel("regret")
        ax.set_title(f"Bernoulli K=10, {n_runs} runs (± 3 SE)")
        ax.legend()
        ctx.savefig(fig, "bandit_ucb1_bound")


def _klucb_c_dominating(n_arms: int, horizon: int) -> float:
    """Return the smallest exploration constant c for which Theorem 10.6's index holds.

    That is the smallest integer c with ln(t-1) + c ln max(ln(t-1), 1) >= log(1 + t log^2 t)
    at every index round t in (K, T] (mdpkit's KL-UCB reads ln of the completed rounds
    t - 1): then Lattimore and Szepesvari's Theorem 10.6 applies. Computed in NumPy, not
    by the simulator.
    """
    t = np.arange(n_arms + 1, horizon + 1, dtype=float)
    lt = np.log(t - 1.0)
    need = (np.log1p(t * np.log(t) ** 2) - lt) / np.log(np.maximum(lt, 1.0))
    return float(np.ceil(np.max(need)))


@register(
    "bandit_lai_robbins",
    paper=f"{SLIVKINS}, Ch. 2 (Lai-Robbins 1985, asymptotic); Garivier and Cappe (2011), Thm 1, in "
          "the explicit form of Lattimore and Szepesvari (2020), Thm 10.6; Kaufmann, Korda, Munos "
          "(2012), Thm 1; Agrawal and Goyal (2013), Thm 1",
    statement="Theorem (finite time, explicit constants): Bernoulli KL-UCB whose exploration level is "
              ">= log(1 + t log^2 t) at every round has E[T_i(n)] <= inf_{e1+e2<Delta_i} a_n/kl(mu_i+e1, "
              "mu*-e2) + 1/(2 e1^2) + 2/e2^2. Lai-Robbins (liminf E[R_T]/ln T >= C = sum Delta_a/kl(mu_a, "
              "mu*)) is asymptotic; that R_T/(C ln T) stays <= 1 and increases for KL-UCB and Thompson "
              "sampling at T <= 1e5 is an empirical property (Thompson sampling's finite-time constants "
              "are not explicit in Kaufmann et al. 2012 / Agrawal-Goyal 2013).",
)
def check_lai_robbins(ctx: CheckContext) -> None:
    """KL-UCB's explicit finite-time bound (theorem) and R_T/(C ln T) (empirical), Bernoulli (0.9, 0.8, 0.7)."""
    B = _bandits()
    T, n_runs = (10_000, 40) if ctx.quick else (100_000, 100)
    env = B.BernoulliBandit([0.9, 0.8, 0.7])
    C = theory.lai_robbins_constant(env)  # closed form, independent of the simulator
    ck = np.unique(np.round(np.logspace(2, np.log10(T), 9)).astype(np.int64))

    # theorem: KL-UCB with an exploration level dominating log f(t) at every round
    c = _klucb_c_dominating(env.n_arms, T)
    a_n = float(np.log(T - 1.0) + c * np.log(max(np.log(T - 1.0), 1.0)))
    run = B.simulate(env, B.KLUCB(c=c), horizon=T, n_runs=n_runs, rng=ctx.seed, checkpoints=ck)
    bound = np.array([theory.klucb_regret_bound(env.means, int(t), exploration=max(
        a_n, theory.klucb_exploration_level(int(t)))) for t in ck[ck > env.n_arms]])
    m_th, se_th = run.mean_regret[ck > env.n_arms], run.regret_se[ck > env.n_arms]
    ctx.compare(f"KL-UCB(c={c:g}): max_t (mean regret + 3 SE) / bound", float(np.max((m_th + 3 * se_th) / bound)),
                1.0, relation="<=", route="Lattimore-Szepesvari Thm 10.6 (Garivier-Cappe 2011 argument), "
                "closed form, MC 3 SE", note=f"c = {c:g} makes ln(t-1) + c lnln(t-1) >= log f(t) for t > K")

    # empirical: R_T / (C ln T) below 1 and increasing (not the theorem, which is a liminf)
    curves = {}
    for algo in (B.KLUCB(), B.ThompsonSampling()):
        run = B.simulate(env, algo, horizon=T, n_runs=n_runs, rng=ctx.seed, checkpoints=ck)
        ratio = run.regret / (C * np.log(ck))  # per-run ratios: SEs account for correlation
        m, se = theory.mean_and_se(ratio)
        curves[algo.name] = (m, se)
        ctx.compare(f"{algo.name}: R_T / (C ln T) at T={T}", m[-1], 1.0, tol=3 * se[-1],
                    relation="<=", route="empirical property (Lai-Robbins is asymptotic), MC 3 SE")
        lo = ratio[:, ck.size // 2 - 1]
        d_m, d_se = theory.mean_and_se(ratio[:, -1] - lo)
        ctx.compare(f"{algo.name}: ratio(T) - ratio(T={ck[ck.size // 2 - 1]})", float(d_m), 0.0,
                    tol=3 * float(d_se), relation=">=", route="empirical property (approach from below), MC 3 SE")
    ucb = B.simulate(env, B.UCB1(), horizon=T, n_runs=n_runs, rng=ctx.seed, checkpoints=ck)
    u_m, u_se = theory.mean_and_se(ucb.regret[:, -1] / (C * np.log(T)))
    ctx.compare("UCB1 (not asymptotically optimal): R_T / (C ln T)", float(u_m), 1.0,
                tol=3 * float(u_se), relation=">=",
                route="empirical: UCB1's constant sum 2/Delta > C separates the algorithms")
    if ctx.figures_enabled:
        from mdpkit import plotting

        fig, (ax, bx) = plotting.subplots(1, 2, figsize=(9, 3.4))
        for name, (m, se) in curves.items():
            ax.plot(ck, m, marker="o", ms=3, label=name)
            ax.fill_between(ck, m - 3 * se, m + 3 * se, alpha=0.2, lw=0)
        ax.axhline(1.0, color="k", ls="--", label="Lai-Robbins constant (asymptotic)")
        ax.set_xscale("log")
        ax.set_xlabel("horizon T")
        ax.set_ylabel(r"$R_T / (C \ln T)$ (empirical)")
        ax.set_title(f"Bernoulli (0.9, 0.8, 0.7), C = {C:.3f}")
        ax.legend(fontsize=7)
        tt = ck[ck > env.n_arms]
        bx.plot(tt, m_th, "o-", ms=3, label=f"KL-UCB(c={c:g}) mean regret")
        bx.plot(tt, bound, "k--", label="Thm 10.6 bound (L-S 2020)")
        bx.plot(tt, C * np.log(tt), ":", color="gray", label=r"$C \ln T$")
        bx.set(xscale="log", yscale="log", xlabel="horizon T", ylabel="regret",
               title="finite-time theorem, explicit constants")
        bx.legend(fontsize=7)
        ctx.savefig(fig, "bandit_lai_robbins")


@register(
    "bandit_minimax_slope",
    paper=f"{SLIVKINS}, Ch. 2 (Omega(sqrt(KT)) lower bound); Lattimore and Szepesvari (2020), "
          "Thm 15.2; Audibert and Bubeck (2009)",
    statement="On instances with gap Delta = sqrt(K/T) the regret of UCB1 and MOSS scales as "
              "sqrt(KT): the log-log slope of E[R_T] in T is 1/2.",
)
def check_minimax_slope(ctx: CheckContext) -> None:
    """Slope of mean regret vs T on worst-case instances, K=5, Delta = sqrt(K/T)."""
    B = _bandits()
    K = 5
    Ts = np.array([1_000, 3_000, 10_000]) if ctx.quick else np.array([1_000, 3_000, 10_000, 30_000, 100_000])
    n_runs = 40 if ctx.quick else 100
    fits = {}
    for algo in (B.UCB1(), B.MOSS()):
        means = []
        for T in Ts:
            env = B.BernoulliBandit([0.5] + [0.5 - np.sqrt(K / T)] * (K - 1))
            run = B.simulate(env, algo, horizon=int(T), n_runs=n_runs, rng=ctx.seed, checkpoints=2)
            means.append(run.mean_regret[-1])
        fit = theory.loglog_slope(Ts, means)
        fits[algo.name] = (np.array(means), fit)
        ctx.compare(f"{algo.name}: log-log slope of E[R_T]", fit.slope, 0.5, tol=0.05,
                    route="sqrt(KT) scale (Slivkins Ch. 2)",
                    note=f"95% CI [{fit.ci_low:.3f}, {fit.ci_high:.3f}]")
        if algo.name == "MOSS":
            ctx.compare("MOSS: max_T E[R_T] / (49 sqrt(KT))",
                        float(np.max(np.array(means) / [theory.moss_regret_bound(K, int(t)) for t in Ts])),
                        1.0, relation="<=", route="closed form (Audibert and Bubeck 2009)")
    if ctx.figures_enabled:
        from mdpkit import plotting

        fig, ax = plotting.subplots()
        for i, (name, (mean_curve, fit)) in enumerate(fits.items()):
            ax.plot(Ts, mean_curve, "o", color=f"C{i}", label=f"{name}: slope {fit.slope:.3f}")
            ax.plot(Ts, np.exp(fit.intercept) * Ts ** fit.slope, "-", color=f"C{i}", lw=1)
        ax.plot(Ts, np.sqrt(K * Ts), "k--", label=r"$\sqrt{KT}$")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("horizon T")
        ax.set_ylabel("mean regret")
        ax.set_title(r"worst-case instances, $\Delta = \sqrt{K/T}$, K = 5")
        ax.legend()
        ctx.savefig(fig, "bandit_minimax_slope")


def _switching_sequence(T: int, K: int, seed: int) -> np.ndarray:
    """Oblivious Bernoulli rewards whose best arm changes at 0.4 T (best in hindsight: arm 1)."""
    rng = np.random.default_rng(seed)
    mu = np.full((T, K), 0.5)
    cut = int(0.4 * T)
    mu[:cut, 0] = 0.7
    mu[cut:, 1] = 0.7
    return (rng.random((T, K)) < mu).astype(np.float64)


@register(
    "bandit_adversarial_bounds",
    paper=f"{SLIVKINS}, Ch. 5-6; Auer et al. (2002b), Cor. 3.2; Cesa-Bianchi and Lugosi (2006), "
          "Thm 2.2",
    statement="On any oblivious sequence in [0,1]^K: EXP3 with the tuned gamma has E[R_T] <= "
              "2 sqrt(e-1) sqrt(T K ln K); Hedge with eta = sqrt(8 ln K / T) has "
              "E[R_T] <= sqrt((T/2) ln K).",
)
def check_adversarial_bounds(ctx: CheckContext) -> None:
    """EXP3 (bandit feedback) and Hedge (full information) on a switching sequence, K=5."""
    B = _bandits()
    T, n_runs = (20_000, 40) if ctx.quick else (100_000, 100)
    K = 5
    X = _switching_sequence(T, K, ctx.seed)
    uniform = X.sum(0).max() - X.sum() / K  # regret of uniform play: the bounds must beat it
    results = {}
    for algo, env, bound in (
        (B.EXP3(), B.AdversarialBandit(X), theory.exp3_regret_bound(K, T)),
        (B.Hedge(), B.FullInformation(1.0 - X), theory.hedge_regret_bound(K, T)),
    ):
        run = B.simulate(env, algo, horizon=T, n_runs=n_runs, rng=ctx.seed, checkpoints=30)
        results[algo.name] = (run, bound)
        test = theory.bound_violation_test(run.final_regret, bound)
        ctx.compare(f"{algo.name}: mean regret + 3 SE at T", test.mean + 3 * test.se, bound,
                    relation="<=", route="closed form",
                    note=f"uniform play would have regret {uniform:.0f}")
    ctx.compare("uniform play's regret exceeds the EXP3 bound (the test has power)", uniform,
                theory.exp3_regret_bound(K, T), relation=">=", route="closed form")
    if ctx.figures_enabled:
        from mdpkit import plotting

        fig, ax = plotting.subplots()
        for i, (name, (run, bound)) in enumerate(results.items()):
            ax.plot(run.checkpoints, run.mean_regret, color=f"C{i}", label=name)
            ax.axhline(bound, color=f"C{i}", ls="--", lw=1, label=f"{name} bound at T")
        ax.set_xscale("log")
        ax.set_xlabel("round t")
        ax.set_ylabel("regret to best arm in hindsight")
        ax.set_title(f"switching sequence, K={K}, T={T}")
        ax.legend()
        ctx.savefig(fig, "bandit_adversarial_bounds")


def _game_value(A: np.ndarray) -> float:
    """Value max_x min_j (x^T A)_j by linear programming (scipy HiGHS)."""
    from scipy.optimize import linprog

    m, n = A.shape
    c = np.zeros(m + 1)
    c[-1] = -1.0  # maximize v
    A_ub = np.hstack([-A.T, np.ones((n, 1))])  # v - (x^T A)_j <= 0
    A_eq = np.zeros((1, m + 1))
    A_eq[0, :m] = 1.0
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(n), A_eq=A_eq, b_eq=[1.0],
                  bounds=[(0, None)] * m + [(None, None)], method="highs")
    return float(-res.fun)


@register(
    "bandit_no_regret_nash",
    paper=f"{SLIVKINS}, Ch. 9; Freund and Schapire (1999)",
    statement="If the players of a zero-sum game have regrets R1, R2 after T rounds, the "
              "average play is an (R1+R2)/T-approximate Nash equilibrium: "
              "max_i (A ybar)_i - min_j (xbar^T A)_j <= (R1 + R2)/T, and the value lies between.",
)
def check_no_regret_nash(ctx: CheckContext) -> None:
    """Hedge vs Hedge and regret matching self-play on a random 5x4 game and on a biased RPS."""
    B = _bandits()
    T = 5_000 if ctx.quick else 50_000
    n_runs = 10 if ctx.quick else 50
    games = {
        "random 5x4": np.random.default_rng(ctx.seed).random((5, 4)),
        "biased RPS": np.array([[0.0, -1.0, 2.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]]),
    }
    curves = {}
    for gname, A in games.items():
        game = B.MatrixGame(A)
        v = _game_value(A)
        b = game.payoff_range
        m, n = A.shape
        for pname, P in (("Hedge", B.Hedge), ("RM", B.RegretMatching)):
            out = B.self_play(game, P(), P(), horizon=T, rng=ctx.seed)
            xb, yb = out.x_bar[0], out.y_bar[0]
            gap = float((A @ yb).max() - (xb @ A).min())  # from the average play, in numpy
            eps = (out.regret_row[0, -1] + out.regret_col[0, -1]) / T
            ctx.compare(f"{gname}, {pname} (expected): Nash gap vs (R1+R2)/T", gap, eps, tol=1e-9,
                        relation="<=", route="Freund-Schapire argument")
            if pname == "Hedge":
                reg_bound = b * (np.sqrt(T / 2 * np.log(m)) + np.sqrt(T / 2 * np.log(n)))
            else:
                reg_bound = b * (np.sqrt(m * T) + np.sqrt(n * T))
            ctx.compare(f"{gname}, {pname}: (R1+R2)/T vs the regret bounds / T", eps, reg_bound / T,
                        relation="<=", route="closed form (Hedge Thm 2.2 / regret matching)")
            ctx.compare(f"{gname}, {pname}: game value (LP) in [min_j xbar^T A, max_i A ybar]", v,
                        (float((xb @ A).min()), float((A @ yb).max())), relation="in", tol=1e-9,
                        route="linear program (scipy HiGHS)")
            curves[(gname, pname)] = (out.checkpoints, out.nash_gap[0],
                                      (out.regret_row[0] + out.regret_col[0]) / out.checkpoints)
        samp = B.self_play(game, B.RegretMatching(), B.RegretMatching(), horizon=T, n_runs=n_runs,
                           rng=ctx.seed, feedback="sampled", checkpoints=2)
        gaps = np.array([(A @ samp.y_bar[r]).max() - (samp.x_bar[r] @ A).min() for r in range(n_runs)])
        eps = (samp.regret_row[:, -1] + samp.regret_col[:, -1]) / T
        ctx.compare(f"{gname}, RM (sampled play): max over runs of gap - (R1+R2)/T",
                    float(np.max(gaps - eps)), 0.0, tol=1e-9, relation="<=",
                    route="Freund-Schapire argument, every run")
    if ctx.figures_enabled:
        from mdpkit import plotting

        fig, ax = plotting.subplots()
        for i, (key, (t, gap, eps)) in enumerate(curves.items()):
            ax.plot(t, gap, color=f"C{i}", label=f"{key[0]}, {key[1]}: Nash gap")
            ax.plot(t, eps, color=f"C{i}", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rounds T")
        ax.set_ylabel("Nash gap (solid), (R1+R2)/T (dotted)")
        ax.legend(fontsize=6)
        ctx.savefig(fig, "bandit_no_regret_nash")
