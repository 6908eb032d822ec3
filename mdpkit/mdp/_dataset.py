r"""Offline datasets of finite-horizon trajectories with a known feature map.

A dataset holds ``K`` trajectories :math:`\{(s^\tau_h, a^\tau_h, r^\tau_h)\}_{h<H}`,
:math:`\tau < K`, collected by a behaviour policy, and the feature map
:math:`\phi(s, a) \in \mathbb R^d` of the linear MDP they come from. Learners read the
features of the visited pairs, :math:`\phi^\tau_h = \phi(s^\tau_h, a^\tau_h)`, and the
features of every action at the next state, which they need to evaluate
:math:`\hat V_{h+1}(s^\tau_{h+1}) = \max_a \hat Q_{h+1}(s^\tau_{h+1}, a)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._results import grid_frame
from .._typing import FloatArray, IntArray
from .._validation import as_float_array


def _as_index_array(name: str, x: npt.ArrayLike, ndim: int, upper: int, what: str) -> IntArray:
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"`{name}` must be an integer array of {what} indices; got dtype {a.dtype}.")
    if a.ndim != ndim:
        raise ValueError(f"`{name}` must have {ndim} dimensions; got shape {a.shape}.")
    if a.size and (a.min() < 0 or a.max() >= upper):
        raise ValueError(f"`{name}` {what} indices must lie in [0, {upper - 1}]; got range [{a.min()}, {a.max()}].")
    out = np.ascontiguousarray(a, dtype=np.int64)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, slots=True, init=False)
class OfflineDataset:
    r"""``K`` trajectories of length ``H`` with the feature map of their linear MDP.

    Parameters
    ----------
    features : array_like, shape (S, A, d)
        The feature map ``phi[s, a, :]``.
    states : array_like of int, shape (K, H + 1)
        ``states[k, h]`` is :math:`s^k_h`; ``states[k, H]`` is the state after the last step.
    actions : array_like of int, shape (K, H)
    rewards : array_like, shape (K, H)

    Examples
    --------
    >>> import numpy as np
    >>> phi = np.eye(2)[:, None, :].repeat(2, axis=1)          # phi(s, a) = e_s
    >>> data = OfflineDataset(phi, [[0, 1, 1]], [[0, 1]], [[0.0, 1.0]])
    >>> data.n_trajectories, data.horizon, data.dim
    (1, 2, 2)
    >>> data.phi_taken[0, 1]
    array([0., 1.])
    """

    features: FloatArray
    states: IntArray
    actions: IntArray
    rewards: FloatArray

    def __init__(self, features: npt.ArrayLike, states: npt.ArrayLike, actions: npt.ArrayLike,
                 rewards: npt.ArrayLike) -> None:
        phi = as_float_array("features", features, ndim=3)
        S, A, d = phi.shape
        if S < 1 or A < 1 or d < 1:
            raise ValueError(f"`features` must have shape (S, A, d) with S, A, d >= 1; got {phi.shape}.")
        st = _as_index_array("states", states, 2, S, "state")
        ac = _as_index_array("actions", actions, 2, A, "action")
        rw = as_float_array("rewards", rewards, ndim=2)
        K, H = ac.shape
        if K < 1 or H < 1:
            raise ValueError(f"`actions` must have shape (K, H) with K, H >= 1; got {ac.shape}.")
        if st.shape != (K, H + 1):
            raise ValueError(f"`states` must have shape (K, H + 1) = {(K, H + 1)} to match `actions` "
                             f"of shape {ac.shape}; got {st.shape}.")
        if rw.shape != (K, H):
            raise ValueError(f"`rewards` must have shape (K, H) = {(K, H)} to match `actions`; got {rw.shape}.")
        phi.setflags(write=False)
        rw.setflags(write=False)
        object.__setattr__(self, "features", phi)
        object.__setattr__(self, "states", st)
        object.__setattr__(self, "actions", ac)
        object.__setattr__(self, "rewards", rw)

    @property
    def n_trajectories(self) -> int:
        """``K``."""
        return int(self.actions.shape[0])

    @property
    def horizon(self) -> int:
        """``H``."""
        return int(self.actions.shape[1])

    @property
    def dim(self) -> int:
        """Feature dimension ``d``."""
        return int(self.features.shape[2])

    @property
    def n_states(self) -> int:
        return int(self.features.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.features.shape[1])

    @property
    def phi_taken(self) -> FloatArray:
        r"""Features of the visited pairs, :math:`\phi(s^k_h, a^k_h)`, shape ``(K, H, d)``."""
        return self.features[self.states[:, :-1], self.actions]

    def subset(self, n_trajectories: int) -> OfflineDataset:
        """Return the first ``n_trajectories`` trajectories (nested datasets for rate studies)."""
        from .._validation import check_int

        k = check_int("n_trajectories", n_trajectories, lo=1, hi=self.n_trajectories)
        return OfflineDataset(self.features, self.states[:k], self.actions[:k], self.rewards[:k])

    def summary(self) -> str:
        """Return one line: sizes and the mean return of the trajectories."""
        return (f"{self.n_trajectories} trajectories of {self.horizon} steps, {self.n_states} states, "
                f"{self.n_actions} actions, dim {self.dim}, mean return "
                f"{float(self.rewards.sum(axis=1).mean()):.6g}")

    def to_frame(self) -> Any:
        """Return one row per (trajectory, step) with columns ``trajectory``, ``t``, ``state``, ``action``, ``reward``, ``next_state``."""
        K, H = self.actions.shape
        return grid_frame({"trajectory": np.arange(K), "t": np.arange(H)}, state=self.states[:, :-1],
                          action=self.actions, reward=self.rewards, next_state=self.states[:, 1:])

    def __repr__(self) -> str:
        return (f"OfflineDataset(n_trajectories={self.n_trajectories}, horizon={self.horizon}, "
                f"n_states={self.n_states}, n_actions={self.n_actions}, dim={self.dim})")
