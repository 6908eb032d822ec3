r"""Mitigations as transforms of the proxy: ensemble aggregation and PAR shaping.

A transform maps a :class:`~mdpkit.reward_hacking.JointLaw` or
:class:`~mdpkit.reward_hacking.EnsembleLaw` to the reward vector (one value per atom)
that the optimizer sees; :func:`~mdpkit.reward_hacking.gold_reward_curve` accepts any of
them through ``transform=``. Policy-side regularizers (KL, chi-square) are passed to the
curve as ``method="regularized", div=...`` (a :mod:`mdpkit.divergences` object).

References
----------
.. [1] T. Coste, U. Anwar, R. Kirk, D. Krueger, "Reward model ensembles help mitigate
   overoptimization", ICLR 2024 (mean, worst-case "WCO", uncertainty-weighted "UWO").
.. [2] J. Eisenstein et al., "Helping or herding? Reward model ensembles mitigate but do
   not eliminate reward hacking", 2024.
.. [3] Y. Yan et al., "Reward-robust RLHF in LLMs", 2024 (BRME: a convex combination of
   the mean and the minimum).
.. [4] J. Fu et al., "Reward shaping to mitigate reward hacking in RLHF", 2025 (PAR:
   a bounded, centred sigmoid of the reward minus a reference reward).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from .._typing import FloatArray
from .._validation import check_choice, check_nonnegative, check_scalar
from ._proxy import EnsembleLaw, JointLaw

_RULES = ("mean", "min", "uncertainty_weighted", "brme")


def _members(law: Any) -> FloatArray:
    if isinstance(law, EnsembleLaw):
        return law.members
    if isinstance(law, JointLaw):
        return law.proxy[None, :]
    raise TypeError(f"`law` must be a JointLaw or an EnsembleLaw; got {type(law).__name__}.")


@dataclass(frozen=True)
class EnsembleAggregate:
    r"""Aggregate an ensemble :math:`\tilde r_1..\tilde r_M` into one proxy.

    * ``"mean"``: :math:`\bar r = \frac1M \sum_k \tilde r_k`;
    * ``"min"``: :math:`\min_k \tilde r_k` (worst-case optimization, WCO; Coste et al., 2024);
    * ``"uncertainty_weighted"``: :math:`\bar r - c\,\frac1M\sum_k(\tilde r_k - \bar r)^2`
      (UWO, Coste et al., 2024; ``coef`` = c);
    * ``"brme"``: :math:`w\,\bar r + (1-w)\min_k \tilde r_k` (BRME, Yan et al., 2024; ``coef`` = w).

    Build one with :func:`mean_ensemble`, :func:`min_ensemble`,
    :func:`uncertainty_weighted_ensemble` or :func:`brme_ensemble`.
    """

    rule: str
    coef: float = 0.0

    def __post_init__(self) -> None:
        check_choice("rule", self.rule, _RULES)
        check_scalar("coef", self.coef, lo=0.0, hi=1.0 if self.rule == "brme" else None)

    def __call__(self, law: Any) -> FloatArray:
        m = _members(law)
        mean = m.mean(axis=0)
        if self.rule == "mean":
            return mean
        if self.rule == "min":
            return m.min(axis=0)
        if self.rule == "uncertainty_weighted":
            return mean - self.coef * m.var(axis=0)
        return self.coef * mean + (1.0 - self.coef) * m.min(axis=0)


def mean_ensemble() -> EnsembleAggregate:
    """Mean of the ensemble's rewards.

    >>> from mdpkit.reward_hacking import EnsembleLaw
    >>> law = EnsembleLaw([0.5, 0.5], [0.0, 1.0], [[0.0, 2.0], [1.0, 0.0]])
    >>> mean_ensemble()(law).tolist()
    [0.5, 1.0]
    """
    return EnsembleAggregate("mean")


def min_ensemble() -> EnsembleAggregate:
    """Worst case (minimum) over the ensemble (WCO of Coste et al.).

    >>> from mdpkit.reward_hacking import EnsembleLaw
    >>> min_ensemble()(EnsembleLaw([0.5, 0.5], [0.0, 1.0], [[0.0, 2.0], [1.0, 0.0]])).tolist()
    [0.0, 0.0]
    """
    return EnsembleAggregate("min")


def uncertainty_weighted_ensemble(coef: float) -> EnsembleAggregate:
    """Mean minus ``coef`` times the ensemble variance (UWO of Coste et al.).

    >>> from mdpkit.reward_hacking import EnsembleLaw
    >>> law = EnsembleLaw([0.5, 0.5], [0.0, 1.0], [[0.0, 2.0], [1.0, 0.0]])
    >>> uncertainty_weighted_ensemble(1.0)(law).tolist()   # means (0.5, 1), variances (0.25, 1)
    [0.25, 0.0]
    """
    return EnsembleAggregate("uncertainty_weighted", check_nonnegative("coef", coef))


def brme_ensemble(coef: float) -> EnsembleAggregate:
    r"""BRME-style mixture ``coef * mean + (1 - coef) * min``, ``coef`` in [0, 1].

    >>> from mdpkit.reward_hacking import EnsembleLaw
    >>> law = EnsembleLaw([0.5, 0.5], [0.0, 1.0], [[0.0, 2.0], [1.0, 0.0]])
    >>> brme_ensemble(0.5)(law).tolist()
    [0.25, 0.5]
    """
    return EnsembleAggregate("brme", check_scalar("coef", coef, lo=0.0, hi=1.0))


@dataclass(frozen=True)
class PARShaping:
    r"""Preference-as-reward shaping :math:`\sigma(\tilde r - r_{ref})` (Fu et al., 2025).

    ``r_ref = None`` centres at the reference's mean proxy reward
    :math:`\mathbb E_p \tilde r`. ``inner`` (optional) is applied first, e.g. an ensemble
    aggregate. The shaped reward is bounded in (0, 1) and its slope is largest at the
    reference reward, so a tilt gains little from pushing far into the proxy's tail.
    Best-of-N is unchanged by any increasing transform (it only ranks).
    """

    r_ref: float | None = None
    inner: EnsembleAggregate | None = None

    def __call__(self, law: Any) -> FloatArray:
        if self.inner is not None:
            base = self.inner(law)
        elif isinstance(law, JointLaw):
            base = law.proxy
        else:
            raise TypeError("PAR shaping of an EnsembleLaw needs `inner=` (an ensemble aggregate).")
        c = float(np.dot(law.probs, base)) if self.r_ref is None else self.r_ref
        return expit(base - c)


def par_shaping(r_ref: float | None = None, *, inner: EnsembleAggregate | None = None) -> PARShaping:
    r"""Return the bounded, centred sigmoid shaping of PAR (Fu et al., 2025; CLAIMS #28).

    Parameters
    ----------
    r_ref : float, optional
        Reference reward subtracted inside the sigmoid (default: :math:`\mathbb E_p \tilde r`).
    inner : EnsembleAggregate, optional
        Aggregate applied before shaping (for ensembles).

    Examples
    --------
    >>> from mdpkit.reward_hacking import JointLaw
    >>> law = JointLaw([0.5, 0.5], [0.0, 1.0], [-1.0, 1.0])
    >>> [round(float(x), 6) for x in par_shaping()(law)]   # sigmoid(-1), sigmoid(1)
    [0.268941, 0.731059]
    """
    if r_ref is not None:
        r_ref = check_scalar("r_ref", r_ref)
    if inner is not None and not isinstance(inner, EnsembleAggregate):
        raise TypeError(f"`inner` must be an EnsembleAggregate; got {type(inner).__name__}.")
    return PARShaping(r_ref, inner)


def apply_transform(law: Any, transform: Any) -> FloatArray:
    """Return the reward the optimizer sees: ``transform(law)``, or the proxy of a JointLaw."""
    if transform is None:
        if isinstance(law, EnsembleLaw):
            raise ValueError("an EnsembleLaw needs `transform=` (e.g. `mean_ensemble()`) to "
                             "say how the models are aggregated.")
        if not isinstance(law, JointLaw):
            raise TypeError(f"`law` must be a JointLaw or an EnsembleLaw; got {type(law).__name__}.")
        return law.proxy
    if not callable(transform):
        raise TypeError(f"`transform` must be callable (law -> rewards); got {type(transform).__name__}.")
    r = np.ascontiguousarray(transform(law), dtype=np.float64)
    if r.shape != (law.n_atoms,) or not np.all(np.isfinite(r)):
        raise ValueError(f"`transform` must return {law.n_atoms} finite rewards; got shape {r.shape}.")
    return r
