"""LLM bridge throughput: sequences sampled and scored per second, on GPU or CPU.

Measured in this process, on the device ``"auto"`` picks (CUDA when present):

* sampling length-16 sequences with the bridge's KV-cached ancestral sampler, against
  Hugging Face ``generate(do_sample=True, top_k=0, ...)`` as the baseline (ratio);
* scoring (exact float64 log-probabilities by one teacher-forced pass) of the same
  sequences;
* exact enumeration of all 8**5 sequences: the prefix trick against scoring every
  sequence naively (ratio);
* a best-of-N pool (N=32) of length-5 sequences with a keyword reward.

Models: the default tiny Llama (about 21k parameters) and a Llama of about 1M parameters
(the issue's GPU target: >= 1e5 sampled length-16 sequences/s). Batch sizes come from
``mdpkit.llm._device.default_batch_size`` (fills the device). On a 2-core CPU the whole
script takes under 60 s even on a loaded machine (``--quick``: about 15 s). Results go to
``benchmarks/results/llm.json``.

Run: ``python benchmarks/bench_llm.py [--quick] [--threads K]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mdpkit import llm  # noqa: E402


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def timed(fn, dev, repeat=2, warmup=None):
    """Best wall time of ``repeat`` calls after one (smaller) warm-up call."""
    (warmup or fn)()
    _sync(dev)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        _sync(dev)
        best = min(best, time.perf_counter() - t0)
    return best


def bench_model(name, lm, n, length, dev, repeat):
    bs = lm.batch_size(length)
    w = min(n, 256)
    t_own = timed(lambda: llm.sample(lm, n, length, rng=0), dev, repeat,
                  lambda: llm.sample(lm, w, length, rng=0))
    t_gen = timed(lambda: llm.generate_samples(lm, n, length, rng=0), dev, repeat,
                  lambda: llm.generate_samples(lm, w, length, rng=0))
    toks = llm.sample(lm, n, length, rng=0)
    t_score = timed(lambda: lm.logprob(toks), dev, repeat, lambda: lm.logprob(toks[:w]))
    row = {"model": name, "params": lm.n_params, "length": length, "n": n, "batch_size": bs,
           "sample_seq_per_s": n / t_own, "generate_seq_per_s": n / t_gen,
           "score_seq_per_s": n / t_score, "sample_vs_generate": t_gen / t_own}
    print(f"{name:>10} ({lm.n_params:>8,} params)  L={length}  batch {bs:>6}: "
          f"sample {row['sample_seq_per_s']:>10,.0f}/s   generate {row['generate_seq_per_s']:>10,.0f}/s"
          f"  (x{row['sample_vs_generate']:.2f})   score {row['score_seq_per_s']:>10,.0f}/s",
          flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = llm.pick_device(args.device)
    gpu = dev.type == "cuda"
    if gpu:
        torch.backends.cuda.matmul.allow_tf32 = False
    print(f"device {dev}  ({torch.cuda.get_device_name(dev) if gpu else platform.processor() or 'cpu'}"
          f", torch {torch.__version__}, {torch.get_num_threads()} CPU threads)")
    repeat = 3 if gpu else 1
    results = {"device": str(dev), "torch": torch.__version__, "threads": torch.get_num_threads(),
               "quick": args.quick, "rows": []}

    tiny = llm.build_tiny_lm("llama", vocab_size=9, rng=0, device=dev)
    big = llm.build_tiny_lm("llama", vocab_size=17, hidden_size=160, n_layers=4, n_heads=4,
                            rng=0, device=dev)
    if gpu:
        n_tiny, n_big = 1 << 20, 1 << 19
    else:
        n_tiny, n_big = (4096, 256) if args.quick else (16384, 1024)
    results["rows"].append(bench_model("tiny", tiny, n_tiny, 16, dev, repeat))
    results["rows"].append(bench_model("1M", big, n_big, 16, dev, repeat))

    # exact enumeration: prefix trick vs naive scoring of all V^L sequences
    L = 5
    t_prefix = timed(lambda: llm.SequenceSpace(tiny, L), dev, repeat)
    space = llm.SequenceSpace(tiny, L)
    all_toks = space.tokens
    t_naive = timed(lambda: tiny.logprob(all_toks), dev, repeat, lambda: tiny.logprob(all_toks[:256]))
    err = float(np.abs(tiny.logprob(all_toks) - space.logp).max())
    results["enumeration"] = {"n_sequences": space.size, "prefix_s": t_prefix, "naive_s": t_naive,
                              "speedup": t_naive / t_prefix, "max_abs_diff": err}
    print(f"enumerate 8^{L} = {space.size:,}: prefix trick {t_prefix * 1e3:.1f} ms, naive "
          f"{t_naive * 1e3:.1f} ms (x{t_naive / t_prefix:.1f}); max |diff| {err:.1e}")

    # best-of-N pool
    n_rows = 2000 if args.quick or not gpu else 100_000
    t_pool = timed(lambda: llm.best_of_n_pool(tiny, llm.rewards.keyword(1), 32, n_rows, L,
                                              rng=0), dev, 1, lambda: None)
    results["bon_pool"] = {"n": 32, "rows": n_rows, "seconds": t_pool,
                           "seq_per_s": 32 * n_rows / t_pool}
    print(f"best-of-32 pool, {n_rows:,} rows of length {L}: {t_pool:.2f} s "
          f"({32 * n_rows / t_pool:,.0f} sequences/s incl. rewards)")
    big_row = results["rows"][1]
    if gpu:
        ok = big_row["sample_seq_per_s"] >= 1e5
        print(f"GPU target (>= 1e5 sampled length-16 sequences/s at ~1M params): "
              f"{'met' if ok else 'NOT met'} ({big_row['sample_seq_per_s']:,.0f}/s)")
    out = Path(__file__).resolve().parent / "results" / "llm.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
