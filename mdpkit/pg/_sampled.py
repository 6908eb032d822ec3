r"""Sampled policy-gradient dynamics with the GRPO family of group advantage estimators.

Each step draws, for every prompt :math:`m`, a group of :math:`G` responses
:math:`a_1..a_G \sim \pi_{row(m)}` with rewards :math:`r_i` (binary: Bernoulli of the
observed success probability, i.e. after symmetric flips with probability :math:`\rho`;
graded: the reward value), turns them into advantages :math:`A_i` (:func:`advantages`)
and ascends the group surrogate :math:`\frac1G\sum_i \min(\rho_i A_i,
\mathrm{clip}(\rho_i, 1-\epsilon_{lo}, 1+\epsilon_{hi})A_i)`, :math:`\rho_i =
\pi(a_i)/\pi_{old}(a_i)`, for ``n_inner`` epochs (one epoch: :math:`\rho = 1`, plain
REINFORCE-style PG :math:`\Delta z = \frac{\eta}{G}\sum_i A_i(e_{a_i} - \pi)`).
Rows shared by several prompts move by the mean of their gradients, as in
:func:`mdpkit.pg.exact_dynamics`, whose update is the expectation of the REINFORCE one.
"""

from __future__ import annotations

import itertools
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .._results import ArrayFields
from .._typing import FloatArray, IntArray, RNGLike
from .._validation import as_float_array, check_choice, check_int, check_scalar
from ..bandits._simulate import _threads, run_seeds
from . import _sampled_kernels as kr
from ._exact import _as_ks, reference_logits, step_grid
from ._frames import CheckpointTraces
from ._models import PGProblem

ESTIMATORS = ("reinforce", "reinforce_baseline", "rloo", "grpo", "dr_grpo", "bnpo", "ngrpo")
_CODES = {name: i for i, name in enumerate(ESTIMATORS)}
#: Estimators that compare a sample with the rest of its group (need G >= 2).
GROUP_ESTIMATORS = ("rloo", "grpo", "dr_grpo", "bnpo", "ngrpo")
#: Runs x steps x samples below which runs execute serially.
PARALLEL_MIN_SAMPLES = 2_000_000


@dataclass(frozen=True)
class ClipCov:
    r"""Clip-Cov (Cui et al. 2025): a random ``ratio`` of the tokens with ``lb < cov < ub`` lose their gradient.

    Token covariance is :math:`(A_i - \bar A)(\log\pi_{old}(a_i) - \overline{\log\pi_{old}})`
    over the batch. The paper's defaults are ``ratio = 2e-4``, ``lb = 1``, ``ub = 5`` for
    LLM batches of millions of tokens; toy batches need larger ratios.
    """

    ratio: float
    lb: float = 1.0
    ub: float = 5.0

    def __post_init__(self) -> None:
        check_scalar("ClipCov.ratio", self.ratio, lo=0.0, hi=1.0, lo_inclusive=False)
        if not self.lb < self.ub:
            raise ValueError(f"ClipCov needs lb < ub; got lb={self.lb!r}, ub={self.ub!r}.")


@dataclass(frozen=True)
class KLCov:
    r"""KL-Cov (Cui et al. 2025): the top ``ratio`` tokens by covariance get ``coef * |log pi - log pi_old|`` in their loss.

    The penalty has zero gradient at :math:`\pi = \pi_{old}`, so it acts from the second
    inner epoch on (``n_inner >= 2``), as in the paper's PPO setting.
    """

    ratio: float
    coef: float = 1.0

    def __post_init__(self) -> None:
        check_scalar("KLCov.ratio", self.ratio, lo=0.0, hi=1.0, lo_inclusive=False)
        check_scalar("KLCov.coef", self.coef, lo=0.0, lo_inclusive=False)


def _check_G(G: Any, estimator: str) -> int:
    if estimator in GROUP_ESTIMATORS:
        if isinstance(G, (numbers.Integral, np.integer)) and not isinstance(G, bool) and G < 2:
            raise ValueError(f"`G` must be >= 2 for the group estimator {estimator!r} (it compares "
                             f"each sample with the rest of its group); got G={G}.")
        return check_int("G", G, lo=2)
    return check_int("G", G, lo=1)


def _bnpo_pair(bnpo_params: Any, allow_none: bool = False) -> tuple[float, float]:
    """Validate ``bnpo_params``: a pair of positive floats, or None (the adaptive rule, coded (-1, -1))."""
    if bnpo_params is None and allow_none:
        return -1.0, -1.0
    if (not isinstance(bnpo_params, (tuple, list, np.ndarray)) or np.ndim(bnpo_params) != 1
            or len(bnpo_params) != 2):
        raise TypeError("`bnpo_params` must be a pair (alpha, beta) of positive floats"
                        + (" or None" if allow_none else "") + f"; got {bnpo_params!r}.")
    return (check_scalar("bnpo_params[0]", bnpo_params[0], lo=0.0, lo_inclusive=False),
            check_scalar("bnpo_params[1]", bnpo_params[1], lo=0.0, lo_inclusive=False))


def advantages(rewards: npt.ArrayLike, estimator: str, *, baseline: float | npt.ArrayLike = 0.0,
               eps: float = 1e-6, bnpo_params: tuple[float, float] = (1.5, 1.5),
               r_max: float = 1.0) -> FloatArray:
    r"""Advantages of groups of rewards along the last axis (one group per row).

    With group mean :math:`\bar r` and population standard deviation :math:`s`:

    * ``"reinforce"``: :math:`A_i = r_i`; ``"reinforce_baseline"``: :math:`r_i - b` with a
      given baseline ``b`` (the sampled dynamics use the exact value :math:`\langle\pi, \bar q\rangle`);
    * ``"rloo"``: :math:`r_i - \frac{1}{G-1}\sum_{j\ne i} r_j = \frac{G}{G-1}(r_i - \bar r)`
      (Kool et al. 2019);
    * ``"grpo"``: :math:`(r_i - \bar r)/(s + \epsilon)` (Shao et al. 2024);
    * ``"dr_grpo"``: :math:`r_i - \bar r` (Liu et al. 2025, "GRPO done right");
    * ``"bnpo"``: :math:`(r_i - \bar r)/f(\bar r; \alpha, \beta)` with the Beta density
      :math:`f` (Xiao et al. 2025); :math:`\alpha=\beta=1` gives Dr. GRPO and
      :math:`\alpha=\beta=3/2` gives :math:`\frac{\pi}{8}\times` GRPO (:math:`\epsilon = 0`) on
      binary groups; zero for all-equal groups;
    * ``"ngrpo"``: GRPO statistics computed with one extra virtual sample of reward
      ``r_max`` (NGRPO's calibration), so all-wrong groups get the negative advantage
      :math:`-1/\sqrt G` (binary) instead of 0.

    Examples
    --------
    >>> advantages([1.0, 0.0, 0.0, 1.0], "grpo", eps=0.0).tolist()
    [1.0, -1.0, -1.0, 1.0]
    >>> advantages([0.0, 0.0, 0.0, 0.0], "ngrpo", eps=0.0).tolist()
    [-0.5, -0.5, -0.5, -0.5]
    """
    est = check_choice("estimator", estimator, ESTIMATORS)
    r = as_float_array("rewards", rewards, ndim=(1, 2))
    _check_G(r.shape[-1], est)
    eps = check_scalar("eps", eps, lo=0.0)
    a_n, b_n = _bnpo_pair(bnpo_params)
    if est == "bnpo" and (r.min() < 0 or r.max() > 1):
        raise ValueError("`rewards` must lie in [0, 1] for 'bnpo' (a Beta-normalized success rate); "
                         f"got range [{r.min()}, {r.max()}].")
    rows = r.reshape(-1, r.shape[-1])
    base = np.broadcast_to(np.asarray(baseline, dtype=np.float64), rows.shape[:1])
    out = np.empty_like(rows)
    for i in range(rows.shape[0]):
        kr.group_advantages(_CODES[est], rows[i], 0, rows.shape[1], float(base[i]), eps, a_n, b_n,
                            float(r_max), out[i])
    _check_finite({"advantages": out}, _CODES[est], "advantages")
    return out.reshape(r.shape)


@dataclass(frozen=True, slots=True, kw_only=True)
class SampledRun(CheckpointTraces):
    r"""Output of :func:`sample_dynamics`; run axis first.

    Attributes
    ----------
    steps : ndarray of int64, shape (n_checkpoints,)
    reward, entropy, kl : ndarray, shape (n_runs, n_checkpoints)
        Mean over prompts of the exact :math:`p_m`, entropy and KL to ``pi_ref`` of the
        current policy.
    pass_at_k : ndarray, shape (n_runs, n_checkpoints, n_k)
    success : ndarray, shape (n_runs, n_checkpoints, M)
    zero_fraction : ndarray, shape (n_runs, n_steps)
        Fraction of groups whose rewards were all equal at each step.
    cov : ndarray, shape (n_runs, n_steps)
        :math:`\overline{\mathrm{Cov}_\pi(\log\pi, \Delta z)}` of each realized update
        (positive: the first-order entropy change is negative).
    z : ndarray, shape (n_runs, S, K)
    seeds : ndarray of int64, shape (n_runs,)
    estimator : str
    seconds : float
    """

    steps: IntArray
    reward: FloatArray
    entropy: FloatArray
    kl: FloatArray
    pass_at_k: FloatArray
    success: FloatArray
    zero_fraction: FloatArray
    cov: FloatArray
    z: FloatArray
    seeds: IntArray
    estimator: str
    seconds: float
    ks: IntArray
    problem: Any = field(repr=False, default=None)
    frame_axis: ClassVar[str] = "run"

    @property
    def positive_cov_fraction(self) -> FloatArray:
        """Per run, the fraction of steps whose update had positive covariance."""
        return (self.cov > 0).mean(axis=1)

    def __repr__(self) -> str:
        return (f"SampledRun(estimator={self.estimator!r}, n_runs={self.seeds.size}, "
                f"steps={int(self.steps[-1])}, mean final reward={self.reward[:, -1].mean():.4g})")


def _clip_pair(clip: Any) -> tuple[float, float]:
    if clip is None:
        return math.inf, math.inf
    if isinstance(clip, (tuple, list)):
        if len(clip) != 2:
            raise ValueError(f"`clip` must be a float or a pair (low, high); got {clip!r}.")
        lo, hi = clip
    else:
        lo = hi = clip
    return (check_scalar("clip low", lo, lo=0.0, lo_inclusive=False),
            check_scalar("clip high", hi, lo=0.0, lo_inclusive=False))


def _kernel_params(problem: PGProblem, est: str, G: int, eta: float, n_inner: int, filter_groups: bool,
                   allocation: str, clip: Any, clip_cov: ClipCov | None, kl_cov: KLCov | None,
                   eps: float, bnpo_params: tuple[float, float] | None) -> tuple[IntArray, FloatArray]:
    binary = problem.reward_type == "binary"
    if est == "bnpo" and not binary:
        raise ValueError("estimator 'bnpo' needs binary rewards (a Beta-normalized success rate); "
                         "this problem has reward_type='graded'.")
    if allocation == "gvm" and not binary:
        raise ValueError("allocation='gvm' uses sigma = sqrt(p(1-p)) of binary rewards; this "
                         "problem has reward_type='graded'.")
    if clip_cov is not None and not isinstance(clip_cov, ClipCov):
        raise TypeError(f"`clip_cov` must be a mdpkit.pg.ClipCov or None; got {clip_cov!r}.")
    if kl_cov is not None and not isinstance(kl_cov, KLCov):
        raise TypeError(f"`kl_cov` must be a mdpkit.pg.KLCov or None; got {kl_cov!r}.")
    lo, hi = _clip_pair(clip)
    a_n, b_n = _bnpo_pair(bnpo_params, allow_none=True)
    r_max = 1.0 if binary else float(problem.reward.max())
    cc = clip_cov or ClipCov(1.0)
    kc = kl_cov or KLCov(1.0)
    prm_i = np.array([_CODES[est], G, int(binary), n_inner, int(filter_groups),
                      int(allocation == "gvm")], dtype=np.int64)
    prm_f = np.array([eta, eps, a_n, b_n, r_max, lo, hi, cc.ratio if clip_cov else 0.0, cc.lb,
                      cc.ub, kc.ratio if kl_cov else 0.0, kc.coef])
    return prm_i, prm_f


def _run_kernels(problem: PGProblem, prm_i: IntArray, prm_f: FloatArray, seeds: IntArray,
                 n_steps: int, ck: IntArray, ks: IntArray, log_ref: FloatArray,
                 n_threads: int | None) -> tuple[dict[str, np.ndarray], float]:
    """Allocate the outputs and run every seed, serially for small work (DESIGN.md, section 4)."""
    import time

    n_runs, G = seeds.size, int(prm_i[1])
    S, K, M, n = problem.n_rows, problem.n_responses, problem.n_prompts, ck.size
    out = dict(reward=np.zeros((n_runs, n)), entropy=np.zeros((n_runs, n)), kl=np.zeros((n_runs, n)),
               pass_at_k=np.zeros((n_runs, n, ks.size)), zero_fraction=np.zeros((n_runs, n_steps)),
               cov=np.zeros((n_runs, n_steps)), z=np.zeros((n_runs, S, K)),
               success=np.zeros((n_runs, n, M)))
    h_scr = np.zeros((n_runs, n, S))
    args = (problem.reward, np.ascontiguousarray(problem.observed_reward), problem.row, problem.z0,
            log_ref, prm_i, prm_f, n_steps, ck, ks)
    outs = (out["reward"], out["entropy"], out["kl"], out["pass_at_k"], out["zero_fraction"],
            out["cov"], out["z"], out["success"], h_scr)
    with _threads(n_threads):
        t0 = time.perf_counter()
        if n_runs == 1 or n_runs * n_steps * G * M < PARALLEL_MIN_SAMPLES:
            for r in range(n_runs):
                kr.run_sampled(*args, seeds[r], *(o[r] for o in outs))
        else:
            kr.run_sampled_many(*args, seeds, *outs)
        dt = time.perf_counter() - t0
    _check_finite(out, int(prm_i[0]), "sample_dynamics")
    return out, dt


def _check_finite(out: dict[str, np.ndarray], code: int, where: str) -> None:
    """Raise ``FloatingPointError`` if a result left float64 (no NaN or inf result is returned).

    The inputs are validated, so only an overflow can get here: a step ``eta`` so large that the
    logits leave float64, or BNPO's normalizer ``1 / f_Beta(mean; a, b)``, which is infinite
    where the Beta density underflows (``a`` or ``b`` in the hundreds of thousands).
    """
    bad = [k for k, v in out.items() if not np.all(np.isfinite(v))]
    if bad:
        hint = (" BNPO's normalizer 1/f_Beta(mean; a, b) overflows for these bnpo_params (the Beta "
                "density underflows to 0); use smaller parameters or the adaptive rule (None)."
                if code == kr.BNPO else " Use a smaller step size eta.")
        raise FloatingPointError(f"{where} left float64: non-finite {', '.join(bad)}.{hint}")


def sample_dynamics(problem: PGProblem, *, eta: float, n_steps: int, G: int = 8,
                    estimator: str = "grpo", n_runs: int = 1, rng: RNGLike = None,
                    clip: float | tuple[float, float] | None = None, n_inner: int = 1,
                    clip_cov: ClipCov | None = None, kl_cov: KLCov | None = None,
                    filter_groups: bool = False, allocation: str = "uniform", eps: float = 1e-6,
                    bnpo_params: tuple[float, float] | None = None,
                    pi_ref: npt.ArrayLike | None = None, k: Any = 1,
                    checkpoints: int | npt.ArrayLike = 11, n_threads: int | None = None) -> SampledRun:
    r"""Train, by sampled policy gradient, a softmax policy with group advantages, many runs.

    See the module docstring for the update. Options:

    * ``estimator``: one of :data:`ESTIMATORS` (:func:`advantages`); ``"bnpo"`` with
      ``bnpo_params=None`` refits its Beta normalizer every step: parameters
      :math:`\alpha = \max(1, 1 + a/3)`, :math:`\beta = \max(1, 1 + b/3)` from a
      method-of-moments Beta(a, b) fit (unbiased sample variance) to the batch's group
      success rates, as in the BNPO authors' released code (Xiao et al. 2025,
      arXiv 2506.02864). :math:`1 + a/3` is the exact minimizer of the variance proxy
      :math:`\mathbb E_{p\sim\mathrm{Beta}(a,b)}[p(1-p)/f(p;\alpha,\beta)^2]` (checked
      numerically in the tests); with fewer than two prompts or all group rates equal the
      fit is undefined and :math:`\alpha = \beta = 1` (Dr. GRPO) is used.
    * ``clip``: PPO ratio clipping, symmetric ``eps`` or asymmetric ``(eps_low, eps_high)``
      (clip-higher); it acts when ``n_inner >= 2`` epochs reuse a batch.
    * ``clip_cov`` / ``kl_cov``: :class:`ClipCov`, :class:`KLCov` (Cui et al. 2025).
    * ``filter_groups``: drop groups whose rewards are all equal and average the loss over
      the kept groups (online difficulty filtering / DAPO's dynamic sampling).
    * ``allocation="gvm"``: per-prompt group sizes :math:`n_m \propto \sigma_m =
      \sqrt{p_m(1-p_m)}` (at least 2, total budget ``G * M``; GVM-RAFT), with the exact
      current :math:`p_m` (an oracle of the variance the paper estimates).

    Seeding: run ``r`` uses the ``r``-th seed of ``SeedSequence(rng).spawn(n_runs)``
    (as :func:`mdpkit.bandits.simulate`), so results do not depend on the thread count.

    Parameters
    ----------
    problem : PGProblem
    eta : float
        Step size ``> 0``.
    n_steps : int
    G : int
        Group size (``>= 2`` for the group estimators).
    estimator : str
    n_runs : int
    rng : int, SeedSequence, Generator or None
    clip, n_inner, clip_cov, kl_cov, filter_groups, allocation, eps, bnpo_params
        See above; ``eps`` is GRPO's standard-deviation guard.
    pi_ref : array_like, optional
        Reference for the recorded KL (default: the initial policy).
    k : int or array_like of int
    checkpoints : int or array_like of int
    n_threads : int, optional

    Examples
    --------
    >>> import mdpkit as mk
    >>> prob = mk.pg.k_armed([0.2, 0.5, 0.8])
    >>> run = mk.pg.sample_dynamics(prob, eta=0.5, n_steps=200, G=8, n_runs=4, rng=0)
    >>> bool(run.reward[:, -1].mean() > 0.7)
    True
    """
    if not isinstance(problem, PGProblem):
        raise TypeError(f"`problem` must be a PGProblem; got {type(problem).__name__}.")
    est = check_choice("estimator", estimator, ESTIMATORS)
    G = _check_G(G, est)
    eta = check_scalar("eta", eta, lo=0.0, lo_inclusive=False)
    n_steps = check_int("n_steps", n_steps, lo=1)
    n_inner = check_int("n_inner", n_inner, lo=1)
    allocation = check_choice("allocation", allocation, ("uniform", "gvm"))
    if not isinstance(filter_groups, (bool, np.bool_)):
        raise TypeError(f"`filter_groups` must be a bool; got {filter_groups!r}.")
    if allocation == "gvm" and G < 2:
        raise ValueError(f"allocation='gvm' needs G >= 2 (at least 2 samples per prompt); got G={G}.")
    prm_i, prm_f = _kernel_params(problem, est, G, eta, n_inner, bool(filter_groups), allocation,
                                  clip, clip_cov, kl_cov, check_scalar("eps", eps, lo=0.0), bnpo_params)
    seeds = run_seeds(rng, n_runs)
    ck, ks = step_grid(n_steps, checkpoints), _as_ks(k)
    out, dt = _run_kernels(problem, prm_i, prm_f, seeds, n_steps, ck, ks,
                           reference_logits(problem, pi_ref), n_threads)
    return SampledRun(steps=ck, seeds=seeds, estimator=est, seconds=dt, ks=ks, problem=problem, **out)


def gradient_samples(problem: PGProblem, *, estimator: str, G: int, n_samples: int, prompt: int = 0,
                     eps: float = 1e-6, bnpo_params: tuple[float, float] = (1.5, 1.5),
                     rng: RNGLike = None) -> FloatArray:
    r"""I.i.d. group gradient estimates :math:`\frac1G\sum_i A_i (e_{a_i} - \pi)` at the initial policy.

    Drawn by the compiled sampler of :func:`sample_dynamics` for one ``prompt``; the
    Monte-Carlo counterpart of :func:`estimator_moments`.

    Returns
    -------
    ndarray, shape (n_samples, K)

    Examples
    --------
    >>> import mdpkit as mk
    >>> g = mk.pg.gradient_samples(mk.pg.k_armed([0.0, 1.0]), estimator="rloo", G=4,
    ...                            n_samples=20000, rng=0)
    >>> bool(abs(g.mean(axis=0)[1] - 0.25) < 0.01)    # grad = pi (q - V) = 0.5 * 0.5
    True
    """
    est = check_choice("estimator", estimator, ESTIMATORS)
    G = _check_G(G, est)
    n_samples = check_int("n_samples", n_samples, lo=1)
    m = check_int("prompt", prompt, lo=0, hi=problem.n_prompts - 1)
    eps = check_scalar("eps", eps, lo=0.0)
    a_n, b_n = _bnpo_pair(bnpo_params)
    binary = problem.reward_type == "binary"
    if est == "bnpo" and not binary:
        raise ValueError("estimator 'bnpo' needs binary rewards (a Beta-normalized success rate); "
                         "this problem has reward_type='graded'.")
    pi = problem.policy()[problem.row[m]]
    q = np.ascontiguousarray(problem.observed_reward[m])
    r_max = 1.0 if binary else float(problem.reward.max())
    out = np.empty((n_samples, problem.n_responses))
    kr.gradient_samples(pi, q, binary, _CODES[est], G, float(pi @ q), eps, a_n, b_n, r_max,
                        n_samples, int(run_seeds(rng, 1)[0]), out)
    _check_finite({"gradient samples": out}, _CODES[est], "gradient_samples")
    return out


@dataclass(frozen=True, slots=True)
class EstimatorMoments(ArrayFields):
    r"""Exact moments of a group gradient estimator (by enumeration of every group outcome).

    Attributes
    ----------
    mean : ndarray, shape (K,)
        :math:`\mathbb E\,\hat g`.
    true_gradient : ndarray, shape (K,)
        :math:`\nabla_z \langle\pi, \bar q\rangle = \pi\odot(\bar q - \langle\pi,\bar q\rangle)`.
    bias : ndarray, shape (K,)
    variance : float
        :math:`\mathbb E\|\hat g - \mathbb E\hat g\|^2`.
    zero_probability : float
        Probability that every advantage in the group is 0.
    n_outcomes : int
    """

    mean: FloatArray
    true_gradient: FloatArray
    bias: FloatArray
    variance: float
    zero_probability: float
    n_outcomes: int

    frame_axes: ClassVar[tuple[str, ...]] = ("action",)
    frame_arrays: ClassVar[tuple[str, ...]] = ("mean", "true_gradient", "bias")


def estimator_moments(problem: PGProblem, *, estimator: str, G: int, prompt: int = 0,
                      eps: float = 1e-6, bnpo_params: tuple[float, float] = (1.5, 1.5),
                      max_outcomes: int = 2_000_000) -> EstimatorMoments:
    r"""Exact bias and variance of a group gradient estimator by enumerating all group outcomes.

    Every ordered outcome :math:`((a_1, r_1), \dots, (a_G, r_G))` of a group at ``prompt``
    (binary: :math:`(2K)^G` outcomes; graded: :math:`K^G`) is weighted by its probability
    and its gradient estimate :math:`\frac1G\sum_i A_i(e_{a_i} - \pi)` computed.

    Examples
    --------
    >>> import mdpkit as mk
    >>> m = mk.pg.estimator_moments(mk.pg.k_armed([0.2, 0.7]), estimator="dr_grpo", G=3)
    >>> np.allclose(m.mean, (1 - 1 / 3) * m.true_gradient)     # E = (G-1)/G grad J
    True
    """
    est = check_choice("estimator", estimator, ESTIMATORS)
    G = _check_G(G, est)
    m = check_int("prompt", prompt, lo=0, hi=problem.n_prompts - 1)
    pi = problem.policy()[problem.row[m]]
    q = problem.observed_reward[m]
    K = pi.size
    binary = problem.reward_type == "binary"
    if binary:
        sym_a = np.repeat(np.arange(K), 2)
        sym_r = np.tile([0.0, 1.0], K)
        sym_p = np.stack([pi * (1 - q), pi * q], axis=1).ravel()
    else:
        sym_a, sym_r, sym_p = np.arange(K), q.copy(), pi.copy()
    n_out = sym_a.size**G
    if n_out > max_outcomes:
        raise ValueError(f"enumeration needs {n_out:,} outcomes (> max_outcomes={max_outcomes:,}); "
                         "lower G or K, or raise `max_outcomes`.")
    idx = np.array(list(itertools.product(range(sym_a.size), repeat=G)), dtype=np.int64)
    prob = np.prod(sym_p[idx], axis=1)
    R = sym_r[idx]
    r_max = 1.0 if binary else float(problem.reward.max())
    A = advantages(R, est, baseline=float(pi @ q), eps=eps, bnpo_params=bnpo_params, r_max=r_max)
    onehot = np.zeros((n_out, K))
    for i in range(G):
        np.add.at(onehot, (np.arange(n_out), sym_a[idx[:, i]]), A[:, i] / G)
    g = onehot - A.mean(axis=1)[:, None] * pi[None, :]
    mean = prob @ g
    true = pi * (q - pi @ q)
    var = float(prob @ ((g - mean) ** 2).sum(axis=1))
    zero = float(prob @ np.all(A == 0, axis=1))
    return EstimatorMoments(mean=mean, true_gradient=true, bias=mean - true, variance=var,
                            zero_probability=zero, n_outcomes=n_out)


def gvm_allocation(sigma: npt.ArrayLike, budget: int, *, n_min: int = 1) -> IntArray:
    r"""Integer per-prompt sample sizes minimizing :math:`\sum_i \sigma_i^2/n_i` under a budget (GVM).

    The continuous minimizer of :math:`\sum_i\sigma_i^2/n_i` subject to :math:`\sum_i n_i = N`
    is :math:`n_i \propto \sigma_i` (Lagrange; GVM-RAFT, CLAIMS row 39); with
    :math:`n_i \ge n_{min}` it is :math:`\max(n_{min}, \lambda\sigma_i)`. The integer
    allocation floors it and gives the remaining units to the largest marginal gains.

    Parameters
    ----------
    sigma : array_like, shape (M,)
        Per-prompt gradient standard deviations ``>= 0``.
    budget : int
        Total samples :math:`N \ge M n_{min}`.
    n_min : int

    Examples
    --------
    >>> gvm_allocation([0.1, 0.2, 0.4], 14).tolist()
    [2, 4, 8]
    """
    s = as_float_array("sigma", sigma, ndim=1)
    if np.any(s < 0):
        raise ValueError(f"`sigma` must be >= 0; got min {s.min()!r}.")
    n_min = check_int("n_min", n_min, lo=1)
    budget = check_int("budget", budget, lo=n_min * s.size)
    out = np.empty(s.size, dtype=np.int64)
    kr.allocate(s, budget, n_min, out)
    return out
