"""Numba sweep of the (s,a)-rectangular robust transition part on CSR transitions.

Row ``i = s * A + a`` holds the nominal law on its support ``indices[k0:k1]``; the
uncertainty set is the set of laws on that support, so each row is the dense dual of
:mod:`mdpkit.divergences._robust_kernels` applied to the gathered values
``V[indices[k0:k1]]`` (its own argsort, ``k log k`` per row). The cost per sweep is
``O(nnz log k)``, like the nominal sparse sweep up to the sort.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..divergences._robust_kernels import ball_row, penalized_row


@njit(cache=True, error_model="numpy")
def robust_csr_sweep(code, ball, indptr, indices, data, V, param, out, q_data, write_q):
    """``out[i]`` = the penalized (``ball=False``) or ball dual of row ``i`` against ``V``.

    With ``write_q`` the minimizing law of row ``i`` is written into ``q_data[k0:k1]``
    (the CSR values of the worst-case kernel).
    """
    for i in range(indptr.shape[0] - 1):
        k0 = indptr[i]
        k1 = indptr[i + 1]
        n = k1 - k0
        v = np.empty(n)
        for k in range(n):
            v[k] = V[indices[k0 + k]]
        p = data[k0:k1]
        order = np.argsort(v, kind="mergesort")
        jmin = order[0]
        q = q_data[k0:k1]
        if ball:
            out[i] = ball_row(code, v, p, param, order, jmin, q, write_q)
        else:
            out[i] = penalized_row(code, v, p, param, order, jmin, q, write_q)
