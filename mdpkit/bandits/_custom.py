r"""User-defined policies run by the same compiled simulator.

Two interfaces, both made of Numba-jitted functions (``@numba.njit``):

**Index policy** -- :class:`IndexPolicy` ``(index)`` with
``index(t, counts, sums, params, out) -> None`` writing one index per arm into
``out[:K]``. The simulator first pulls every arm once, then pulls the arm with the largest
index (lowest arm on ties). ``t`` is the number of pulls so far; ``counts[a]`` and
``sums[a]`` are the pulls and the reward total of arm ``a``; ``params`` is the float
vector given at construction.

**Step policy** -- :class:`StepPolicy` ``(select, update, state_size)`` with
``select(t, state, params) -> int`` returning the arm to pull and
``update(t, state, params, arm, reward) -> None`` updating the float64 vector ``state``
(zeros, or ``init_state``, at the start of every run) in place.

Both may call ``np.random.random()`` and ``np.random.standard_normal()``: every run is
seeded on its own, so runs are reproducible whatever the thread count. Random draws of
the policy come before the environment's draw in each step.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numba import njit

from .._typing import FloatArray
from .._validation import as_float_array, check_int


def _check_jitted(name: str, fn: Any) -> None:
    if not (callable(fn) and hasattr(fn, "py_func")):
        raise TypeError(f"`{name}` must be a Numba-jitted function (decorate it with "
                        f"@numba.njit); got {type(fn).__name__}.")


@dataclass(frozen=True, eq=False)
class StepPolicy:
    r"""A user policy given by jitted ``select`` and ``update`` functions on a float state vector.

    Parameters
    ----------
    select : numba dispatcher
        ``select(t, state, params) -> int``.
    update : numba dispatcher
        ``update(t, state, params, arm, reward) -> None``.
    state_size : int
        Length of ``state`` (``>= 1``).
    params : array_like, shape (p,), optional
        Parameters passed unchanged to both functions.
    init_state : array_like, shape (state_size,), optional
        Initial state of every run (zeros by default).
    label : str
        Name in tables and legends.

    Examples
    --------
    Round robin, the simplest step policy:

    >>> from numba import njit
    >>> @njit
    ... def select(t, state, params):
    ...     return t % 2
    >>> @njit
    ... def update(t, state, params, arm, reward):
    ...     pass
    >>> StepPolicy(select, update, state_size=1).name
    'StepPolicy'
    """

    select: Any
    update: Any
    state_size: int
    params: FloatArray = field(default_factory=lambda: np.zeros(1))
    init_state: FloatArray | None = None
    label: str = "StepPolicy"
    family: ClassVar[str] = "user"

    def __post_init__(self) -> None:
        _check_jitted("select", self.select)
        _check_jitted("update", self.update)
        object.__setattr__(self, "state_size", check_int("state_size", self.state_size, lo=1))
        prm = as_float_array("params", self.params, ndim=1)
        object.__setattr__(self, "params", prm if prm.size else np.zeros(1))
        if self.init_state is not None:
            object.__setattr__(self, "init_state",
                               as_float_array("init_state", self.init_state, shape=(self.state_size,)))

    @property
    def name(self) -> str:
        return self.label

    def _functions(self, n_arms: int) -> tuple[Any, Any, FloatArray]:
        s0 = np.zeros(self.state_size) if self.init_state is None else self.init_state.copy()
        return self.select, self.update, s0


@functools.lru_cache(maxsize=32)
def _index_step(index: Any, n_arms: int) -> tuple[Any, Any]:
    K = n_arms

    @njit
    def select(t, state, params):  # pragma: no cover - compiled
        if t < K:
            return t
        index(t, state[:K], state[K:2 * K], params, state[2 * K:3 * K])
        out = state[2 * K:3 * K]
        a = 0
        for k in range(1, K):
            if out[k] > out[a]:
                a = k
        return a

    @njit
    def update(t, state, params, arm, reward):  # pragma: no cover - compiled
        state[arm] += 1.0
        state[K + arm] += reward

    return select, update


@dataclass(frozen=True, eq=False)
class IndexPolicy:
    r"""A user index policy: pull :math:`\arg\max_a I_a(t)` with a jitted ``index`` function.

    Parameters
    ----------
    index : numba dispatcher
        ``index(t, counts, sums, params, out) -> None``; fills ``out[:K]``.
    params : array_like, shape (p,), optional
    label : str

    Examples
    --------
    UCB1 written against the interface (it reproduces :class:`UCB1` pull for pull):

    >>> import numpy as np
    >>> from numba import njit
    >>> @njit
    ... def ucb(t, counts, sums, params, out):
    ...     for a in range(counts.size):
    ...         out[a] = sums[a] / counts[a] + np.sqrt(params[0] * np.log(t) / counts[a])
    >>> IndexPolicy(ucb, params=[2.0], label="my-UCB1").name
    'my-UCB1'
    """

    index: Any
    params: FloatArray = field(default_factory=lambda: np.zeros(1))
    label: str = "IndexPolicy"
    family: ClassVar[str] = "user"

    def __post_init__(self) -> None:
        _check_jitted("index", self.index)
        prm = as_float_array("params", self.params, ndim=1)
        object.__setattr__(self, "params", prm if prm.size else np.zeros(1))

    @property
    def name(self) -> str:
        return self.label

    def _functions(self, n_arms: int) -> tuple[Any, Any, FloatArray]:
        select, update = _index_step(self.index, n_arms)
        return select, update, np.zeros(3 * n_arms)
