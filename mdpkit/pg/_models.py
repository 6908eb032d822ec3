r"""Softmax policies over the responses of one or many prompts (the RLVR toy model).

A problem has ``M`` prompts, each with ``K`` responses. Response ``k`` to prompt ``m``
has mean reward ``reward[m, k]``:

* ``reward_type="binary"``: ``reward[m, k]`` in ``[0, 1]`` is the success probability
  of a Bernoulli (verifiable) reward; with ``noise = rho`` the observed reward is
  flipped with probability ``rho``, so its mean is ``rho + (1 - 2 rho) reward[m, k]``;
* ``reward_type="graded"``: the reward is the finite number ``reward[m, k]`` itself.

The policy of prompt ``m`` is ``softmax(z[row[m]])``: ``row[m] = m`` gives every prompt
its own logits (a multi-prompt bandit, or the K-armed bandit when ``M = 1``);
``row[m] = 0`` shares one logit vector across prompts (responses are strategies, as
when a network's parameters are shared), the setting in which RL can narrow the set of
solved prompts (ProRL, CLAIMS row 30).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .._typing import FloatArray, IntArray, RNGLike
from .._validation import (
    as_float_array,
    as_generator,
    check_choice,
    check_int,
    check_scalar,
)

REWARD_TYPES = ("binary", "graded")


def softmax(z: FloatArray) -> FloatArray:
    """Softmax along the last axis (shifted by the row maximum)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True, eq=False)
class PGProblem:
    r"""Prompts, responses, rewards and initial logits of a softmax policy-gradient problem.

    Build one with :func:`k_armed`, :func:`multi_prompt` or :func:`beta_prompts`.

    Attributes
    ----------
    reward : ndarray, shape (M, K)
        Mean reward (binary: success probability) of response ``k`` to prompt ``m``.
    z0 : ndarray, shape (S, K)
        Initial logits of every logit row.
    row : ndarray of int64, shape (M,)
        Logit row of each prompt.
    reward_type : {"binary", "graded"}
    noise : float
        Symmetric flip probability :math:`\rho \in [0, 1/2)` of binary rewards.
    """

    reward: FloatArray
    z0: FloatArray
    row: IntArray
    reward_type: str = "binary"
    noise: float = 0.0

    @property
    def n_prompts(self) -> int:
        """Number of prompts ``M``."""
        return int(self.reward.shape[0])

    @property
    def n_responses(self) -> int:
        """Responses per prompt ``K``."""
        return int(self.reward.shape[1])

    @property
    def n_rows(self) -> int:
        """Number of logit rows ``S``."""
        return int(self.z0.shape[0])

    @property
    def observed_reward(self) -> FloatArray:
        r"""Mean of the observed reward, :math:`\rho + (1-2\rho) q` (binary) or ``reward``."""
        if self.reward_type == "binary":
            return self.noise + (1.0 - 2.0 * self.noise) * self.reward
        return self.reward

    def policy(self, z: npt.ArrayLike | None = None) -> FloatArray:
        """Softmax of the logits ``z`` (default ``z0``), shape ``(S, K)``."""
        return softmax(self.z0 if z is None else np.asarray(z, dtype=np.float64))

    def success(self, z: npt.ArrayLike | None = None) -> FloatArray:
        r"""Per-prompt expected (noise-free) reward :math:`p_m = \langle\pi_{row(m)}, q_m\rangle`.

        >>> round(float(k_armed([0.0, 1.0]).success()[0]), 3)
        0.5
        """
        return np.einsum("mk,mk->m", self.policy(z)[self.row], self.reward)

    def __repr__(self) -> str:
        return (f"PGProblem(prompts={self.n_prompts}, responses={self.n_responses}, "
                f"rows={self.n_rows}, reward_type={self.reward_type!r}, noise={self.noise:g})")


def _build(reward: npt.ArrayLike, z0: npt.ArrayLike | None, shared: bool, reward_type: str,
           noise: float) -> PGProblem:
    reward_type = check_choice("reward_type", reward_type, REWARD_TYPES)
    q = as_float_array("reward", reward, ndim=2)
    M, K = q.shape
    if M < 1 or K < 2:
        raise ValueError(f"`reward` must have shape (M, K) with M >= 1 and K >= 2; got {q.shape}.")
    noise = check_scalar("noise", noise, lo=0.0, hi=0.5, hi_inclusive=False)
    if reward_type == "binary" and (q.min() < 0.0 or q.max() > 1.0):
        idx = tuple(int(i) for i in np.argwhere((q < 0) | (q > 1))[0])
        raise ValueError("`reward` of a binary problem holds success probabilities in [0, 1]; "
                         f"`reward{list(idx)}` = {q[idx]!r}. Use reward_type='graded' for "
                         "real-valued rewards.")
    if reward_type == "graded" and noise > 0:
        raise ValueError(f"`noise` flips binary rewards only; got noise={noise!r} with "
                         "reward_type='graded'.")
    S = 1 if shared else M
    if z0 is None:
        z = np.zeros((S, K))
    else:
        z = as_float_array("z0", z0, ndim=(1, 2))
        z = np.ascontiguousarray(np.broadcast_to(z, (S, K))) if z.ndim == 1 else z
        if z.shape != (S, K):
            raise ValueError(f"`z0` must have shape (S, K) = {(S, K)}; got {z.shape}.")
    row = np.zeros(M, dtype=np.int64) if shared else np.arange(M, dtype=np.int64)
    for a in (q, z, row):
        a.setflags(write=False)
    return PGProblem(q, z, row, reward_type, noise)


def k_armed(reward: npt.ArrayLike, *, z0: npt.ArrayLike | None = None,
            reward_type: str = "binary", noise: float = 0.0) -> PGProblem:
    r"""Return a K-armed softmax bandit: one prompt, ``K`` responses.

    Parameters
    ----------
    reward : array_like, shape (K,)
        Success probabilities (binary) or reward values (graded).
    z0 : array_like, shape (K,), optional
        Initial logits (default 0: the uniform policy).
    reward_type : {"binary", "graded"}
    noise : float
        Flip probability :math:`\rho \in [0, 1/2)` of binary rewards.

    Examples
    --------
    >>> p = k_armed([0.2, 0.9, 0.5])
    >>> p.n_prompts, p.n_responses, round(float(p.success()[0]), 4)
    (1, 3, 0.5333)
    """
    q = as_float_array("reward", reward, ndim=1)
    z = None if z0 is None else as_float_array("z0", z0, ndim=1)[None, :]
    return _build(q[None, :], z, False, reward_type, noise)


def multi_prompt(reward: npt.ArrayLike, *, z0: npt.ArrayLike | None = None, shared: bool = False,
                 reward_type: str = "binary", noise: float = 0.0) -> PGProblem:
    r"""Return a multi-prompt softmax bandit with ``reward[m, k]`` for response ``k`` to prompt ``m``.

    Parameters
    ----------
    reward : array_like, shape (M, K)
    z0 : array_like, shape (M, K) or (K,), optional
        Initial logits (shape ``(1, K)`` or ``(K,)`` when ``shared``).
    shared : bool
        One logit vector for every prompt (responses are shared strategies).
    reward_type : {"binary", "graded"}
    noise : float

    Examples
    --------
    >>> multi_prompt([[1.0, 0.0], [0.0, 1.0]], shared=True).n_rows
    1
    """
    if not isinstance(shared, (bool, np.bool_)):
        raise TypeError(f"`shared` must be a bool; got {shared!r}.")
    return _build(reward, z0, bool(shared), reward_type, noise)


def beta_prompts(n_prompts: int, n_responses: int, a: float, b: float, *, n_correct: int = 1,
                 shared: bool = False, rng: RNGLike = None) -> PGProblem:
    r"""Binary multi-prompt bandit whose initial success probabilities are Beta(a, b).

    Separate logits (``shared=False``): responses ``0..n_correct-1`` of every prompt are
    correct (reward 1), the others wrong, and the initial logits put mass
    :math:`p_m \sim \mathrm{Beta}(a, b)` on the correct ones (uniformly within each
    group), drawn in log space as :math:`\log X - \log Y`, :math:`X \sim \Gamma(a)`,
    :math:`Y \sim \Gamma(b)`. Shared logits (``shared=True``): one uniform policy over
    ``K`` strategies, and strategy ``k`` solves prompt ``m`` with probability
    ``reward[m, k]`` drawn i.i.d. from Beta(a, b).

    Examples
    --------
    >>> p = beta_prompts(200, 4, 2.0, 2.0, rng=0)
    >>> p.n_prompts, bool(abs(p.success().mean() - 0.5) < 0.05)
    (200, True)
    """
    M = check_int("n_prompts", n_prompts, lo=1)
    K = check_int("n_responses", n_responses, lo=2)
    a = check_scalar("a", a, lo=0.0, lo_inclusive=False)
    b = check_scalar("b", b, lo=0.0, lo_inclusive=False)
    gen = as_generator(rng)
    if shared:
        return _build(gen.beta(a, b, size=(M, K)), None, True, "binary", 0.0)
    c = check_int("n_correct", n_correct, lo=1, hi=K - 1)
    with np.errstate(divide="ignore"):
        logit = np.log(gen.standard_gamma(a, M)) - np.log(gen.standard_gamma(b, M))
    if not np.all(np.isfinite(logit)):
        raise ValueError(f"Beta({a:g}, {b:g}) draws underflowed to 0 or 1; use a, b >= 0.05.")
    q = np.zeros((M, K))
    q[:, :c] = 1.0
    # log pi(correct k) = log p - log c, log pi(wrong) = log(1-p) - log(K-c), up to a shift
    z = np.where(q > 0, logit[:, None] - np.log(c), -np.log(K - c))
    return _build(q, z, False, "binary", 0.0)
