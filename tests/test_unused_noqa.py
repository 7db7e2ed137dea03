"""OPS005 unused-noqa: which codes count as unused, the fix, and where it is never reported."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
from click.testing import CliRunner

from opslint.cli import main
from opslint.config import Settings
from opslint.engine import Linter
from opslint.fixes import fix_text
from opslint.suppress import parse

SOURCE = '''\
"""Syncs invoices with the billing provider."""
import requests

API = "https://api.stripe.com/v1/charges"  # noqa: OPS501


def fetch(url):
    return requests.get(url, timeout=10)  # noqa: OPS502


def push(url, body):
    return requests.post(url, json=body)  # noqa: E501, OPS502, OPS501 provider enforces a deadline


def ping(url):
    reply = requests.head(url, timeout=1)  # type: ignore  # noqa: OPS502
    requests.get(url, timeout=2)  # noqa: OPS502  # pragma: no cover
    return reply  # noqa: OPS104, OPS999, S113
'''


def _lint(text: str, settings: Settings, *, line_noqa: bool = True) -> List[str]:
    findings = Linter().lint_text(text, "billing/sync.py", settings, line_noqa=line_noqa).findings
    return [f"{f.span.line}:{f.code}:{f.message}" for f in sorted(findings, key=lambda f: f.sort_key())]


def test_reports_only_codes_of_rules_that_ran_and_suppressed_nothing() -> None:
    got = _lint(SOURCE, Settings())
    assert got == [
        "8:OPS005:Unused `noqa` directive (unused: `OPS502`)",
        "12:OPS005:Unused `noqa` directive (unused: `OPS501`)",
        "16:OPS005:Unused `noqa` directive (unused: `OPS502`)",
        "17:OPS005:Unused `noqa` directive (unused: `OPS502`)",
    ]
    # Line 4 suppressed an OPS501 finding: used.  Line 18: OPS104 is off by default,
    # OPS999 is no rule, S113 is another tool's code.


def test_codes_of_rules_that_did_not_run_are_no_evidence() -> None:
    # Only OPS501 selected: the OPS502 codes say nothing.
    got = _lint(SOURCE, Settings(select=("OPS501",)))
    assert got == ["12:OPS005:Unused `noqa` directive (unused: `OPS501`)"]
    # Per-file ignores switch OPS005 itself off.
    assert _lint(SOURCE, Settings(ignore=("OPS005",))) == []


def test_the_fix_removes_codes_or_whole_directives_and_keeps_the_rest() -> None:
    linter = Linter()
    outcome = fix_text(SOURCE, lambda t: linter.lint_text(t, "billing/sync.py", Settings()).findings, False)
    assert outcome.remaining == []
    fixed = outcome.text
    ast.parse(fixed)
    assert 'API = "https://api.stripe.com/v1/charges"  # noqa: OPS501\n' in fixed
    assert "return requests.get(url, timeout=10)\n" in fixed
    assert "# noqa: E501, OPS502 provider enforces a deadline\n" in fixed
    assert "reply = requests.head(url, timeout=1)  # type: ignore\n" in fixed
    assert "requests.get(url, timeout=2)  # pragma: no cover\n" in fixed
    assert "# noqa: OPS104, OPS999, S113\n" in fixed


def test_an_own_line_noqa_goes_with_its_line() -> None:
    text = "import requests\n\n\ndef f(url):\n    # noqa: OPS502\n    return requests.get(url, timeout=3)\n"
    linter = Linter()
    outcome = fix_text(text, lambda t: linter.lint_text(t, "a.py", Settings()).findings, False)
    assert outcome.text == "import requests\n\n\ndef f(url):\n    return requests.get(url, timeout=3)\n"


def test_prefix_codes_count_only_when_every_named_rule_ran() -> None:
    text = "import requests\n\n\ndef f(url):\n    return requests.get(url, timeout=3)  # noqa: OPS5\n"
    # OPS501/503/504 are skipped by the prefilter here (no URL): OPS5 is no evidence.
    assert _lint(text, Settings()) == []
    text = text.replace("url, timeout", '"http://a.example.com/x", timeout')
    assert _lint(text, Settings(select=("OPS502", "OPS503"))) == []  # OPS501 and OPS504 not selected


def test_never_with_line_noqa_off_as_under_flake8() -> None:
    assert _lint(SOURCE, Settings(), line_noqa=False) == [
        line for line in _lint(SOURCE, Settings(), line_noqa=False) if "OPS005" not in line
    ]
    assert not any("OPS005" in line for line in _lint(SOURCE, Settings(), line_noqa=False))


def test_noqa_on_the_last_line_of_a_continuation_or_string_applies_to_all_of_it() -> None:
    text = 'x = 1 + \\\n    2  # noqa: OPS502\ny = """a\nb"""  # noqa: OPS501\n'
    noqa = parse(text)
    assert noqa.suppressed("OPS502", [1]) and noqa.suppressed("OPS501", [3])
    assert not noqa.suppressed("OPS502", [3])
    bracketed = "call(\n    arg,\n)  # noqa: OPS502\n"
    assert not parse(bracketed).suppressed("OPS502", [1]), "brackets do not join lines (as flake8)"


def test_flake8_never_reports_ops005(tmp_path: Path) -> None:
    pytest.importorskip("flake8")
    (tmp_path / "sync.py").write_text(SOURCE, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "OPS", "sync.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "OPS005" not in proc.stdout, proc.stdout


def test_cli_fix_removes_unused_codes(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.opslint]\n", encoding="utf-8")
    (tmp_path / "sync.py").write_text(SOURCE, encoding="utf-8")
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(main, ["check", "--no-cache", "--fix", "."], catch_exceptions=False)
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output
    assert "4 fixed, 0 remaining" in result.output
    assert "OPS502" not in (tmp_path / "sync.py").read_text(encoding="utf-8").splitlines()[7]
