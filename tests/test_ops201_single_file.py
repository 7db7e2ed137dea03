"""OPS201 on one file of a project (flake8, the LSP, pre-commit) finds what a whole-project run finds there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, List, Set, Tuple

import pytest
from expectations import Case, discover

from opslint import project
from opslint.config import ConfigResolver, Overrides
from opslint.engine import Linter
from opslint.model import Finding
from opslint.registry import Registry
from opslint.runner import RunOptions, run

CODE = "OPS201"
PROJECTS = [c for c in discover() if c.code == CODE and c.is_project]
FILES = [(case, path) for case in PROJECTS for path in case.files()]

#: (path relative to the project, line, column, message)
Key = Tuple[str, int, int, str]


@pytest.fixture(autouse=True)
def _fresh_indexes() -> Any:
    project.forget()
    yield
    project.forget()


def _keys(findings: List[Finding], base: str) -> Set[Key]:
    out = set()
    for f in findings:
        if f.code != CODE:
            continue
        rel = os.path.relpath(os.path.join(base, f.path), base).replace(os.sep, "/")
        out.add((rel, f.span.line, f.span.column, f.message))
    return out


def _whole(case: Case) -> Set[Key]:
    resolver = ConfigResolver(Overrides(select=(CODE,)), cwd=case.path, catalog=Registry.default())
    result = run([case.path], resolver, RunOptions(strict=True, jobs=1), cwd=case.path)
    return _keys(result.findings, case.path)


def _rel(case: Case, path: str) -> str:
    return os.path.relpath(path, case.path).replace(os.sep, "/")


def test_there_are_project_fixtures() -> None:
    assert len(PROJECTS) >= 4


@pytest.mark.parametrize("case,path", FILES, ids=[f"{c.id}:{os.path.relpath(p, c.path)}" for c, p in FILES])
def test_linter_on_one_file_matches_the_project_run(case: Case, path: str) -> None:
    """The engine alone (as the flake8 plugin and the LSP call it) on a fresh process state."""
    expected = {k for k in _whole(case) if k[0] == _rel(case, path)}
    project.forget()
    settings = ConfigResolver(Overrides(select=(CODE,)), cwd=case.path, catalog=Registry.default()).for_path(path)
    findings = Linter(strict=True, cwd=case.path).lint_file(path, settings).findings
    assert _keys(findings, case.path) == expected


def _cli(case: Case, path: str) -> Set[Key]:
    proc = subprocess.run(
        [sys.executable, "-m", "opslint", "check", "--select", CODE, "--output-format", "json", path],
        cwd=case.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    out = set()
    for item in json.loads(proc.stdout or "[]"):
        if item["code"] == CODE:
            rel = _rel(case, os.path.join(case.path, item["path"]))
            out.add((rel, item["line"], item["column"], item["message"]))
    return out


#: Project cases with findings (near-miss projects have none to compare).
POSITIVE_PROJECTS = [c for c in PROJECTS if c.expected()]


@pytest.mark.parametrize("case", POSITIVE_PROJECTS, ids=[c.id for c in POSITIVE_PROJECTS])
def test_cli_on_a_file_with_findings_matches_the_project_run(case: Case) -> None:
    """``opslint check <file>`` in a new process, on the file of the project with the most findings."""
    whole = _whole(case)
    assert whole, "every OPS201 project fixture has findings"
    counts = {}
    for key in whole:
        counts[key[0]] = counts.get(key[0], 0) + 1
    rel = max(sorted(counts), key=lambda r: counts[r])
    assert _cli(case, os.path.join(case.path, rel)) == {k for k in whole if k[0] == rel}


@pytest.mark.slow
@pytest.mark.parametrize("case", PROJECTS, ids=[c.id for c in PROJECTS])
def test_cli_on_each_file_matches_the_project_run(case: Case) -> None:
    """``opslint check <file>`` in a new process, file by file."""
    whole = _whole(case)
    seen: Set[Key] = set()
    for path in case.files():
        seen |= _cli(case, path)
    assert seen == whole
