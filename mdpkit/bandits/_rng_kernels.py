"""NumPy's legacy Mersenne-Twister stream, generated inside one compiled run.

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
