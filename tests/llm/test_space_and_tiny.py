"""Training the tiny model, and the exact sequence space (prefix trick, soft-Q tilt)."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch  # noqa: E402

from mdpkit import bon, llm  # noqa: E402
from mdpkit.llm._tiny import coarse8_ids  # noqa: E402


def test_fast_corpus_map_equals_the_tokenizer():
    text = llm.pydoc_corpus()[:30_000] + "Ünïcödé\t\u2028 ✓"
    ids = llm.coarse8_tokenizer()(text)["input_ids"]
    assert coarse8_ids(text).tolist() == ids


def test_trained_model_beats_the_unigram_entropy(tiny):
    info = tiny.train_info
    assert info["corpus_chars"] > 400_000
    # a context-free model cannot go below the unigram entropy; the LM must
    assert info["loss"] < info["unigram_entropy"] - 0.1
    assert tiny.symbols == list(llm.COARSE8)


def test_training_is_seeded():
    a = llm.train_tiny_lm(steps=3, rng=1, device="cpu", hidden_size=8, n_heads=1)
    b = llm.train_tiny_lm(steps=3, rng=1, device="cpu", hidden_size=8, n_heads=1)
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_gpt2_family_trains_too():
    lm = llm.train_tiny_lm(steps=3, arch="gpt2", hidden_size=8, n_heads=1, rng=0, device="cpu")
    assert type(lm.model).__name__ == "GPT2LMHeadModel" and lm.vocab_size == 8


def test_training_rejects_unknown_corpus_and_vocab():
    with pytest.raises(ValueError, match="`corpus` must be one of"):
        llm.train_tiny_lm(corpus="wikipedia")
    with pytest.raises(ValueError, match="`vocab` must be one of"):
        llm.train_tiny_lm(vocab="bpe")
    with pytest.raises(ValueError, match="`steps` must be >= 1"):
        llm.train_tiny_lm(steps=0)


def test_enumeration_is_a_probability_law_and_matches_naive_scoring(tiny, space4):
    assert space4.size == 8**4
    assert abs(np.exp(space4.logp).sum() - 1) < 1e-12
    # naive teacher-forced scoring of whole sequences, same prefix lengths
    sub = space4.tokens[::13]
    assert np.abs(tiny.logprob(sub) - space4.logp[::13]).max() < 1e-5   # float32 network
    full = llm.SequenceSpace(tiny, 4, batch_size=37)          # other batching, same law
    np.testing.assert_allclose(full.logp, space4.logp, atol=1e-5, rtol=0)


def test_node_log_probs_are_the_conditionals(space4):
    V = 8
    for t in range(4):
        assert space4.node_logp[t].shape == (V**t, V)
        np.testing.assert_allclose(np.exp(space4.node_logp[t]).sum(1), 1.0, atol=1e-12)


def test_index_round_trips(space4):
    idx = np.array([0, 1, 8, 4095, 1234])
    assert space4.index(space4.tokens[idx]).tolist() == idx.tolist()
    with pytest.raises(ValueError, match="must have length 4"):
        space4.index(space4.tokens[:2, :3])


def test_too_large_enumeration_gives_the_size(tiny):
    with pytest.raises(ValueError, match=r"8\*\*10 = 1,073,741,824 sequences"):
        llm.SequenceSpace(tiny, 10)
    with pytest.raises(ValueError, match="max_size = 100"):
        llm.SequenceSpace(tiny, 3, max_size=100)


def test_reference_is_a_bon_discrete(space4):
    r = space4.rewards(llm.rewards.keyword("e"))
    ref = space4.reference(r)
    assert isinstance(ref, bon.Discrete) and ref.n_atoms == 8**4
    assert ref.n_levels == 5   # 0..4 occurrences of "e"


@pytest.mark.parametrize("beta", [1e-3, 0.3, 5.0, 1e4])
def test_token_identity_against_the_sequence_tilt(space4, beta):
    """beta log pi*(a|y<t)/pi_ref(a|y<t) = Q*(y<t, a) - V*(y<t), with pi* the
    conditionals of the sequence-level tilt p e^{r/beta}/Z (mdpkit.bon.tilted)."""
    from mdpkit.llm._validate import _token_identity_error

    r = space4.rewards(llm.rewards.keyword("e"))
    sq = space4.soft_q(r, beta)
    err = _token_identity_error(space4, bon.tilted(space4.reference(r), beta=beta), sq)
    assert err <= 1e-9 * max(1.0, np.abs(r).max())
    # V*_0 = beta log E_ref exp(r / beta)
    assert sq.v[0][0] == pytest.approx(beta * bon.log_partition(space4.reference(r), beta),
                                       rel=1e-9, abs=1e-12)


def test_tilt_processor_implies_the_tilted_law(tiny, space4):
    """Apply the processor to the model's logits at every prefix: the implied sequence
    law equals the exact tilt (float32 logits: 1e-5)."""
    r = space4.rewards(llm.rewards.keyword("e"))
    beta = 0.4
    proc = space4.tilt_processor(r, beta)
    target = bon.tilted(space4.reference(r), beta=beta).log_probs
    V, L = 8, 4
    logp = np.zeros(1)
    pos = space4.positions
    for t in range(L):
        prefixes = torch.from_numpy(pos[:: V ** (L - t), :t]).long()
        toks = tiny.token_ids(prefixes)
        ids = torch.cat([tiny._prompt_t.expand(V**t, -1), toks], 1)
        with torch.inference_mode():
            logits = tiny.model(input_ids=ids).logits[:, -1, :]
        scores = proc(ids, logits)
        lp = torch.log_softmax(scores.double(), -1)[:, list(tiny.alphabet)].numpy()
        logp = (logp[:, None] + lp).reshape(-1)
    np.testing.assert_allclose(logp, target, atol=1e-5)


def test_soft_q_input_errors(space4):
    with pytest.raises(ValueError, match="`beta` must be > 0"):
        space4.soft_q(np.zeros(space4.size), 0.0)
    with pytest.raises(ValueError, match="`rewards` must be finite"):
        space4.soft_q(np.zeros(3), 1.0)
