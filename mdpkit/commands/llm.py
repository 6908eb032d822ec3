"""``mdpkit llm validate | tiny``: check best-of-N and KL predictions on a language model.

``mdpkit llm validate --model PATH|tiny`` enumerates the model's exact law over all
``V**length`` sequences, samples the model (ancestral, best-of-N, worst-of-N, exactly
tilted), and writes ``report.md``, ``report.json`` and figures; the exit code is 0 when
every comparison passes. ``mdpkit llm tiny --out DIR`` trains the tiny model and saves
it, so that ``--model DIR`` exercises the real loading path.

torch and transformers are imported inside :func:`run` (after ``HF_HUB_OFFLINE=1`` is
set), so ``mdpkit --help`` stays fast and works without the ``[llm]`` extra.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``llm`` subcommand and its options to the subparsers ``sub``."""
    p = sub.add_parser("llm", help="LLM bridge: validate best-of-N / KL predictions on a small LM")
    s = p.add_subparsers(dest="llm_command", required=True)
    v = s.add_parser("validate", help="exact sequence law vs sampling the model, with verdicts")
    v.add_argument("--model", default="tiny",
                   help="local Hugging Face model directory, or 'tiny' to train one (default)")
    v.add_argument("--arch", choices=["llama", "gpt2"], default="llama",
                   help="family of the tiny model (default llama)")
    v.add_argument("--steps", type=int, default=400, help="training steps of the tiny model")
    v.add_argument("--alphabet", default=None,
                   help="comma-separated tokens (strings or ids) allowed in sequences; default: "
                        "the saved alphabet, else every non-special token")
    v.add_argument("--prompt", default=None,
                   help="text every sequence continues (after BOS); default: BOS only")
    v.add_argument("--length", type=int, default=5, help="sequence length for exact enumeration")
    v.add_argument("--n", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32],
                   help="best-of-N sizes (default 1 2 4 8 16 32)")
    v.add_argument("--samples", type=int, default=20_000, help="Monte-Carlo draws per estimate")
    v.add_argument("--reward", default="keyword:e",
                   help="keyword:TOKEN | loglik | distinct[:SEED] | values:w1,...,wV")
    v.add_argument("--ties", choices=["random", "first"], default="random")
    v.add_argument("--long-length", type=int, default=16,
                   help="length of the importance-weighted section (0 skips it)")
    v.add_argument("--long-n", type=int, nargs="+", default=[2, 8, 32])
    v.add_argument("--long-samples", type=int, default=1000)
    v.add_argument("--z", type=float, default=3.0, help="standard errors allowed (default 3)")
    v.add_argument("--device", default="auto", help="auto | cpu | cuda[:K]")
    v.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: tiny models are overhead-bound)")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--quick", action="store_true",
                   help="smaller run (150 training steps, 4000 samples, N up to 16)")
    v.add_argument("--out", type=Path, default=Path("llm_report"), help="output folder")
    v.add_argument("--no-figures", action="store_true")
    t = s.add_parser("tiny", help="train the tiny pydoc model and save it to a directory")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--arch", choices=["llama", "gpt2"], default="llama")
    t.add_argument("--steps", type=int, default=400)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto")
    t.add_argument("--threads", type=int, default=1)


def _parse_alphabet(spec: str | None) -> list[int | str] | None:
    if spec is None:
        return None
    return [int(a) if a.strip().isdigit() else a for a in spec.split(",")]


def run(args: argparse.Namespace) -> int:
    """Run ``mdpkit llm`` with the parsed ``args``; return the process exit code."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from mdpkit import llm
        from mdpkit.llm._device import num_threads
    except ImportError as e:  # the install hint is an error message: stderr
        print(f"mdpkit llm: {e}", file=sys.stderr)
        return 2
    with num_threads(args.threads):
        if args.llm_command == "tiny":
            lm = llm.train_tiny_lm(steps=args.steps, arch=args.arch, rng=args.seed,
                                   device=args.device, verbose=True)
            print(f"saved {lm} to {lm.save(args.out)}")
            return 0
        return _validate(llm, args)


def _validate(llm, args: argparse.Namespace) -> int:  # noqa: ANN001
    t0 = time.perf_counter()
    if args.quick:
        args.steps = min(args.steps, 150)
        args.samples = min(args.samples, 4000)
        args.n = [n for n in args.n if n <= 16] or [1, 4]
        args.long_samples = min(args.long_samples, 400)
    try:
        if args.model == "tiny":
            lm = llm.train_tiny_lm(steps=args.steps, arch=args.arch, rng=args.seed,
                                   device=args.device)
            if args.alphabet or args.prompt:
                lm = llm.CausalLM(lm.model, tokenizer=lm.tokenizer, prompt=args.prompt,
                                  alphabet=_parse_alphabet(args.alphabet))
        else:
            lm = llm.load_causal_lm(args.model, device=args.device, prompt=args.prompt,
                                    alphabet=_parse_alphabet(args.alphabet))
        reward = llm.rewards.parse(args.reward)
        print(f"model: {lm}  ({time.perf_counter() - t0:.1f}s)", flush=True)
        report = llm.validate(
            lm, reward, length=args.length, n_values=args.n, n_samples=args.samples,
            ties=args.ties, long_length=args.long_length or None,
            long_n_values=args.long_n, long_samples=args.long_samples, z=args.z,
            rng=args.seed)
    except (FileNotFoundError, NotADirectoryError, ValueError, TypeError) as e:
        print(f"mdpkit llm validate: {e}", file=sys.stderr)
        return 2
    print(report.table)
    figs = [] if args.no_figures else llm.plot_report(report, args.out / "figures")
    paths = report.write(args.out, figs) + figs
    print(f"\nreport: {paths[0]}  ({time.perf_counter() - t0:.1f}s total)")
    return 0 if report.passed else 1
