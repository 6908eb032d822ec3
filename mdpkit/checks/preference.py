"""Checks of preference optimization and Nash learning (:mod:`mdpkit.preference`).

Every prediction comes from a route independent of the code under test: cvxpy convex
programs, one-dimensional root finding on closed forms written here, brute-force
enumeration of a token tree, and the package's soft backward induction
(:func:`mdpkit.solve_kl_regularized`) where the check is about DPO, not the solver.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import optimize
from scipy.special import expit

from ._registry import CheckContext, register

# ---------------------------------------------------------------------------------------
# independent oracles (never call mdpkit.preference's minimizers)


def _cvx_kl_value(ref, r, beta):
    """max_pi <pi, r> - beta KL(pi || ref) by cvxpy (exponential cone)."""
    import cvxpy as cp

    x = cp.Variable(ref.size, nonneg=True)
    prob = cp.Problem(cp.Maximize(r @ x - beta * cp.sum(cp.kl_div(x, ref))), [cp.sum(x) == 1])
    prob.solve()
    return float(prob.value)


def _cvx_ipo(ref, W, beta):
    """IPO population loss minimized over log-ratios g (a convex QP), gauge sum(g) = 0."""
    import cvxpy as cp

    Y = ref.size
    g = cp.Variable(Y)
    terms = [W[w, l] * cp.square(g[w] - g[l] - 0.5 / beta) for w in range(Y) for l in range(Y)
             if w != l and W[w, l] > 0]
    cp.Problem(cp.Minimize(sum(terms)), [cp.sum(g) == 0]).solve()
    x = np.log(ref) + np.asarray(g.value)
    return np.exp(x - x.max()) / np.exp(x - x.max()).sum()


def _cvx_hinge_value(W, beta):
    """Minimum of sum W max(0, 1 - beta (g_w - g_l)) over g (LP by cvxpy)."""
    import cvxpy as cp

    Y = W.shape[0]
    g = cp.Variable(Y)
    obj = sum(W[w, l] * cp.pos(1 - beta * (g[w] - g[l])) for w in range(Y) for l in range(Y) if w != l)
    prob = cp.Problem(cp.Minimize(obj + float(np.trace(W))), [g[0] == 0])
    prob.solve()
    return float(prob.value)


# inverses of TRL's f-DPO scores psi(u) (written here from the formulas, not the package)
_PSI_INV = {
    "reverse_kl": lambda x, a: np.exp(x),
    "forward_kl": lambda x, a: -1.0 / x,
    "js": lambda x, a: np.exp(x) / (2.0 - np.exp(x)),
    "alpha": lambda x, a: (1.0 - a * x) ** (-1.0 / a),
}
_PSI_SUP = {"reverse_kl": lambda a: np.inf, "forward_kl": lambda a: 0.0, "js": lambda a: math.log(2.0),
            "alpha": lambda a: 1.0 / a}


def _fdpo_kkt(ref, r, beta, div, a):
    """Return pi = ref * psi^{-1}((r - lam)/beta) with lam found by brentq so that sum pi = 1."""
    inv, sup = _PSI_INV[div], _PSI_SUP[div](a)

    def mass(lam):
        return float(np.sum(ref * inv((r - lam) / beta, a))) - 1.0

    lo = float(r.max() - beta * sup) if np.isfinite(sup) else float(r.max()) - 50 * beta
    lo += 1e-12 * (1 + abs(lo))
    hi = float(r.max()) + 1.0
    while mass(hi) > 0:
        hi += 2 * (hi - lo)
    while not np.isfinite(sup) and mass(lo) < 0:
        lo -= 50 * beta
    lam = optimize.brentq(mass, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=500)
    return ref * inv((r - lam) / beta, a)


@register(
    "pref_loss_minimizers",
    paper="Rafailov et al. 2023 (DPO, Eq. 4-7); Azar et al. 2024 (IPO, Prop. 4); Zhao et al. 2023 (SLiC); "
    "Wang et al. 2024 (f-DPO, Thm 1); CLAIMS.md #10",
    statement="Minimizing each loss to convergence (L-BFGS on the logits with the exact gradient; LP for hinge) "
    "reaches its population minimizer: DPO -> pi_ref e^{r/beta}/Z, IPO -> pi_ref e^{P(y > mu)/beta}/Z, "
    "f-DPO -> pi_ref (f')^{-1}((r - lam)/beta), hinge -> the LP optimum value.",
    requires=("cvxpy",),
)
def pref_loss_minimizers(ctx: CheckContext) -> None:
    from mdpkit import preference as pref

    g = np.random.default_rng(ctx.seed + 140)
    n_inst = 2 if ctx.quick else 6
    Y = 6
    worst: dict[str, float] = {}
    for _ in range(n_inst):
        ref = g.dirichlet(np.ones(Y))
        r = g.normal(size=Y)
        mu = g.dirichlet(np.ones(Y))
        beta = float(g.choice([0.3, 1.0, 3.0]))
        P = pref.bradley_terry_matrix(r)
        W = pref.population_counts(P, mu)

        def err(key, pi, target):
            worst[key] = max(worst.get(key, 0.0), float(np.abs(pi - target).max()))

        dpo = pref.minimize_loss(ref, W, beta).pi
        j = float(dpo @ r - beta * np.sum(dpo * np.log(dpo / ref)))
        worst["dpo: J_beta value vs cvxpy optimum"] = max(worst.get("dpo: J_beta value vs cvxpy optimum", 0.0),
                                                          abs(j - _cvx_kl_value(ref, r, beta)))
        tilt = ref * np.exp((r - r.max()) / beta)
        err("dpo vs closed-form tilt", dpo, tilt / tilt.sum())
        ipo = pref.minimize_loss(ref, W, beta, loss="ipo").pi
        err("ipo vs cvxpy QP", ipo, _cvx_ipo(ref, W, beta))
        closed = ref * np.exp(P @ mu / beta)
        err("ipo vs Azar closed form", ipo, closed / closed.sum())
        hv = pref.minimize_loss(ref, W, beta, loss="hinge").value
        worst["hinge value vs cvxpy LP"] = max(worst.get("hinge value vs cvxpy LP", 0.0),
                                               abs(hv - _cvx_hinge_value(W, beta)))
        for div in ("reverse_kl", "forward_kl", "js", "alpha"):
            m = pref.minimize_loss(ref, W, beta, loss="fdpo", divergence=div, alpha=0.5)
            err(f"f-DPO {div} vs KKT root", m.pi, _fdpo_kkt(ref, r, beta, div, 0.5))
    for key, v in worst.items():
        # minimizers are Newton-polished to gradient <= 1e-10 (smallest curvature ~1e-2 here: <= 1e-8
        # in pi); cvxpy's interior-point solvers are accurate to about 1e-6 (values and QP solutions)
        tol = 1e-6 if "cvxpy" in key else 1e-8
        ctx.compare(f"max |measured - predicted|: {key}", v, 0.0, tol=tol,
                    route="cvxpy" if "cvxpy" in key else "closed form / brentq on KKT")


# ---------------------------------------------------------------------------------------


def _token_tree_instance(V, L, seed):
    g = np.random.default_rng(seed)
    ref = [g.dirichlet(np.ones(V), size=V**t) for t in range(L)]
    r = g.normal(size=V**L)
    return ref, r


@register(
    "pref_token_tree_dpo",
    paper="Rafailov et al. 2024 'From r to Q*'; Zhong et al. 2024 (RTO, Prop. 1); Xie et al. 2024 (XPO, Sec. 3); "
    "Zeng et al. 2024 (TDPO); CLAIMS.md #5, #15, #16, C10 (i)",
    statement="On a token tree (V=3, L=3), the sequence-level DPO loss minimized over per-token policies gives "
    "the KL-regularized optimum of mk.token_tree_mdp (soft backward induction) and the tilted sequence law; "
    "its token rewards beta log pi/pi_ref telescope to r(y) - V*(root). TDPO's minimizer instead satisfies "
    "beta (log pi/pi_ref + SeqKL(pi_ref||pi))(y) = r(y) + const.",
)
def pref_token_tree_dpo(ctx: CheckContext) -> None:
    import mdpkit as mk
    from mdpkit import preference as pref

    V, L = 3, 3
    betas = (0.5,) if ctx.quick else (0.25, 0.5, 2.0)
    ref, r = _token_tree_instance(V, L, ctx.seed + 141)
    log_ref = [np.log(a) for a in ref]
    mdp = mk.token_tree_mdp(V, L, r)
    pi_ref_mdp = pref.token_policy_to_mdp(ref)
    # brute-force reference sequence law (independent of sequence_log_probs)
    seq_ref = np.empty(V**L)
    for idx, y in enumerate(itertools.product(range(V), repeat=L)):
        n, lp = 0, 0.0
        for t, a in enumerate(y):
            lp += log_ref[t][n, a]
            n = n * V + a
        seq_ref[idx] = lp
    W = pref.population_counts(pref.bradley_terry_matrix(r), np.exp(seq_ref))
    e_tok = e_law = e_tel = e_tdpo = 0.0
    for beta in betas:
        pi, gn, ok = pref.minimize_token_loss(ref, W, beta)
        soft = mk.solve_kl_regularized(mdp, pi_ref_mdp, beta)
        pm = pref.token_policy_to_mdp(pi)
        offs = np.cumsum([0] + [V**h for h in range(L + 1)])
        e_tok = max(e_tok, max(float(np.abs(pm[t, offs[t]:offs[t + 1]] - soft.pi[t, offs[t]:offs[t + 1]]).max())
                               for t in range(L)))
        z = seq_ref + r / beta
        logZ = float(np.logaddexp.reduce(z))
        seq_lp = pref.sequence_log_probs([np.log(a) for a in pi])
        e_law = max(e_law, float(np.abs(np.exp(seq_lp) - np.exp(z - logZ)).max()))
        e_tel = max(e_tel, float(np.abs(beta * (seq_lp - seq_ref) - (r - soft.V[0, 0])).max()))
        pt, _, _ = pref.minimize_token_loss(ref, W, beta, loss="tdpo")
        lpt = [np.log(a) for a in pt]
        seqkl = np.zeros(V**L)
        for idx, y in enumerate(itertools.product(range(V), repeat=L)):
            n = 0
            for t, a in enumerate(y):
                seqkl[idx] += float(np.sum(ref[t][n] * (log_ref[t][n] - lpt[t][n])))
                n = n * V + a
        e_tdpo = max(e_tdpo, float(np.ptp(beta * (pref.sequence_log_probs(lpt) - seq_ref + seqkl) - r)))
        ctx.compare(f"beta={beta}: KL(TDPO minimizer || DPO minimizer) > 0 (they differ)",
                    float(np.sum(np.exp(pref.sequence_log_probs(lpt)) * (pref.sequence_log_probs(lpt) - seq_lp))),
                    1e-6, relation=">=", route="brute-force enumeration")
    # minimizers are Newton-polished to gradient <= 1e-10 (about 1e-15 in practice); divided by the
    # smallest curvature (~1e-4 here) that bounds the log-ratio error by 1e-6
    ctx.compare("max |DPO token policy - soft backward induction|", e_tok, 0.0, tol=1e-6,
                route="mk.solve_kl_regularized on mk.token_tree_mdp")
    ctx.compare("max |DPO sequence law - pi_ref e^{r/beta}/Z|", e_law, 0.0, tol=1e-6, route="brute-force enumeration")
    ctx.compare("max |sum_t beta log pi/pi_ref - (r(y) - V*(root))|", e_tel, 0.0, tol=1e-6,
                route="soft value V*(root) = beta log Z")
    ctx.compare("spread of beta(log pi/pi_ref + SeqKL) - r at the TDPO minimizer", e_tdpo, 0.0, tol=1e-6,
                route="first-order condition (brute-force SeqKL)")


# ---------------------------------------------------------------------------------------


@register(
    "pref_hypo_coverage",
    paper="Song et al. 2024, 'The Importance of Online Data: Understanding Preference Fine-tuning via "
    "Coverage' (HyPO), Sec. 4 counterexample; CLAIMS.md #14",
    statement="With data covering only (y1, y2), every policy with the right pi(y1)/pi(y2) ratio minimizes the "
    "DPO loss, whatever mass it puts on the uncovered y3 (exact); offline DPO from an SFT start keeps the "
    "mass on y3, HyPO (DPO + beta_kl KL(pi||pi_ref), online) converges to its unique minimizer, computed "
    "independently by a 1-D minimization; with full coverage offline DPO reaches the tilted policy.",
)
def pref_hypo_coverage(ctx: CheckContext) -> None:
    from mdpkit import preference as pref

    ref = np.array([0.45, 0.45, 0.10])
    r = np.array([1.0, 0.0, -2.0])  # the uncovered response is bad
    beta, beta_kl = 0.5, 0.5
    p12 = float(expit(r[0] - r[1]))
    W = np.zeros((3, 3))
    W[0, 1], W[1, 0] = p12, 1 - p12  # pairs (y1, y2) only
    lmin = -(p12 * math.log(p12) + (1 - p12) * math.log(1 - p12))  # the logistic loss at logit = log-odds
    # (a) exact: a family of DPO minimizers with growing mass on y3
    q = 1.0 / (1.0 + (ref[1] / ref[0]) * math.exp(-(r[0] - r[1]) / beta))  # pi1/(pi1+pi2) at the optimum
    gap = 0.0
    for m in (0.1, 0.5, 0.9, 0.99):
        pi = np.array([(1 - m) * q, (1 - m) * (1 - q), m])
        gap = max(gap, abs(pref.preference_loss(pi, ref, W, beta).value - lmin))
    ctx.compare("max over pi(y3) in {.1,.5,.9,.99} of |DPO loss - min|", gap, 0.0, tol=1e-12,
                route="closed form (binary entropy of P(y1>y2))")
    # (b) learners from an SFT start that over-weights y3
    pi0 = np.array([0.25, 0.25, 0.5])
    n_steps = 4000 if ctx.quick else 20000
    dpo = pref.offline_dpo(W, ref, beta, pi0=pi0, eta=2.0, n_steps=n_steps)
    hy = pref.hypo(W, ref, beta, beta_kl=beta_kl, pi0=pi0, eta=2.0, n_steps=n_steps)
    star = ref * np.exp(r / beta)
    star /= star.sum()
    ctx.compare("offline DPO: pi(y3) (>= pi*(y3) + 0.3: mass on the uncovered bad response)",
                float(dpo.pi[0, 2]), float(star[2]) + 0.3, relation=">=", route="closed-form tilted policy")
    ctx.compare("offline DPO: gradient at the end (a minimizer)", float(dpo.grad_norm[0]), 0.0, tol=1e-9,
                route="exact gradient")

    # independent HyPO minimizer: pi = (s q, s (1-q), 1-s); s eliminated in closed form, q by a 1-D search
    def objective(qq):
        c = qq * math.log(qq / ref[0]) + (1 - qq) * math.log((1 - qq) / ref[1])
        s = 1.0 / (1.0 + ref[2] * math.exp(c))
        kl = s * math.log(s) + s * c + (1 - s) * math.log((1 - s) / ref[2])
        h = beta * (math.log(qq / ref[0]) - math.log((1 - qq) / ref[1]))
        dpo_loss = p12 * math.log1p(math.exp(-h)) + (1 - p12) * math.log1p(math.exp(h))
        return dpo_loss + beta_kl * kl, s

    res = optimize.minimize_scalar(lambda x: objective(x)[0], bounds=(1e-9, 1 - 1e-9), method="bounded",
                                   options={"xatol": 1e-13})
    s = objective(res.x)[1]
    target = np.array([s * res.x, s * (1 - res.x), 1 - s])
    ctx.compare("HyPO (exact KL gradient) vs 1-D minimization", float(np.abs(hy.pi[0] - target).max()), 0.0,
                tol=1e-6, route="scipy bounded 1-D search on the reduced objective")
    # HyPO's minimizer beats pi_ref on L + beta_kl KL and L >= L_min: KL(pi||pi_ref) <= (L(pi_ref) - L_min)/beta_kl
    kl_bound = (pref.preference_loss(ref, ref, W, beta).value - lmin) / beta_kl

    def kl(p):
        return float(np.sum(p * np.log(p / ref)))

    ctx.compare("HyPO: KL(pi||pi_ref) <= (L(pi_ref) - L_min)/beta_kl", kl(hy.pi[0]), kl_bound, relation="<=",
                route="optimality vs pi_ref (exact inequality)")
    ctx.compare("offline DPO: KL(pi||pi_ref) exceeds that bound", kl(dpo.pi[0]), kl_bound, relation=">=",
                route="same bound")
    ctx.compare("offline DPO: pi(y3) - HyPO pi(y3) (>= 0.2)", float(dpo.pi[0, 2] - hy.pi[0, 2]), 0.2,
                relation=">=", route="the two learners from one start")
    hs = pref.hypo(W, ref, beta, beta_kl=beta_kl, pi0=pi0, eta=0.5, n_steps=n_steps // 2, n_samples=16,
                   n_runs=4 if ctx.quick else 16, rng=ctx.seed)
    ctx.compare("HyPO with 16 on-policy samples per step: max KL over runs <= bound (empirical)",
                max(kl(p) for p in hs.pi), kl_bound, relation="<=", route="same bound")
    # (c) full coverage: offline DPO is the tilted policy
    Wf = pref.population_counts(pref.bradley_terry_matrix(r), ref)
    full = pref.offline_dpo(Wf, ref, beta, pi0=pi0, eta=4.0, n_steps=n_steps)
    ctx.compare("full coverage: max |offline DPO - tilted policy|", float(np.abs(full.pi[0] - star).max()), 0.0,
                tol=1e-7, route="closed-form tilted policy")
    if ctx.figures_enabled:
        _hypo_figure(ctx, dpo, hy, star, ref)


def _hypo_figure(ctx, dpo, hy, star, ref):
    from mdpkit import plotting

    fig, ax = plotting.subplots(1, 1, figsize=(4.5, 3.0))
    x = np.arange(3)
    for k, (lab, v) in enumerate([("pi_ref", ref), ("tilted pi*", star), ("offline DPO", dpo.pi[0]),
                                  ("HyPO", hy.pi[0])]):
        ax.bar(x + 0.2 * k - 0.3, v, width=0.2, label=lab)
    ax.set_xticks(x, ["y1", "y2", "y3 (uncovered)"])
    ax.set_ylabel("probability")
    ax.legend(fontsize=7)
    ctx.savefig(fig, "pref_hypo_coverage")


# ---------------------------------------------------------------------------------------


def xpo_rounds_experiment(p_values, *, n_runs, n_rounds, beta=0.1, n_responses=4, alpha=0.01, eps_frac=0.3,
                          seed=0):
    """Median rounds for online DPO and XPO (Xie et al. Alg. 1, ``method="argmin"``) to reach the gap eps.

    The bandit: y* = 0 with reward 1 and reference mass p, the other responses reward 0.
    Returns a dict of arrays over ``p_values`` (used by the check, the sim and the figure).
    """
    from mdpkit import preference as pref

    Y = n_responses
    out = {"p": np.asarray(p_values, float), "dpo": [], "xpo": [], "dpo_censored": [], "xpo_censored": [],
           "gap0": []}
    for k, p in enumerate(p_values):
        ref = np.full(Y, (1 - p) / (Y - 1))
        ref[0] = p
        r = np.zeros(Y)
        r[0] = 1.0
        # J_beta(pi*) - J_beta(pi_ref) = beta log E_ref e^{r/beta} - E_ref r (closed form)
        gap0 = beta * math.log(p * math.exp(1 / beta) + 1 - p) - p
        kw = dict(n_rounds=n_rounds, n_runs=n_runs, method="argmin", eps=eps_frac * gap0, rng=seed + k)
        a = pref.online_dpo(ref, r, beta, **kw)
        b = pref.xpo(ref, r, beta, alpha=alpha, **kw)
        out["dpo"].append(a.median_rounds())
        out["xpo"].append(b.median_rounds())
        out["dpo_censored"].append(float(np.mean(a.rounds_to_eps > n_rounds)))
        out["xpo_censored"].append(float(np.mean(b.rounds_to_eps > n_rounds)))
        out["gap0"].append(gap0)
    return {k: np.asarray(v) for k, v in out.items()}


@register(
    "pref_xpo_exploration",
    paper="Xie et al. 2024, 'Exploratory Preference Optimization' (XPO), Sec. 3.2 and Alg. 1; CLAIMS.md B5, C10 (ii)",
    statement="On a bandit where pi_ref(y*) = p, the rounds online DPO needs to reach J_beta(pi*) - J_beta(pi_t) "
    "<= eps grow like 1/p (log-log slope ~1: it must first sample y*), while XPO's optimism term "
    "alpha log pi(y_ref) makes them grow much more slowly (empirical, median over seeds).",
)
def pref_xpo_exploration(ctx: CheckContext) -> None:
    ps = (1e-1, 3e-2) if ctx.quick else (1e-1, 1e-2, 1e-3)
    n_runs = 20 if ctx.quick else 50
    res = xpo_rounds_experiment(ps, n_runs=n_runs, n_rounds=8000 if ctx.quick else 60_000, seed=ctx.seed)
    x = np.log(1 / res["p"])
    s_dpo = float(np.polyfit(x, np.log(res["dpo"]), 1)[0])
    s_xpo = float(np.polyfit(x, np.log(res["xpo"]), 1)[0])
    ctx.compare("censored fraction of online DPO runs (median valid if < 0.5)", float(res["dpo_censored"].max()),
                0.5, relation="<=", route="definition of the median")
    # the rounds are (time to first sample y*, ~1/p) + (a p-independent convergence phase), so the
    # two-point slopes lie below 1 at large p; the theory gives no constant, hence the wide interval
    ctx.compare("log-log slope of online DPO rounds vs 1/pi_ref(y*) (empirical)", s_dpo, (0.6, 1.4),
                relation="in", route="Xie et al. Sec. 3.2: about 1/pi_ref(y*) rounds")
    ctx.compare("log-log slope of XPO rounds (empirical, much slower)", s_xpo, 0.5 * s_dpo, relation="<=",
                route="half the online-DPO slope")
    ctx.compare("online DPO / XPO median rounds at the smallest p (empirical)",
                float(res["dpo"][-1] / res["xpo"][-1]), 10.0, relation=">=", route="-")
    if ctx.figures_enabled:
        from mdpkit import plotting

        fig, ax = plotting.subplots(1, 1, figsize=(4.5, 3.2))
        ax.loglog(res["p"], res["dpo"], "o-", label=f"online DPO (slope {s_dpo:.2f})")
        ax.loglog(res["p"], res["xpo"], "s-", label=f"XPO (slope {s_xpo:.2f})")
        ax.loglog(res["p"], res["dpo"][0] * res["p"][0] / res["p"], "k--", lw=0.8, label=r"$\propto 1/\pi_{ref}(y^*)$")
        ax.set_xlabel(r"$\pi_{ref}(y^*)$")
        ax.set_ylabel(r"median rounds to $J_\beta$ gap $\leq \varepsilon$")
        ax.legend(fontsize=7)
        ctx.savefig(fig, "pref_xpo_exploration")


# ---------------------------------------------------------------------------------------
# KL-regularized preference games


def _cvx_nash(P, ref, beta):
    """Regularized Nash equilibrium as the minimizer of the (convex) duality gap of the profile (pi, pi).

    gap(pi) = 2 beta KL(pi||ref) + beta lse(log ref + P pi/beta) + beta lse(log ref - P^T pi/beta) >= 0,
    zero exactly at the symmetric equilibrium (best responses in closed form).
    """
    import cvxpy as cp

    x = cp.Variable(ref.size, nonneg=True)
    gap = (2 * beta * cp.sum(cp.kl_div(x, ref)) + beta * cp.log_sum_exp(np.log(ref) + P @ x / beta)
           + beta * cp.log_sum_exp(np.log(ref) - P.T @ x / beta))
    prob = cp.Problem(cp.Minimize(gap), [cp.sum(x) == 1])
    prob.solve()
    return np.asarray(x.value), float(prob.value)


def _gap_value(P, ref, beta, pi):
    """Return the duality gap of the profile (pi, pi), evaluated in closed form (log-sum-exp)."""
    a = np.log(ref) + P @ pi / beta
    b = np.log(ref) - P.T @ pi / beta
    kl = float(np.sum(pi * np.log(pi / ref)))
    return 2 * beta * kl + beta * float(np.logaddexp.reduce(a)) + beta * float(np.logaddexp.reduce(b))


def _random_game(Y, rng):
    B = rng.random((Y, Y))
    return 0.5 + (B - B.T) / 2, rng.dirichlet(np.ones(Y))


def nash_mp_kl_curves(sizes, beta, n_iter, seed=0):
    """KL(pi*||pi_t) of Nash-MP (eta = 2) on random intransitive games of each size (shared by sims/figures)."""
    from mdpkit import preference as pref

    g = np.random.default_rng(seed)
    out = {}
    for Y in sizes:
        P, ref = _random_game(Y, g)
        star = pref.regularized_nash(P, ref, beta).pi
        tr = pref.nash_mp(P, ref, beta, n_iter=n_iter, eta=2.0)
        out[Y] = (tr.queries, tr.kl_to(star), P, ref, star)
    return out


@register(
    "pref_nash_mp_rate",
    paper="Nash-MP: 'Accelerating Nash Learning from Human Feedback via Mirror Prox', arXiv 2505.19731 v1 "
    "(linear last-iterate rate); Munos et al. 2024 (the regularized game); CLAIMS.md #12, C15 (v)",
    statement="The exact regularized Nash equilibrium (Newton on pi = pi_ref e^{P pi/beta}/Z) equals the minimizer "
    "of the convex duality gap (cvxpy); Nash-MP with step eta = 2 (1/max|P - 1/2| >= 2) has last iterate "
    "KL(pi*||pi_t) <= (1 + 2 beta)^{-N/2} KL(pi*||pi_0) after N = 2t queries, at Y = 3, 30 and 300 responses alike.",
    requires=("cvxpy",),
)
def pref_nash_mp_rate(ctx: CheckContext) -> None:
    betas = (0.2,) if ctx.quick else (0.1, 0.5)
    for beta in betas:
        curves = nash_mp_kl_curves((3, 30, 300), beta, 40 if ctx.quick else 80, seed=ctx.seed + 12)
        pred = -0.5 * math.log1p(2 * beta)
        for Y, (N, kl, P, ref, star) in curves.items():
            ctx.compare(f"beta={beta} |Y|={Y}: duality gap of regularized_nash", _gap_value(P, ref, beta, star),
                        0.0, tol=1e-12, route="closed-form best responses (gap = 0 iff equilibrium)")
            if Y <= (30 if ctx.quick else 300):
                x_cvx, _ = _cvx_nash(P, ref, beta)
                # the gap is quadratic at its minimum: solver accuracy 1e-8 on the gap is ~1e-4 on pi
                ctx.compare(f"beta={beta} |Y|={Y}: max |regularized_nash - cvxpy gap minimizer|",
                            float(np.abs(star - x_cvx).max()), 0.0, tol=1e-4, route="cvxpy (exponential cone)")
            ok = (kl > 1e-13) & (N > 0)  # beyond 1e-13 KL is rounding noise
            bound = kl[0] * np.exp(pred * N)
            ctx.compare(f"beta={beta} |Y|={Y}: max_t KL_t / ((1+2beta)^(-N/2) KL_0)",
                        float(np.max(kl[ok] / bound[ok])), 1.0, relation="<=", tol=1e-9,
                        route="Nash-MP rate (arXiv 2505.19731 v1), eta = 2")
            slope = float(np.polyfit(N[ok], np.log(kl[ok]), 1)[0])
            ctx.compare(f"beta={beta} |Y|={Y}: fitted slope of log KL per query", slope, 0.9 * pred,
                        relation="<=", route=f"-(1/2) log(1+2 beta) = {pred:.4f}, within 10%")
    if ctx.figures_enabled:
        from mdpkit import plotting

        fig, ax = plotting.subplots(1, 1, figsize=(4.5, 3.2))
        for Y, (N, kl, *_rest) in curves.items():
            ax.semilogy(N, kl, label=f"|Y| = {Y}")
        ax.semilogy(N, curves[3][1][0] * (1 + 2 * betas[-1]) ** (-N / 2), "k--", lw=0.8,
                    label=r"$(1+2\beta)^{-N/2}$")
        ax.set_xlabel("preference queries N")
        ax.set_ylabel(r"KL$(\pi^*\|\pi_t)$")
        ax.legend(fontsize=7)
        ctx.savefig(fig, "pref_nash_mp_rate")


@register(
    "pref_inpo",
    paper="Zhang et al. 2024, 'Iterative Nash Policy Optimization' (INPO), Eq. 9 and Prop. 3; CLAIMS.md #13",
    statement="INPO's squared loss over pairs from pi_t, minimized over the policy (L-BFGS on the exact gradient), "
    "has the online-mirror-descent step pi_t^{1-eta beta} pi_ref^{eta beta} e^{eta P(. > pi_t)}/Z as minimizer; "
    "the self-play iterates converge to the regularized Nash equilibrium (cvxpy); with sampled pairs they "
    "approach it (empirical).",
    requires=("cvxpy",),
)
def pref_inpo(ctx: CheckContext) -> None:
    from mdpkit import preference as pref

    g = np.random.default_rng(ctx.seed + 13)
    beta, eta = 0.2, 2.0
    worst = 0.0
    for Y in (3, 8) if ctx.quick else (3, 8, 20):
        P, ref = _random_game(Y, g)
        pi_t = g.dirichlet(np.ones(Y))
        omd = pi_t ** (1 - eta * beta) * ref ** (eta * beta) * np.exp(eta * (P @ pi_t))
        omd /= omd.sum()
        base = pref.inpo_base(pi_t, ref, beta, eta)
        m = pref.minimize_loss(base, pref.population_counts(P, pi_t), 1.0 / eta, loss="ipo",
                               pi0=g.dirichlet(np.ones(Y)))
        worst = max(worst, float(np.abs(m.pi - omd).max()))
    # Newton-polished to gradient <= 1e-10; curvature >= ~1e-2 on these instances
    ctx.compare("max |argmin of INPO's squared loss - OMD step|", worst, 0.0, tol=1e-8,
                route="closed-form OMD step (written in the check)")
    Y = 8
    P, ref = _random_game(Y, g)
    x_cvx, _ = _cvx_nash(P, ref, beta)
    tr = pref.inpo(P, ref, beta, eta=eta, n_iter=300)
    ctx.compare("exact INPO: max |pi_T - cvxpy Nash|", float(np.abs(tr.pi[-1] - x_cvx).max()), 0.0, tol=1e-4,
                route="cvxpy duality-gap minimizer (quadratic gap: ~1e-4 on pi)")
    ctx.compare("exact INPO: duality gap of pi_T", _gap_value(P, ref, beta, tr.pi[-1]), 0.0, tol=1e-12,
                route="closed-form best responses")
    kl = tr.kl_to(pref.regularized_nash(P, ref, beta).pi)
    ctx.compare("exact INPO: max_t KL_{t+1}/KL_t (contracting)", float(np.max(kl[1:31] / kl[:30])), 1.0,
                relation="<=", route="OMD on a strongly monotone game")
    n_pairs = 2000 if ctx.quick else 20000
    ts = pref.inpo(P, ref, beta, eta=eta, n_iter=40, n_pairs=n_pairs, rng=ctx.seed)
    ctx.compare(f"INPO with {n_pairs} sampled pairs per step: KL(pi*||pi_T) / KL(pi*||pi_0) (empirical)",
                float(ts.kl_to(x_cvx)[-1] / ts.kl_to(x_cvx)[0]), 0.05, relation="<=", route="-")


@register(
    "pref_intransitive",
    paper="Munos et al. 2024 'Nash learning from human feedback', Sec. 3; Swamy et al. 2024 (SPO); CLAIMS.md #12-#13",
    statement="On an intransitive (rock-paper-scissors-like) preference matrix, BT-reward RLHF (= the DPO population "
    "minimizer) concentrates on a response that another beats: its worst-case win rate min_y P(pi > y) is far "
    "below 1/2, while the regularized Nash policy keeps min_y P(pi* > y) >= 1/2 + beta KL(pi*||pi_ref) - "
    "beta max_y log(1/pi_ref(y)) (exact).",
)
def pref_intransitive(ctx: CheckContext) -> None:
    from mdpkit import preference as pref

    P = np.array([[0.5, 0.9, 0.3], [0.1, 0.5, 0.6], [0.7, 0.4, 0.5]])  # 0 > 1 > 2 > 0
    ref = np.full(3, 1 / 3)
    beta = 0.05
    bt = pref.minimize_loss(ref, pref.population_counts(P, ref), beta).pi
    star = pref.regularized_nash(P, ref, beta).pi
    kl = float(np.sum(star * np.log(star / ref)))
    bound = 0.5 + beta * kl - beta * float(np.max(-np.log(ref)))
    ctx.compare("BT-RLHF: worst-case win rate min_y P(pi > y) (< 0.45: exploitable)", float(np.min(bt @ P)), 0.45,
                relation="<=", route="exact win rates")
    ctx.compare("Nash: worst-case win rate >= 1/2 + beta KL - beta max log 1/pi_ref", float(np.min(star @ P)),
                bound, relation=">=", tol=1e-12, route="equilibrium inequality (exact)")
    ctx.compare("Nash: P(pi* > pi*) = 1/2 (value of the symmetric game)", float(star @ P @ star), 0.5, tol=1e-14,
                route="P + P^T = 1")
