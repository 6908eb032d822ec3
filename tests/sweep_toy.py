"""The toy sim shared by the sweep tests (local pool and Dask)."""

import textwrap

TOY = '''
"""Toy sim: a noisy mean and a count (numpy only)."""
import numpy as np

GRID = {"n": [200, 800], "p": [0.25, 0.5, 0.75]}
QUICK_GRID = {"n": [50], "p": [0.5]}
N_SEEDS = 2
ROOT_SEED = 7


def run_cell(settings, seed):
    x = np.random.default_rng(seed).random(settings["n"]) < settings["p"]
    return {"mean": x.mean(), "hits": int(x.sum()), "ok": bool(x.any())}
'''


def write_sim(folder, source=TOY, name="toy"):
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path
