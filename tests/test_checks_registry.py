"""Every registered theorem check passes on its quick instance; the registry can fail."""

import pytest

from mdpkit.checks import CheckContext, _registry, format_table, load_all, run_check

REGISTRY = load_all()


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=[pytest.mark.slow] if c.slow else []) for n, c in REGISTRY.items()],
)
def test_check_passes_on_quick_instance(name):
    res = run_check(name, quick=True)
    assert res.status in ("PASS", "SKIP"), format_table([res]) + "\n" + res.message


def test_a_wrong_prediction_fails():
    ctx = CheckContext()
    assert not ctx.compare("x", 1.0, 2.0, tol=0.5, route="closed form")
    assert ctx.compare("x", 1.0, 2.0, relation="<=", route="closed form")
    assert not ctx.compare("x", float("nan"), 0.0, tol=1.0, route="closed form")
    assert ctx.compare("x", 1.0, (0.0, 2.0), relation="in", route="closed form")


def test_crashing_and_empty_checks_are_errors(monkeypatch):
    reg = dict(_registry._REGISTRY)

    def boom(ctx):
        raise RuntimeError("boom")

    def empty(ctx):
        pass

    monkeypatch.setattr(_registry, "_REGISTRY", reg)
    _registry.register("_boom", paper="-", statement="-")(boom)
    _registry.register("_empty", paper="-", statement="-")(empty)
    assert run_check("_boom").status == "ERROR"
    assert run_check("_empty").status == "ERROR"


def test_unknown_check_name_is_a_clear_error():
    with pytest.raises(ValueError, match="registered check"):
        run_check("no_such_check")


def test_every_check_declares_its_paper_and_statement():
    for chk in REGISTRY.values():
        assert chk.paper.strip() and chk.statement.strip(), chk.name
