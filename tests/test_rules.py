"""One parametrized suite over every fixture case: findings, golden fixes, idempotence."""

from __future__ import annotations

import os
from typing import List, Set

import pytest
from expectations import Case, Expectation, discover

from opslint.config import ConfigResolver, Overrides, Settings
from opslint.engine import Linter
from opslint.fixes import fix_text, parses
from opslint.model import Finding
from opslint.registry import Registry
from opslint.runner import RunOptions, run

CASES = discover()


def _lint_file(case: Case, text: str) -> List[Finding]:
    folder = os.path.dirname(case.path)
    settings = Settings(root=folder, select=(case.code,))
    return Linter(strict=True, cwd=folder).lint_text(text, case.path, settings).findings


def _found(case: Case) -> Set[Expectation]:
    if case.is_project:
        resolver = ConfigResolver(Overrides(select=(case.code,)), cwd=case.path, catalog=Registry.default())
        result = run([case.path], resolver, RunOptions(strict=True, jobs=1), cwd=case.path)
        findings = result.findings
    else:
        with open(case.path, encoding="utf-8") as handle:
            findings = _lint_file(case, handle.read())
    return {
        (f.path, f.span.line, f.code, f.fix.applicability.value if f.fix else "")
        for f in findings
        if f.code == case.code
    }


def _normalise(expected: Set[Expectation], found: Set[Expectation]) -> Set[Expectation]:
    """A marker without applicability matches a finding with any."""
    loose = {(p, line, code) for (p, line, code, app) in expected if not app}
    return {(p, line, code, "") if (p, line, code) in loose else (p, line, code, app) for (p, line, code, app) in found}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_findings_match_markers(case: Case) -> None:
    expected = set(case.expected())
    found = _normalise(expected, _found(case))
    missing = sorted(expected - found)
    extra = sorted(found - expected)
    assert not missing and not extra, f"missing: {missing}\nunexpected: {extra}"


GOLDEN = [c for c in CASES if c.has_golden]


@pytest.mark.parametrize("case", GOLDEN, ids=lambda c: c.id)
def test_fix_matches_golden(case: Case, update_golden: bool) -> None:
    with open(case.path, encoding="utf-8") as handle:
        original = handle.read()
    outcome = fix_text(original, lambda t: _lint_file(case, t), unsafe=True)
    assert not outcome.failure
    golden = case.golden_path
    assert golden is not None
    if update_golden:
        with open(golden, "w", encoding="utf-8") as handle:
            handle.write(outcome.text)
    with open(golden, encoding="utf-8") as handle:
        expected = handle.read()
    assert outcome.text == expected
    assert outcome.text != original, "a golden file must show a change"
    assert parses(outcome.text)
    again = fix_text(outcome.text, lambda t: _lint_file(case, t), unsafe=True)
    assert again.text == outcome.text, "fixes must converge (idempotent)"


def test_every_fixture_with_a_fix_has_a_golden_file() -> None:
    """A positive case whose findings carry applicable fixes needs a golden file."""
    lacking = []
    for case in CASES:
        if case.is_project or case.has_golden:
            continue
        with open(case.path, encoding="utf-8") as handle:
            findings = _lint_file(case, handle.read())
        if any(f.fix is not None and f.fix.is_applicable for f in findings):
            lacking.append(case.id)
    assert not lacking, f"add golden .fixed.py files (pytest --update-golden): {lacking}"
