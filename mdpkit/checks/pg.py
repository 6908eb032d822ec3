"""Policy-gradient dynamics of reasoning RL (CLAIMS B7, C11, C12, rows 20-21, 29-31, 35-39).

Every prediction comes from a route independent of :mod:`mdpkit.pg`'s compiled kernels:
finite differences of a NumPy entropy or value function, closed forms (binomial sums,
:math:`p^G + (1-p)^G`), exact rational arithmetic, brute-force enumeration of every
group outcome, or Monte-Carlo means with their standard errors. Properties that are
empirical (not theorems) say so in their quantity name.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ._registry import CheckContext, register

CUI = ("Cui et al. 2025, 'The Entropy Mechanism of RL for Reasoning LMs' (arXiv 2505.22617), "
       "Lemma 1 and Eq. (R = -a exp(H) + b); CLAIMS B7, C11")


def _pg():
    from mdpkit import pg

    return pg


# ----------------------------------------------------------------- independent NumPy routes
def _np_entropy(z: np.ndarray) -> np.ndarray:
    """Entropy of softmax(z) along the last axis, plain NumPy (the independent route)."""
    m = z.max(axis=-1, keepdims=True)
    lp = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    return -(np.exp(lp) * lp).sum(-1)


def _taylor_coefficients(z: np.ndarray, d: np.ndarray, h: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    """Second and third Taylor coefficients of eps -> H(softmax(z + eps d)) by central differences.

    c2 = f''(0)/2, c3 = f'''(0)/6; errors O(h^2) relative (about 1e-4 at h = 1e-2) plus
    roundoff ~1e-16/h^3 = 1e-10.
    """
    f = {k: _np_entropy(z + k * h * d) for k in (-2, -1, 0, 1, 2)}
    c2 = (f[1] - 2 * f[0] + f[-1]) / h**2 / 2.0
    c3 = (f[2] - 2 * f[1] + 2 * f[-1] - f[-2]) / (2 * h**3) / 6.0
    return c2, c3


# ----------------------------------------------------------------- entropy-covariance identity
def _bandit_identity(ctx: CheckContext, rng: np.random.Generator) -> dict:
    pg = _pg()
    K = 20
    q = rng.random(K)
    z0 = rng.normal(size=K)
    prob = pg.k_armed(q, z0=z0, reward_type="graded")
    etas = np.array([1e-1, 1e-2, 1e-3])
    tr = pg.exact_dynamics(prob, eta=np.tile(etas, 2), natural=np.repeat([False, True], 3), n_steps=1)
    pi = np.exp(z0 - z0.max())
    pi /= pi.sum()
    A = q - pi @ q
    out = {}
    for j, (form, d) in enumerate((("PG", pi * A), ("NPG", A))):
        lp = np.log(pi)
        pred = -etas * ((pi * lp * d).sum() - (pi * lp).sum() * (pi * d).sum())
        ctx.compare(f"bandit K=20 {form}: max |kernel -Cov prediction - NumPy closed form|",
                    float(np.max(np.abs(tr.dH_pred[3 * j:3 * j + 3, 0] - pred))), 0.0, tol=1e-15,
                    route="closed form pi*A / A in NumPy (roundoff of a K=20 sum)")
        c2, c3 = _taylor_coefficients(z0, d)
        ratio = (tr.dH[3 * j:3 * j + 3, 0] - tr.dH_pred[3 * j:3 * j + 3, 0]) / etas**2
        for e, r in zip(etas, ratio, strict=True):
            # residual/eta^2 = c2 + c3 eta + O(eta^2): tolerance 2|c3| eta, plus 1e-6 for
            # the roundoff of dH (1e-16/eta^2 = 1e-10) and the O(h^2) finite-difference error
            ctx.compare(f"bandit {form}: (dH + Cov)/eta^2 at eta={e:g}", float(r), float(c2),
                        tol=float(2 * abs(c3) * e + 1e-6),
                        route="second Taylor coefficient of H by finite differences (NumPy)")
        spread = float(np.ptp(ratio[1:]) / abs(ratio[-1]))
        ctx.compare(f"bandit {form}: relative spread of (dH + Cov)/eta^2 over eta in [1e-3, 1e-2]",
                    spread, 0.05, relation="<=", route="O(eta^2) residual (CLAIMS C11: < 5%)")
        out[form] = ratio
    out["etas"] = etas
    return out


def _mdp_identity(ctx: CheckContext, rng: np.random.Generator) -> None:
    import mdpkit as mk

    pg = _pg()
    mdp = mk.random_mdp(n_states=4, n_actions=3, gamma=0.9, rng=int(rng.integers(2**31)))
    z0 = rng.normal(size=(4, 3))
    # the PG direction against a finite-difference gradient of J(z) = mu0 . V^{softmax(z)}
    step = pg.exact_dynamics_mdp(mdp, z0, eta=1.0, n_steps=1)
    g = np.zeros_like(z0)
    h = 1e-6
    for idx in np.ndindex(*z0.shape):
        e = np.zeros_like(z0)
        e[idx] = h
        vals = [mdp.mu0 @ mdp.evaluate(_softmax(z0 + sgn * e)) for sgn in (1, -1)]
        g[idx] = (vals[0] - vals[1]) / (2 * h)
    ctx.compare("tabular MDP: max |PG step - finite-difference grad of mu0.V|",
                float(np.max(np.abs(step.z - z0 - g))), 0.0, tol=1e-6,
                route="central differences of policy evaluation (error O(h^2) + 1e-10/h)")
    for natural, form in ((False, "PG"), (True, "NPG")):
        d = pg.exact_dynamics_mdp(mdp, z0, eta=1.0, n_steps=1, natural=natural).z - z0
        c2, c3 = _taylor_coefficients(z0, d)
        eta = 1e-3
        tr = pg.exact_dynamics_mdp(mdp, z0, eta=eta, n_steps=1, natural=natural)
        ratio = (tr.dH[0] - tr.dH_pred[0]) / eta**2
        ctx.compare(f"tabular MDP {form}: max_s |(dH_s + Cov_s)/eta^2 - c2_s| at eta=1e-3",
                    float(np.max(np.abs(ratio - c2))), 0.0,
                    tol=float(2 * np.max(np.abs(c3)) * eta + 1e-5),
                    route="per-state Taylor coefficient by finite differences (NumPy)")


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@register(
    "pg_entropy_covariance",
    paper=CUI + "; STEER (CLAIMS row 31)",
    statement=("For a softmax policy, H(pi_{t+1}) - H(pi_t) = -Cov_{a~pi}(log pi, z_{t+1} - z_t) "
               "+ O(eta^2): PG (dz = eta pi A) and NPG (dz = eta A), on a K=20 bandit and per "
               "state on a tabular softmax MDP; (dH + Cov)/eta^2 tends to the second Taylor "
               "coefficient of H along the update, constant across a decade of eta."),
)
def check_entropy_covariance(ctx: CheckContext) -> None:
    rng = np.random.default_rng(ctx.seed)
    out = _bandit_identity(ctx, rng)
    _mdp_identity(ctx, rng)
    if ctx.figures_enabled:
        from mdpkit import plotting

        pg = _pg()
        fig, (ax1, ax2) = plotting.subplots(1, 2, figsize=(8.0, 3.2))
        for form in ("PG", "NPG"):
            ax1.plot(out["etas"], np.abs(out[form]), "o-", label=form)
        ax1.set_xscale("log")
        ax1.set_xlabel(r"step size $\eta$")
        ax1.set_ylabel(r"$|\Delta H + \mathrm{Cov}| / \eta^2$")
        ax1.set_title("K=20 bandit: residual is O(eta^2)")
        ax1.legend()
        prob = pg.beta_prompts(1, 50, 1.0, 3.0, n_correct=5, rng=ctx.seed)
        tr = pg.exact_dynamics(prob, eta=0.05, natural=True, n_steps=300)
        ax2.plot(tr.dH[0], label=r"measured $\Delta H$")
        ax2.plot(tr.dH_pred[0], "--", label=r"$-\eta\,\mathrm{Cov}(\log\pi, A)$")
        ax2.set_xlabel("step")
        ax2.set_ylabel("entropy change per step")
        ax2.set_title("binary bandit, NPG")
        ax2.legend()
        ctx.savefig(fig, "pg_entropy_covariance")


# ----------------------------------------------------------------- pass@k
def _passk_fraction(n: int, c: int, k: int) -> Fraction:
    """1 - prod_{i<k} (n-c-i)/(n-i) as an exact fraction (product form, not binomials)."""
    if n - c < k:
        return Fraction(1)
    prod = Fraction(1)
    for i in range(k):
        prod *= Fraction(n - c - i, n - i)
    return 1 - prod


@register(
    "pg_pass_at_k",
    paper=("Chen et al. 2021 (Codex), Sec. 2.1 unbiased pass@k; ProRL (CLAIMS row 30): base vs RL "
           "pass@k crossing and the reasoning boundary"),
    statement=("E_{c~Bin(n,p)}[1 - C(n-c,k)/C(n,k)] = 1 - (1-p)^k exactly; the estimator is exact "
               "for n = 1e4; on a multi-prompt bandit with shared strategies, NPG raises pass@1 "
               "but lowers pass@k at large k once it concentrates on one strategy, and its "
               "boundary (prompts with p > 1e-3) shrinks to the prompts that strategy solves."),
)
def check_pass_at_k(ctx: CheckContext) -> None:
    from scipy import stats

    pg = _pg()
    n, p = 20, 0.3
    c = np.arange(n + 1)
    w = stats.binom.pmf(c, n, p)
    for k in (1, 5, 10, 20):
        ctx.compare(f"E[pass@k estimator], n=20, p=0.3, k={k}",
                    float(w @ pg.pass_at_k(n, c, k)), 1 - (1 - p) ** k, tol=1e-12,
                    route="closed form 1-(1-p)^k with scipy binomial weights")
    worst = 0.0
    for n_, c_, k_ in ((10_000, 1, 1), (10_000, 3, 500), (10_000, 9_000, 999), (10_000, 2, 9_998)):
        exact = _passk_fraction(n_, c_, k_)
        worst = max(worst, abs(Fraction(pg.pass_at_k(n_, c_, k_)) - exact) / max(exact, Fraction(1, 10**300)))
    ctx.compare("pass_at_k at n = 1e4: max relative error vs exact rational product",
                float(worst), 0.0, tol=2.3e-16, route="exact Fraction product (one float rounding)")
    _crossover(ctx)


def _crossover(ctx: CheckContext) -> None:
    pg = _pg()
    M, K = (100, 8) if ctx.quick else (400, 16)
    prob = pg.beta_prompts(M, K, 0.3, 1.5, shared=True, rng=ctx.seed)
    ks = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
    tr = pg.exact_dynamics(prob, eta=1.0, natural=True, n_steps=400, k=ks, checkpoints=2)
    q = prob.reward
    base_p = q.mean(axis=1)                      # uniform initial policy
    qbar = q.mean(axis=0)
    tilt = np.exp(400 * (qbar - qbar.max()))     # NPG with eta=1: pi_t ∝ exp(t qbar)
    rl_p = q @ (tilt / tilt.sum())
    base = np.array([np.mean(1 - (1 - base_p) ** k) for k in ks])
    rl = np.array([np.mean(1 - (1 - rl_p) ** k) for k in ks])
    ctx.compare("max_k |pass@k of the NPG run - closed-form tilted policy|",
                float(np.max(np.abs(tr.pass_at_k[0, -1] - rl))), 0.0, tol=1e-10,
                route="closed form pi_t ∝ pi_0 exp(eta t qbar) (NPG on a shared bandit)")
    ctx.compare("pass@1 gain of RL over base", float(tr.pass_at_k[0, -1, 0] - base[0]), 0.0,
                relation=">=", route="NPG tilting raises the mean reward")
    ctx.compare("pass@1024: RL minus base (RL loses at large k)",
                float(tr.pass_at_k[0, -1, -1] - base[-1]), 0.0, relation="<=",
                route="closed form, both policies")
    # boundary: prompts solvable within about 1e3 samples (ProRL's pass@k at large k)
    b_rl, b_base = float(np.mean(tr.success[0, -1] > 1e-3)), float(np.mean(base_p > 1e-3))
    ctx.compare("boundary (fraction of prompts with p > 1e-3): RL", b_rl,
                float(np.mean(rl_p > 1e-3)), tol=0.0, route="closed-form tilted policy")
    ctx.compare("boundary: RL minus base", b_rl - b_base, 0.0, relation="<=",
                route="closed form (support collapse onto one strategy)",
                note=f"base {b_base:.3f}, RL {b_rl:.3f}")
    if ctx.figures_enabled:
        from mdpkit import plotting

        fig, ax = plotting.subplots()
        ax.plot(ks, base, "o-", label="base (uniform)")
        ax.plot(ks, tr.pass_at_k[0, -1], "s-", label="after 400 NPG steps")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("k")
        ax.set_ylabel("mean pass@k over prompts")
        ax.set_title(f"shared-strategy bandit, M={M}, K={K}")
        ax.legend()
        ctx.savefig(fig, "pg_pass_at_k")


# ----------------------------------------------------------------- KL estimators
@register(
    "pg_kl_estimators",
    paper=("Schulman 2020 'Approximating KL divergence' (k1, k2, k3); KDRL (CLAIMS row 35): what "
           "each estimator does to the gradient when used as a loss"),
    statement=("With x ~ pi, r = pi_ref(x)/pi(x): E k1 = E k3 = KL(pi||pi_ref), k2 is biased, "
               "k2, k3 >= 0 and k1 takes negative values; as losses, E grad k1 = 0, E grad k2 = "
               "grad KL(pi||pi_ref), E grad k3 = grad KL(pi_ref||pi); near pi_ref, Var k3 < Var k1."),
)
def check_kl_estimators(ctx: CheckContext) -> None:
    from scipy.special import rel_entr

    pg = _pg()
    rng = np.random.default_rng(ctx.seed)
    K = 10
    z = rng.normal(size=K)
    pi = _softmax(z)
    ref = rng.dirichlet(np.ones(K))
    m = pg.kl_estimator_moments(pi, ref)
    kl = float(rel_entr(pi, ref).sum())
    ctx.compare("E k1 - KL", float(m.mean[0]), kl, tol=1e-12, route="scipy rel_entr")
    ctx.compare("E k3 - KL", float(m.mean[2]), kl, tol=1e-12, route="scipy rel_entr")
    ctx.compare("bias of k2", float(m.bias[1]), 0.0, relation=">=", route="(sign: biased, here up)",
                note="k2 is biased; its sign is instance-dependent")
    ctx.compare("min k2, k3 over the support", float(min(m.min_value[1], m.min_value[2])), 0.0,
                relation=">=", route="k2 = (log r)^2/2 >= 0, k3 = r-1-log r >= 0")
    ctx.compare("min k1 over the support", float(m.min_value[0]), 0.0, relation="<=",
                route="some x has pi_ref(x) > pi(x) when pi != pi_ref")
    n = 20_000 if ctx.quick else 200_000
    x = rng.choice(K, size=n, p=pi)
    log_r = np.log(ref[x]) - np.log(pi[x])
    samples = np.stack([-log_r, 0.5 * log_r**2, np.expm1(log_r) - log_r])
    for i, name in enumerate(("k1", "k2", "k3")):
        s = samples[i]
        var_hat = s.var(ddof=1)
        se = math.sqrt(max(np.mean((s - s.mean()) ** 4) - var_hat**2, 0.0) / n)
        ctx.compare(f"Var {name} (exact) vs Monte-Carlo", float(m.var[i]), float(var_hat),
                    tol=4 * se, route=f"Monte-Carlo n={n}, 4 SE")
    h = 1e-6
    fd = np.zeros((2, K))
    for a in range(K):
        e = np.zeros(K)
        e[a] = h
        p1, p2 = _softmax(z + e), _softmax(z - e)
        fd[0, a] = (rel_entr(p1, ref).sum() - rel_entr(p2, ref).sum()) / (2 * h)
        fd[1, a] = (rel_entr(ref, p1).sum() - rel_entr(ref, p2).sum()) / (2 * h)
    ctx.compare("|E grad k1| (loss gradient)", float(np.abs(m.grad[0]).max()), 0.0, tol=1e-15,
                route="E_pi[grad log pi] = 0")
    ctx.compare("max |E grad k2 - grad KL(pi||ref)|", float(np.abs(m.grad[1] - fd[0]).max()), 0.0,
                tol=1e-8, route="finite differences of scipy rel_entr")
    ctx.compare("max |E grad k3 - grad KL(ref||pi)|", float(np.abs(m.grad[2] - fd[1]).max()), 0.0,
                tol=1e-8, route="finite differences of scipy rel_entr")
    near = _softmax(np.log(pi) + 0.05 * rng.normal(size=K))
    mn = pg.kl_estimator_moments(near, pi)
    ctx.compare("near pi_ref (logit noise 0.05): Var k3 / Var k1", float(mn.var[2] / mn.var[0]), 1.0,
                relation="<=", route="Taylor: Var k1 = O(d^2), Var k3 = O(d^4)")
