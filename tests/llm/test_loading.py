"""Loading, building and saving models: local directories only, clear errors."""

import json
import time

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch  # noqa: E402

from mdpkit import llm  # noqa: E402


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_save_load_round_trip_gives_identical_logits(tmp_path, family):
    lm = llm.build_tiny_lm(family, vocab_size=9, rng=3, device="cpu",
                           tokenizer=llm.coarse8_tokenizer())
    path = lm.save(tmp_path / family)
    assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()
    back = llm.load_causal_lm(path, device="cpu")
    x = torch.randint(0, 8, (16, 5), generator=torch.Generator().manual_seed(0))
    assert torch.equal(lm.alphabet_logits(x), back.alphabet_logits(x))
    assert back.prompt == lm.prompt and back.alphabet == lm.alphabet
    assert type(back.model) is type(lm.model)


def test_tokenizer_round_trips_through_auto_tokenizer(tmp_path):
    from transformers import AutoTokenizer

    tok = llm.coarse8_tokenizer()
    tok.save_pretrained(tmp_path)
    back = AutoTokenizer.from_pretrained(tmp_path, local_files_only=True)
    text = "Hello, World!\n  def f(x): return 42"
    assert back(text)["input_ids"] == tok(text)["input_ids"]
    assert back.bos_token == "<bos>" and back.all_special_ids == [8]


def test_saved_metadata_restores_prompt_and_alphabet(tmp_path):
    lm = llm.build_tiny_lm("llama", rng=0, vocab_size=9, device="cpu", prompt=[8, 0],
                           alphabet=[0, 1, 2, 3])
    path = lm.save(tmp_path)
    meta = json.loads((path / "mdpkit_llm.json").read_text())
    assert meta == {"prompt": [8, 0], "alphabet": [0, 1, 2, 3]}
    back = llm.load_causal_lm(path, device="cpu")
    assert back.prompt == (8, 0) and back.vocab_size == 4
    over = llm.load_causal_lm(path, device="cpu", alphabet=[4, 5])
    assert over.alphabet == (4, 5)


def test_plain_save_pretrained_directory_loads(tmp_path):
    lm = llm.build_tiny_lm("gpt2", rng=0, vocab_size=7, device="cpu")
    lm.model.save_pretrained(tmp_path)
    back = llm.load_causal_lm(tmp_path, device="cpu")
    assert back.prompt == (6,) and back.alphabet == tuple(range(6))
    assert back.tokenizer is None


def test_missing_directory_is_a_fast_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        llm.load_causal_lm(tmp_path / "nope")


def test_hub_id_is_not_looked_up(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    t0 = time.perf_counter()
    with pytest.raises(FileNotFoundError, match="never downloads"):
        llm.load_causal_lm("sshleifer/tiny-gpt2")
    assert time.perf_counter() - t0 < 1.0


def test_file_instead_of_directory(tmp_path):
    f = tmp_path / "model.bin"
    f.write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="is a file"):
        llm.load_causal_lm(f)


def test_directory_without_config_is_not_a_model(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="no config.json"):
        llm.load_causal_lm(tmp_path)


def test_config_without_weights_is_a_clear_error(tmp_path):
    llm.tiny_config("llama").save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="could not be loaded as a causal LM"):
        llm.load_causal_lm(tmp_path, device="cpu")


def test_non_causal_model_type_is_rejected(tmp_path):
    from transformers import BertConfig

    BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
               intermediate_size=8).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="could not be loaded as a causal LM"):
        llm.load_causal_lm(tmp_path, device="cpu")


def test_build_rejects_unknown_family_and_config_type():
    with pytest.raises(ValueError, match="`family` must be one of"):
        llm.build_tiny_lm("mamba")
    with pytest.raises(TypeError, match="`config` must be"):
        llm.build_tiny_lm(42)


def test_build_is_seeded_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a = llm.build_tiny_lm("llama", rng=5, device="cpu")
    b = llm.build_tiny_lm("llama", rng=5, device="cpu")
    assert torch.equal(torch.random.get_rng_state(), state)
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_device_and_dtype_errors(tmp_path):
    with pytest.raises(ValueError, match="`device` must be"):
        llm.pick_device("tpu:0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            llm.pick_device("cuda")
    assert llm.pick_device("auto").type in ("cpu", "cuda")
    lm = llm.build_tiny_lm("llama", rng=0, device="cpu")
    lm.save(tmp_path)
    with pytest.raises(ValueError, match="`dtype` must be one of"):
        llm.load_causal_lm(tmp_path, dtype="int8")
    half = llm.load_causal_lm(tmp_path, device="cpu", dtype="bfloat16")
    assert next(half.model.parameters()).dtype == torch.bfloat16


def test_alphabet_and_prompt_errors():
    lm = llm.build_tiny_lm("llama", rng=0, vocab_size=9, device="cpu", tokenizer=llm.coarse8_tokenizer())
    with pytest.raises(ValueError, match="at least 2 tokens"):
        llm.CausalLM(lm.model, alphabet=[1])
    with pytest.raises(ValueError, match="must not repeat"):
        llm.CausalLM(lm.model, alphabet=[1, 1])
    with pytest.raises(ValueError, match="must be <= 8"):
        llm.CausalLM(lm.model, alphabet=[1, 99])
    with pytest.raises(ValueError, match="not a single token"):
        llm.CausalLM(lm.model, tokenizer=lm.tokenizer, alphabet=["e", "xyz"])
    assert llm.CausalLM(lm.model, tokenizer=lm.tokenizer, alphabet=["e", " "]).alphabet == (1, 0)
    with pytest.raises(TypeError, match="PreTrainedModel"):
        llm.CausalLM("model")
    cfg = llm.tiny_config("gpt2")
    cfg.bos_token_id = None
    from transformers import AutoModelForCausalLM

    with pytest.raises(ValueError, match="`prompt` is required"):
        llm.CausalLM(AutoModelForCausalLM.from_config(cfg))


def test_logprob_rejects_tokens_outside_the_alphabet():
    lm = llm.build_tiny_lm("llama", rng=0, vocab_size=9, device="cpu")
    with pytest.raises(ValueError, match="only alphabet token ids"):
        lm.logprob([[0, 8]])
    with pytest.raises(ValueError, match=r"shape \(B, L\)"):
        lm.logprob([0, 1])
    with pytest.raises(TypeError, match="integer token ids"):
        lm.logprob(np.zeros((2, 2)))


def test_string_prompt_follows_bos():
    lm = llm.build_tiny_lm("llama", rng=0, vocab_size=9, device="cpu", tokenizer=llm.coarse8_tokenizer(),
                           prompt=None)
    conditioned = llm.CausalLM(lm.model, tokenizer=lm.tokenizer, prompt="def ")
    assert conditioned.prompt == (8, 5, 1, 6, 0)
    with pytest.raises(ValueError, match="needs a tokenizer"):
        llm.CausalLM(lm.model, prompt="def ")
    p = np.exp(conditioned.logprob(torch.arange(8)[:, None]))
    assert abs(p.sum() - 1) < 1e-12
