"""Parameter sweeps: sims as data, local or Dask execution, resumable Parquet results.

A *sim* is a module with a grid of plain-data settings and a function
``run_cell(settings, seed) -> dict of numbers`` (see :mod:`mdpkit.sweep._sim` and
``sims/`` in the repository). :func:`run` evaluates every settings point for
``N_SEEDS`` replicates on a local process pool (default) or a Dask distributed cluster,
with seeds spawned from ``np.random.SeedSequence`` keyed by the cell, and streams rows to
Parquet so that an interrupted sweep resumes where it stopped.

pandas, pyarrow and dask are imported only when a sweep runs.

>>> from mdpkit import sweep
>>> sweep.expand_grid({"gap": [0.1, 0.2], "horizon": [100]})
[{'gap': 0.1, 'horizon': 100}, {'gap': 0.2, 'horizon': 100}]
"""

from ._run import CONNECT_TIMEOUT, CellError, SweepInterrupted, run
from ._sim import Sim, cell_seed, expand_grid, load_sim, settings_hash
from ._store import ResultsError, read_results

__all__ = [
    "CONNECT_TIMEOUT",
    "CellError",
    "ResultsError",
    "Sim",
    "SweepInterrupted",
    "cell_seed",
    "expand_grid",
    "load_sim",
    "read_results",
    "run",
    "settings_hash",
]
