"""The README's Python examples run as written (they are the first thing a user tries)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_readme_block_runs(i, tmp_path, monkeypatch):
    code = BLOCKS[i]
    if "from mdpkit import llm" in code:
        torch = pytest.importorskip("torch")
        pytest.importorskip("transformers")
        # like tests/llm: one torch thread (two were 7-18x slower on a loaded 2-core box)
        n_threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            _run(i, code, tmp_path, monkeypatch)
        finally:
            torch.set_num_threads(n_threads)
        return
    _run(i, code, tmp_path, monkeypatch)


def _run(i, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    # blocks build on the names of earlier blocks, as a reader would run them
    for prev in BLOCKS[:i]:
        if "import mdpkit as mk" in prev and "mdp = " in prev:
            exec(prev, ns)
            break
    exec(code, ns)


def test_readme_starts_with_the_two_commands():
    text = README.read_text()
    first = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1).strip().splitlines()
    assert len(first) == 2
    assert first[0].endswith("mdpkit check --all")
    assert "pytest" in first[1]
