"""The entropy-covariance identity on a trained tiny LM (mdpkit.llm.lm_entropy_step)."""

import math

import numpy as np
import pytest

from mdpkit import llm


def _weighted(st, which):
    return sum((d * np.abs(x)).sum() for d, x in zip(st.prefix_prob, getattr(st, which), strict=True))


@pytest.mark.parametrize("natural", [False, True])
def test_logits_step_residual_is_second_order(tiny, natural):
    r = llm.rewards.keyword("e")
    res = [llm.lm_entropy_step(tiny, r, 3, eta, parametrization="logits", natural=natural).residual() / eta**2
           for eta in (1e-2, 1e-3)]
    # residual/eta^2 = c2 + O(eta): the decade changes it by well under 5 % (CLAIMS C11)
    assert abs(res[0] / res[1] - 1) < 0.05


def test_weights_step_slope_two_and_reward_up(tiny):
    r = llm.rewards.keyword("e")
    steps = [llm.lm_entropy_step(tiny, r, 3, eta) for eta in (2e-3, 5e-4)]
    slope = math.log(steps[0].residual() / steps[1].residual()) / math.log(4.0)
    assert abs(slope - 2.0) < 0.1
    assert steps[1].reward_after > steps[1].reward_before
    # the first-order term carries almost all of the entropy change at small eta
    assert steps[1].residual() < 0.05 * _weighted(steps[1], "dH")


def test_bad_input(tiny):
    with pytest.raises(ValueError, match="`eta`"):
        llm.lm_entropy_step(tiny, llm.rewards.keyword("e"), 2, 0.0)
    with pytest.raises(ValueError, match="natural"):
        llm.lm_entropy_step(tiny, llm.rewards.keyword("e"), 2, 0.1, natural=True)
    with pytest.raises(ValueError, match="`reward`"):
        llm.lm_entropy_step(tiny, np.zeros(3), 2, 0.1)


@pytest.mark.gpu
def test_weights_step_on_gpu():
    lm = llm.train_tiny_lm(steps=80, rng=0, device="cuda")
    st = [llm.lm_entropy_step(lm, llm.rewards.keyword("e"), 4, eta) for eta in (2e-3, 5e-4)]
    slope = math.log(st[0].residual() / st[1].residual()) / math.log(4.0)
    assert st[0].device.startswith("cuda")
    assert abs(slope - 2.0) < 0.1
