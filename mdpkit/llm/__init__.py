"""LLM bridge (optional extra ``[llm]``): under construction."""

try:
    import torch  # noqa: F401
    import transformers  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "`mdpkit.llm` needs the optional dependencies torch and transformers; install them "
        "with `pip install torch==2.13.0` then `pip install mdpkit[llm]`."
    ) from e
