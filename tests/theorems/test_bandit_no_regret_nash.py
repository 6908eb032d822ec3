"""Slivkins (2019), Ch. 9; Freund and Schapire (1999): no-regret play approximates Nash.

Statement: if the row and column players of a zero-sum game have regrets R1 and R2 after
T rounds, the average play (xbar, ybar) is an (R1 + R2)/T-approximate Nash equilibrium:
max_i (A ybar)_i - min_j (xbar^T A)_j <= (R1 + R2)/T, and the game value lies in
[min_j (xbar^T A)_j, max_i (A ybar)_i]. Hedge's regret is at most b sqrt((T/2) ln m) and
regret matching's at most b sqrt(m T) against any opponent (b = payoff range).
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linprog

import mdpkit.bandits as B


def game_value(A):
    m, n = A.shape
    res = linprog(np.r_[np.zeros(m), -1.0], A_ub=np.hstack([-A.T, np.ones((n, 1))]), b_ub=np.zeros(n),
                  A_eq=np.r_[np.ones(m), 0.0][None], b_eq=[1.0],
                  bounds=[(0, None)] * m + [(None, None)], method="highs")
    return -res.fun


games = st.tuples(st.integers(2, 5), st.integers(2, 5)).flatmap(
    lambda s: arrays(np.float64, s, elements=st.floats(-3, 3, allow_nan=False)))


@settings(deadline=None)
@given(A=games, players=st.sampled_from(["hedge", "rm", "mixed"]),
       feedback=st.sampled_from(["expected", "sampled"]), T=st.integers(1, 400))
def test_average_play_is_approximate_nash(A, players, feedback, T):
    row = B.RegretMatching() if players == "rm" else B.Hedge()
    col = B.Hedge() if players == "hedge" else B.RegretMatching()
    game = B.MatrixGame(A)
    out = B.self_play(game, row, col, horizon=T, rng=0, feedback=feedback)
    xb, yb = out.x_bar[0], out.y_bar[0]
    hi, lo = (A @ yb).max(), (xb @ A).min()
    eps = (out.regret_row[0, -1] + out.regret_col[0, -1]) / T
    scale = 1e-9 * max(1.0, np.abs(A).max())
    assert hi - lo <= eps + scale
    v = game_value(A)
    assert lo - 1e-7 <= v <= hi + 1e-7
    if feedback == "expected":
        m, n = A.shape
        b = game.payoff_range
        bound_row = b * (np.sqrt(T / 2 * np.log(m)) if players != "rm" else np.sqrt(m * T))
        bound_col = b * (np.sqrt(T / 2 * np.log(n)) if players == "hedge" else np.sqrt(n * T))
        assert out.regret_row[0, -1] <= bound_row + scale * T
        assert out.regret_col[0, -1] <= bound_col + scale * T
