"""Samplers: unbiasedness against the exact law, reproducibility, the top-k trap,
best-/worst-of-N against mdpkit.bon's exact laws (goodness of fit at p > 1e-3)."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch  # noqa: E402

from mdpkit import bon, llm  # noqa: E402

P_MIN = 1e-3   # many GOF tests run; a correct sampler fails one with probability 1e-3


def test_own_sampler_is_unbiased(tiny, space4):
    toks = llm.sample(tiny, 20_000, 4, rng=11)
    assert llm.goodness_of_fit(space4.index(toks), space4.probs) > P_MIN


def test_generate_path_is_unbiased(tiny, space4):
    toks = llm.generate_samples(tiny, 20_000, 4, rng=12)
    assert llm.goodness_of_fit(space4.index(toks), space4.probs) > P_MIN


def test_goodness_of_fit_detects_a_wrong_law(space4):
    wrong = np.random.default_rng(0).choice(space4.size, 20_000, p=np.full(space4.size,
                                                                          1 / space4.size))
    assert llm.goodness_of_fit(wrong, space4.probs) < 1e-10


def test_sampler_is_reproducible_under_a_seed(tiny):
    a = llm.sample(tiny, 300, 6, rng=7)
    assert torch.equal(a, llm.sample(tiny, 300, 6, rng=7))
    assert not torch.equal(a, llm.sample(tiny, 300, 6, rng=8))
    # batching does not change the stream within a batch size; a Generator is accepted
    g = torch.Generator().manual_seed(7)
    assert torch.equal(a, llm.sample(tiny, 300, 6, rng=g))
    state = torch.random.get_rng_state()
    b = llm.generate_samples(tiny, 300, 6, rng=7)
    assert torch.equal(b, llm.generate_samples(tiny, 300, 6, rng=7))
    assert torch.equal(torch.random.get_rng_state(), state)   # global RNG untouched


def test_sampler_input_errors(tiny):
    with pytest.raises(ValueError, match="`n` must be >= 0"):
        llm.sample(tiny, -1, 3)
    with pytest.raises(ValueError, match="`length` must be >= 1"):
        llm.sample(tiny, 3, 0)
    with pytest.raises(TypeError, match="`rng` must be"):
        llm.sample(tiny, 3, 2, rng="seed")
    with pytest.raises(TypeError, match="`logits_processor` must be callable"):
        llm.sample(tiny, 3, 2, logits_processor=3)


def test_generate_default_top_k_truncates_but_the_bridge_does_not():
    """transformers applies top_k=50 by default even with do_sample=True: with 120
    near-equiprobable tokens a default generate never leaves the top 50."""
    lm = llm.build_tiny_lm("llama", vocab_size=121, hidden_size=8, n_heads=1, rng=0,
                           device="cpu")
    ids = lm._prompt_t.expand(3000, -1).contiguous()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        default = lm.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                    do_sample=True, max_new_tokens=1, min_new_tokens=1,
                                    pad_token_id=0, eos_token_id=None)[:, -1]
    ours = llm.generate_samples(lm, 3000, 1, rng=0)[:, 0]
    own = llm.sample(lm, 3000, 1, rng=0)[:, 0]
    assert default.unique().numel() <= 50
    assert ours.unique().numel() > 100 and own.unique().numel() > 100


@pytest.mark.parametrize("ties", ["random", "first"])
@pytest.mark.parametrize("n", [3, 16])
def test_best_and_worst_of_n_sample_the_exact_bon_laws(tiny, space4, ties, n):
    reward = llm.rewards.keyword("e")
    ref = space4.reference(space4.rewards(reward))
    pool = llm.best_of_n_pool(tiny, reward, n, 4000, 4, rng=21)
    toks, r = pool.select(n, ties=ties, rng=1)
    idx = space4.index(toks)
    np.testing.assert_array_equal(r, ref.rewards[idx])
    assert llm.goodness_of_fit(idx, bon.best_of_n(ref, n, ties=ties).probs) > P_MIN
    toks_w, _ = pool.select(n, worst=True, ties=ties, rng=1)
    assert llm.goodness_of_fit(space4.index(toks_w),
                               bon.worst_of_n(ref, n, ties=ties).probs) > P_MIN


def test_tie_conventions_differ_and_are_told_apart(tiny, space4):
    """Under ties='first' the lexicographically first tied sequence wins, so the
    'random' law fails the GOF test against the 'first' samples."""
    reward = llm.rewards.keyword("e")
    ref = space4.reference(space4.rewards(reward))
    pool = llm.best_of_n_pool(tiny, reward, 16, 3000, 4, rng=22)
    toks, _ = pool.select(16, ties="first")
    assert llm.goodness_of_fit(space4.index(toks), bon.best_of_n(ref, 16).probs) < 1e-6


def test_bon_sample_helpers(tiny):
    toks, r = llm.best_of_n_sample(tiny, llm.rewards.keyword("e"), 4, 500, 6, rng=0)
    assert toks.shape == (500, 6) and r.shape == (500,)
    assert np.array_equal(r, (toks == 1).sum(1).numpy().astype(float))
    _, rw = llm.worst_of_n_sample(tiny, llm.rewards.keyword("e"), 4, 500, 6, rng=0)
    assert rw.mean() < r.mean()
    pool = llm.best_of_n_pool(tiny, llm.rewards.keyword("e"), 4, 10, 3, rng=0)
    with pytest.raises(ValueError, match="`n` must be <= 4"):
        pool.select(5)
    with pytest.raises(ValueError, match="`ties` must be one of"):
        pool.select(2, ties="last")


def test_tilted_sampling_through_own_sampler_and_generate(tiny, space4):
    r = space4.rewards(llm.rewards.keyword("e"))
    beta = 0.5
    law = bon.tilted(space4.reference(r), beta=beta)
    proc = space4.tilt_processor(r, beta)
    for toks in (llm.sample(tiny, 20_000, 4, rng=31, logits_processor=proc),
                 llm.generate_samples(tiny, 20_000, 4, rng=32, logits_processor=proc)):
        assert llm.goodness_of_fit(space4.index(toks), law.probs) > P_MIN
    with pytest.raises(ValueError, match="built for length 4"):
        llm.sample(tiny, 5, 5, logits_processor=proc)


@pytest.mark.gpu
def test_gpu_sampler_matches_the_exact_law_at_large_enumeration():
    """On a GPU: a 16-token alphabet, L=5 (about 1M sequences) and 2M samples."""
    lm = llm.build_tiny_lm("llama", vocab_size=17, hidden_size=64, n_heads=4, rng=0,
                           device="cuda")
    space = llm.SequenceSpace(lm, 5)
    toks = llm.sample(lm, 2_000_000, 5, rng=0)
    assert toks.device.type == "cuda"
    assert llm.goodness_of_fit(space.index(toks), space.probs, n_bins=100) > P_MIN
    assert abs(np.exp(space.logp).sum() - 1) < 1e-9
