"""DPO on the tiny LM: pairs sampled from the model, compared with the exact tilted law."""

import numpy as np
import pytest

from mdpkit import llm
from mdpkit.llm import rewards


def test_dpo_moves_the_model_toward_the_tilted_law(tiny):
    run = llm.dpo_finetune(tiny, rewards.keyword("e"), 0.5, length=3, n_pairs=2048, n_steps=60,
                           batch_size=128, eta=3e-3, rng=0)
    # the exact laws are normalized
    for lp in (run.logp, run.logp_ref, run.logp_star):
        assert abs(np.exp(lp).sum() - 1) < 1e-9
    # empirical: 60 Adam steps on 2048 pairs close most of the gap to the exact optimum
    assert run.kl_star < 0.5 * run.kl_star_ref
    assert run.implied_reward_corr > 0.8
    # the reference model is left unchanged
    assert np.allclose(llm.SequenceSpace(tiny, 3).logp, run.logp_ref, atol=1e-12)


def test_dpo_bad_input(tiny):
    with pytest.raises(ValueError, match="beta"):
        llm.dpo_finetune(tiny, rewards.keyword("e"), 0.0, length=2)
    with pytest.raises(TypeError, match="CausalLM"):
        llm.dpo_finetune(object(), rewards.keyword("e"), 1.0, length=2)


@pytest.mark.gpu
def test_dpo_longer_run_on_gpu():
    lm = llm.train_tiny_lm(steps=400, rng=0, device="cuda")
    run = llm.dpo_finetune(lm, rewards.keyword("e"), 0.5, length=4, n_pairs=32768, n_steps=600,
                           batch_size=2048, eta=1e-3, rng=0)
    assert run.kl_star < 0.1 * run.kl_star_ref
    assert run.implied_reward_corr > 0.95
