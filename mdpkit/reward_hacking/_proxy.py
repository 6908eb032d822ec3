r"""Joint laws of (gold, proxy) rewards on a discrete reference.

A reference policy :math:`p` over outputs (atoms) :math:`y = 0..K-1` is paired with the
true ("gold") reward :math:`g(y)` and the reward the optimizer sees, the proxy
:math:`\tilde r(y)`. Every curve of :mod:`mdpkit.reward_hacking` is an exact function of
this triple: a policy that optimizes :math:`\tilde r` is a law :math:`\pi` over the same
atoms and its gold reward is :math:`\sum_y \pi(y) g(y)`.

Continuous noise (Gaussian, Student-t) enters through ``n_grid`` equal-mass atoms at the
quantile midpoints :math:`F^{-1}((i + 1/2)/m)`, shifted and scaled so that the discrete
noise has *exactly* the stated mean 0 and standard deviation; the product of independent
components is the joint law. Results are exact for that discrete law (the law a
Monte-Carlo cross-check samples from), not for the continuous one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from .._results import grid_frame
from .._typing import FloatArray
from .._validation import (
    as_float_array,
    as_probability_vector,
    check_choice,
    check_int,
    check_positive,
    check_scalar,
)

_NOISES = ("gaussian", "student_t")
_MAX_ATOMS = 4_000_000


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _weighted_var(p: FloatArray, x: FloatArray) -> float:
    m = float(np.dot(p, x))
    return float(np.dot(p, (x - m) ** 2))


def _check_probs(probs: Any, k: int | None = None) -> FloatArray:
    p = as_float_array("probs", probs, ndim=1)
    if p.shape[0] == 0:
        raise ValueError("`probs` must not be empty.")
    if k is not None and p.shape[0] != k:
        raise ValueError(f"`probs` must have {k} entries to match `gold`; got {p.shape[0]}.")
    return as_probability_vector("probs", p)


def _check_nondegenerate(name: str, p: FloatArray, x: FloatArray) -> float:
    v = _weighted_var(p, x)
    scale = max(1.0, float(np.max(np.abs(x))))
    if not v > (1e-12 * scale) ** 2:
        raise ValueError(
            f"`{name}` must vary under the reference (positive variance); got variance {v:.3g}. "
            "A constant proxy carries no signal and every policy has the same proxy reward."
        )
    return v


@dataclass(frozen=True, eq=False)
class JointLaw:
    r"""A reference law with a gold and a proxy reward on each atom.

    Parameters
    ----------
    probs : array_like, shape (K,)
        Reference law :math:`p`, non-negative, summing to 1 within ``1e-9``.
    gold, proxy : array_like, shape (K,)
        Finite gold and proxy rewards; the proxy must have positive variance under ``p``.

    Attributes
    ----------
    correlation : float
        Pearson correlation of gold and proxy under ``p``.
    gold_mean, gold_std, proxy_std : float

    Examples
    --------
    >>> law = JointLaw([0.5, 0.5], gold=[0.0, 1.0], proxy=[0.0, 2.0])
    >>> law.correlation, law.proxy_std
    (1.0, 1.0)
    """

    probs: FloatArray
    gold: FloatArray
    proxy: FloatArray

    def __post_init__(self) -> None:
        g = as_float_array("gold", self.gold, ndim=1)
        p = _check_probs(self.probs, g.shape[0])
        r = as_float_array("proxy", self.proxy, shape=(g.shape[0],))
        _check_nondegenerate("proxy", p, r)
        object.__setattr__(self, "probs", _readonly(p))
        object.__setattr__(self, "gold", _readonly(g.copy()))
        object.__setattr__(self, "proxy", _readonly(r.copy()))

    @property
    def n_atoms(self) -> int:
        return int(self.probs.shape[0])

    @property
    def gold_mean(self) -> float:
        return float(np.dot(self.probs, self.gold))

    @property
    def gold_std(self) -> float:
        return float(np.sqrt(_weighted_var(self.probs, self.gold)))

    @property
    def proxy_std(self) -> float:
        return float(np.sqrt(_weighted_var(self.probs, self.proxy)))

    @property
    def correlation(self) -> float:
        sg = self.gold_std
        if sg == 0.0:
            return 0.0
        p = self.probs
        cov = float(np.dot(p, (self.gold - p @ self.gold) * (self.proxy - p @ self.proxy)))
        return float(np.clip(cov / (sg * self.proxy_std), -1.0, 1.0))

    def summary(self) -> str:
        """Return one line: atoms, gold mean and the gold-proxy correlation."""
        return (f"{self.n_atoms} atoms, E gold = {self.gold_mean:.6g}, corr(gold, proxy) = "
                f"{self.correlation:.6g}")

    def to_frame(self) -> Any:
        """Return one row per atom: ``atom``, ``prob``, ``gold``, ``proxy``."""
        return grid_frame({"atom": np.arange(self.n_atoms)}, prob=self.probs, gold=self.gold, proxy=self.proxy)

    def with_proxy(self, proxy: npt.ArrayLike) -> JointLaw:
        """Return the same reference and gold reward with another proxy.

        >>> JointLaw([0.5, 0.5], [0.0, 1.0], [0.0, 1.0]).with_proxy([1.0, 0.0]).correlation
        -1.0
        """
        return JointLaw(self.probs, self.gold, as_float_array("proxy", proxy, ndim=1))


@dataclass(frozen=True, eq=False)
class EnsembleLaw:
    r"""A reference law with a gold reward and an ensemble of proxy reward models.

    ``members[k, y]`` is the reward of model ``k`` on atom ``y``. An aggregating
    transform (:mod:`mdpkit.reward_hacking` ``mean_ensemble``, ``min_ensemble``, ...)
    turns it into the proxy that a policy optimizes.

    Parameters
    ----------
    probs, gold : array_like, shape (K,)
    members : array_like, shape (M, K)
        ``M >= 1`` models, each with positive variance under ``probs``.

    Examples
    --------
    >>> law = EnsembleLaw([0.5, 0.5], gold=[0.0, 1.0], members=[[0.0, 1.0], [1.0, 0.0]])
    >>> law.n_members
    2
    """

    probs: FloatArray
    gold: FloatArray
    members: FloatArray

    def __post_init__(self) -> None:
        g = as_float_array("gold", self.gold, ndim=1)
        p = _check_probs(self.probs, g.shape[0])
        m = as_float_array("members", self.members, ndim=2)
        if m.shape[0] == 0:
            raise ValueError("`members` must hold at least one reward model (ensemble size >= 1); "
                             f"got shape {m.shape}.")
        if m.shape[1] != g.shape[0]:
            raise ValueError(f"`members` must have shape (M, K) = (M, {g.shape[0]}); got {m.shape}.")
        for k in range(m.shape[0]):
            _check_nondegenerate(f"members[{k}]", p, m[k])
        object.__setattr__(self, "probs", _readonly(p))
        object.__setattr__(self, "gold", _readonly(g.copy()))
        object.__setattr__(self, "members", _readonly(m.copy()))

    @property
    def n_members(self) -> int:
        return int(self.members.shape[0])

    @property
    def n_atoms(self) -> int:
        return int(self.probs.shape[0])

    def summary(self) -> str:
        """Return one line: members, atoms and the gold mean."""
        return (f"{self.n_members} members over {self.n_atoms} atoms, "
                f"E gold = {float(np.dot(self.probs, self.gold)):.6g}")

    def to_frame(self) -> Any:
        """Return one row per (member, atom): ``member``, ``atom``, ``prob``, ``gold``, ``proxy``."""
        return grid_frame({"member": np.arange(self.n_members), "atom": np.arange(self.n_atoms)},
                          prob=self.probs[None], gold=self.gold[None], proxy=self.members)

    def member(self, k: int) -> JointLaw:
        """Return the joint law of gold and the single model ``k``.

        >>> law = EnsembleLaw([0.5, 0.5], [0.0, 1.0], [[0.0, 1.0], [1.0, 0.0]])
        >>> law.member(1).proxy.tolist()
        [1.0, 0.0]
        """
        k = check_int("k", k, lo=0, hi=self.n_members - 1)
        return JointLaw(self.probs, self.gold, self.members[k])


# --------------------------------------------------------------------------- grids
def noise_grid(n_grid: int, *, noise: str = "gaussian", df: float | None = None) -> FloatArray:
    r"""Equal-mass atoms of a standardized noise law (mean 0, variance 1 exactly).

    Atoms sit at the quantile midpoints :math:`F^{-1}((i+1/2)/m)` of the standard normal
    or of Student's t with ``df`` degrees of freedom, then are centred and scaled to unit
    variance (the discrete law, not the continuous one, has variance 1).

    Examples
    --------
    >>> z = noise_grid(4)
    >>> round(float(z.mean()), 12), round(float((z ** 2).mean()), 12)
    (0.0, 1.0)
    """
    m = check_int("n_grid", n_grid, lo=2)
    check_choice("noise", noise, _NOISES)
    u = (np.arange(m) + 0.5) / m
    if noise == "gaussian":
        if df is not None:
            raise ValueError("`df` is only used with noise='student_t'; got a value for 'gaussian'.")
        z = stats.norm.ppf(u)
    else:
        if df is None:
            raise ValueError("noise='student_t' needs `df` (degrees of freedom, > 0).")
        z = stats.t.ppf(u, check_positive("df", df))
    z = z - z.mean()
    return z / np.sqrt(np.mean(z**2))


def _product(*grids: tuple[FloatArray, FloatArray]) -> tuple[FloatArray, list[FloatArray]]:
    """Probabilities and coordinates of the product of independent discrete laws."""
    size = int(np.prod([len(v) for v, _ in grids]))
    if size > _MAX_ATOMS:
        raise ValueError(f"the product grid would have {size} atoms (> {_MAX_ATOMS}); reduce "
                         "`n_grid` or the number of components.")
    mesh = np.meshgrid(*[v for v, _ in grids], indexing="ij")
    pmesh = np.meshgrid(*[w for _, w in grids], indexing="ij")
    probs = np.prod(np.stack([w.ravel() for w in pmesh]), axis=0)
    return probs / probs.sum(), [c.ravel() for c in mesh]


def _gold_atoms(gold: Any, gold_probs: Any, n_grid: int) -> tuple[FloatArray, FloatArray]:
    if gold is None:
        z = noise_grid(n_grid)
        return z, np.full(z.shape[0], 1.0 / z.shape[0])
    g = as_float_array("gold", gold, ndim=1)
    if g.shape[0] == 0:
        raise ValueError("`gold` must not be empty.")
    if gold_probs is None:
        return g, np.full(g.shape[0], 1.0 / g.shape[0])
    return g, _check_probs(gold_probs, g.shape[0])


# --------------------------------------------------------------------------- models
def additive_noise(sigma: float, *, gold: npt.ArrayLike | None = None,
                   gold_probs: npt.ArrayLike | None = None, noise: str = "gaussian",
                   df: float | None = None, n_grid: int = 64) -> JointLaw:
    r"""Proxy = gold + independent noise of standard deviation ``sigma``.

    .. math:: \tilde r = g + \sigma\,\varepsilon, \qquad \varepsilon \perp g,\;
              \mathbb E\varepsilon = 0,\; \mathrm{Var}\,\varepsilon = 1,

    with :math:`\varepsilon` Gaussian or Student-t (heavy tails, ``df`` degrees of
    freedom; the tail is what best-of-N and strong tilts find). The gold reward is the
    discrete law ``(gold, gold_probs)``, by default ``n_grid`` standard-normal atoms.
    The CLAIMS #24 toy (Gao et al. 2023; Rafailov et al. 2024, "Scaling laws for reward
    model overoptimization in direct alignment algorithms").

    Parameters
    ----------
    sigma : float
        Noise standard deviation, > 0.
    gold, gold_probs : array_like, optional
        Gold atoms and their masses (uniform if omitted).
    noise : {"gaussian", "student_t"}
    df : float, optional
        Student-t degrees of freedom (required with ``noise="student_t"``).
    n_grid : int
        Atoms of the noise (and of the default gold) law.

    Examples
    --------
    >>> law = additive_noise(1.0, n_grid=16)
    >>> law.n_atoms, round(law.correlation, 12)   # 1 / sqrt(1 + sigma^2)
    (256, 0.707106781187)
    """
    s = check_positive("sigma", sigma)
    g, pg = _gold_atoms(gold, gold_probs, n_grid)
    e = noise_grid(n_grid, noise=noise, df=df)
    probs, (gg, ee) = _product((g, pg), (e, np.full(e.shape[0], 1.0 / e.shape[0])))
    return JointLaw(probs, gg, gg + s * ee)


def correlated_proxy(corr: float, *, sigma_gold: float = 1.0, sigma_proxy: float = 1.0,
                     noise: str = "gaussian", df: float | None = None,
                     n_grid: int = 64) -> JointLaw:
    r"""Gold and proxy with Pearson correlation exactly ``corr`` under the reference.

    .. math:: g = \sigma_g z_1, \qquad
              \tilde r = \sigma_{\tilde r}\big(\rho z_1 + \sqrt{1-\rho^2}\, z_2\big),

    with :math:`z_1, z_2` independent standardized grids (:func:`noise_grid`), so the
    correlation, both means (0) and both standard deviations are exact. This is the
    "r-correlated proxy" of Laidlaw et al. (2025), CLAIMS #22, on a single context.

    Parameters
    ----------
    corr : float
        Correlation :math:`\rho \in [-1, 1]`.
    sigma_gold, sigma_proxy : float
        Standard deviations, > 0.
    noise, df, n_grid
        As in :func:`additive_noise` (the law of :math:`z_2`).

    Examples
    --------
    >>> law = correlated_proxy(0.6, n_grid=8)
    >>> round(law.correlation, 12), round(law.proxy_std, 12)
    (0.6, 1.0)
    """
    rho = check_scalar("corr", corr, lo=-1.0, hi=1.0)
    sg = check_positive("sigma_gold", sigma_gold)
    sp = check_positive("sigma_proxy", sigma_proxy)
    z1 = noise_grid(n_grid)
    z2 = noise_grid(n_grid, noise=noise, df=df)
    w = np.full(z1.shape[0], 1.0 / z1.shape[0])
    probs, (a, b) = _product((z1, w), (z2, w))
    return JointLaw(probs, sg * a, sp * (rho * a + np.sqrt(1.0 - rho * rho) * b))


def tail_proxy(*, tail_mass: float, tail_proxy: npt.ArrayLike, tail_gold: npt.ArrayLike | float = 0.0,
               gold: npt.ArrayLike | None = None, gold_probs: npt.ArrayLike | None = None,
               n_grid: int = 64) -> JointLaw:
    r"""Return a proxy that is right on the reference's bulk and wrong in its tail.

    With mass :math:`1 - \epsilon` the reference draws from the bulk, where
    :math:`\tilde r = g`; with mass :math:`\epsilon` (``tail_mass``, split evenly) it
    draws one of the tail atoms, whose proxy is ``tail_proxy`` and whose gold is
    ``tail_gold``. A tail whose proxy exceeds every bulk reward but whose gold does not
    is found by best-of-N once :math:`N \epsilon` is of order 1: the gold curve rises, then
    falls (PAR, CLAIMS #28; Laidlaw et al., Sec. 3).

    Parameters
    ----------
    tail_mass : float
        :math:`\epsilon \in (0, 1)`.
    tail_proxy : array_like, shape (T,)
        Proxy rewards of the tail atoms.
    tail_gold : float or array_like, shape (T,)
        Gold rewards of the tail atoms.
    gold, gold_probs, n_grid
        The bulk gold law (default: ``n_grid`` standard-normal atoms).

    Examples
    --------
    >>> law = tail_proxy(tail_mass=0.01, tail_proxy=[5.0], n_grid=8)
    >>> law.n_atoms, float(law.probs[-1])
    (9, 0.01)
    """
    eps = check_scalar("tail_mass", tail_mass, lo=0.0, hi=1.0, lo_inclusive=False, hi_inclusive=False)
    tp = as_float_array("tail_proxy", tail_proxy, ndim=1)
    if tp.shape[0] == 0:
        raise ValueError("`tail_proxy` must hold at least one tail atom.")
    tg = np.broadcast_to(as_float_array("tail_gold", tail_gold), tp.shape).astype(float)
    g, pg = _gold_atoms(gold, gold_probs, n_grid)
    probs = np.concatenate(((1.0 - eps) * pg, np.full(tp.shape[0], eps / tp.shape[0])))
    gg = np.concatenate((g, tg))
    return JointLaw(probs / probs.sum(), gg, np.concatenate((g, tp)))


def ensemble_proxy(n_members: int, *, sigma_shared: float, sigma_independent: float,
                   noise: str = "gaussian", df: float | None = None, n_gold: int = 16,
                   n_shared: int = 16, n_independent: int = 5) -> EnsembleLaw:
    r"""Return an ensemble whose errors have a shared and an independent component.

    .. math:: \tilde r_k = g + \sigma_s\,\varepsilon_0 + \sigma_i\,\varepsilon_k,
              \qquad k = 1..M,

    with :math:`g, \varepsilon_0, \dots, \varepsilon_M` independent standardized grids
    (the gold law is standard normal; the errors Gaussian or Student-t). The joint law
    is their product, :math:`n_g\,n_s\,n_i^M` atoms. The shared component is what
    ensembles cannot average away (Eisenstein et al., 2024, "Helping or herding?",
    CLAIMS #26; Coste et al., 2024, CLAIMS #25).

    Parameters
    ----------
    n_members : int
        Ensemble size :math:`M \ge 1`.
    sigma_shared, sigma_independent : float
        Standard deviations of the shared and independent errors (>= 0, not both 0).
    noise, df
        Error law, as in :func:`additive_noise`.
    n_gold, n_shared, n_independent : int
        Grid sizes of the components.

    Examples
    --------
    >>> ens = ensemble_proxy(2, sigma_shared=0.5, sigma_independent=1.0, n_gold=4,
    ...                      n_shared=4, n_independent=3)
    >>> ens.n_members, ens.n_atoms
    (2, 144)
    """
    m = check_int("n_members", n_members, lo=1)
    ss = check_scalar("sigma_shared", sigma_shared, lo=0.0)
    si = check_scalar("sigma_independent", sigma_independent, lo=0.0)
    g = noise_grid(n_gold)
    grids = [(g, np.full(n_gold, 1.0 / n_gold))]
    e0 = noise_grid(n_shared, noise=noise, df=df)
    grids.append((e0, np.full(n_shared, 1.0 / n_shared)))
    ei = noise_grid(n_independent, noise=noise, df=df)
    grids += [(ei, np.full(n_independent, 1.0 / n_independent))] * m
    probs, coords = _product(*grids)
    base = coords[0] + ss * coords[1]
    members = np.stack([base + si * coords[2 + k] for k in range(m)])
    return EnsembleLaw(probs, coords[0], members)
