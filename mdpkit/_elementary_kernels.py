"""Vectorisable ``exp`` and ``log`` in plain arithmetic, for batched soft max kernels.

Numba's ``np.exp`` and ``np.log`` are calls into the C library, one element at a time
(llvmlite here has no vector math library), so a loop that applies them is never
vectorised. The two functions below use only additions, multiplications, one division
(``log``), rounding and bit moves, so that LLVM turns a loop over an array into SIMD code
(4 doubles per instruction with AVX2):

* :func:`exp_nonpos` for ``x <= 0``: Cody-Waite reduction ``x = k ln 2 + r``,
  ``|r| <= ln(2)/2``, with ``ln 2`` split in a high part of 16 bits (``k ln2_hi`` exact
  for ``|k| <= 2^37``) and a low part (``k`` times its rounding error is below ``2e-19``);
  the Taylor polynomial of ``e^r`` to degree 13
  (truncation below ``r^14/14! < 5e-18``, 0.03 ulp); then ``2^k`` built from its bits in
  two factors ``2^(k/2)`` (each a normal number down to ``k = -1076``), so that results
  below ``2^-1022`` round once into the subnormals as the C library's do. Below
  ``-746`` the result is ``0`` (``e^x < 2^-1076``, under half the smallest subnormal).
  Measured error against ``np.exp`` over ``[-745.2, 0]``: at most 1 ulp
  (``tests/unit/test_elementary_kernels.py``).
* :func:`log_pos` for normal ``t > 0``: ``t = 2^e m`` with ``m`` in ``[sqrt(1/2), sqrt 2)``
  taken from the bits, ``log m = 2 atanh(f)``, ``f = (m - 1)/(m + 1)``, ``|f| <= 0.172``, by
  its odd series to ``f^23`` (first omitted term ``2 f^25/25 < 1e-20``). Measured error at most 2 ulps.

Both are written with ``inline="always"`` helpers for loops compiled with
``fastmath={"contract"}`` (fused multiply-adds, never reassociation, which would undo the
Cody-Waite split) and ``error_model="numpy"`` (no zero-division branch in ``log``).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

from ._config import NO_NRT

LOG2E = 1.4426950408889634
#: ``ln 2`` split: ``LN2_HI`` has 16 significant bits (``k * LN2_HI`` exact for ``|k| < 2^37``)
LN2_HI = 0.693145751953125
LN2_LO = 1.4286068203094173e-06
#: bits of ``sqrt(1/2)``: the mantissa of :func:`log_pos` is brought to ``[sqrt(1/2), sqrt 2)``
SQRT_HALF_BITS = 0x3FE6A09E667F3BCD
#: below this ``e^x`` is under half the smallest subnormal: :func:`exp_nonpos` returns ``0``
EXP_FLOOR = -746.0
_EXP_COEF = tuple(1.0 / float(np.prod(np.arange(1, k + 1))) for k in range(13, -1, -1))
_LOG_COEF = tuple(1.0 / k for k in range(23, 2, -2))


def bits_to_float(b):
    """Return the float64 whose IEEE-754 bits are the int64 ``b`` (a bitcast)."""
    return float(np.int64(b).view(np.float64))


def float_to_bits(x):
    """Return the IEEE-754 bits of the float64 ``x`` as an int64 (a bitcast)."""
    return int(np.float64(x).view(np.int64))


@intrinsic
def _bitcast_i64_f64(typingctx, b):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _bitcast_f64_i64(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@overload(bits_to_float, inline="always")
def _bits_to_float_impl(b):
    return lambda b: _bitcast_i64_f64(b)


@overload(float_to_bits, inline="always")
def _float_to_bits_impl(x):
    return lambda x: _bitcast_f64_i64(x)


@njit(cache=True, inline="always")
def exp_nonpos(x):
    """``e^x`` for ``x <= 0`` (``-inf`` gives ``0``) in vectorisable arithmetic (module docstring)."""
    xc = max(x, EXP_FLOOR)
    k = np.floor(xc * LOG2E + 0.5)
    r = (xc - k * LN2_HI) - k * LN2_LO
    p = 0.0
    for c in _EXP_COEF:  # Horner, unrolled at compile time
        p = p * r + c
    ki = np.int64(k)
    k1 = ki >> 1
    return p * bits_to_float((k1 + 1023) << 52) * bits_to_float((ki - k1 + 1023) << 52)


@njit(cache=True, inline="always")
def log_pos(t):
    """``log t`` for a normal ``t > 0`` (``t >= 2^-1022``) in vectorisable arithmetic."""
    b = float_to_bits(t)
    e = (b - SQRT_HALF_BITS) >> 52
    m = bits_to_float(b - (e << 52))
    f = (m - 1.0) / (m + 1.0)
    z = f * f
    p = 0.0
    for c in _LOG_COEF:
        p = p * z + c
    ef = np.float64(e)
    return ef * LN2_HI + (ef * LN2_LO + (2.0 * f + 2.0 * f * z * p))


@njit(cache=True, fastmath={"contract"}, **NO_NRT)
def exp_nonpos_inplace(x):
    """Replace every ``x[i] <= 0`` by ``e^{x[i]}`` (one SIMD loop)."""
    for i in range(x.shape[0]):
        x[i] = exp_nonpos(x[i])


@njit(cache=True, fastmath={"contract"}, error_model="numpy", **NO_NRT)
def log_pos_inplace(t):
    """Replace every normal ``t[i] > 0`` by ``log t[i]`` (one SIMD loop)."""
    for i in range(t.shape[0]):
        t[i] = log_pos(t[i])
