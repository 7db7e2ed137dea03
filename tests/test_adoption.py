"""Adopting opslint on a code base with findings: baseline, --add-noqa, --diff-from."""

from __future__ import annotations

import json
import os
import py_compile
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List

import pytest
from click.testing import Result
from clirunner import separate_runner

from opslint.add_noqa import annotate
from opslint.cli import main
from opslint.config import Settings
from opslint.engine import Linter
from opslint.gitdiff import parse_diff

SERVICE = '''\
"""Pushes invoices to the billing provider."""
import requests

BILLING = "https://api.stripe.com/v1/invoices"


def push(invoice):
    return requests.post(BILLING, json=invoice)


def status(invoice_id):
    return requests.get(f"{BILLING}/{invoice_id}")


def retry(invoice_id):
    return requests.get(f"{BILLING}/{invoice_id}")
'''


def _run(args: List[str], cwd: Path) -> Result:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return separate_runner().invoke(main, args, catch_exceptions=False)
    finally:
        os.chdir(old)


def _codes(result: Result) -> List[str]:
    return [f"{f['path']}:{f['code']}" for f in json.loads(result.stdout)]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.opslint]\n", encoding="utf-8")
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "push.py").write_text(SERVICE, encoding="utf-8")
    return tmp_path


JSON = ["--no-cache", "--output-format", "json"]


# -- baseline ---------------------------------------------------------------------------------


def test_baseline_hides_recorded_findings_and_survives_moved_code(project: Path) -> None:
    written = _run(["check", "--write-baseline", "opslint-baseline.json", "."], project)
    assert written.exit_code == 0 and "Wrote 4 findings to the baseline" in written.stderr
    data = json.loads((project / "opslint-baseline.json").read_text())
    assert data["version"] == 1
    dup = [e for e in data["findings"] if e["snippet"] == 'return requests.get(f"{BILLING}/{invoice_id}")']
    assert dup == [{"path": "billing/push.py", "code": "OPS502", "snippet": dup[0]["snippet"], "count": 2}], (
        "identical lines are counted, not keyed by line number"
    )

    clean = _run(["check", *JSON, "--baseline", "opslint-baseline.json", "."], project)
    assert clean.exit_code == 0 and json.loads(clean.stdout) == []
    assert "4 findings in the baseline opslint-baseline.json not shown." in clean.stderr

    # Move code, re-indent, add lines above and one new finding.
    moved = SERVICE.replace(
        '"""Pushes invoices to the billing provider."""\n',
        '"""Pushes invoices."""\n\nimport logging\n\nLOG = logging.getLogger(__name__)\n',
    )
    moved = moved.replace(
        "def retry(invoice_id):\n    return", "class Retrier:\n    def retry(self, invoice_id):\n        return"
    )
    moved += '\n\ndef refund(invoice_id):\n    return requests.delete(f"{BILLING}/{invoice_id}")\n'
    (project / "billing" / "push.py").write_text(moved, encoding="utf-8")
    result = _run(["check", *JSON, "--baseline", "opslint-baseline.json", "."], project)
    found = json.loads(result.stdout)
    assert [(f["code"], f["line"]) for f in found] == [
        ("OPS502", moved.splitlines().index('    return requests.delete(f"{BILLING}/{invoice_id}")') + 1)
    ]
    assert result.exit_code == 1


def test_a_third_copy_of_a_baselined_line_is_new(project: Path) -> None:
    _run(["check", "--write-baseline", "base.json", "."], project)
    text = SERVICE + '\n\ndef again(invoice_id):\n    return requests.get(f"{BILLING}/{invoice_id}")\n'
    (project / "billing" / "push.py").write_text(text, encoding="utf-8")
    found = json.loads(_run(["check", *JSON, "--baseline", "base.json", "."], project).stdout)
    assert len(found) == 1 and found[0]["code"] == "OPS502"


def test_update_baseline_only_shrinks(project: Path) -> None:
    _run(["check", "--write-baseline", "base.json", "."], project)
    before = json.loads((project / "base.json").read_text())
    fixed = SERVICE.replace("json=invoice)", "json=invoice, timeout=10)")
    fixed += '\n\ndef refund(invoice_id):\n    return requests.delete(f"{BILLING}/{invoice_id}", json={})\n'
    (project / "billing" / "push.py").write_text(fixed, encoding="utf-8")
    plain = _run(["check", *JSON, "--baseline", "base.json", "."], project)
    assert json.loads((project / "base.json").read_text()) == before, "without --update-baseline nothing is written"
    assert len(json.loads(plain.stdout)) == 1
    updated = _run(["check", *JSON, "--baseline", "base.json", "--update-baseline", "."], project)
    assert "Removed 1 finding that no longer occur" in updated.stderr
    after = json.loads((project / "base.json").read_text())
    assert sum(e["count"] for e in after["findings"]) == 3
    assert not any("delete" in e["snippet"] for e in after["findings"]), "new findings are never added"


def test_baseline_paths_are_relative_to_the_file_so_any_cwd_works(project: Path) -> None:
    _run(["check", "--write-baseline", "base.json", "."], project)
    result = _run(["check", *JSON, "--baseline", "../base.json", "."], project / "billing")
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_bad_baseline_and_bad_combinations_exit_2(project: Path) -> None:
    (project / "bad.json").write_text("{not json", encoding="utf-8")
    result = _run(["check", "--baseline", "bad.json", "."], project)
    assert result.exit_code == 2 and "not JSON" in result.stderr
    assert _run(["check", "--baseline", "missing.json", "."], project).exit_code == 2
    assert _run(["check", "--update-baseline", "."], project).exit_code == 2


# -- --add-noqa -----------------------------------------------------------------------------------

TRICKY = '''\
"""Reports."""
import requests



WEBHOOK = """
https://hooks.slack.com/services/T000/B000/XXXX
"""


def fetch(url):
    return requests.get(url) \\
        .json()


def push(url):
    return requests.post(url, data=b"x")  # type: ignore[call-arg]


def ping(url):
    return requests.head(url)  # noqa: E501 legacy endpoint


def call(url):
    return requests.put(
        url,
        data="x",
    )
'''


def test_add_noqa_places_directives_where_the_engine_reads_them(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.opslint]\n", encoding="utf-8")
    path = tmp_path / "reports.py"
    path.write_text(TRICKY, encoding="utf-8")
    before = _codes(_run(["check", *JSON, "."], tmp_path))
    assert len(before) >= 5
    result = _run(["check", "--no-cache", "--add-noqa", "."], tmp_path)
    assert result.exit_code == 0 and "Added" in result.stderr
    text = path.read_text(encoding="utf-8")
    py_compile.compile(str(path), doraise=True)
    assert '"""  # noqa: OPS501\n' in text, "a multi-line string: on its closing line"
    assert "return requests.get(url) \\\n        .json()  # noqa: OPS502\n" in text, "after the continuation"
    assert "# type: ignore[call-arg]  # noqa: OPS502\n" in text, "another comment is kept"
    assert "# noqa: E501, OPS502 legacy endpoint\n" in text, "merged with the existing noqa, reason kept"
    assert "return requests.put(  # noqa: OPS502\n" in text
    again = _run(["check", *JSON, "."], tmp_path)
    assert again.exit_code == 0 and json.loads(again.stdout) == []
    # A second --add-noqa has nothing to do.
    assert "Added 0 noqa directives" in _run(["check", "--no-cache", "--add-noqa", "."], tmp_path).stderr


def test_add_noqa_with_a_reason_and_not_as_a_path(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.opslint]\n", encoding="utf-8")
    (tmp_path / "src").mkdir()
    path = tmp_path / "src" / "svc.py"
    path.write_text("import requests\n\n\ndef f(u):\n    return requests.get(u)\n", encoding="utf-8")
    other = tmp_path / "other.py"
    other.write_text("import requests\n\n\ndef f(u):\n    return requests.get(u)\n", encoding="utf-8")
    result = _run(["check", "--no-cache", "--add-noqa=adopted 2026-01", "src"], tmp_path)
    assert result.exit_code == 0, result.output
    assert path.read_text().endswith("requests.get(u)  # noqa: OPS502 adopted 2026-01\n")
    assert "noqa" not in other.read_text(), "only the given path"
    # Without "=", the next argument is a path, not a reason.
    _run(["check", "--no-cache", "--add-noqa", "other.py"], tmp_path)
    assert other.read_text().endswith("requests.get(u)  # noqa: OPS502\n")


def test_add_noqa_keeps_encoding_bom_and_newlines(tmp_path: Path) -> None:
    body = "# -*- coding: latin-1 -*-\nimport requests\nNAME = 'caf\xe9'\n\n\ndef f(u):\n    return requests.get(u)\n"
    path = tmp_path / "legacy.py"
    path.write_bytes(body.replace("\n", "\r\n").encode("latin-1"))
    result = _run(["check", "--isolated", "--no-cache", "--add-noqa", "."], tmp_path)
    assert result.exit_code == 0
    data = path.read_bytes()
    assert data.endswith(b"requests.get(u)  # noqa: OPS502\r\n") and b"caf\xe9" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_annotate_skips_files_that_do_not_parse() -> None:
    findings = Linter().lint_text("import requests\nrequests.get(u)\n", "a.py", Settings()).findings
    assert annotate("def broken(:\n", findings) is None


# -- --diff-from --------------------------------------------------------------------------------------

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(cwd: Path, *args: str) -> str:
    env: Dict[str, str] = {**os.environ, **GIT_ENV, "HOME": str(cwd)}
    proc = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return proc.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_diff_from_reports_only_changed_lines(project: Path) -> None:
    _git(project, "init", "-q")
    _git(project, "add", ".")
    _git(project, "commit", "-q", "-m", "start")
    assert json.loads(_run(["check", *JSON, "--diff-from", "HEAD", "."], project).stdout) == []
    text = SERVICE.replace("def status(invoice_id):\n", "def status(invoice_id):\n    # look it up\n")
    text = text.replace(
        'return requests.get(f"{BILLING}/{invoice_id}")\n\n\ndef retry',
        'return requests.get(f"{BILLING}/{invoice_id}", stream=True)\n\n\ndef retry',
    )
    (project / "billing" / "push.py").write_text(text, encoding="utf-8")
    (project / "billing" / "new.py").write_text("import requests\nrequests.get('x')\n", encoding="utf-8")
    result = _run(["check", *JSON, "--diff-from", "HEAD", "."], project)
    found = sorted((f["path"], f["line"]) for f in json.loads(result.stdout))
    assert found == [("billing/new.py", 2), ("billing/push.py", 13)]
    assert "on lines not changed since HEAD not shown" in result.stderr
    assert _run(["check", "--diff-from", "no-such-rev", "."], project).exit_code == 2
    assert "changed since" in _run(["check", "--help"], project).output


def test_parse_diff_counts_added_lines_only(tmp_path: Path) -> None:
    diff = (
        "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -3 +3 @@\n-x\n+y\n@@ -10,2 +11,0 @@\n-z\n-w\n"
        "@@ -20,0 +21,3 @@\n+a\n+b\n+c\n--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-q\n"
    )
    changes = parse_diff(diff, str(tmp_path))
    assert changes == {str(tmp_path / "a.py"): {3, 21, 22, 23}}
