r"""DPO on a small language model, checked against the exact tilted law.

One run of DPO (Rafailov et al. 2023): preference pairs are *sampled from the model*
(:func:`mdpkit.llm.sample`), labelled by the Bradley-Terry oracle of a sequence reward,
and the loss :math:`-\log\sigma(\beta[\log\frac{\pi_\theta(y_w)}{\pi_{ref}(y_w)} -
\log\frac{\pi_\theta(y_l)}{\pi_{ref}(y_l)}])` is minimized with Adam on a copy of the model.
Its population minimizer is the tilted law :math:`\pi^* = \pi_{ref} e^{r/\beta}/Z`
(:func:`mdpkit.preference.tilted_policy`), computed exactly on the enumerable sequence space
(:class:`mdpkit.llm.SequenceSpace`); the fine-tuned model's law is enumerated too, so the
distance :math:`\mathrm{KL}(\pi^*\|\pi_\theta)` and the implied reward
:math:`\beta\log\pi_\theta/\pi_{ref}` are exact, not estimates. With finitely many pairs and a
finite network the run approaches, but does not reach, :math:`\pi^*`: the comparison with
:math:`\mathrm{KL}(\pi^*\|\pi_{ref})` is empirical.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._results import grid_frame
from .._validation import as_generator, check_int, check_positive
from ._device import exact_matmul, seed_of
from ._model import CausalLM
from ._sampling import sample
from ._space import SequenceSpace


@dataclass(frozen=True, slots=True, kw_only=True)
class DPORun:
    r"""Outcome of :func:`dpo_finetune` (all laws exact, by enumeration).

    Attributes
    ----------
    lm : CausalLM
        The fine-tuned model.
    logp_ref, logp_star, logp : ndarray, shape (V**L,)
        Log-laws of the reference, of the tilted optimum and of the fine-tuned model.
    rewards : ndarray, shape (V**L,)
    kl_star_ref, kl_star : float
        :math:`\mathrm{KL}(\pi^*\|\pi_{ref})` and :math:`\mathrm{KL}(\pi^*\|\pi_\theta)`.
    implied_reward_corr : float
        :math:`\pi^*`-weighted correlation of :math:`\beta\log\pi_\theta/\pi_{ref}` with the reward.
    loss : ndarray, shape (n_steps,)
        Mini-batch DPO loss per step.
    seconds : float
    """

    lm: CausalLM
    logp_ref: np.ndarray
    logp_star: np.ndarray
    logp: np.ndarray
    rewards: np.ndarray
    kl_star_ref: float
    kl_star: float
    implied_reward_corr: float
    loss: np.ndarray
    seconds: float

    def summary(self) -> str:
        """Return one line: steps, sequences, both KLs to the optimum and the implied-reward correlation."""
        return (f"DPO: {np.size(self.loss)} steps over {np.size(self.rewards)} sequences, "
                f"KL(pi*||pi_theta) = {self.kl_star:.6g} (KL(pi*||pi_ref) = {self.kl_star_ref:.6g}), "
                f"implied reward corr = {self.implied_reward_corr:.6g}")

    def to_frame(self) -> Any:
        """Return one row per sequence (atom): ``sequence``, ``reward``, ``logp_ref``, ``logp_star``, ``logp``."""
        return grid_frame({"sequence": np.arange(np.size(self.rewards))}, reward=self.rewards,
                          logp_ref=self.logp_ref, logp_star=self.logp_star, logp=self.logp)


def _seq_logprob(model: Any, lm: CausalLM, tokens: torch.Tensor) -> torch.Tensor:
    """Differentiable log-probability of each row of ``tokens`` under ``model`` (alphabet-restricted)."""
    b = tokens.shape[0]
    ids = torch.cat([lm._prompt_t.expand(b, -1), tokens], dim=1)
    logits = model(input_ids=ids, use_cache=False).logits[:, len(lm.prompt) - 1:-1, :]
    lp = torch.log_softmax(logits.index_select(-1, lm._alphabet_t).float(), dim=-1)
    return lp.gather(-1, lm.positions(tokens)[..., None])[..., 0].sum(1)


def _labelled_pairs(lm: CausalLM, space: SequenceSpace, r: np.ndarray, n_pairs: int, length: int,
                    g: np.random.Generator) -> tuple[torch.Tensor, ...]:
    """Pairs of fresh samples of ``lm``, Bradley-Terry labels; (chosen, rejected, their ref log-probs)."""
    toks = sample(lm, 2 * n_pairs, length, rng=seed_of(g))
    idx = space.index(toks)
    first = g.random(n_pairs) < 1.0 / (1.0 + np.exp(r[idx[n_pairs:]] - r[idx[:n_pairs]]))
    sel = torch.from_numpy(first).to(lm.device)[:, None]
    win = torch.where(sel, toks[:n_pairs], toks[n_pairs:])
    lose = torch.where(sel, toks[n_pairs:], toks[:n_pairs])
    ref_w = torch.from_numpy(space.logp[space.index(win)]).to(lm.device)
    ref_l = torch.from_numpy(space.logp[space.index(lose)]).to(lm.device)
    return win, lose, ref_w, ref_l


def _weighted_corr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    mx, my = w @ x, w @ y
    cov = w @ ((x - mx) * (y - my))
    return float(cov / np.sqrt((w @ (x - mx) ** 2) * (w @ (y - my) ** 2)))


def _train_dpo(model: Any, lm: CausalLM, pairs: tuple[torch.Tensor, ...], b: float, n_steps: int,
               batch_size: int, eta: float, g: np.random.Generator) -> np.ndarray:
    """Adam on the DPO loss over mini-batches of the labelled ``pairs``; returns the losses."""
    win, lose, ref_w, ref_l = pairs
    n_pairs = win.shape[0]
    opt = torch.optim.Adam(model.parameters(), lr=eta)
    losses = np.empty(n_steps)
    with exact_matmul():
        for k in range(n_steps):
            sel = torch.from_numpy(g.integers(0, n_pairs, size=min(batch_size, n_pairs))).to(lm.device)
            h = b * ((_seq_logprob(model, lm, win[sel]) - ref_w[sel].float())
                     - (_seq_logprob(model, lm, lose[sel]) - ref_l[sel].float()))
            loss = torch.nn.functional.softplus(-h).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses[k] = float(loss.detach())
    return losses


def _compare_with_tilt(space: SequenceSpace, logp: np.ndarray, r: np.ndarray,
                       b: float) -> tuple[np.ndarray, float, float, float]:
    """Log-probabilities of pi*, KL(pi* || pi_ref), KL(pi* || pi) and the pi*-weighted implied-reward correlation."""
    from mdpkit.preference import tilted_policy

    star = tilted_policy(np.exp(space.logp), r, b)
    with np.errstate(divide="ignore"):
        logp_star = np.log(star)
    m = star > 0
    kl = float(np.sum(star[m] * (logp_star[m] - logp[m])))
    kl_ref = float(np.sum(star[m] * (logp_star[m] - space.logp[m])))
    corr = _weighted_corr(b * (logp - space.logp), r, star)
    return logp_star, kl_ref, kl, corr


def dpo_finetune(
    lm: CausalLM, reward: Any, beta: float, *, length: int, n_pairs: int = 4096, n_steps: int = 300,
    batch_size: int = 512, eta: float = 1e-2, rng: Any = None,
) -> DPORun:
    r"""Fine-tune a copy of ``lm`` with DPO on pairs sampled from ``lm``; compare with the exact tilt.

    Parameters
    ----------
    lm : CausalLM
        The reference model (left unchanged).
    reward : callable or mdpkit.llm.rewards.Reward
        Sequence reward (as for :meth:`SequenceSpace.rewards`).
    beta : float
        DPO's KL strength, ``> 0``.
    length : int
        Sequence length (the space of ``V**length`` sequences is enumerated).
    n_pairs : int
        Preference pairs sampled from ``lm`` (each two fresh samples).
    n_steps, batch_size : int
        Adam steps and pairs per step.
    eta : float
        Adam learning rate (``lr`` in torch).
    rng : int, numpy Generator or None
        Seed of the samples, labels and mini-batches.

    Returns
    -------
    DPORun

    Examples
    --------
    A 4-token model, all 16 sequences of length 2, one DPO run of 20 Adam steps (about a
    second on one CPU thread; a model this small trains fastest on one thread):

    >>> import torch
    >>> torch.set_num_threads(1)
    >>> from mdpkit.llm import build_tiny_lm, rewards
    >>> lm = build_tiny_lm("llama", vocab_size=5, rng=0, device="cpu")
    >>> run = dpo_finetune(lm, rewards.token_values([0, 1, 0, 0]), 0.5, length=2, n_pairs=256,
    ...                    n_steps=20, batch_size=64, eta=2e-2, rng=0)
    >>> round(run.kl_star_ref, 3)        # KL(pi* || pi_ref), exact: the reference is not trained
    1.068
    >>> bool(run.kl_star < 0.2 * run.kl_star_ref)   # empirical: DPO closes most of the gap
    True
    """
    if not isinstance(lm, CausalLM):
        raise TypeError(f"`lm` must be a mdpkit.llm.CausalLM; got {type(lm).__name__}.")
    b = check_positive("beta", beta)
    n_pairs = check_int("n_pairs", n_pairs, lo=1)
    n_steps = check_int("n_steps", n_steps, lo=1)
    batch_size = check_int("batch_size", batch_size, lo=1)
    eta = check_positive("eta", eta)
    t0 = time.perf_counter()
    space = SequenceSpace(lm, length)
    r = space.rewards(reward)
    g = as_generator(rng)
    pairs = _labelled_pairs(lm, space, r, n_pairs, length, g)
    model = copy.deepcopy(lm.model).train()
    losses = _train_dpo(model, lm, pairs, b, n_steps, batch_size, eta, g)
    tuned = CausalLM(model.eval(), tokenizer=lm.tokenizer, prompt=list(lm.prompt), alphabet=list(lm.alphabet))
    logp = SequenceSpace(tuned, length).logp
    logp_star, kl_ref, kl, corr = _compare_with_tilt(space, logp, r, b)
    return DPORun(lm=tuned, logp_ref=space.logp, logp_star=logp_star, logp=logp, rewards=r, kl_star_ref=kl_ref,
                  kl_star=kl, implied_reward_corr=corr, loss=losses, seconds=time.perf_counter() - t0)
