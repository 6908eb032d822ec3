"""Rewards: built-ins, text adapter, and clear errors for NaN or wrongly shaped output."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch  # noqa: E402

from mdpkit import llm  # noqa: E402
from mdpkit.llm.rewards import evaluate_reward  # noqa: E402


@pytest.fixture(scope="module")
def lm():
    return llm.build_tiny_lm("llama", rng=0, vocab_size=9, device="cpu",
                             tokenizer=llm.coarse8_tokenizer())


TOKS = torch.tensor([[1, 1, 0, 2], [3, 4, 5, 6], [1, 7, 1, 1]])


def test_keyword_counts_a_token(lm):
    assert evaluate_reward(llm.rewards.keyword("e"), lm, TOKS).tolist() == [2.0, 0.0, 3.0]
    assert evaluate_reward(llm.rewards.keyword(7), lm, TOKS).tolist() == [0.0, 0.0, 1.0]


def test_token_values_is_additive(lm):
    w = np.arange(8.0)
    got = evaluate_reward(llm.rewards.token_values(w), lm, TOKS)
    assert got.tolist() == [4.0, 18.0, 10.0]


def test_loglik_is_the_model_log_probability(lm):
    np.testing.assert_allclose(evaluate_reward(llm.rewards.loglik(), lm, TOKS),
                               lm.logprob(TOKS))


def test_distinct_is_deterministic_and_distinct(lm):
    space = llm.SequenceSpace(lm, 4)
    r = space.rewards(llm.rewards.distinct(0))
    assert np.unique(r).size == space.size and r.min() >= 0 and r.max() < 1
    np.testing.assert_array_equal(r, space.rewards(llm.rewards.distinct(0)))


def test_text_reward_decodes(lm):
    fn = llm.rewards.text(lambda texts: [t.count("e") for t in texts])
    assert evaluate_reward(fn, lm, TOKS).tolist() == [2.0, 0.0, 3.0]


def test_plain_callable_is_accepted(lm):
    assert evaluate_reward(lambda t: t.sum(1), lm, TOKS).tolist() == [4.0, 18.0, 10.0]


def test_nan_reward_is_a_clear_error(lm):
    def bad(t):
        out = t.sum(1).double()
        out[1] = float("nan")
        return out

    with pytest.raises(ValueError, match=r"returned nan for sequence \[3, 4, 5, 6\]"):
        evaluate_reward(bad, lm, TOKS)


def test_wrong_shape_is_a_clear_error(lm):
    with pytest.raises(ValueError, match=r"shape \(3,\).*got shape \(3, 1\)"):
        evaluate_reward(lambda t: t.sum(1, keepdim=True), lm, TOKS)
    with pytest.raises(ValueError, match=r"got shape \(\)"):
        evaluate_reward(lambda t: 1.0, lm, TOKS)
    with pytest.raises(ValueError, match="must return numbers"):
        evaluate_reward(lambda t: ["a"] * len(t), lm, TOKS)


def test_reward_errors_reach_the_public_api(lm):
    with pytest.raises(ValueError, match="returned inf"):
        llm.validate(lm, lambda t: (t.sum(1) + 1) / 0.0, length=2, n_values=[1], n_samples=10)
    with pytest.raises(TypeError, match="`reward` must be callable"):
        llm.validate(lm, "keyword:e", length=2)


def test_bad_reward_specs(lm):
    with pytest.raises(ValueError, match="not in the model's alphabet"):
        llm.rewards.keyword("<bos>").bind(lm)
    with pytest.raises(ValueError, match="one entry per alphabet token"):
        llm.rewards.token_values([1.0, 2.0]).bind(lm)
    with pytest.raises(ValueError, match="finite 1-d"):
        llm.rewards.token_values([np.nan])
    with pytest.raises(ValueError, match="`reward` spec must be"):
        llm.rewards.parse("bleu")
    assert llm.rewards.parse("values:1,2").name.startswith("token_values")
    with pytest.raises(TypeError, match="`fn` must be callable"):
        llm.rewards.text(3)
