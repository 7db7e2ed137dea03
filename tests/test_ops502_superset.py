"""OPS502 is a superset of ruff S113 (request-without-timeout).

Runs the real ruff binary on every OPS502 fixture: each S113 finding must also
be an OPS502 finding on the same line, except S113's known false positives on
``requests.get(url, **kwargs)`` (the dict may carry the timeout) and on an httpx
client built with ``timeout=None`` whose every request passes its own ``timeout=``.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from typing import List, Set, Tuple

import pytest
from expectations import FIXTURES

from opslint.config import Settings
from opslint.engine import Linter

FOLDER = os.path.join(FIXTURES, "OPS502")


def _ruff() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "ruff")
    found = beside if os.path.exists(beside) else shutil.which("ruff")
    if found is None:
        pytest.skip("ruff is not installed")
    return found


def _cases() -> List[str]:
    return sorted(
        os.path.join(FOLDER, name)
        for name in os.listdir(FOLDER)
        if name.endswith(".py") and not name.endswith(".fixed.py")
    )


def _s113(path: str) -> List[Tuple[int, int]]:
    out = subprocess.run(
        [_ruff(), "check", "--isolated", "--select", "S113", "--output-format", "json", "--exit-zero", path],
        capture_output=True,
        text=True,
        check=True,
    )
    return [(d["location"]["row"], d["location"]["column"]) for d in json.loads(out.stdout or "[]")]


def _ops502_lines(path: str) -> Set[int]:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    settings = Settings(root=FOLDER, select=("OPS502",))
    findings = Linter(strict=True, cwd=FOLDER).lint_text(text, path, settings).findings
    return {f.span.line for f in findings if f.code == "OPS502"}


def _star_kwargs_call_at(path: str, line: int) -> bool:
    """Whether a call on ``line`` passes ``**kwargs`` (S113's known false positive)."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.func.lineno == line:
            if any(kw.arg is None for kw in node.keywords):
                return True
    return False


_REQUEST_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "request", "stream", "send"}


def _none_client_with_bounded_requests(path: str, line: int) -> bool:
    """Whether ``line`` builds a client with ``timeout=None`` and every request method call
    in the file passes a ``timeout=`` that is not ``None``."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    built = any(
        c.func.lineno == line
        and any(k.arg == "timeout" and isinstance(k.value, ast.Constant) and k.value.value is None for k in c.keywords)
        for c in calls
    )
    requests = [c for c in calls if isinstance(c.func, ast.Attribute) and c.func.attr in _REQUEST_METHODS]
    bounded = all(
        any(
            k.arg == "timeout" and not (isinstance(k.value, ast.Constant) and k.value.value is None) for k in c.keywords
        )
        for c in requests
    )
    return built and bool(requests) and bounded


@pytest.mark.parametrize("path", _cases(), ids=os.path.basename)
def test_every_s113_finding_is_an_ops502_finding(path: str) -> None:
    s113 = _s113(path)
    ours = _ops502_lines(path)
    missing = [
        (row, col)
        for row, col in s113
        if row not in ours and not _star_kwargs_call_at(path, row) and not _none_client_with_bounded_requests(path, row)
    ]
    assert not missing, f"S113 findings without an OPS502 finding: {missing}"


def test_s113_fires_on_the_fixtures() -> None:
    """Guard against a vacuous pass (ruff selecting nothing)."""
    total = sum(len(_s113(p)) for p in _cases())
    assert total >= 10
