r"""Expected (exact) policy-gradient dynamics: PG, natural PG, KL to a reference, entropy bonus.

For prompt ``m`` with logit row ``s = row[m]``, policy :math:`\pi_s = \mathrm{softmax}(z_s)`
and observed mean reward :math:`\bar q_m`, the regularized objective
:math:`J_m = \langle\pi_s, \bar q_m\rangle - \beta\,\mathrm{KL}(\pi_s\|\pi_{\mathrm{ref},s})
+ \tau H(\pi_s)` has the per-response advantage

.. math:: A_m(a) = g_m(a) - \langle \pi_s, g_m\rangle, \qquad
          g_m(a) = \bar q_m(a) - \beta\log\frac{\pi_s(a)}{\pi_{\mathrm{ref},s}(a)} - \tau\log\pi_s(a),

and :math:`\partial J_m/\partial z_s = \pi_s \odot A_m`. One step moves every row by the
mean over its prompts: vanilla PG :math:`\Delta z_s = \eta\,\overline{\pi_s\odot A_m}`,
natural PG :math:`\Delta z_s = \eta\,\overline{A_m}` (the Fisher of a softmax row inverts
to the centred advantage). These are the expectations of the sampled REINFORCE updates
of :func:`sample_dynamics`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .._results import grid_frame
from .._typing import FloatArray, IntArray
from .._validation import as_float_array, check_int, check_scalar, check_simplex
from ..bandits._simulate import _threads
from . import _exact_kernels as kr
from ._frames import CheckpointTraces, mean_entropy
from ._models import PGProblem, softmax

#: Configurations x steps x rows x responses below which the configurations run serially.
PARALLEL_MIN_WORK = 2_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class PGTrajectory(CheckpointTraces):
    r"""Output of :func:`exact_dynamics`; configuration axis first.

    Attributes
    ----------
    steps : ndarray of int64, shape (n_checkpoints,)
        Steps at which the policy was recorded (0 is the initial policy).
    reward, entropy, kl : ndarray, shape (C, n_checkpoints)
        Mean over prompts of the noise-free expected reward :math:`p_m`, of the entropy of
        the prompt's policy, and of :math:`\mathrm{KL}(\pi\|\pi_{\mathrm{ref}})`.
    pass_at_k : ndarray, shape (C, n_checkpoints, n_k)
        Mean over prompts of :math:`1-(1-p_m)^k` for every ``k`` in ``ks``.
    success : ndarray, shape (C, n_checkpoints, M)
        Per-prompt :math:`p_m`.
    entropy_rows : ndarray, shape (C, n_checkpoints, S)
        Per-logit-row entropy.
    dH, dH_pred : ndarray, shape (C, n_steps)
        Measured entropy change of each step and its first-order prediction
        :math:`-\mathrm{Cov}_\pi(\log\pi, \Delta z)` (means over prompts).
    z : ndarray, shape (C, S, K)
        Final logits.
    eta, beta, entropy_bonus : ndarray, shape (C,)
    natural : ndarray of bool, shape (C,)
    ks : ndarray of int64
    """

    steps: IntArray
    reward: FloatArray
    entropy: FloatArray
    kl: FloatArray
    pass_at_k: FloatArray
    success: FloatArray
    entropy_rows: FloatArray
    dH: FloatArray
    dH_pred: FloatArray
    z: FloatArray
    eta: FloatArray
    beta: FloatArray
    entropy_bonus: FloatArray
    natural: npt.NDArray[np.bool_]
    ks: IntArray
    problem: Any = field(repr=False, default=None)
    frame_axis: ClassVar[str] = "config"

    def __repr__(self) -> str:
        return (f"PGTrajectory(configs={self.eta.size}, steps={int(self.steps[-1])}, "
                f"final reward={np.round(self.reward[:, -1], 4).tolist()})")


def _configs(eta: Any, beta: Any, entropy_bonus: Any, natural: Any) -> tuple[np.ndarray, ...]:
    arrs = []
    for name, v, lo in (("eta", eta, None), ("beta", beta, 0.0), ("entropy_bonus", entropy_bonus, 0.0)):
        a = as_float_array(name, v, ndim=(0, 1))
        if name == "eta" and np.any(a <= 0):
            raise ValueError(f"`eta` must be > 0; got {a[a <= 0].flat[0]!r}.")
        if lo is not None and np.any(a < lo):
            raise ValueError(f"`{name}` must be >= 0; got {a[a < lo].flat[0]!r}.")
        arrs.append(a)
    nat = np.asarray(natural)
    if nat.dtype != np.bool_:
        raise TypeError(f"`natural` must be a bool or an array of bools; got {natural!r}.")
    arrs.append(nat)
    try:
        b = np.broadcast_arrays(*[np.atleast_1d(a) for a in arrs])
    except ValueError:
        raise ValueError("`eta`, `beta`, `entropy_bonus` and `natural` must broadcast to one "
                         f"length; got shapes {[np.shape(a) for a in arrs]}.") from None
    return tuple(np.ascontiguousarray(x) for x in b)


def step_grid(n_steps: int, checkpoints: int | npt.ArrayLike) -> IntArray:
    """Return the recording steps: ``checkpoints`` evenly spaced in ``[0, n_steps]`` or an explicit array.

    >>> step_grid(10, 3).tolist()
    [0, 5, 10]
    """
    if isinstance(checkpoints, (numbers.Integral, np.integer)) and not isinstance(checkpoints, bool):
        n = check_int("checkpoints", checkpoints, lo=2)
        return np.unique(np.round(np.linspace(0, n_steps, n)).astype(np.int64))
    ck = np.asarray(checkpoints)
    if ck.ndim != 1 or ck.size == 0 or ck.dtype.kind not in "iu" or ck[0] < 0 \
            or ck[-1] > n_steps or np.any(np.diff(ck) <= 0):
        raise ValueError("`checkpoints` must be an int >= 2 or a strictly increasing integer "
                         f"array within [0, n_steps={n_steps}]; got {checkpoints!r}.")
    return ck.astype(np.int64)


def reference_logits(problem: PGProblem, pi_ref: npt.ArrayLike | None) -> FloatArray:
    """``log pi_ref`` of shape (S, K): the initial policy by default; strictly positive."""
    if pi_ref is None:
        return np.log(problem.policy())
    ref = as_float_array("pi_ref", pi_ref, ndim=(1, 2))
    ref = np.ascontiguousarray(np.broadcast_to(ref, problem.z0.shape)) if ref.ndim == 1 else ref
    if ref.shape != problem.z0.shape:
        raise ValueError(f"`pi_ref` must have shape (S, K) = {problem.z0.shape}; got {ref.shape}.")
    check_simplex("pi_ref", ref)
    if np.any(ref <= 0):
        raise ValueError(f"`pi_ref` must be strictly positive (KL to it must be finite); min {ref.min()!r}.")
    return np.log(ref)


def _as_ks(k: Any) -> IntArray:
    ks = np.atleast_1d(np.asarray(k))
    if ks.ndim != 1 or ks.dtype.kind not in "iu" or np.any(ks < 1):
        raise ValueError(f"`k` must be a positive int or a 1-d array of them; got {k!r}.")
    return ks.astype(np.int64)


def exact_dynamics(problem: PGProblem, *, eta: Any, n_steps: int, natural: Any = False,
                   beta: Any = 0.0, entropy_bonus: Any = 0.0, pi_ref: npt.ArrayLike | None = None,
                   k: Any = 1, checkpoints: int | npt.ArrayLike = 101,
                   n_threads: int | None = None) -> PGTrajectory:
    r"""Compute the expected policy-gradient dynamics of a softmax policy, many configurations at once.

    Iterates :math:`z \leftarrow z + \Delta z` with the exact expected update of the module
    docstring (vanilla or natural PG, KL strength :math:`\beta` toward ``pi_ref``, entropy
    bonus :math:`\tau`), for every configuration obtained by broadcasting ``eta``,
    ``natural``, ``beta`` and ``entropy_bonus``; configurations run in parallel when the
    work is large. Records reward, entropy, KL, pass@k and per-prompt success at the
    checkpoints and, at every step, the measured entropy change and Cui et al.'s
    prediction :math:`-\mathrm{Cov}_\pi(\log\pi, \Delta z)` (Lemma 1 of
    arXiv 2505.22617).

    Parameters
    ----------
    problem : PGProblem
    eta : float or array_like
        Step size(s) :math:`\eta > 0`.
    n_steps : int
        Number of updates ``>= 1``.
    natural : bool or array_like of bool
    beta, entropy_bonus : float or array_like
        KL strength :math:`\beta \ge 0` and entropy bonus :math:`\tau \ge 0`.
    pi_ref : array_like, shape (S, K) or (K,), optional
        Strictly positive reference policy (default: the initial policy).
    k : int or array_like of int
        pass@k orders to record.
    checkpoints : int or array_like of int
        Number of evenly spaced recording steps, or the steps themselves.
    n_threads : int, optional
        Threads for the parallel path.

    Notes
    -----
    Exponentials are taken of :math:`z - \max z \le 0` (or of :math:`z` minus the
    previous step's log-sum-exp when that is within 13.8 nats of the current one), with the
    argument floored at :math:`-700`: a response whose log-probability is below
    :math:`-700` gets weight :math:`e^{-700} \approx 10^{-304}` relative to the row maximum
    instead of its smaller true value. This floor never changes a reported probability,
    entropy, KL, pass@k or entropy change by more than about :math:`10^{-300}` in absolute
    terms (a logit by about :math:`10^{-300}\,\eta\,|A|` for advantage :math:`A`), and it
    keeps every sum free of subnormal numbers.

    Examples
    --------
    >>> import mdpkit as mk
    >>> prob = mk.pg.k_armed([0.1, 0.5, 0.9])
    >>> tr = mk.pg.exact_dynamics(prob, eta=[0.5, 1.0], n_steps=200, natural=True)
    >>> tr.reward[:, -1].round(3).tolist()
    [0.9, 0.9]
    """
    if not isinstance(problem, PGProblem):
        raise TypeError(f"`problem` must be a PGProblem; got {type(problem).__name__}.")
    eta_a, beta_a, tau_a, nat_a = _configs(eta, beta, entropy_bonus, natural)
    n_steps = check_int("n_steps", n_steps, lo=1)
    ck = step_grid(n_steps, checkpoints)
    ks = _as_ks(k)
    log_ref = reference_logits(problem, pi_ref)
    C, S, K, M, n = eta_a.size, problem.n_rows, problem.n_responses, problem.n_prompts, ck.size
    out = dict(reward=np.zeros((C, n)), entropy=np.zeros((C, n)), kl=np.zeros((C, n)),
               pass_at_k=np.zeros((C, n, ks.size)), success=np.zeros((C, n, M)),
               entropy_rows=np.zeros((C, n, S)), dH=np.zeros((C, n_steps)),
               dH_pred=np.zeros((C, n_steps)), z=np.zeros((C, S, K)))
    args = (problem.reward, np.ascontiguousarray(problem.observed_reward), problem.row,
            problem.z0, log_ref)
    outs = tuple(out.values())
    with _threads(n_threads):
        if C == 1 or C * n_steps * M * K < PARALLEL_MIN_WORK:
            for c in range(C):
                kr.run_exact(*args, eta_a[c], beta_a[c], tau_a[c], bool(nat_a[c]), n_steps, ck, ks,
                             *(o[c] for o in outs))
        else:
            kr.run_exact_many(*args, eta_a, beta_a, tau_a, nat_a, n_steps, ck, ks, *outs)
    return PGTrajectory(steps=ck, eta=eta_a, beta=beta_a, entropy_bonus=tau_a, natural=nat_a,
                        ks=ks, problem=problem, **out)


@dataclass(frozen=True, slots=True, kw_only=True)
class MDPTrajectory:
    r"""Output of :func:`exact_dynamics_mdp`.

    Attributes
    ----------
    value : ndarray, shape (n_steps + 1,)
        :math:`\mu_0^\top V^{\pi_t}` (at stage 0 for finite horizon).
    entropy : ndarray, shape (n_steps + 1, S) or (n_steps + 1, H, S)
        Per-state entropy :math:`H(\pi_t(\cdot|s))` (finite horizon: per stage).
    dH, dH_pred : ndarray, shape (n_steps, S) or (n_steps, H, S)
        Per-state measured entropy change and :math:`-\mathrm{Cov}_{\pi_t(\cdot|s)}(\log\pi, \Delta z_s)`.
    z : ndarray
        Final logits.
    """

    value: FloatArray
    entropy: FloatArray
    dH: FloatArray
    dH_pred: FloatArray
    z: FloatArray

    def summary(self) -> str:
        """Return one line: steps, initial and final value, final mean entropy."""
        return (f"exact MDP dynamics: {self.value.size - 1} steps, value {self.value[0]:.6g} -> "
                f"{self.value[-1]:.6g}, final mean entropy = {mean_entropy(self.entropy, 1)[-1]:.6g}")

    def to_frame(self) -> Any:
        """Return one row per step (0 is the initial policy): ``value`` and ``mean_entropy`` over states."""
        return grid_frame({"step": np.arange(self.value.size)}, value=self.value,
                          mean_entropy=mean_entropy(self.entropy, 1))


def _mdp_direction(mdp: Any, pi: FloatArray, natural: bool) -> FloatArray:
    """PG: d(s) pi(a|s) A(s,a)/(1-gamma) (finite horizon: d_h(s) pi_h A_h); NPG: A/(1-gamma) or A_h."""
    Q = mdp.q_values(pi)
    A = Q - (pi * Q).sum(-1, keepdims=True)
    scale = 1.0 if mdp.is_finite_horizon else 1.0 / (1.0 - mdp.gamma)
    if natural:
        return scale * A
    d_sa = mdp.occupancy(pi)   # d(s) pi(a|s), normalized (discounted) or per stage
    if mdp.is_finite_horizon and mdp.gamma is not None:   # J = sum_h gamma^h E r_h
        d_sa = d_sa * (mdp.gamma ** np.arange(mdp.horizon))[:, None, None]
    return scale * d_sa * A


def exact_dynamics_mdp(mdp: Any, z0: npt.ArrayLike, *, eta: float, n_steps: int,
                       natural: bool = False) -> MDPTrajectory:
    r"""Exact PG / NPG on a tabular softmax MDP (or a token tree), logits per state.

    Discounted: :math:`\Delta z_{s,a} = \frac{\eta}{1-\gamma} d^\pi(s)\pi(a|s)A^\pi(s,a)`
    (policy-gradient theorem with the normalized occupancy) or, natural,
    :math:`\frac{\eta}{1-\gamma}A^\pi(s,a)` (Agarwal et al. 2021). Finite horizon (e.g.
    :func:`mdpkit.token_tree_mdp`): logits ``z[h, s, a]`` per stage, :math:`\Delta z_h =
    \eta\, \gamma^h d_h(s)\pi_h(a|s)A_h(s,a)` (:math:`\gamma = 1` unless the model has a
    per-step discount) or :math:`\eta A_h`. Values and occupancies come
    from :meth:`TabularMDP.q_values` and :meth:`TabularMDP.occupancy`. Records the
    per-state entropy change and the per-state prediction of Cui et al.'s Lemma 1.

    Parameters
    ----------
    mdp : TabularMDP
    z0 : array_like, shape (S, A) or (H, S, A)
        Initial logits (finite horizon: ``(S, A)`` is broadcast to every stage).
    eta : float
        Step size ``> 0``.
    n_steps : int
    natural : bool

    Examples
    --------
    >>> import mdpkit as mk
    >>> mdp = mk.token_tree_mdp(2, 2, [0.0, 0.0, 0.0, 1.0])
    >>> tr = mk.pg.exact_dynamics_mdp(mdp, np.zeros((7, 2)), eta=1.0, n_steps=50, natural=True)
    >>> round(float(tr.value[0]), 4), bool(tr.value[-1] > 0.9)
    (0.25, True)
    """
    from ..mdp import TabularMDP

    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"`mdp` must be a TabularMDP; got {type(mdp).__name__}.")
    eta = check_scalar("eta", eta, lo=0.0, lo_inclusive=False)
    n_steps = check_int("n_steps", n_steps, lo=1)
    z = mdp_logits(mdp, z0)
    values, ents, dH, pred = [], [], [], []
    for t in range(n_steps + 1):
        pi = softmax(z)
        V = mdp.evaluate(pi)
        values.append(float(mdp.mu0 @ (V[0] if mdp.is_finite_horizon else V)))
        ents.append(_row_entropy(z))
        if t == n_steps:
            break
        dz = eta * _mdp_direction(mdp, pi, bool(natural))
        lp = z - _lse(z)
        pred.append(-((pi * lp * dz).sum(-1) - (pi * lp).sum(-1) * (pi * dz).sum(-1)))
        z = z + dz
        dH.append(_row_entropy(z) - ents[-1])
    return MDPTrajectory(value=np.array(values), entropy=np.array(ents), dH=np.array(dH),
                         dH_pred=np.array(pred), z=z)


def mdp_logits(mdp: Any, z0: npt.ArrayLike) -> FloatArray:
    """Return a validated float64 copy of the logits: shape (S, A), or (H, S, A) for finite horizon."""
    S, A = mdp.n_states, mdp.n_actions
    z = as_float_array("z0", z0, ndim=(2, 3))
    if mdp.is_finite_horizon:
        H = mdp.horizon
        if z.shape == (S, A):
            z = np.broadcast_to(z, (H, S, A))
        if z.shape != (H, S, A):
            raise ValueError(f"`z0` must have shape (S, A) or (H, S, A) = {(H, S, A)}; got {z.shape}.")
    elif z.shape != (S, A):
        raise ValueError(f"`z0` must have shape (S, A) = {(S, A)}; got {z.shape}.")
    return np.array(z, dtype=np.float64)


def _lse(z: FloatArray) -> FloatArray:
    m = z.max(axis=-1, keepdims=True)
    return m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def _row_entropy(z: FloatArray) -> FloatArray:
    lp = z - _lse(z)
    return -(np.exp(lp) * lp).sum(-1)
