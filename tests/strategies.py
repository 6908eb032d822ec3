"""Hypothesis strategies: small random MDPs, policies, value vectors and divergences."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import mdpkit as mk
from mdpkit.divergences import (
    KL,
    Alpha,
    ChiSquare,
    ForwardKL,
    Hellinger,
    JensenShannon,
    TotalVariation,
)


@st.composite
def simplex_rows(draw, shape, floor=1e-12):
    """Rows on the simplex from drawn logits (peaked or flat), with a probability floor."""
    scale = draw(st.floats(0.1, 5.0))
    seed = draw(st.integers(0, 2**31 - 1))
    z = np.random.default_rng(seed).normal(size=shape) * scale
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    p = p / p.sum(axis=-1, keepdims=True) + floor
    return p / p.sum(axis=-1, keepdims=True)


@st.composite
def tabular_mdps(draw, max_states=6, max_actions=4, gamma=None, horizon=None):
    """Discounted (or finite-horizon) MDPs with row-stochastic P from drawn logits."""
    S = draw(st.integers(1, max_states))
    A = draw(st.integers(1, max_actions))
    if horizon is None and gamma is None:
        gamma = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99]))
    P = draw(simplex_rows((S, A, S)))
    seed = draw(st.integers(0, 2**31 - 1))
    r = np.random.default_rng(seed).uniform(-1, 1, size=(S, A))
    if horizon is not None:
        return mk.TabularMDP(P, r, horizon=horizon)
    return mk.TabularMDP(P, r, gamma=gamma)


def policies(n_states, n_actions):
    return simplex_rows((n_states, n_actions), floor=1e-6)


@st.composite
def value_pairs(draw, n_states):
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.sampled_from([1e-3, 1.0, 100.0]))
    g = np.random.default_rng(seed)
    return g.normal(size=n_states) * scale, g.normal(size=n_states) * scale


def divergences():
    return st.sampled_from(
        [KL(), ForwardKL(), ChiSquare(), TotalVariation(), Hellinger(), Alpha(0.5), Alpha(2.0),
         Alpha(-1.0), JensenShannon()]
    )


def sup_norm(x):
    return float(np.max(np.abs(x)))
