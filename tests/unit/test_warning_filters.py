"""The suite's FutureWarning filter (pyproject ``filterwarnings``) is scoped to mdpkit.

A FutureWarning attributed to an mdpkit module (raised by mdpkit, or a library's
deprecation warning whose ``stacklevel`` points at the mdpkit line that calls it) must
fail the test; one that a third-party package raises about its own internals, or that
test code triggers directly, must not. pytest runs in a subprocess with the project's
configuration on a generated test file whose functions live in modules named
``mdpkit._probe`` and ``fakelib.api`` (``warnings`` attributes a warning to the
``__name__`` of the frame at ``stacklevel``).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent('''
    import warnings


    def _module(name, src):
        """Define ``src`` in a namespace whose ``__name__`` is ``name`` (a stand-in module)."""
        g = {"__name__": name}
        exec(compile(src, "<" + name + ">", "exec"), g)
        return g


    LIB = _module("fakelib.api", (
        "import warnings\\n"
        "def old_api():\\n"
        "    warnings.warn('old_api is deprecated', FutureWarning, stacklevel=2)\\n"
        "def internal():\\n"
        "    warnings.warn('fakelib internals', FutureWarning, stacklevel=1)\\n"
    ))
    OURS = _module("mdpkit._probe", (
        "import warnings\\n"
        "def raise_own():\\n"
        "    warnings.warn('an mdpkit deprecation', FutureWarning)\\n"
        "def call_old(lib):\\n"
        "    lib['old_api']()\\n"
        "def call_internal(lib):\\n"
        "    lib['internal']()\\n"
    ))
    LOOKALIKE = _module("mdpkitx.mod", (
        "import warnings\\n"
        "def raise_own():\\n"
        "    warnings.warn('not mdpkit', FutureWarning)\\n"
    ))


    def test_raised_by_mdpkit():
        OURS["raise_own"]()


    def test_mdpkit_calls_deprecated_api():
        OURS["call_old"](LIB)


    def test_third_party_internal_via_mdpkit():
        OURS["call_internal"](LIB)


    def test_test_code_calls_deprecated_api():
        LIB["old_api"]()


    def test_module_named_like_mdpkit():
        LOOKALIKE["raise_own"]()
''')


def test_future_warning_filter_is_scoped_to_mdpkit(tmp_path: Path) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    report = tmp_path / "report.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT),
         "-p", "no:cacheprovider", "-q", f"--junitxml={report}", str(probe)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert report.exists(), proc.stdout + proc.stderr
    outcome = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        failure = case.find("failure")
        outcome[case.get("name")] = "passed" if failure is None else failure.get("message", "failed")
    assert set(outcome) == {
        "test_raised_by_mdpkit", "test_mdpkit_calls_deprecated_api",
        "test_third_party_internal_via_mdpkit", "test_test_code_calls_deprecated_api",
        "test_module_named_like_mdpkit",
    }, proc.stdout
    for name in ("test_raised_by_mdpkit", "test_mdpkit_calls_deprecated_api"):
        assert "FutureWarning" in outcome[name], (name, outcome[name], proc.stdout)
    for name in ("test_third_party_internal_via_mdpkit", "test_test_code_calls_deprecated_api",
                 "test_module_named_like_mdpkit"):
        assert outcome[name] == "passed", (name, outcome[name], proc.stdout)
