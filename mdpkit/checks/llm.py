"""Theorem checks on a real (tiny, trained) language model: the LLM bridge.

A Llama-family model is trained in seconds on CPython's ``pydoc_data`` help texts
(8-symbol character classes); its exact law over all ``8**L`` sequences is enumerated
and handed to :mod:`mdpkit.bon` as a reference, and every prediction is compared with
Monte-Carlo estimates from *sampling the model* (:func:`mdpkit.llm.validate`). The
predicted side is exact enumeration or a closed-form bound; the measured side is the
model's own sampler, so a biased sampler, a truncating ``generate`` (top-k) or a wrong
best-of-N selection fails the check.

Needs the ``[llm]`` extra (torch, transformers); this module imports neither at import
time.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ._registry import CheckContext, register

_REQUIRES = ("torch", "transformers")
_PAPER_BON = ("Beirami et al. 2024, 'Theoretical guarantees on the best-of-n alignment "
              "policy' (arXiv 2401.01879), Thm 1 and Lemma 1; CLAIMS C2/C3")


@lru_cache(maxsize=2)
def _run(quick: bool, seed: int) -> Any:
    """Train the tiny model and run the validation once per (quick, seed)."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from mdpkit import llm
    from mdpkit.llm._device import num_threads

    with num_threads(1):
        if quick:
            lm = llm.train_tiny_lm(steps=60, rng=seed, device="cpu")
            rep = llm.validate(lm, llm.rewards.keyword("e"), length=4, n_values=(1, 2, 8),
                               n_samples=3000, long_length=10, long_n_values=(2, 8),
                               long_samples=300, rng=seed, generate_check=True)
        else:
            lm = llm.train_tiny_lm(steps=300, rng=seed, device="auto")
            rep = llm.validate(lm, llm.rewards.keyword("e"), length=5,
                               n_values=(1, 2, 4, 8, 16, 32), n_samples=10_000,
                               long_length=16, long_n_values=(2, 8, 32), long_samples=800,
                               rng=seed)
    return lm, rep


def _record(ctx: CheckContext, sections: tuple[str, ...], figure: str | None = None) -> Any:
    lm, rep = _run(ctx.quick, ctx.seed)
    for r in rep.rows:
        if r.section.split(" (")[0] in sections:
            ctx.compare(f"[{r.section}] {r.quantity} {r.param}".strip(), r.measured,
                        r.predicted, tol=r.tolerance, relation=r.relation,  # type: ignore[arg-type]
                        route=r.route, note=f"se={r.se:.3g}")
    if figure is not None and ctx.figures_enabled:
        import matplotlib.pyplot as plt

        from mdpkit.llm import report_figures

        for slug, fig in report_figures(rep).items():
            if slug == figure:
                ctx.savefig(fig, slug)
            else:
                plt.close(fig)
    return rep


@register(
    "llm_sampler_exact_law",
    paper="mdpkit LLM bridge (LLM_BRIDGE.md section 3): unbiased sampling of a causal LM",
    statement=("The ancestral KV-cached sampler and transformers' generate(top_k=0, top_p=1) "
               "draw sequences from the model's exact law prod_t softmax(logits)(y_t | y<t), "
               "obtained by enumerating all V^L sequences with the prefix trick: chi-square "
               "p-value >= 1e-3, and the sampled mean reward within 3 SE of the exact one."),
    requires=_REQUIRES,
)
def check_sampler_exact_law(ctx: CheckContext) -> None:
    import numpy as np

    lm, rep = _run(ctx.quick, ctx.seed)
    _record(ctx, ("sampler",))
    # the prefix trick against naive teacher-forced scoring of a subset of sequences
    from mdpkit.llm import SequenceSpace

    space = SequenceSpace(lm, 3)
    naive = lm.logprob(space.tokens[::7])
    # float32 network arithmetic: logits differ by ~1e-7 relative between batch shapes,
    # so L=3 log-probabilities agree to ~1e-6; 1e-5 leaves a margin of 10
    ctx.compare("prefix-trick log p vs naive scoring (max abs diff)",
                float(np.abs(naive - space.logp[::7]).max()), 0.0, tol=1e-5,
                route="independent forward passes (float32 network)")
    ctx.compare("sum of exact sequence probabilities", float(np.exp(space.logp).sum()), 1.0,
                tol=1e-9, route="probability axiom")


@register(
    "llm_bon_kl_win_reward",
    paper=_PAPER_BON,
    statement=("On a trained tiny LM, best-of-N sampling from the model gives KL(pi_N||pi_ref), "
               "win rate and expected reward that agree with the exact best-of-N law of the "
               "enumerated sequence law within 3 SE; exactly, KL <= log N - (N-1)/N and "
               "win rate <= N/(N+1); worst-of-N reward agrees likewise."),
    requires=_REQUIRES,
)
def check_bon_kl_win_reward(ctx: CheckContext) -> None:
    _record(ctx, ("best-of-N", "worst-of-N"), figure="llm_bon_kl_win")


@register(
    "llm_tilted_softq",
    paper=("Korbak et al. 2022 (arXiv 2205.11275) and Rafailov et al. 2024 'From r to Q*' "
           "(token-level identity); Yang et al. 2024 (arXiv 2404.01730) Eq. 2; CLAIMS C1/C10"),
    statement=("The KL-regularized optimum pi_beta ∝ pi_ref e^{r/beta} is realised token by "
               "token: beta log pi*(a|y<t)/pi_ref(a|y<t) = Q*(y<t,a) - V*(y<t) with soft-Bellman "
               "values (to 1e-9); sampling the LM through the soft-Q logits processor (own "
               "sampler and HF generate) matches the tilted law's KL and reward within 3 SE; "
               "at the KL of best-of-N, the tilted policy's reward is at least best-of-N's."),
    requires=_REQUIRES,
)
def check_tilted_softq(ctx: CheckContext) -> None:
    _record(ctx, ("tilted", "token identity", "BoN vs tilted"), figure="llm_tilted_vs_bon")


@register(
    "llm_long_sequence_bound",
    paper=_PAPER_BON,
    statement=("For sequences too long to enumerate, importance weights w = pi_N/pi_ref, which "
               "depend only on the reward level, are estimated from the model's own samples: "
               "the KL of actual best-of-N samples E_N[log w] agrees with E_ref[w log w] and is "
               "<= log N - (N-1)/N, the BoN reward agrees with E_ref[w r], and the sampled "
               "win rate is <= N/(N+1) (all within 3 SE)."),
    requires=_REQUIRES,
)
def check_long_sequence_bound(ctx: CheckContext) -> None:
    _record(ctx, ("long sequences",), figure="llm_long")
