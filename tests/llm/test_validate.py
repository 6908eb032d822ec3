"""validate(): exact predictions vs model sampling, verdicts that can fail, report I/O,
and the ``mdpkit llm`` command."""

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from mdpkit import llm  # noqa: E402
from mdpkit.cli import main  # noqa: E402
from mdpkit.llm import _validate  # noqa: E402


@pytest.fixture(scope="module")
def report(tiny):
    return llm.validate(tiny, llm.rewards.keyword("e"), length=4, n_values=[1, 2, 8],
                        n_samples=3000, long_length=10, long_n_values=[2, 8],
                        long_samples=300, rng=0)


def test_every_prediction_agrees_with_sampling(report):
    assert report.passed, report.table
    sections = {r.section.split(" (")[0] for r in report.rows}
    assert sections == {"sampler", "best-of-N", "worst-of-N", "token identity", "tilted",
                        "BoN vs tilted", "long sequences"}
    bound_rows = [r for r in report.rows if r.quantity.startswith("KL exact <=")]
    assert len(bound_rows) == 3
    # the keyword reward has ties, so the exact KL is strictly below the bound for N > 1
    assert all(r.measured < r.predicted for r in bound_rows[1:])


def test_report_outputs(report, tmp_path):
    text = report.table
    assert "best-of-N" in text and "PASS" in text and text.endswith("0 failed")
    md = report.to_markdown()
    assert "| section | quantity |" in md
    paths = report.write(tmp_path, figures=llm.plot_report(report, tmp_path / "figures"))
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["passed"] is True and len(data["rows"]) == len(report.rows)
    assert "figures/llm_bon_kl_win.png" in (tmp_path / "report.md").read_text()
    assert all(p.exists() for p in paths)
    assert (tmp_path / "figures" / "llm_long.pdf").exists()


def test_a_sampler_that_ignores_the_reward_fails(tiny, monkeypatch):
    """Best-of-N that returns the first draw instead of the best must be caught."""
    real = _validate.best_of_n_pool

    class FirstDraw:
        def __init__(self, pool):
            self.pool = pool

        def select(self, n, *, worst=False, ties="random", rng=None):
            return self.pool.select(1, rng=rng)

    monkeypatch.setattr(_validate, "best_of_n_pool", lambda *a, **k: FirstDraw(real(*a, **k)))
    rep = llm.validate(tiny, length=3, n_values=[1, 8], n_samples=2000, long_length=None,
                       generate_check=False, rng=0)
    failed = {(r.section, r.param) for r in rep.failures()}
    assert ("best-of-N", "N=8") in failed and ("worst-of-N", "N=8") in failed
    assert not any(p == "N=1" for _, p in failed)


def test_a_biased_model_sampler_fails_the_gof(tiny, monkeypatch):
    """Sampling at temperature 1.3 (a different law) is detected."""
    real = _validate.sample

    def hot(lm, n, length, **kw):
        if kw.get("logits_processor") is None:
            kw["logits_processor"] = lambda ids, scores: scores / 1.3
        return real(lm, n, length, **kw)

    monkeypatch.setattr(_validate, "sample", hot)
    rep = llm.validate(tiny, length=3, n_values=[1], n_samples=5000, long_length=None,
                       generate_check=False, rng=0)
    assert any(r.section == "sampler" and not r.passed for r in rep.rows)


def test_zero_variance_rows_use_the_rule_of_three():
    rows = _validate._Rows(z=3.0)
    row = rows.mc("s", "q", "", np.zeros(100), 0.02, 1.0, "exact")
    assert row.se == 0 and row.tolerance == pytest.approx(0.03 + 1e-9) and row.passed


def test_effective_range_ignores_negligible_atoms():
    f = np.array([-500.0, 0.0, 1.0, 2.0])
    p = np.array([1e-12, 0.5, 0.25, 0.25])
    assert _validate._effective_range(f, p) == 2.0
    assert _validate._effective_range(f, p, tail=1e-13) == 502.0


def test_validate_input_errors(tiny):
    with pytest.raises(ValueError, match="`n_values` must not be empty"):
        llm.validate(tiny, n_values=[])
    with pytest.raises(ValueError, match=r"`n_values\[i\]` must be >= 1"):
        llm.validate(tiny, n_values=[0, 2])
    with pytest.raises(ValueError, match=r"8\*\*9 = 134,217,728"):
        llm.validate(tiny, length=9)
    with pytest.raises(TypeError, match="mdpkit.llm.CausalLM"):
        llm.validate(object())
    with pytest.raises(ValueError, match="`z` must be > 0"):
        llm.validate(tiny, z=0)


def test_cli_validate_on_a_saved_model(tiny, tmp_path, capsys):
    path = tiny.save(tmp_path / "model")
    out = tmp_path / "rep"
    rc = main(["llm", "validate", "--model", str(path), "--length", "3", "--n", "1", "4",
               "--samples", "1500", "--long-length", "0", "--out", str(out),
               "--no-figures"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "0 failed" in text and (out / "report.md").exists() and (out / "report.json").exists()


def test_cli_reports_a_missing_model(tmp_path, capsys):
    rc = main(["llm", "validate", "--model", str(tmp_path / "missing"), "--out",
               str(tmp_path / "rep")])
    assert rc == 2
    cap = capsys.readouterr()
    assert "does not exist" in cap.err and cap.out == ""   # errors go to stderr


def test_cli_and_check_modules_do_not_import_torch():
    code = ("import sys, mdpkit.cli, mdpkit.commands.llm, mdpkit.checks.llm; "
            "mdpkit.cli.build_parser(); print('torch' in sys.modules, 'transformers' in sys.modules)")
    import os
    from pathlib import Path

    import mdpkit

    root = str(Path(mdpkit.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout.strip()
    assert out == "False False"


@pytest.mark.gpu
def test_validate_on_gpu_at_larger_sizes():
    """On a CUDA device: 8**6 sequences, 100k draws per estimate, length-32 section."""
    lm = llm.train_tiny_lm(steps=300, hidden_size=64, n_heads=4, rng=0, device="cuda")
    rep = llm.validate(lm, length=6, n_values=[1, 2, 8, 64], n_samples=100_000,
                       long_length=32, long_n_values=[2, 16], long_samples=5000, rng=0)
    assert rep.info["device"].startswith("cuda")
    assert rep.passed, rep.table


def test_constant_reward_is_a_degenerate_but_valid_case(tiny, tmp_path):
    """All sequences tie: best-of-N is the reference (KL 0, win rate 1/2), the tilted
    section has nothing to tilt, and every row still passes."""
    import torch

    rep = llm.validate(tiny, lambda t: torch.zeros(len(t)), length=2, n_values=[1, 4],
                       n_samples=300, long_length=4, long_n_values=[4], long_samples=50,
                       rng=0)
    assert rep.passed, rep.table
    assert not any(r.section == "tilted" for r in rep.rows)
    assert all(abs(r.measured) < 1e-12 for r in rep.rows if r.quantity == "KL(pi_N||ref)")
    assert llm.plot_report(rep, tmp_path)


def test_report_rows_are_the_registry_comparisons(report):
    """One comparison type: the LLM report's rows and table are the check registry's."""
    from mdpkit.checks._registry import Comparison as RegistryComparison
    from mdpkit.checks._report import format_table

    assert all(isinstance(r, RegistryComparison) for r in report.rows)
    assert report.table.splitlines()[0].split() == format_table([]).splitlines()[0].split()


def test_report_summary_and_frame(report):
    n_fail = len(report.failures())
    assert report.summary().endswith(f"{len(report.rows) - n_fail} passed, {n_fail} failed")
    frame = report.to_frame()
    assert len(frame) == len(report.rows) and frame["passed"].sum() == len(report.rows) - n_fail
