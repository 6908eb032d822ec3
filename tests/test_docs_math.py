"""The ASCII -> MathJax conversion of check statements (docs/_ext/mdpkit_math.py)."""

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "_ext"))
mm = pytest.importorskip("mdpkit_math", reason="docs/_ext missing")


def render(text: str) -> str:
    """``$...$`` around math, ``|...|`` around code: a readable form of the segments."""
    out = []
    for kind, piece in mm.segments(text):
        out.append({"text": piece, "math": f"${mm.to_latex(piece) if kind == 'math' else ''}$",
                    "code": f"|{piece}|"}[kind])
    return "".join(out)


@pytest.mark.parametrize("ascii_, latex", [
    ("E[R_T] <= 2 sqrt(e-1) sqrt(T K ln K)", r"\mathbb{E}[R_{T}] \le 2 \sqrt{e-1} \sqrt{T K \ln K}"),
    ("KL(pi_N || p) <= log N - (N-1)/N", r"\mathrm{KL} (\pi _{N} \| p) \le \log N - (N-1)/N"),
    ("pi* = pi0 e^{r/beta}/Z", r"\pi ^{*} = \pi _{0} e^{r/\beta }/Z"),
    ("V*_beta", r"V^{*}_{\beta}"),
    ("Q_hat_h", r"\hat{Q}_{h}"),
    ("beta in {1e-12, 1}", r"\beta \in \{10^{-12}, 1\}"),
    ("K^(-1/2) +- 0.1", r"K^{(-1/2)} \pm 0.1"),
    ("N -> infinity", r"N \to \infty"),
])
def test_to_latex(ascii_, latex):
    assert mm.to_latex(ascii_) == latex


def test_segments_keep_prose_and_convert_math():
    got = render("On any oblivious sequence in [0,1]^K: EXP3 with the tuned gamma has "
                 "E[R_T] <= sqrt(T K ln K); the log-log slope of E[R_T] in T is 1/2.")
    assert got == (r"On any oblivious sequence in $[0,1]^{K}$: EXP3 with the tuned $\gamma$ has "
                   r"$\mathbb{E}[R_{T}] \le \sqrt{T K \ln K}$; the log-log slope of "
                   r"$\mathbb{E}[R_{T}]$ in T is $1/2$.")


def test_segments_turn_rest_literals_and_roles_into_code():
    got = render("Draws ``bandit_ucb1_bound`` with :func:`mdpkit.plotting.style`, `x_y` and "
                 ":class:`title <mdpkit.X>`.")
    assert got == "Draws |bandit_ucb1_bound| with |mdpkit.plotting.style|, |x_y| and |title|."


def test_code_calls_and_claim_labels_stay_text():
    got = render("solve(method='linear_programming') and generate(top_k=0, top_p=1); CLAIMS C2/C3")
    assert "$" not in got
    assert render("(mdpkit.reward_hacking.gold_curve).") == "(|mdpkit.reward_hacking.gold_curve|)."


def _balanced(tex: str) -> bool:
    depth = 0
    for ch in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _statements():
    """Every text the docs render through the converter: check statements and papers,
    and the docstrings of the figure scripts (the gallery)."""
    import ast

    from mdpkit.checks import load_all

    for name, chk in load_all().items():
        yield name, chk.statement
        yield name, chk.paper
    for script in sorted((Path(__file__).resolve().parents[1] / "paper_figures").glob("fig*.py")):
        doc = ast.get_docstring(ast.parse(script.read_text())) or ""
        for para in doc.split("\n\n"):
            yield script.stem, " ".join(para.split())


def test_every_statement_converts_to_balanced_latex():
    """No ASCII relation or sqrt( is left in the prose; every LaTeX piece is well formed."""
    for name, text in _statements():
        for kind, piece in mm.segments(text):
            if kind == "math":
                tex = mm.to_latex(piece)
                assert _balanced(tex), (name, piece, tex)
                assert not re.search(r"<=|>=|->|sqrt\(|\x00", tex), (name, tex)
                doubled = [k for k, ch in enumerate(tex) if ch in "^_" and mm._last_script([tex[:k]]) == ch]
                assert not doubled, (name, tex)  # a double subscript is a MathJax error
            elif kind == "text":
                assert not re.search(r"<=|>=| -> |sqrt\(", piece), (name, piece)
