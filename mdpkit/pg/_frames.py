"""``summary()`` and ``to_frame()`` shared by the policy-gradient traces (leading axis x checkpoint)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._results import grid_frame
from .._typing import FloatArray, IntArray


class CheckpointTraces:
    """Give a trace with arrays of shape ``(n_lead, n_checkpoints)`` a summary and a tidy frame.

    ``frame_axis`` names the leading axis (``"config"`` or ``"run"``); :meth:`traces` returns
    the per-checkpoint arrays (reward, entropy and KL unless a class overrides it).
    """

    __slots__ = ()
    frame_axis: ClassVar[str]
    steps: IntArray

    def traces(self) -> dict[str, FloatArray]:
        """Return the ``(n_lead, n_checkpoints)`` arrays that make the frame's value columns."""
        return {k: getattr(self, k) for k in ("reward", "entropy", "kl")}

    def summary(self) -> str:
        """Return one line: sizes, last step and the final values averaged over the leading axis."""
        tr = self.traces()
        n_lead = next(iter(tr.values())).shape[0]
        finals = ", ".join(f"{k} = {np.mean(v[:, -1]):.6g}" for k, v in tr.items())
        label = getattr(self, "estimator", "exact dynamics")
        return (f"{label}: {n_lead} {self.frame_axis}s x {len(self.steps)} checkpoints to step "
                f"{int(self.steps[-1])}; final (mean over {self.frame_axis}s) {finals}")

    def to_frame(self) -> Any:
        """Return one row per (leading index, checkpoint): ``frame_axis``, ``step`` and the traces."""
        tr = self.traces()
        n_lead = next(iter(tr.values())).shape[0]
        return grid_frame({self.frame_axis: np.arange(n_lead), "step": self.steps}, **tr)


def mean_entropy(entropy: FloatArray, lead: int) -> FloatArray:
    """Average per-state (and per-stage) entropies over every axis after the first ``lead``."""
    e = np.asarray(entropy)
    return e.reshape(*e.shape[:lead], -1).mean(axis=-1)
