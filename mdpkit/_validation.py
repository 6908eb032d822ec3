"""Input validation shared by every front end.

Every function here raises a ``ValueError`` (bad value or shape) or ``TypeError``
(wrong kind) whose message names the argument, states the requirement and shows the
offending value, *before* any compiled kernel runs. Nothing is clipped or repaired.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ._typing import FloatArray, RNGLike

#: The one rule for "on the simplex", for every probability vector mdpkit accepts
#: (transition rows, policies, reference policies, laws, initial distributions):
#: entries >= 0 and ``|sum - 1| <= SIMPLEX_ATOL``. Accepted vectors are used as given
#: (laws are divided by their sum); 1e-9 admits rows typed by hand or produced by another
#: solver and refuses anything a rounding could not explain.
SIMPLEX_ATOL = 1e-9


def as_generator(rng: RNGLike) -> np.random.Generator:
    """Normalize ``rng`` (``None``, an int seed, a SeedSequence or a Generator).

    >>> bool(as_generator(0).integers(10) == as_generator(0).integers(10))
    True
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"`rng` must be None, a non-negative int, a numpy SeedSequence or a numpy "
                        f"Generator; got bool {rng!r} (a bool is not a seed).")
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(rng, numbers.Integral) and int(rng) < 0:
            raise ValueError(f"`rng` must be a non-negative integer seed; got {rng!r}.")
        return np.random.default_rng(rng)
    raise TypeError(
        "`rng` must be None, a non-negative int, a numpy SeedSequence or a numpy "
        f"Generator; got {type(rng).__name__}."
    )


def check_scalar(
    name: str,
    value: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_inclusive: bool = True,
    hi_inclusive: bool = True,
) -> float:
    """Return ``float(value)`` after checking it is a finite real in the interval.

    >>> check_scalar("beta", 0.5, lo=0.0, lo_inclusive=False)
    0.5
    """
    if type(value) is not float and (isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating))):
        raise TypeError(f"`{name}` must be a real number; got {type(value).__name__} {value!r}.")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"`{name}` must be finite; got {value!r}.")
    if lo is not None and (v < lo or (v == lo and not lo_inclusive)):
        op = ">=" if lo_inclusive else ">"
        raise ValueError(f"`{name}` must be {op} {lo:g}; got {value!r}.")
    if hi is not None and (v > hi or (v == hi and not hi_inclusive)):
        op = "<=" if hi_inclusive else "<"
        raise ValueError(f"`{name}` must be {op} {hi:g}; got {value!r}.")
    return v


def check_positive(name: str, value: Any) -> float:
    """``value > 0`` and finite."""
    return check_scalar(name, value, lo=0.0, lo_inclusive=False)


def check_nonnegative(name: str, value: Any) -> float:
    """``value >= 0`` and finite."""
    return check_scalar(name, value, lo=0.0)


def check_int(name: str, value: Any, *, lo: int | None = None, hi: int | None = None) -> int:
    """Return ``int(value)`` after checking it is an integer in ``[lo, hi]``.

    >>> check_int("horizon", 3, lo=1)
    3
    """
    if type(value) is not int and (isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer))):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"`{name}` must be an integer; got {type(value).__name__} {value!r}.")
    v = int(value)
    if lo is not None and v < lo:
        raise ValueError(f"`{name}` must be >= {lo}; got {v}.")
    if hi is not None and v > hi:
        raise ValueError(f"`{name}` must be <= {hi}; got {v}.")
    return v


def check_discount(gamma: Any) -> float:
    """``0 <= gamma < 1`` (infinite-horizon discount)."""
    if type(gamma) is not float and (isinstance(gamma, bool) or not isinstance(gamma, (numbers.Real, np.floating))):
        raise TypeError(f"`gamma` must be a real number; got {type(gamma).__name__} {gamma!r}.")
    g = float(gamma)
    if not (0.0 <= g < 1.0):
        raise ValueError(
            f"`gamma` must satisfy 0 <= gamma < 1 for infinite-horizon problems; got {gamma!r}. "
            "For an undiscounted problem pass `horizon=` instead."
        )
    return g


def check_choice(name: str, value: Any, options: Iterable[str] | Mapping[str, Any]) -> str:
    """``value`` must be one of ``options`` (exact match, no aliases).

    >>> check_choice("method", "a", ["a", "b"])
    'a'
    """
    opts = sorted(options)
    if not isinstance(value, str) or value not in opts:
        raise ValueError(f"`{name}` must be one of {opts}; got {value!r}.")
    return value


def as_float_array(
    name: str,
    x: npt.ArrayLike,
    *,
    ndim: int | tuple[int, ...] | None = None,
    shape: tuple[int | None, ...] | None = None,
    finite: bool = True,
) -> FloatArray:
    """Convert to a C-contiguous float64 array and check rank, shape and finiteness.

    Complex numbers and strings are refused (never silently cast or parsed).
    """
    _check_real_kind(name, x)
    try:
        a = np.ascontiguousarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"`{name}` must be an array of real numbers; {e}") from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if a.ndim not in allowed:
            want = " or ".join(str(k) for k in allowed)
            raise ValueError(f"`{name}` must have {want} dimensions; got shape {a.shape}.")
    if shape is not None:
        ok = len(shape) == a.ndim and all(s is None or s == t for s, t in zip(shape, a.shape, strict=True))
        if not ok:
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"`{name}` must have shape {want}; got {a.shape}.")
    if finite and a.size and not np.isfinite(a).all():
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise ValueError(f"`{name}` must be finite; `{name}{list(idx)}` = {a[idx]!r}.")
    return a


def _check_real_kind(name: str, x: Any) -> None:
    """Refuse complex numbers and strings before a float64 cast would drop or parse them."""
    if type(x) is np.ndarray and x.dtype.kind in "fiub":  # real already: nothing to refuse
        return
    if isinstance(x, (str, bytes)):
        raise TypeError(f"`{name}` must be real numbers, not a string; got {x!r}.")
    if isinstance(x, np.ndarray) or np.isscalar(x) or isinstance(x, (list, tuple)):
        try:
            kind = np.asarray(x).dtype.kind
        except (TypeError, ValueError):  # ragged input: the float64 cast reports it
            return
        if kind == "c":
            raise TypeError(f"`{name}` must be real; got complex values (the imaginary part would be lost).")
        if kind in "USa":
            raise TypeError(f"`{name}` must be real numbers, not strings; got dtype {np.asarray(x).dtype}.")
        if kind == "O" and any(isinstance(v, (str, bytes, complex)) for v in np.asarray(x).ravel()):
            raise TypeError(f"`{name}` must be real numbers; got strings or complex values in it.")


def check_magnitude(name: str, a: FloatArray, bound: float, why: str) -> None:
    """Check ``|a| <= bound`` elementwise, so that the results computed from ``a`` stay finite."""
    mag = np.abs(a)
    if mag.max(initial=0.0) > bound:  # one reduction; the offending entry is looked up only on failure
        idx = [int(i) for i in np.argwhere(mag > bound)[0]]
        raise ValueError(f"`{name}` must satisfy |{name}| <= {bound:.3g} ({why}); "
                         f"`{name}{idx}` = {a[tuple(idx)]!r}.")


#: Largest array a front end allocates on the caller's behalf (bytes); sizes beyond are
#: refused with a message before anything is allocated.
MEMORY_LIMIT = 4 * 2**30


def check_memory(what: str, n_items: int, *, item_bytes: int = 8, hint: str = "") -> None:
    """Refuse an allocation of ``n_items`` items larger than :data:`MEMORY_LIMIT`.

    >>> check_memory("the value table", 10)
    """
    n_bytes = int(n_items) * item_bytes
    if n_bytes > MEMORY_LIMIT:
        raise ValueError(
            f"{what} would need {n_bytes / 2**30:.3g} GiB ({int(n_items):.4g} entries), above the "
            f"{MEMORY_LIMIT / 2**30:g} GiB mdpkit allocates at once.{(' ' + hint) if hint else ''}"
        )


def check_simplex(name: str, x: FloatArray, *, atol: float = SIMPLEX_ATOL) -> None:
    """Check that every vector along the last axis is a probability vector.

    The message points at the first offending row: ``P[1, 0, :] sums to 0.9``.
    """
    if x.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {x.shape}.")
    if x.min() < 0:  # one reduction per test; the offending entry is looked up only on failure
        idx = tuple(int(i) for i in np.argwhere(x < 0)[0])
        raise ValueError(
            f"`{name}` must have non-negative entries; `{name}{list(idx)}` = {x[idx]!r}."
        )
    sums = x.sum(axis=-1)
    dev = np.abs(sums - 1.0)
    if dev.max() > atol:
        idx = tuple(int(i) for i in np.argwhere(dev > atol)[0]) if sums.ndim else ()
        loc = ", ".join([*map(str, idx), ":"])
        raise ValueError(
            f"`{name}[{loc}]` must sum to 1 (atol={atol:g}); it sums to {float(sums[idx]):.12g}."
        )


def as_probability_vector(name: str, x: FloatArray, *, atol: float = SIMPLEX_ATOL) -> FloatArray:
    """Check a 1-d probability vector with :func:`check_simplex`; return it divided by its sum.

    The division puts a vector accepted within ``atol`` of the simplex exactly on it (up to
    round-off), so downstream sums of masses are 1 to an ulp.
    """
    check_simplex(name, x, atol=atol)
    return x / x.sum()


def check_policy(
    name: str, pi: npt.ArrayLike, n_states: int, n_actions: int, horizon: int | None = None
) -> FloatArray:
    """Validate a (possibly stage-dependent) stochastic policy.

    Accepts ``pi[s, a]`` or, when ``horizon`` is given, ``pi[h, s, a]`` (a stationary
    ``(S, A)`` policy is broadcast to every stage). Deterministic policies given as an
    integer vector ``pi[s]`` (or ``pi[h, s]``) of action indices are converted to
    one-hot form.
    """
    arr = np.asarray(pi)
    if arr.dtype.kind in "iu":
        if arr.shape not in ((n_states,), (horizon, n_states)) or arr.size == 0:
            raise ValueError(
                f"`{name}` given as action indices must have shape ({n_states},)"
                + (f" or ({horizon}, {n_states})" if horizon else "")
                + f"; got {arr.shape}."
            )
        if arr.min() < 0 or arr.max() >= n_actions:
            raise ValueError(
                f"`{name}` action indices must lie in [0, {n_actions - 1}]; got range "
                f"[{arr.min()}, {arr.max()}]."
            )
        arr = np.eye(n_actions)[arr]
    a = as_float_array(name, arr)
    if horizon is None:
        if a.shape != (n_states, n_actions):
            raise ValueError(f"`{name}` must have shape (S, A) = {(n_states, n_actions)}; got {a.shape}.")
    else:
        if a.shape == (n_states, n_actions):
            check_memory(f"`{name}` broadcast to horizon {horizon}", horizon * n_states * n_actions)
            a = np.ascontiguousarray(np.broadcast_to(a, (horizon, n_states, n_actions)))
        elif a.shape != (horizon, n_states, n_actions):
            raise ValueError(
                f"`{name}` must have shape (H, S, A) = {(horizon, n_states, n_actions)} or "
                f"(S, A) = {(n_states, n_actions)}; got {a.shape}."
            )
    check_simplex(name, a)
    return a


#: Smallest positive reference mass of a regularizer (below it ratios pi/pi_ref lose all digits).
MIN_REF_MASS = 1e-300


def check_support(name: str, pi_ref: FloatArray, ref_name: str = "pi_ref") -> None:
    """Every row of ``pi_ref`` must put positive mass on at least one action."""
    # Rows are on the simplex already; this guards the strictly-positive requirement.
    if pi_ref.min() >= MIN_REF_MASS:  # one reduction; the offending entry is looked up only on failure
        return
    tiny = (pi_ref > 0) & (pi_ref < MIN_REF_MASS)
    if np.any(tiny):
        idx = tuple(int(i) for i in np.argwhere(tiny)[0])
        raise ValueError(
            f"`{ref_name}` entries must be >= {MIN_REF_MASS:g} where positive (smaller masses underflow "
            f"in the ratio pi/{ref_name}); `{ref_name}{list(idx)}` = {pi_ref[idx]!r}."
        )
    zero = pi_ref <= 0
    if np.any(zero):
        idx = tuple(int(i) for i in np.argwhere(zero)[0])
        raise ValueError(
            f"`{ref_name}` must be strictly positive where the regularizer `{name}` needs "
            f"support; `{ref_name}{list(idx)}` = {pi_ref[idx]!r}."
        )
