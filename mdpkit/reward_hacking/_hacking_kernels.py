"""Numba kernel for the gold-reward curve of the proxy-tilted policy.

Takes plain float64 arrays and writes into ``out``; no validation.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..bon._bon_kernels import tilt_log_max


@njit(cache=True)
def tilt_moments(log_p, r, g, lams, centres, out):
    """For each lam_j: out[j] = (log Z, KL(phi||p), E_phi r, E_phi g), phi = p e^{lam (r - c)}/Z.

    The tilted law of mdpkit.bon (Korbak et al. 2022) at many inverse temperatures in
    one kernel, with the gold moment added; KL = lam (E_phi r - c) - log Z, centring
    ``centres[j]`` chosen by the caller as in ``mdpkit.bon._tilt._centre``.
    """
    for j in range(lams.shape[0]):
        lam = lams[j]
        c = centres[j]
        m = tilt_log_max(log_p, r, lam, c)
        s = 0.0
        s1 = 0.0
        sg = 0.0
        for i in range(log_p.shape[0]):
            if log_p[i] > -np.inf:
                w = np.exp(log_p[i] + lam * (r[i] - c) - m)
                s += w
                s1 += w * (r[i] - c)
                sg += w * g[i]
        log_z = m + np.log(s)
        out[j, 0] = log_z
        out[j, 1] = lam * s1 / s - log_z
        out[j, 2] = s1 / s + c
        out[j, 3] = sg / s


@njit(cache=True)
def law_moments(log_q, log_p, g, r, out):
    """Write ``out = (KL(q||p), E_q g, E_q r)`` for a law given by its log-masses.

    Terms with q < 1e-300 are skipped: each contributes below 1e-297 to any moment
    of order-1 rewards, and skipping avoids subnormal arithmetic.
    """
    kl = 0.0
    sg = 0.0
    sr = 0.0
    for i in range(log_q.shape[0]):
        lq = log_q[i]
        if lq > -690.0:
            q = np.exp(lq)
            kl += q * (lq - log_p[i])
            sg += q * g[i]
            sr += q * r[i]
    out[0] = kl
    out[1] = sg
    out[2] = sr
