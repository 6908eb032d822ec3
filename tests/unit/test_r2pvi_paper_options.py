"""R2PVI's reproduction options: the official code's diagonal bonus, minimized chi-square dual
and unclipped pessimistic Q (CLAIMS C7 corrections)."""

import numpy as np
import pytest

import mdpkit as mk
from mdpkit.divergences import ChiSquare, TotalVariation


@pytest.fixture(scope="module")
def setup():
    lin = mk.r2pvi_linear_mdp()
    return lin, lin.collect(n_trajectories=60, rng=1)


def test_diagonal_bonus_formula(setup):
    lin, data = setup
    base = mk.learners.R2PVI(TotalVariation(), 0.1, bonus_scale=0.0, lower_clip=False).fit(data, theta=lin.theta)
    diag = mk.learners.R2PVI(TotalVariation(), 0.1, bonus_scale=1.0, bonus="diagonal", lower_clip=False).fit(
        data, theta=lin.theta)
    h = 2  # last stage: w = theta, so Q differs by the bonus only
    F = lin.phi.reshape(-1, lin.dim)
    Li = np.linalg.inv(diag.Lambda_[h])
    want = base.Q_[h].ravel() - np.sqrt(np.einsum("ki,i,ki->k", F, np.diag(Li), F))
    np.testing.assert_allclose(diag.Q_[h].ravel(), np.minimum(want, 1.0), atol=1e-12)


def test_reference_chi2_dual_is_below_the_exact_sup(setup):
    from mdpkit.learners import _offline_kernels as OK
    from mdpkit.learners._offline import _chi2_reference_dual

    rng = np.random.default_rng(0)
    worse = 0
    for _ in range(20):
        C = rng.dirichlet(np.ones(30), size=4)
        y = rng.uniform(0, 3, 30)
        ex = np.empty(4)
        OK.chi2_sup_coords(C, y, np.argsort(y, kind="stable"), 0.1, 0.0, 3.0, ex)
        ref = _chi2_reference_dual(C, y, 0.1, 3.0)
        assert np.all(ref <= ex + 1e-9)      # a value of the objective <= its supremum
        worse += int(np.any(ref < ex - 1e-3))
    assert worse > 0


def test_lower_clip_false_keeps_negative_estimates(setup):
    lin, data = setup
    clipped = mk.learners.R2PVI(TotalVariation(), 0.1, bonus_scale=1.0).fit(data, theta=lin.theta)
    raw = mk.learners.R2PVI(TotalVariation(), 0.1, bonus_scale=1.0, lower_clip=False).fit(data, theta=lin.theta)
    assert clipped.Q_.min() == 0.0 and raw.Q_.min() < 0.0
    assert "lower_clip=False" in repr(raw)


@pytest.mark.parametrize("kw, match", [({"bonus": "full"}, "`bonus`"), ({"chi2_dual": "min"}, "`chi2_dual`")])
def test_bad_options_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        mk.learners.R2PVI(ChiSquare(), 0.1, **kw)
    with pytest.raises(TypeError, match="`lower_clip`"):
        mk.learners.R2PVI(ChiSquare(), 0.1, lower_clip=1)
