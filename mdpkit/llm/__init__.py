"""Bridge to small causal language models (optional extra ``[llm]``).

Checks the best-of-N and KL-regularization predictions of :mod:`mdpkit.bon` on real
language models: a model's law over all sequences of a small alphabet and length is
enumerated exactly (:class:`SequenceSpace`) and compared with Monte-Carlo estimates
from actually sampling the model (:func:`sample`, :func:`best_of_n_sample`, the exact
token-level tilt :class:`SoftQLogitsProcessor`), in :func:`validate`. Models are loaded
from local directories only (:func:`load_causal_lm`), built from a config
(:func:`build_tiny_lm`) or trained in seconds on text shipped with Python
(:func:`train_tiny_lm`). Runs on a CUDA device when present, on the CPU otherwise.

Hub access: :func:`load_causal_lm` checks the path itself and calls transformers with
``local_files_only=True``; for whole processes also export ``HF_HUB_OFFLINE=1`` before
anything imports transformers (the ``mdpkit llm`` command does).
"""

try:
    import torch  # noqa: F401
    import transformers  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "`mdpkit.llm` needs the optional dependencies torch and transformers; install them "
        "with `pip install torch==2.13.0` then `pip install mdpkit[llm]`."
    ) from e

from . import rewards
from ._device import pick_device, torch_generator
from ._dpo import DPORun, dpo_finetune
from ._model import CausalLM, build_tiny_lm, load_causal_lm, tiny_config
from ._pg import LMEntropyStep, lm_entropy_step
from ._sampling import (
    AlphabetLogitsProcessor,
    BestOfNPool,
    SoftQLogitsProcessor,
    best_of_n_pool,
    best_of_n_sample,
    generate_samples,
    sample,
    worst_of_n_sample,
)
from ._space import SequenceSpace, SoftQ
from ._tiny import COARSE8, coarse8_tokenizer, pydoc_corpus, train_tiny_lm
from ._validate import (
    ValidationReport,
    goodness_of_fit,
    plot_report,
    report_figures,
    validate,
)

__all__ = [
    "COARSE8",
    "AlphabetLogitsProcessor",
    "BestOfNPool",
    "CausalLM",
    "LMEntropyStep",
    "DPORun",
    "SequenceSpace",
    "SoftQ",
    "SoftQLogitsProcessor",
    "ValidationReport",
    "best_of_n_pool",
    "best_of_n_sample",
    "build_tiny_lm",
    "coarse8_tokenizer",
    "dpo_finetune",
    "generate_samples",
    "goodness_of_fit",
    "lm_entropy_step",
    "load_causal_lm",
    "pick_device",
    "plot_report",
    "pydoc_corpus",
    "report_figures",
    "rewards",
    "sample",
    "tiny_config",
    "torch_generator",
    "train_tiny_lm",
    "validate",
    "worst_of_n_sample",
]
