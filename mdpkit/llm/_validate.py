r"""Validation: exact predictions of :mod:`mdpkit.bon` versus sampling a real LM.

For a :class:`CausalLM`, :func:`validate` enumerates the model's law over all
:math:`V^L` sequences (:class:`SequenceSpace`), turns it into a
:class:`mdpkit.bon.Discrete` reference, and compares every exact prediction with a
Monte-Carlo estimate obtained by *actually sampling the model* (ancestral, best-of-N,
worst-of-N and exactly tilted sampling):

* best-of-N: :math:`\mathrm{KL}(\pi_N\|\pi_{\mathrm{ref}})` exact vs MC, and exact
  :math:`\le \log N - (N-1)/N`; win rate exact vs MC and :math:`\le N/(N+1)`;
  expected reward exact vs MC (Beirami et al., 2024, Theorem 1 and Lemma 1);
* worst-of-N expected reward;
* the tilted law :math:`\pi_\beta \propto \pi_{\mathrm{ref}} e^{r/\beta}` sampled
  token by token through the exact soft-Q processor: its KL and reward, exact vs MC;
  the token-level identity :math:`\beta\log\pi^*/\pi_{\mathrm{ref}} = Q^* - V^*`
  (sequence-level tilt marginalised vs the soft Bellman recursion); and at equal KL
  the tilted reward is at least best-of-N's (Yang et al., 2024, Eq. 2);
* longer sequences, where enumeration is impossible: importance-weighted estimates
  from the model's own samples against the bound.

Verdict of a Monte-Carlo row (LLM_BRIDGE.md section 5):
:math:`|\hat\mu - \mu| \le z\,\widehat{\mathrm{se}} + 3\,\mathrm{range}(f)/M`, where the
rule-of-three term covers estimators whose sample variance is 0 (a BoN that almost
always returns the same sequence). Seeds are fixed, so verdicts are reproducible.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from .. import bon
from .._comparison import HEADER, Comparison, cells, comparison_frame, render, verdict
from .._validation import check_int, check_positive
from ._device import seed_of, torch_generator
from ._model import CausalLM
from ._sampling import best_of_n_pool, generate_samples, sample
from ._space import DEFAULT_MAX_SIZE, SequenceSpace
from .rewards import Reward, as_reward_fn, evaluate_reward, keyword

GOF_ALPHA = 1e-3
_EXACT_RTOL = 1e-9


@dataclass(frozen=True)
class ValidationReport:
    """Result of :func:`validate`: comparison rows, run information and plot data.

    Attributes
    ----------
    rows : tuple of Comparison
    info : dict
        Model, sizes, seeds, reward name and stage timings (seconds).
    data : dict
        Arrays for figures (KL, win rate and reward per N; the tilted frontier).
    """

    rows: tuple[Comparison, ...]
    info: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def passed(self) -> bool:
        """Whether every comparison passed."""
        return all(r.passed for r in self.rows)

    def summary(self) -> str:
        """One line: model, passed and failed rows."""
        n_fail = len(self.failures())
        return (f"LLM validation of {self.info.get('model', 'the model')}: {len(self.rows) - n_fail} passed, "
                f"{n_fail} failed")

    def to_frame(self) -> Any:
        """One row per comparison (a pandas DataFrame)."""
        return comparison_frame(self.rows)

    def failures(self) -> list[Comparison]:
        """Return the rows that failed."""
        return [r for r in self.rows if not r.passed]

    @property
    def table(self) -> str:
        """Plain-text table, the one of ``mdpkit check``: measured ± SE, predicted, tol, route, verdict."""
        n_fail = len(self.failures())
        return render([HEADER, *(cells(r) for r in self.rows)],
                      f"{len(self.rows) - n_fail} passed, {n_fail} failed")

    def to_markdown(self) -> str:
        """Markdown report (run information and the comparison table)."""
        md = ["# mdpkit LLM bridge validation", ""]
        md += [f"- **{k}**: {v}" for k, v in self.info.items() if k != "timings"]
        md += ["- **timings (s)**: " + ", ".join(
            f"{k} {v:.2f}" for k, v in self.info.get("timings", {}).items()), ""]
        md += ["| section | quantity | param | predicted | measured | se | tol | route | verdict |",
               "|---|---|---|---|---|---|---|---|---|"]
        for r in self.rows:
            md.append(f"| {r.section} | {r.quantity} | {r.param} | {r.relation} "
                      f"{r.predicted:.6g} | {r.measured:.6g} | {r.se:.2g} | {r.tolerance:.2g} | "
                      f"{r.route} | {'PASS' if r.passed else 'FAIL'} |")
        n_fail = len(self.failures())
        md += ["", f"**{len(self.rows) - n_fail} passed, {n_fail} failed.**", ""]
        return "\n".join(md)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (rows, info, data)."""
        def clean(x: Any) -> Any:
            if isinstance(x, np.ndarray):
                return x.tolist()
            if isinstance(x, dict):
                return {k: clean(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [clean(v) for v in x]
            if isinstance(x, (np.floating, np.integer)):
                return x.item()
            return x

        return {"passed": self.passed, "info": clean(self.info),
                "rows": [asdict(r) for r in self.rows], "data": clean(self.data)}

    def write(self, out_dir: str | Path, figures: Sequence[Path] = ()) -> list[Path]:
        """Write ``report.md`` (linking ``figures``) and ``report.json``; return the paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        md, js = out / "report.md", out / "report.json"
        links = [f"![{Path(f).stem}]({Path(f).resolve().relative_to(out.resolve())})"
                 if Path(f).resolve().is_relative_to(out.resolve()) else f"![{Path(f).stem}]({f})"
                 for f in figures]
        md.write_text(self.to_markdown() + "\n".join(links) + ("\n" if links else ""))
        js.write_text(json.dumps(self.to_dict(), indent=1, allow_nan=True))
        return [md, js]


class _Rows:
    """Accumulates comparisons with the MC tolerance rule."""

    def __init__(self, z: float) -> None:
        self.z = z
        self.rows: list[Comparison] = []

    def mc(self, section: str, quantity: str, param: str, f: np.ndarray, predicted: float,
           f_range: float, route: str, relation: str = "==") -> Comparison:
        m = f.size
        mean = float(f.mean())
        se = float(f.std(ddof=1) / math.sqrt(m)) if m > 1 else math.inf
        # z standard errors + rule of three (zero-variance estimators) + float64 rounding
        tol = self.z * se + 3.0 * f_range / m + _EXACT_RTOL * max(1.0, abs(predicted))
        return self.add(section, quantity, param, predicted, mean, se, tol, relation, route)

    def exact(self, section: str, quantity: str, param: str, measured: float, predicted: float,
              relation: str, route: str, scale: float = 1.0) -> Comparison:
        tol = _EXACT_RTOL * max(1.0, abs(scale))
        return self.add(section, quantity, param, predicted, measured, 0.0, tol, relation, route)

    def add(self, section: str, quantity: str, param: str, predicted: float, measured: float,
            se: float, tol: float, relation: str, route: str) -> Comparison:
        row = Comparison(quantity, float(measured), float(predicted), float(tol), relation, route,
                         verdict(float(measured), float(predicted), float(tol), relation),
                         section=section, param=param, se=float(se))
        self.rows.append(row)
        return row


def _effective_range(f: np.ndarray, probs: np.ndarray, tail: float = 1e-9) -> float:
    """Range of ``f`` over the atoms that hold all but ``tail`` of the mass of ``probs``.

    The rule-of-three term bounds what atoms never drawn in ``M`` samples can add to a
    mean; atoms of total mass below ``tail`` (e.g. the lowest reward levels under
    best-of-32, mass ``F^32``) cannot matter at any feasible ``M`` and would otherwise
    inflate the range by orders of magnitude.
    """
    keep = probs > 0
    f, p = f[keep], probs[keep]
    order = np.argsort(f, kind="stable")
    f, c = f[order], np.cumsum(p[order])
    lo = int(np.searchsorted(c, tail / 2, side="right"))
    hi = int(np.searchsorted(c, c[-1] - tail / 2, side="left"))
    lo, hi = min(lo, f.size - 1), min(max(hi, lo), f.size - 1)
    return float(f[hi] - f[lo])


def goodness_of_fit(index: np.ndarray, probs: np.ndarray, n_bins: int = 20) -> float:
    r"""p-value of a binned :math:`\chi^2` test that ``index`` are draws from ``probs``.

    Atoms are grouped, in their given order, into ``n_bins`` bins of about equal mass
    (an atom heavier than one bin forms its own); bins with expected count below 5 are
    merged with a neighbour. With fixed seeds a correct sampler fails at level
    ``1e-3`` with probability ``1e-3`` per test.

    Examples
    --------
    >>> p = np.full(100, 0.01)
    >>> idx = np.random.default_rng(0).choice(100, size=5000, p=p)
    >>> goodness_of_fit(idx, p) > 1e-3
    True
    """
    probs = np.asarray(probs, dtype=np.float64)
    m = index.size
    cum = np.cumsum(probs)
    bin_of = np.minimum(((cum - 0.5 * probs) * n_bins).astype(np.int64), n_bins - 1)
    expected = np.bincount(bin_of, weights=probs, minlength=n_bins) * m
    observed = np.bincount(bin_of[index], minlength=n_bins).astype(np.float64)
    keep = expected > 0
    expected, observed = expected[keep], observed[keep]
    # merge small bins forward
    e_m, o_m, acc_e, acc_o = [], [], 0.0, 0.0
    for e, o in zip(expected, observed, strict=True):
        acc_e += e
        acc_o += o
        if acc_e >= 5.0:
            e_m.append(acc_e)
            o_m.append(acc_o)
            acc_e = acc_o = 0.0
    if acc_e > 0 and e_m:
        e_m[-1] += acc_e
        o_m[-1] += acc_o
    if len(e_m) < 2:
        return 1.0
    e_a, o_a = np.array(e_m), np.array(o_m)
    chi2 = float(((o_a - e_a) ** 2 / e_a).sum())
    return float(stats.chi2.sf(chi2, len(e_m) - 1))


def _check_n_values(name: str, values: Sequence[int]) -> list[int]:
    try:
        vals = [check_int(f"{name}[i]", v, lo=1) for v in values]
    except TypeError:
        raise TypeError(f"`{name}` must be a sequence of integers >= 1; got {values!r}.") from None
    if not vals:
        raise ValueError(f"`{name}` must not be empty.")
    return sorted(set(vals))


def validate(lm: CausalLM, reward: Any = None, *, length: int = 5,
             n_values: Sequence[int] = (1, 2, 4, 8, 16, 32), n_samples: int = 20_000,
             ties: str = "random", long_length: int | None = 16,
             long_n_values: Sequence[int] = (2, 8, 32), long_samples: int = 1000,
             z: float = 3.0, max_size: int = DEFAULT_MAX_SIZE, rng: Any = None,
             generate_check: bool = True, batch_size: int | None = None) -> ValidationReport:
    r"""Check the best-of-N and KL-regularization predictions on a language model.

    See the module docstring for the list of comparisons. Every ``predicted`` value
    comes from the exact sequence law through :mod:`mdpkit.bon` (or from a closed-form
    bound); every ``measured`` value comes from sampling the model.

    Parameters
    ----------
    lm : CausalLM
        The model (e.g. :func:`train_tiny_lm` or :func:`load_causal_lm`).
    reward : callable or Reward, optional
        Token-level reward (see :mod:`mdpkit.llm.rewards`); default
        ``keyword(lm.alphabet[1])`` (``"e"`` for the ``coarse8`` model).
    length : int
        Sequence length of the exact part (``V**length <= max_size``).
    n_values : sequence of int
        Best-of-N sizes; one pool of ``n_samples x max(n_values)`` draws serves all.
    n_samples : int
        Monte-Carlo draws per estimate.
    ties : {"random", "first"}
        Tie convention of best-/worst-of-N (as in :func:`mdpkit.bon.best_of_n`).
    long_length : int or None
        Length of the importance-weighted section (``None`` skips it).
    long_n_values, long_samples :
        Best-of-N sizes and rows of the long-sequence pool.
    z : float
        Standard errors allowed in a Monte-Carlo verdict.
    max_size : int
        Largest enumeration accepted (see :class:`SequenceSpace`).
    rng : int, numpy Generator, SeedSequence or None
        Root seed; all streams derive from it (``None``: a fresh seed, recorded in the report).
    generate_check : bool
        Also sample the tilted policy through Hugging Face ``generate``.
    batch_size : int, optional
        Rows per forward pass.

    Returns
    -------
    ValidationReport

    Notes
    -----
    Cost: one pool of ``n_samples * max(n_values)`` sequences dominates (640k length-5
    sequences for the defaults: about 7 s of one CPU core for the 21k-parameter tiny
    model); the tilted section samples ``n_samples`` per ``N``. Tiny models run fastest
    with one torch thread on a busy machine (``torch.set_num_threads(1)``; the command
    line does this). Each Monte-Carlo row is unbiased; rows for different ``N`` share
    one pool and are correlated, so count failures per row, not as independent tests.

    Examples
    --------
    >>> from mdpkit.llm import build_tiny_lm
    >>> lm = build_tiny_lm("llama", rng=0, vocab_size=5, device="cpu")
    >>> rep = validate(lm, length=2, n_values=[1, 4], n_samples=1000, long_length=None,
    ...                generate_check=False, rng=0)
    >>> rep.passed
    True
    """
    if not isinstance(lm, CausalLM):
        raise TypeError(f"`lm` must be a mdpkit.llm.CausalLM; got {type(lm).__name__}.")
    length = check_int("length", length, lo=1)
    ns = _check_n_values("n_values", n_values)
    n_samples = check_int("n_samples", n_samples, lo=2)
    z = check_positive("z", z)
    seed = seed_of(rng)
    if reward is None:
        reward = keyword(lm.alphabet[min(1, lm.vocab_size - 1)])
    reward_name = reward.name if isinstance(reward, Reward) else getattr(reward, "__name__",
                                                                        repr(reward))
    return _run_validation(lm, reward, reward_name, length, ns, n_samples, ties, long_length, long_n_values,
                           long_samples, z, max_size, seed, generate_check, batch_size)


def _run_validation(lm: CausalLM, reward: Any, reward_name: str, length: int, ns: list[int], n_samples: int,
                    ties: str, long_length: int | None, long_n_values: Sequence[int], long_samples: int,
                    z: float, max_size: int, seed: int, generate_check: bool,
                    batch_size: int | None) -> ValidationReport:
    """Run the sections of :func:`validate` on validated arguments, timed."""
    fn = as_reward_fn(reward, lm)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    space = SequenceSpace(lm, length, max_size=max_size, batch_size=batch_size)
    r_all = space.rewards(fn)
    timings["enumerate"] = time.perf_counter() - t0
    run = _Run(lm=lm, fn=fn, space=space, ref=space.reference(r_all), r_all=r_all,
               r_range=float(r_all.max() - r_all.min()), rows=_Rows(z), data={"n_values": ns},
               gen=_streams(seed, lm.device), n_samples=n_samples, length=length, ties=ties,
               batch_size=batch_size)
    rows, data, gen = run.rows, run.data, run.gen
    t0 = time.perf_counter()
    r_ref = _check_sampler(run)
    timings["sample_ref"] = time.perf_counter() - t0
    laws = _check_best_of_n(run, ns, r_ref, timings)
    t0 = time.perf_counter()
    _check_tilted(run, ns, laws, generate_check)
    timings["tilted"] = time.perf_counter() - t0
    if long_length is not None:         # importance weights from the model's own samples
        t0 = time.perf_counter()
        _validate_long(lm, fn, rows, data, check_int("long_length", long_length, lo=1),
                       _check_n_values("long_n_values", long_n_values),
                       check_int("long_samples", long_samples, lo=2), ties, gen(5), gen(6),
                       batch_size)
        timings["long"] = time.perf_counter() - t0

    info = {"model": repr(lm), "reward": reward_name, "length": length,
            "vocab_size": lm.vocab_size, "n_sequences": space.size, "n_samples": n_samples,
            "ties": ties, "z": z, "seed": seed, "long_length": long_length,
            "device": str(lm.device), "timings": timings}
    if lm.train_info:
        info["train"] = {k: round(v, 4) if isinstance(v, float) else v
                         for k, v in lm.train_info.items()}
    return ValidationReport(tuple(rows.rows), info, data)


def _streams(seed: int, device: Any) -> Any:
    """``gen(k)``: the ``k``-th independent torch stream (child ``k`` of ``SeedSequence(seed)``)."""
    streams = np.random.SeedSequence(seed).spawn(8)

    def gen(k: int) -> torch.Generator:
        return torch_generator(int(streams[k].generate_state(1, np.uint64)[0] >> np.uint64(1)), device)

    return gen


@dataclass
class _Run:
    """What the sections of :func:`validate` share: the model, the enumerated law, the rows."""

    lm: CausalLM
    fn: Any
    space: SequenceSpace
    ref: Any
    r_all: np.ndarray
    r_range: float
    rows: _Rows
    data: dict[str, Any]
    gen: Any
    n_samples: int
    length: int
    ties: str
    batch_size: int | None


_ROUTE = "exact law + mdpkit.bon"


def _check_sampler(run: _Run) -> np.ndarray:
    """Check the ancestral sampler against the exact law; return the rewards of the reference draws."""
    ref_toks = sample(run.lm, run.n_samples, run.length, rng=run.gen(0), batch_size=run.batch_size)
    ref_idx = run.space.index(ref_toks)
    r_ref = run.r_all[ref_idx]
    pval = goodness_of_fit(ref_idx, run.ref.probs)
    run.rows.add("sampler", "chi2 GOF p-value (20 bins)", f"M={run.n_samples}", GOF_ALPHA, pval, 0.0,
             0.0, ">=", "exact law (enumeration)")
    run.rows.mc("sampler", "E_ref[r]", "", r_ref, bon.expected_reward(run.ref), run.r_range,
            "exact law (enumeration)")
    return r_ref


def _check_best_of_n(run: _Run, ns: list[int], r_ref: np.ndarray, timings: dict[str, float]) -> dict[int, Any]:
    """Best-of-N and worst-of-N from one pool against their exact laws; returns the laws."""
    t0 = time.perf_counter()
    pool = best_of_n_pool(run.lm, run.fn, max(ns), run.n_samples, run.length, rng=run.gen(1),
                          batch_size=run.batch_size)
    timings["sample_pool"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    route = _ROUTE
    keys = ("kl_exact", "kl_mc", "kl_se", "kl_bound", "win_exact", "win_mc", "win_se",
            "reward_exact", "reward_mc", "reward_se", "worst_reward_exact", "worst_reward_mc")
    for k in keys:
        run.data[k] = []
    laws = {}
    for n in ns:
        par = f"N={n}"
        law = bon.best_of_n(run.ref, n, ties=run.ties)
        laws[n] = law
        toks, r_b = pool.select(n, ties=run.ties, rng=run.gen(2))
        idx = run.space.index(toks)
        kl_ex = bon.kl(law, run.ref)
        lr = law.log_probs - run.ref.log_probs
        row = run.rows.mc("best-of-N", "KL(pi_N||run.ref)", par, lr[idx], kl_ex,
                      _effective_range(lr, law.probs), route)
        run.data["kl_mc"].append(row.measured)
        run.data["kl_se"].append(row.se)
        run.rows.exact("best-of-N", "KL exact <= log N-(N-1)/N", par, kl_ex, bon.kl_bound(n), "<=",
                   "Beirami et al. Thm 1")
        w_ex = bon.win_rate(law, run.ref)
        win = np.where(r_b > r_ref, 1.0, np.where(r_b == r_ref, 0.5, 0.0))
        row = run.rows.mc("best-of-N", "win rate vs run.ref", par, win, w_ex, 1.0, route)
        run.data["win_mc"].append(row.measured)
        run.data["win_se"].append(row.se)
        run.rows.exact("best-of-N", "win rate exact <= N/(N+1)", par, w_ex, bon.win_rate_bound(n),
                   "<=", "Beirami et al.")
        run.rows.mc("best-of-N", "win rate MC <= N/(N+1)", par, win, bon.win_rate_bound(n), 1.0,
                "Beirami et al.", relation="<=")
        e_ex = bon.expected_reward(law)
        row = run.rows.mc("best-of-N", "E_N[r]", par, r_b, e_ex, run.r_range, route)
        run.data["reward_mc"].append(row.measured)
        run.data["reward_se"].append(row.se)
        wlaw = bon.worst_of_n(run.ref, n, ties=run.ties)
        _, r_w = pool.select(n, worst=True, ties=run.ties, rng=run.gen(2))
        row = run.rows.mc("worst-of-N", "E_N[r]", par, r_w, bon.expected_reward(wlaw), run.r_range, route)
        run.data["worst_reward_mc"].append(row.measured)
        run.data["kl_exact"].append(kl_ex)
        run.data["kl_bound"].append(bon.kl_bound(n))
        run.data["win_exact"].append(w_ex)
        run.data["reward_exact"].append(e_ex)
        run.data["worst_reward_exact"].append(bon.expected_reward(wlaw))
    timings["bon_stats"] = time.perf_counter() - t0
    return laws



def _check_tilted(run: _Run, ns: list[int], laws: dict[int, Any], generate_check: bool) -> None:
    """Compare the tilted policy at the KL of each best-of-N, HF ``generate``, and the exact frontier."""
    route = _ROUTE
    run.data["tilt"] = []
    kl_top = float(-run.ref.level_log_probs[-1])
    for n in ns:
        kl_n = run.data["kl_exact"][ns.index(n)]
        if not 1e-9 < kl_n < kl_top * (1 - 1e-9):
            continue
        beta = bon.beta_for_kl(run.ref, kl_n)
        par = f"N={n}, beta={beta:.4g}"
        tl = bon.tilted(run.ref, beta=beta)
        sq = run.space.soft_q(run.r_all, beta)
        ident = _token_identity_error(run.space, tl, sq)
        run.rows.exact("token identity", "max |beta log pi*/run.ref - (Q*-V*)|", par, ident, 0.0, "<=",
                   "tilted law marginalised vs soft Bellman", scale=float(np.abs(run.r_all).max()))
        proc = run.space.tilt_processor(run.r_all, beta)
        toks = sample(run.lm, run.n_samples, run.length, rng=run.gen(3), logits_processor=proc,
                      batch_size=run.batch_size)
        idx = run.space.index(toks)
        lr = tl.log_probs - run.ref.log_probs
        kl_t = bon.kl(tl, run.ref)
        run.rows.mc("tilted", "KL(pi_beta||run.ref)", par, lr[idx], kl_t,
                _effective_range(lr, tl.probs), route)
        e_t = bon.expected_reward(tl)
        run.rows.mc("tilted", "E_beta[r]", par, run.r_all[idx], e_t, run.r_range, route)
        e_n = run.data["reward_exact"][ns.index(n)]
        run.rows.exact("BoN vs tilted", "E_beta[r] >= E_N[r] at equal KL", par, e_t, e_n, ">=",
                   "Yang et al. Eq. 2 (KL-constrained optimum)", scale=run.r_range)
        run.data["tilt"].append({"n": n, "beta": beta, "kl": kl_t, "reward_exact": e_t,
                             "reward_mc": float(run.r_all[idx].mean()),
                             "kl_bon_tilted": bon.kl(laws[n], tl),
                             "gain_ratio": (e_n - bon.expected_reward(run.ref))
                             / max(e_t - bon.expected_reward(run.ref), 1e-300)})
    if generate_check and run.data["tilt"]:
        last = run.data["tilt"][-1]
        beta = last["beta"]
        tl = bon.tilted(run.ref, beta=beta)
        toks = generate_samples(run.lm, run.n_samples, run.length, rng=run.gen(4),
                                logits_processor=run.space.tilt_processor(run.r_all, beta),
                                batch_size=run.batch_size)
        idx = run.space.index(toks)
        run.rows.mc("tilted (HF generate)", "E_beta[r]", f"N={last['n']}, beta={beta:.4g}",
                run.r_all[idx], last["reward_exact"], run.r_range, route)
        run.rows.add("tilted (HF generate)", "chi2 GOF p-value (20 bins)", f"M={run.n_samples}",
                 GOF_ALPHA, goodness_of_fit(idx, tl.probs), 0.0, 0.0, ">=", "exact tilted law")
    # the exact frontier for the figure
    if kl_top > 0:
        grid = min(kl_top, 1.15 * max(run.data["kl_exact"])) * np.linspace(0.0, 1.0, 60) ** 2
        front = [bon.expected_reward(bon.tilted(run.ref, kl=float(k))) for k in grid]
        run.data["frontier_kl"], run.data["frontier_reward"] = grid, np.array(front)



def _token_identity_error(space: SequenceSpace, tilted_law: Any, sq: Any) -> float:
    """Return the token-level identity error of the tilted law.

    That is the max over prefixes and tokens of |beta log pi*(a|y<t)/pi_ref(a|y<t) - (Q* - V*)|,
    with pi* the conditionals of the *sequence-level* tilted law (independent route).
    """
    from scipy.special import logsumexp

    V, L = space.vocab_size, space.length
    err = 0.0
    lm_t = tilted_law.log_probs
    for t in range(L):
        # log mass of prefixes of length t+1 and t under the tilted sequence law
        nxt = logsumexp(lm_t.reshape(V ** (t + 1), V ** (L - t - 1)), axis=1).reshape(V**t, V)
        cur = logsumexp(nxt, axis=1)
        cond = nxt - cur[:, None]
        ok = np.isfinite(cond) & np.isfinite(space.node_logp[t])
        lhs = sq.beta * (cond - space.node_logp[t])
        rhs = sq.q[t] - sq.v[t][:, None]
        if ok.any():
            err = max(err, float(np.abs(lhs - rhs)[ok].max()))
    return err


def _validate_long(lm: CausalLM, fn: Any, rows: _Rows, data: dict[str, Any], L: int,
                   ns: list[int], m: int, ties: str, g_pool: torch.Generator,
                   g_ref: torch.Generator, batch_size: int | None) -> None:
    r"""Validate best-of-N on long sequences by importance weights (no enumeration).

    Long sequences: no enumeration; the best-of-N law only depends on the reward
    level, :math:`\pi_N(y)/\pi_{\mathrm{ref}}(y) = w(r(y))`, so the level law of the
    model's own samples gives importance weights :math:`\hat w` (via mdpkit.bon on the
    empirical level law of all pooled draws). Compared: (i) the KL of actual best-of-N
    samples, :math:`\mathbb E_{\pi_N}[\log\hat w]`, with the importance-weighted
    :math:`\mathbb E_{\mathrm{ref}}[\hat w\log\hat w]` and with the bound; (ii) the reward
    of the best-of-N samples with :math:`\mathbb E_{\mathrm{ref}}[\hat w\,r]`; (iii) the
    win rate against fresh reference samples with :math:`N/(N+1)`.
    """
    from mdpkit import bon

    pool = best_of_n_pool(lm, fn, max(ns), m, L, rng=g_pool, batch_size=batch_size)
    fresh = evaluate_reward(fn, lm, sample(lm, m, L, rng=g_ref, batch_size=batch_size))
    flat = pool.rewards.reshape(-1)
    levels, inv, counts = np.unique(flat, return_inverse=True, return_counts=True)
    p_hat = bon.Discrete(counts / flat.size, levels)
    r_range = float(levels[-1] - levels[0])
    data["long"] = {"length": L, "n_values": ns, "kl_iw": [], "kl_mc": [], "kl_bound": []}
    sec = f"long sequences (L={L})"
    route = "importance weights from ref samples + mdpkit.bon"
    for n in ns:
        par = f"N={n}"
        q_hat = bon.best_of_n(p_hat, n, ties="random")
        lw = q_hat.log_probs - p_hat.log_probs           # log w-hat per level
        w = np.exp(lw)
        kl_iw_terms = (w * lw)[inv]
        kl_iw = float(kl_iw_terms.mean())
        se_iw = float(kl_iw_terms.std(ddof=1) / math.sqrt(flat.size))
        _, r_b = pool.select(n, ties=ties, rng=g_pool)
        lvl_b = np.searchsorted(levels, r_b)
        f = lw[lvl_b]
        mean = float(f.mean())
        se = float(f.std(ddof=1) / math.sqrt(m))
        span = _effective_range(lw, q_hat.probs)
        rows.add(sec, "KL: E_N[log w] vs E_ref[w log w]", par, kl_iw, mean, se,
                 rows.z * math.hypot(se, se_iw) + 3 * span / m, "==", route)
        rows.add(sec, "KL: E_N[log w] <= log N-(N-1)/N", par, bon.kl_bound(n), mean, se,
                 rows.z * se + 3 * span / m, "<=", "Beirami et al. Thm 1")
        e_iw_terms = (w * levels)[inv]
        se_e = float(e_iw_terms.std(ddof=1) / math.sqrt(flat.size))
        se_b = float(r_b.std(ddof=1) / math.sqrt(m))
        rows.add(sec, "E_N[r] vs E_ref[w r]", par, float(e_iw_terms.mean()), float(r_b.mean()),
                 se_b, rows.z * math.hypot(se_b, se_e) + 3 * r_range / m, "==", route)
        win = np.where(r_b > fresh, 1.0, np.where(r_b == fresh, 0.5, 0.0))
        rows.mc(sec, "win rate MC <= N/(N+1)", par, win, bon.win_rate_bound(n), 1.0,
                "Beirami et al.", relation="<=")
        data["long"]["kl_iw"].append(kl_iw)
        data["long"]["kl_mc"].append(mean)
        data["long"]["kl_bound"].append(bon.kl_bound(n))


def report_figures(report: ValidationReport) -> dict[str, Any]:
    """Return the report's matplotlib figures by slug (see :func:`plot_report`)."""
    from mdpkit.plotting import subplots

    d = report.data
    figs: dict[str, Any] = {}
    ns = np.array(d["n_values"], dtype=float)
    fig, (a1, a2) = subplots(1, 2, figsize=(8.0, 3.2))
    grid = np.geomspace(1, max(ns.max(), 2), 100)
    a1.plot(grid, np.log(grid) - (grid - 1) / grid, "k--", label=r"$\log N-(N-1)/N$")
    a1.plot(ns, d["kl_exact"], "o-", label="exact (enumeration)")
    a1.errorbar(ns, d["kl_mc"], yerr=2 * np.array(d["kl_se"]), fmt="x", label="model samples ±2se")
    a1.set(xscale="log", xlabel="N", ylabel=r"KL$(\pi_N\|\pi_{ref})$")
    a1.legend()
    a2.plot(grid, grid / (grid + 1), "k--", label=r"$N/(N+1)$")
    a2.plot(ns, d["win_exact"], "o-", label="exact")
    a2.errorbar(ns, d["win_mc"], yerr=2 * np.array(d["win_se"]), fmt="x", label="samples ±2se")
    a2.set(xscale="log", xlabel="N", ylabel="win rate vs reference")
    a2.legend()
    info = report.info
    fig.suptitle(f"best-of-N on the LM: reward {info.get('reward', '')}, L={info.get('length')}, "
                 f"{info.get('n_sequences', 0):,} sequences, M={info.get('n_samples', 0):,}",
                 fontsize=8)
    figs["llm_bon_kl_win"] = fig

    if "frontier_kl" in d:
        fig, ax = subplots()
        ax.plot(d["frontier_kl"], d["frontier_reward"], "k-", label=r"tilted $\pi_\beta$ (exact)")
        ax.plot(d["kl_exact"], d["reward_exact"], "o", label="best-of-N (exact)")
        ax.errorbar(d["kl_mc"], d["reward_mc"], yerr=2 * np.array(d["reward_se"]), fmt="x",
                    label="best-of-N (model samples)")
        if d.get("tilt"):
            ax.plot([t["kl"] for t in d["tilt"]], [t["reward_mc"] for t in d["tilt"]], "+",
                    ms=9, label="tilted (soft-Q samples)")
        ax.set(xlabel=r"KL to $\pi_{ref}$", ylabel="expected reward")
        ax.legend()
        figs["llm_tilted_vs_bon"] = fig

    if "long" in d:
        lg = d["long"]
        n_l = np.array(lg["n_values"], dtype=float)
        fig, ax = subplots()
        g2 = np.geomspace(1, max(n_l.max(), 2), 100)
        ax.plot(g2, np.log(g2) - (g2 - 1) / g2, "k--", label=r"$\log N-(N-1)/N$")
        ax.plot(n_l, lg["kl_iw"], "o", label=r"$E_{ref}[\hat w\log\hat w]$")
        ax.plot(n_l, lg["kl_mc"], "x", label=r"$E_{N}[\log\hat w]$ (BoN samples)")
        ax.set(xscale="log", xlabel="N", ylabel="KL estimate",
               title=f"length {lg['length']} (no enumeration)")
        ax.legend()
        figs["llm_long"] = fig
    return figs


def plot_report(report: ValidationReport, out_dir: str | Path) -> list[Path]:
    """Draw the report's figures (PNG and PDF) into ``out_dir``; return the PNG paths.

    ``llm_bon_kl_win``: exact and sampled KL and win rate against N with the bounds;
    ``llm_tilted_vs_bon``: the exact reward-KL frontier of the tilted policy with the
    best-of-N points (exact and sampled); ``llm_long`` (if present): long-sequence KL
    estimates against the bound.
    """
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for slug, fig in report_figures(report).items():
        fig.savefig(out / f"{slug}.png", dpi=150, bbox_inches="tight")
        fig.savefig(out / f"{slug}.pdf", bbox_inches="tight")
        plt.close(fig)
        paths.append(out / f"{slug}.png")
    return paths
