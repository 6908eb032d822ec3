"""Run-owned random streams: NumPy's legacy Mersenne Twister, and xoshiro256** with ziggurat normals.

The second (end of the module) serves the Bernoulli Thompson-sampling fast path only,
whose cost is its Beta draws; every other kernel uses the first, described here.

``np.random.seed(s)`` followed by ``np.random.random()`` / ``standard_normal()`` in a
Numba kernel reproduces ``np.random.RandomState(s)`` (MT19937 seeded by ``init_genrand``,
53-bit doubles from two 32-bit words, Marsaglia's polar method for normals with the
second variate cached). Every such call fetches the thread's generator state through a
runtime call, which costs several times the arithmetic of a simple bandit step. This
module produces the *same* stream from a state owned by the run:

* ``mt`` (int64, 624 words in ``[0, 2^32)``), the MT19937 state;
* ``buf`` (float64, 313), the next 312 doubles of one twist and, at ``buf[312]``, the
  cached second normal variate;
* ``ix`` (int64, 2): ``ix[0]`` the next unread double in ``buf``, ``ix[1]`` whether a
  normal variate is cached.

One twist yields exactly 312 doubles, so the doubles of a block never straddle two
twists. Hot loops keep the read position in a local variable and call
:func:`mt_refill` when it reaches 312 (passing arrays to a helper at every draw costs
reference counting); other code passes ``rng = (mt, buf, ix)`` to :func:`uniform` and
:func:`standard_normal`, which read ``np.random`` instead when ``rng`` is ``None``.

Reference counting. Numba increments and decrements an array's reference count (an
atomic operation, a contended cache line when runs on several threads share the array)
wherever a function passes it on. The helpers that never allocate are compiled with
``_nrt=False``: they borrow their arrays, so a per-step call costs only its arithmetic.
"""

# ruff: noqa: NPY002  (the legacy stream is the documented, reproducible one)
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .._config import NO_NRT

MT_N = 624
MT_M = 397
N_DOUBLES = 312  # doubles per twist (two 32-bit words each)


@njit(cache=True, inline="always")
def _twist(mt, k, k1, km):
    y = (mt[k] & 0x80000000) | (mt[k1] & 0x7FFFFFFF)
    return mt[km] ^ (y >> 1) ^ (0x9908B0DF & -(y & 1))


@njit(cache=True, inline="always")
def _temper(y):
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    return y ^ (y >> 18)


@njit(cache=True, **NO_NRT)
def mt_refill(mt, buf):
    """Twist ``mt`` (MT19937 recurrence) and write the next 312 doubles to ``buf[:312]``.

    A double is ``((y1 >> 5) 2^26 + (y2 >> 6)) / 2^53`` from two tempered words, NumPy's
    ``random_sample``.
    """
    for k in range(MT_N - MT_M):
        mt[k] = _twist(mt, k, k + 1, k + MT_M)
    for k in range(MT_N - MT_M, MT_N - 1):
        mt[k] = _twist(mt, k, k + 1, k + MT_M - MT_N)
    mt[MT_N - 1] = _twist(mt, MT_N - 1, 0, MT_M - 1)
    for i in range(N_DOUBLES):
        a = _temper(mt[2 * i]) >> 5
        b = _temper(mt[2 * i + 1]) >> 6
        buf[i] = (a * 67108864.0 + b) / 9007199254740992.0


@njit(cache=True)
def mt_state(seed):
    """``(mt, buf, ix)`` in the state of ``np.random.seed(seed)`` (``init_genrand``, 32 bits)."""
    mt = np.empty(MT_N, dtype=np.int64)
    s = seed & 0xFFFFFFFF
    for k in range(MT_N):
        mt[k] = s
        s = (1812433253 * (s ^ (s >> 30)) + k + 1) & 0xFFFFFFFF
    buf = np.zeros(N_DOUBLES + 1)
    ix = np.zeros(2, dtype=np.int64)
    ix[0] = N_DOUBLES  # empty: the first draw twists
    return mt, buf, ix


@njit(cache=True, **NO_NRT)
def uniform(rng):
    """Next double in [0, 1) of ``rng = (mt, buf, ix)``, or of ``np.random`` if ``rng`` is None."""
    if rng is None:
        return np.random.random()
    mt, buf, ix = rng
    k = ix[0]
    if k == N_DOUBLES:
        mt_refill(mt, buf)
        k = 0
    ix[0] = k + 1
    return buf[k]


@njit(cache=True, **NO_NRT)
def standard_normal(rng):
    """Next N(0, 1) variate: the polar method of NumPy's legacy ``gauss`` (pairs, one cached)."""
    if rng is None:
        return np.random.standard_normal()
    mt, buf, ix = rng
    if ix[1] == 1:
        ix[1] = 0
        return buf[N_DOUBLES]
    while True:
        x1 = 2.0 * uniform(rng) - 1.0
        x2 = 2.0 * uniform(rng) - 1.0
        r2 = x1 * x1 + x2 * x2
        if r2 < 1.0 and r2 != 0.0:
            break
    f = np.sqrt(-2.0 * np.log(r2) / r2)
    buf[N_DOUBLES] = f * x1
    ix[1] = 1
    return f * x2


# ---------------------------------------------------------------- xoshiro256** and ziggurat
# A run-owned 64-bit generator for the Beta-Thompson fast path, where the random numbers
# dominate the cost: xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom
# number generators", ACM TOMS 47, 2021), its four words seeded from the run's seed by
# splitmix64, as its authors recommend. Doubles are ``(x >> 11) 2^-53``; normals come from
# the ziggurat method (Marsaglia and Tsang, "The ziggurat method for generating random
# variables", J. Stat. Softw. 5, 2000) with 256 layers of equal area.
_U64 = np.uint64
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SM1 = np.uint64(0xBF58476D1CE4E5B9)
_SM2 = np.uint64(0x94D049BB133111EB)
_TWO_M53 = 1.0 / 9007199254740992.0
ZIG_LAYERS = 256


def _ziggurat_tables(n: int = ZIG_LAYERS) -> tuple[np.ndarray, np.ndarray]:
    """Layer edges ``x`` (n + 1) and densities ``f = exp(-x^2 / 2)`` of an n-layer ziggurat.

    Layer 0 is the base strip ``[0, R] x [0, f(R)]`` plus the tail beyond ``R``, of area
    ``v = R f(R) + int_R^inf f``, stored with the width ``x[0] = v / f(R)``; layer
    ``i >= 1`` is the rectangle ``[0, x[i]] x [f(x[i]), f(x[i+1])]`` of the same area
    ``v`` (``x[1] = R``, ``x[n] = 0``). ``R`` is found by bisection so that the top layer
    closes at ``f = 1``: ``x[n-1] (1 - f(x[n-1])) = v`` (to rounding).
    """
    def close(r: float) -> tuple[float, np.ndarray]:
        v = r * math.exp(-0.5 * r * r) + math.sqrt(0.5 * math.pi) * math.erfc(r / math.sqrt(2.0))
        x = np.zeros(n + 1)
        x[0], x[1] = v / math.exp(-0.5 * r * r), r
        for i in range(1, n - 1):
            y = math.exp(-0.5 * x[i] * x[i]) + v / x[i]
            if y >= 1.0:  # the layers reach the top too early: r is too small
                return -1.0, x
            x[i + 1] = math.sqrt(-2.0 * math.log(y))
        return x[n - 1] * -math.expm1(-0.5 * x[n - 1] ** 2) - v, x

    lo, hi = 3.0, 4.5  # close(lo) < 0 < close(hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if close(mid)[0] < 0.0:
            lo = mid
        else:
            hi = mid
    x = close(hi)[1]
    return x, np.exp(-0.5 * x * x)


ZIG_X, ZIG_F = _ziggurat_tables()
ZIG_R = float(ZIG_X[1])


@njit(cache=True)
def xo_seed(seed):
    """xoshiro256** state ``(s0, s1, s2, s3)`` (uint64) from ``seed`` by splitmix64."""
    z = _U64(seed)
    out = [_U64(0)] * 4
    for i in range(4):
        z += _GOLDEN
        y = (z ^ (z >> _U64(30))) * _SM1
        y = (y ^ (y >> _U64(27))) * _SM2
        out[i] = y ^ (y >> _U64(31))
    return out[0], out[1], out[2], out[3]


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << _U64(k)) | (x >> _U64(64 - k))


# The state is a tuple passed in and returned by every draw, so that a compiled loop keeps
# it in registers (an array state costs a store and a reload per draw, 3x slower).
@njit(cache=True, inline="always")
def xo_next(st):
    """(next 64-bit output, next state) of xoshiro256** in state ``st``."""
    s0, s1, s2, s3 = st
    out = _rotl(s1 * _U64(5), 7) * _U64(9)
    t = s1 << _U64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    return out, (s0, s1, s2, _rotl(s3, 45))


@njit(cache=True, inline="always")
def xo_uniform(st):
    """(next double ``(x >> 11) 2^-53`` in [0, 1), next state)."""
    w, st = xo_next(st)
    return np.float64(w >> _U64(11)) * _TWO_M53, st


@njit(cache=True, inline="always")
def xo_normal(st):
    """(next N(0, 1) variate, next state) by the 256-layer ziggurat (one word in ~99% of draws).

    The word's low 8 bits pick the layer ``i``, bit 8 the sign and bits 11-63 the position
    ``u x[i]`` in it; a point left of ``x[i+1]`` lies under the density. Otherwise layer 0
    samples the tail beyond ``R`` (Marsaglia 1964) and a layer ``i >= 1`` accepts by a
    uniform height against ``exp(-x^2 / 2)``; a rejected point starts again.
    """
    while True:
        w, st = xo_next(st)
        i = np.int64(w & _U64(255))
        x = np.float64(w >> _U64(11)) * _TWO_M53 * ZIG_X[i]
        sign = 1.0 - 2.0 * np.float64((w >> _U64(8)) & _U64(1))
        if x < ZIG_X[i + 1]:
            return sign * x, st
        u, st = xo_uniform(st)
        if i == 0:
            e = -np.log1p(-u) / ZIG_R
            u, st = xo_uniform(st)
            if -2.0 * np.log1p(-u) > e * e:
                return sign * (ZIG_R + e), st
        elif ZIG_F[i] + u * (ZIG_F[i + 1] - ZIG_F[i]) < np.exp(-0.5 * x * x):
            return sign * x, st
