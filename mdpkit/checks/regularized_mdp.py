"""Checks of the foundation: exact solvers against LPs, convex programs and closed forms."""

from __future__ import annotations

import numpy as np

from ._registry import CheckContext, register


def _instances(ctx: CheckContext, n: int, S: int, A: int, gamma: float):
    import mdpkit as mk

    return [mk.random_mdp(n_states=S, n_actions=A, gamma=gamma, rng=ctx.seed + i,
                          concentration=0.3) for i in range(n)]


@register(
    "soft_bellman_contraction",
    paper="Geist, Scherrer, Pietquin, 'A Theory of Regularized MDPs', ICML 2019, Prop. 1; "
    "Neu, Jonsson, Gomez (2017) entropy-regularized LP",
    statement="The soft Bellman operator T_beta is a gamma-contraction in sup norm, and its fixed "
    "point equals the optimum of the KL-regularized convex program over occupancy measures: "
    "mu0^T V*_beta = max_d <d, r> - beta sum_s d_S(s) KL(pi_d(.|s) || pi_ref(.|s)), divided by 1-gamma.",
)
def soft_bellman_contraction(ctx: CheckContext) -> None:
    import mdpkit as mk

    from ._oracles import kl_regularized_program

    gamma = 0.9
    rng = np.random.default_rng(ctx.seed)
    ratios = []
    for mdp in _instances(ctx, 3 if ctx.quick else 10, 6, 3, gamma):
        pi_ref = rng.dirichlet(np.ones(3), size=6)
        for beta in (1e-2, 1.0, 1e2):
            for _ in range(10):
                V1, V2 = rng.normal(size=6) * 5, rng.normal(size=6) * 5
                T1 = mk.soft_bellman(V1, mdp, pi_ref, beta)
                T2 = mk.soft_bellman(V2, mdp, pi_ref, beta)
                ratios.append(np.abs(T1 - T2).max() / np.abs(V1 - V2).max())
    ctx.compare("max ||T V1 - T V2|| / ||V1 - V2||", max(ratios), gamma, tol=1e-12, relation="<=",
                route="closed form (gamma)")
    worst = 0.0
    for i, mdp in enumerate(_instances(ctx, 2 if ctx.quick else 5, 5, 3, gamma)):
        pi_ref = np.random.default_rng(100 + i).dirichlet(np.ones(3), size=5)
        for beta in (0.1, 1.0):
            res = mk.solve_kl_regularized(mdp, pi_ref, beta, tol=1e-11)
            opt = kl_regularized_program(mdp, pi_ref, beta)
            worst = max(worst, abs(float(mdp.mu0 @ res.V) - opt) / (1 + abs(opt)))
    ctx.compare("max rel. |mu0.V*_beta - convex program optimum|", worst, 0.0, tol=1e-5,
                route="cvxpy exponential-cone program")


@register(
    "vi_pi_mpi_lp_agree",
    paper="Puterman (2005), Thm 6.2.10 (LP), Sec. 6.4-6.5 (PI, MPI); Example 6.2.1",
    statement="Value iteration, policy iteration and modified policy iteration reach V* within tol, "
    "agreeing with the occupancy-measure LP and the primal LP; on Puterman's two-state example V* "
    "matches the closed form for gamma above and below 10/11.",
)
def vi_pi_mpi_lp_agree(ctx: CheckContext) -> None:
    import mdpkit as mk

    from ._oracles import lp_optimal_values, occupancy_lp

    tol = 1e-9
    for gamma in (0.9, 0.99):
        errs = {m: 0.0 for m in ("value_iteration", "policy_iteration", "modified_policy_iteration")}
        occ_err = 0.0
        for mdp in _instances(ctx, 2 if ctx.quick else 6, 8, 3, gamma):
            V_lp = lp_optimal_values(mdp)
            val, _ = occupancy_lp(mdp)
            occ_err = max(occ_err, abs(val - float(mdp.mu0 @ V_lp)) / (1 + abs(val)))
            for m in errs:
                errs[m] = max(errs[m], float(np.abs(mk.solve(mdp, method=m, tol=tol).V - V_lp).max()))
        scale = 1.0 / (1 - gamma)
        for m, e in errs.items():
            ctx.compare(f"gamma={gamma}: max |V_{m} - V_LP|", e, 0.0, tol=1e-6 * scale,
                        route="cvxpy primal LP")
        ctx.compare(f"gamma={gamma}: rel |occupancy LP - mu0.V_LP|", occ_err, 0.0, tol=1e-6,
                    route="cvxpy dual (occupancy) LP")
    for g in (0.5, 0.95):
        V = mk.solve(mk.puterman_example(g), tol=1e-12).V
        exact = (5 - 5.5 * g) / ((1 - 0.5 * g) * (1 - g)) if g > 10 / 11 else 10 - g / (1 - g)
        ctx.compare(f"Puterman Ex. 6.2.1, gamma={g}: V*(s1)", V[0], exact, tol=1e-10,
                    route="closed form (Puterman)")
        ctx.compare(f"Puterman Ex. 6.2.1, gamma={g}: V*(s2)", V[1], -1 / (1 - g), tol=1e-10,
                    route="closed form (Puterman)")


@register(
    "kl_regularized_limits",
    paper="Geist et al. (2019), Prop. 3 (regularization error); Hoeffding's lemma",
    statement="0 <= V* - V*_beta <= beta max_s log(1/min_a pi_ref(a|s)) / (1-gamma) (beta -> 0 recovers "
    "the unregularized optimum) and 0 <= V*_beta - V^{pi_ref} <= (Delta r/(1-gamma))^2 / (8 beta (1-gamma)) "
    "(beta -> infinity recovers the value of pi_ref), for beta from 1e-8 to 1e8.",
)
def kl_regularized_limits(ctx: CheckContext) -> None:
    import mdpkit as mk

    from ._oracles import direct_policy_value, lp_optimal_values

    gamma = 0.9
    rng = np.random.default_rng(ctx.seed + 7)
    betas = (1e-8, 1e-3, 1e-1, 1.0, 10.0, 1e3, 1e8)
    lo_gap_min, hi_slack_min = np.inf, np.inf
    lo_gap_ref, hi_slack_ref = np.inf, np.inf
    for mdp in _instances(ctx, 2 if ctx.quick else 5, 6, 3, gamma):
        pi_ref = rng.dirichlet(np.ones(3), size=6) * 0.9 + 0.1 / 3
        V_star = lp_optimal_values(mdp)
        V_ref = direct_policy_value(mdp, pi_ref)
        dr = float(mdp.r.max() - mdp.r.min())
        for beta in betas:
            Vb = mk.solve_kl_regularized(mdp, pi_ref, beta, tol=1e-11).V
            gap = V_star - Vb
            bound = beta * np.log(1 / pi_ref.min(axis=1)).max() / (1 - gamma)
            lo_gap_min = min(lo_gap_min, float(gap.min()))
            hi_slack_min = min(hi_slack_min, float((bound - gap).min()))
            up = Vb - V_ref
            bound2 = (dr / (1 - gamma)) ** 2 / (8 * beta * (1 - gamma))
            lo_gap_ref = min(lo_gap_ref, float(up.min()))
            hi_slack_ref = min(hi_slack_ref, float((bound2 - up).min()))
    lp_tol = 1e-6 / (1 - gamma)
    ctx.compare("min (V* - V*_beta)", lo_gap_min, 0.0, tol=lp_tol, relation=">=", route="cvxpy primal LP")
    ctx.compare("min (beta maxKL/(1-gamma) - (V* - V*_beta))", hi_slack_min, 0.0, tol=lp_tol,
                relation=">=", route="closed-form bound + cvxpy LP")
    ctx.compare("min (V*_beta - V^pi_ref)", lo_gap_ref, 0.0, tol=1e-9, relation=">=",
                route="direct linear solve for V^pi_ref")
    ctx.compare("min (Hoeffding bound - (V*_beta - V^pi_ref))", hi_slack_ref, 0.0, tol=1e-9,
                relation=">=", route="Hoeffding's lemma + direct linear solve")


@register(
    "token_level_identity",
    paper="Rafailov et al. 'From r to Q*' (2024); Zhong et al. RTO (2024), Prop. 1; CLAIMS.md #15-#17, C10(i)",
    statement="On a deterministic token tree with terminal reward r(y), the KL-regularized optimum "
    "satisfies beta log pi*(a|s)/pi_ref(a|s) = Q*(s,a) - V*(s) per token, and the per-token sum equals "
    "r(y) - V*(root), with V*(root) = beta log sum_y pi_ref(y) exp(r(y)/beta) (brute-force enumeration).",
)
def token_level_identity(ctx: CheckContext) -> None:
    import itertools

    import mdpkit as mk

    V_, L = (3, 3) if ctx.quick else (4, 4)
    rng = np.random.default_rng(ctx.seed + 3)
    reward = rng.normal(size=V_**L)
    mdp = mk.token_tree_mdp(V_, L, reward)
    pi_ref = rng.dirichlet(np.ones(V_), size=(L, mdp.n_states))
    offsets = np.cumsum([0] + [V_**h for h in range(L + 1)])
    worst_tok, worst_seq, worst_law, worst_root = 0.0, 0.0, 0.0, 0.0
    for beta in (0.1, 0.5, 2.0):
        res = mk.solve_kl_regularized(mdp, pi_ref, beta)
        # brute-force sequence law: pi_ref(y) exp(r(y)/beta) / Z
        log_ref_y = np.empty(V_**L)
        for idx, y in enumerate(itertools.product(range(V_), repeat=L)):
            s, lp = 0, 0.0
            for h, a in enumerate(y):
                lp += np.log(pi_ref[h, s, a])
                s = offsets[h + 1] + (s - offsets[h]) * V_ + a
            log_ref_y[idx] = lp
        z = log_ref_y + reward / beta
        logZ = np.logaddexp.reduce(z)
        worst_root = max(worst_root, abs(res.V[0, 0] - beta * logZ))
        for idx, y in enumerate(itertools.product(range(V_), repeat=L)):
            s, tot, lp_star = 0, 0.0, 0.0
            for h, a in enumerate(y):
                lr = beta * np.log(res.pi[h, s, a] / pi_ref[h, s, a])
                worst_tok = max(worst_tok, abs(lr - (res.Q[h, s, a] - res.V[h, s])))
                tot += lr
                lp_star += np.log(res.pi[h, s, a])
                s = offsets[h + 1] + (s - offsets[h]) * V_ + a
            worst_seq = max(worst_seq, abs(tot - (reward[idx] - beta * logZ)))
            worst_law = max(worst_law, abs(lp_star - (z[idx] - logZ)))
    ctx.compare("max |beta log pi*/pi_ref - (Q* - V*)| per token", worst_tok, 0.0, tol=1e-12,
                route="definition (per-token soft advantage)")
    ctx.compare("max |V*(root) - beta log Z|", worst_root, 0.0, tol=1e-12, route="brute-force enumeration")
    ctx.compare("max |sum_t beta log pi*/pi_ref - (r(y) - V*(root))|", worst_seq, 0.0, tol=1e-11,
                route="brute-force enumeration")
    ctx.compare("max |log prod_t pi*(a_t|s_t) - log pi*(y)|", worst_law, 0.0, tol=1e-11,
                route="brute-force enumeration (tilted sequence law)")


@register(
    "f_divergence_regularized_optimum",
    paper="Wang et al., 'Beyond Reverse KL' (f-DPO), ICLR 2024, Thm 1; CLAIMS.md #10, #14 (i)-(iii)",
    statement="max_pi <pi, r> - beta D_f(pi || pi_ref) is attained at pi = pi_ref (f')^{-1}((r - lam)/beta)_+ "
    "(value equal to the convex program's), the implied reward beta f'(pi/pi_ref) - r is constant on the "
    "support, and actions with equal reward keep the reference's probability ratio.",
)
def f_divergence_regularized_optimum(ctx: CheckContext) -> None:
    from mdpkit.divergences import KL, ChiSquare, ForwardKL, Hellinger, TotalVariation

    from ._oracles import regularized_max_program

    rng = np.random.default_rng(ctx.seed + 11)
    K = 10
    n_inst = 2 if ctx.quick else 6
    for div in (KL(), ForwardKL(), ChiSquare(), Hellinger(), TotalVariation()):
        gap, spread, ratio_err = 0.0, 0.0, 0.0
        for _ in range(n_inst):
            p = rng.dirichlet(np.ones(K))
            r = rng.integers(0, 4, size=K).astype(float)  # repeated reward levels
            beta = float(rng.choice([0.2, 1.0]))
            M, pi = div.regularized_max(r, p, beta)
            opt = regularized_max_program(div.name, r, p, beta)
            assert opt is not None  # every divergence of this loop has a cvxpy (DCP) form
            gap = max(gap, abs(float(M) - opt) / (1 + abs(opt)))
            if div.name != "tv":  # f' is invertible: KKT gives a constant implied reward on the support
                supp = pi > 1e-12
                implied = beta * div.f_prime(pi[supp] / p[supp]) - r[supp]
                spread = max(spread, float(implied.max() - implied.min()))
                for level in np.unique(r):
                    idx = np.flatnonzero((r == level) & supp)
                    if idx.size > 1:
                        ratio_err = max(ratio_err, float(np.abs(pi[idx] / pi[idx[0]] - p[idx] / p[idx[0]]).max()))
        ctx.compare(f"{div.name}: rel |value - convex program|", gap, 0.0, tol=1e-5, route="cvxpy convex program")
        if div.name != "tv":
            ctx.compare(f"{div.name}: spread of beta f'(pi/pi_ref) - r", spread, 0.0, tol=1e-8,
                        route="KKT conditions (closed form)")
            ctx.compare(f"{div.name}: within-level ratio error", ratio_err, 0.0, tol=1e-9,
                        route="closed form (pi_ref ratios)")
