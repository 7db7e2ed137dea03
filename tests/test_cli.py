"""The command line end to end (click's runner, in process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List, Optional

import libcst as cst
import pytest
from click.testing import CliRunner, Result

from opslint import __version__
from opslint.cli import main
from opslint.registry import Registry
from opslint.rule import Rule

BAD = "import requests\n\n\ndef fetch(url):\n    return requests.get(url)\n"
GOOD = "import requests\n\n\ndef fetch(url):\n    return requests.get(url, timeout=5)\n"


def _run(args: List[str], cwd: Path, stdin: str = "", registry: Optional[Registry] = None) -> Result:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        obj = {"registry": registry} if registry is not None else None
        return CliRunner().invoke(main, args, input=stdin, catch_exceptions=False, obj=obj)
    finally:
        os.chdir(old)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.opslint]\n", encoding="utf-8")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "bad.py").write_text(BAD, encoding="utf-8")
    (tmp_path / "pkg" / "good.py").write_text(GOOD, encoding="utf-8")
    return tmp_path


def test_version(tmp_path: Path) -> None:
    result = _run(["--version"], tmp_path)
    assert result.exit_code == 0 and __version__ in result.output


def test_exit_codes(project: Path) -> None:
    assert _run(["check", "pkg/good.py"], project).exit_code == 0
    assert _run(["check", "pkg"], project).exit_code == 1
    assert _run(["check", "pkg", "--exit-zero"], project).exit_code == 0
    bad = _run(["check", "pkg", "--select", "BOGUS1"], project)
    assert bad.exit_code == 2 and "unknown rule selector `BOGUS1`" in bad.output


def test_config_error_is_exit_2_and_names_the_key(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.opslint]\nselct = []\n", encoding="utf-8")
    result = _run(["check", "pkg"], project)
    assert result.exit_code == 2
    assert "pyproject.toml: unknown key `selct`" in result.output


def test_json_contract(project: Path) -> None:
    result = _run(["check", "pkg", "--output-format", "json", "--select", "OPS502"], project)
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert isinstance(data, list) and len(data) == 1
    item = data[0]
    assert set(item) >= {
        "code",
        "name",
        "message",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "severity",
        "url",
        "fingerprint",
        "fix",
    }
    assert item["code"] == "OPS502" and item["name"] == "missing-timeout"
    assert item["path"] == "pkg/bad.py"
    assert (item["line"], item["column"]) == (5, 12)
    assert item["end_line"] == 5 and item["end_column"] > item["column"]
    assert item["severity"] == "warning" and item["url"].endswith("OPS502.md")
    fix = item["fix"]
    assert fix["applicability"] == "unsafe" and fix["message"]
    for edit in fix["edits"]:
        assert set(edit) == {"line", "column", "end_line", "end_column", "content"}


def test_empty_json_run_prints_an_empty_array(project: Path) -> None:
    result = _run(["check", "pkg/good.py", "--output-format", "json"], project)
    assert result.exit_code == 0 and json.loads(result.output) == []


def test_fingerprint_survives_moving_code(project: Path) -> None:
    first = json.loads(_run(["check", "pkg/bad.py", "--output-format", "json"], project).output)
    (project / "pkg" / "bad.py").write_text("# a new comment\n\n" + BAD, encoding="utf-8")
    second = json.loads(_run(["check", "pkg/bad.py", "--output-format", "json"], project).output)
    assert first[0]["line"] != second[0]["line"]
    assert first[0]["fingerprint"] == second[0]["fingerprint"]


def test_full_output_has_snippet_caret_and_help(project: Path) -> None:
    result = _run(["check", "pkg/bad.py", "--select", "OPS502"], project)
    out = result.output
    assert "OPS502 " in out and " --> pkg/bad.py:5:12" in out
    assert "5 |     return requests.get(url)" in out
    assert "^^^^" in out and "help:" in out
    assert "Found 1 problem." in out
    assert "1 hidden fix can be enabled" in out
    (project / "pkg" / "more.py").write_text(BAD, encoding="utf-8")
    assert "2 hidden fixes can be enabled" in _run(["check", "pkg", "--select", "OPS502"], project).output


def test_concise_and_statistics(project: Path) -> None:
    concise = _run(["check", "pkg", "--output-format", "concise"], project).output
    assert "pkg/bad.py:5:12: OPS502 " in concise
    stats = _run(["check", "pkg", "--statistics"], project).output
    assert "\tOPS502\t" in stats and "missing-timeout" in stats
    data = json.loads(_run(["check", "pkg", "--statistics", "--output-format", "json"], project).output)
    assert data[0]["code"] == "OPS502" and data[0]["count"] == 1


def test_output_file(project: Path) -> None:
    result = _run(["check", "pkg", "--output-format", "json", "-o", "out.json"], project)
    assert result.exit_code == 1 and result.output == ""
    assert json.loads((project / "out.json").read_text())[0]["code"] == "OPS502"


def test_diff_writes_nothing_and_exits_1(project: Path) -> None:
    result = _run(["check", "pkg", "--diff", "--unsafe-fixes", "--select", "OPS502"], project)
    assert result.exit_code == 1
    assert "--- a/pkg/bad.py" in result.output and "+++ b/pkg/bad.py" in result.output
    assert "timeout=" in result.output
    assert (project / "pkg" / "bad.py").read_text() == BAD
    clean = _run(["check", "pkg/good.py", "--diff"], project)
    assert clean.exit_code == 0


def test_diff_marks_a_last_line_without_newline(project: Path) -> None:
    (project / "pkg" / "bad.py").write_text(BAD.rstrip("\n"), encoding="utf-8")
    # Through -o: click < 8.2 (the last on Python 3.9) mixes stderr's "Would fix" into stdout.
    result = _run(["check", "pkg/bad.py", "--diff", "--unsafe-fixes", "--select", "OPS502", "-o", "out.diff"], project)
    assert result.exit_code == 1
    diff = (project / "out.diff").read_text(encoding="utf-8")
    assert diff.endswith("\n\\ No newline at end of file\n")
    assert all(line.startswith(("---", "+++", "@@", " ", "-", "+", "\\")) for line in diff.splitlines())


def test_fix_applies_only_safe_fixes_unless_unsafe(project: Path) -> None:
    result = _run(["check", "pkg", "--fix", "--select", "OPS502"], project)
    assert result.exit_code == 1  # the OPS502 fix is unsafe: nothing applied
    assert (project / "pkg" / "bad.py").read_text() == BAD
    result = _run(["check", "pkg", "--fix", "--unsafe-fixes", "--select", "OPS502", "--show-fixes"], project)
    assert result.exit_code == 0, result.output
    assert "timeout=" in (project / "pkg" / "bad.py").read_text()
    assert "1 × OPS502 (missing-timeout)" in result.output
    assert "(1 fixed, 0 remaining)" in result.output


def test_stdin(project: Path) -> None:
    result = _run(["check", "-", "--stdin-filename", "pkg/x.py", "--output-format", "concise"], project, BAD)
    assert result.exit_code == 1 and "pkg/x.py:5:12: OPS502" in result.output
    fixed = _run(["check", "-", "--stdin-filename", "x.py", "--fix", "--unsafe-fixes"], project, BAD)
    assert "timeout=" in fixed.output


def test_force_exclude_applies_to_explicit_paths(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.opslint]\nextend-exclude = ["pkg/bad.py"]\n', encoding="utf-8")
    assert _run(["check", "pkg/bad.py"], project).exit_code == 1
    assert _run(["check", "pkg/bad.py", "--force-exclude"], project).exit_code == 0
    assert _run(["check", "."], project).exit_code == 0


def test_gitignore_is_respected(project: Path) -> None:
    (project / ".gitignore").write_text("pkg/bad.py\n", encoding="utf-8")
    assert _run(["check", "."], project).exit_code == 0
    assert _run(["check", ".", "--no-respect-gitignore"], project).exit_code == 1


def test_bad_input_is_reported_and_the_run_goes_on(project: Path) -> None:
    (project / "pkg" / "syntax.py").write_text("import requests\ndef broken(:\n    pass\n", encoding="utf-8")
    (project / "pkg" / "latin.py").write_bytes(b"# -*- coding: utf-8 -*-\nimport requests\nx = '\xff'\n")
    (project / "pkg" / "binary.py").write_bytes(b"\x00\x01requests\x00")
    result = _run(["check", "pkg", "missing_dir", "--output-format", "json"], project)
    assert result.exit_code == 1
    every = json.loads(result.output)
    codes = {(d["path"], d["code"]) for d in every}
    syntax = next(d for d in every if d["code"] == "OPS001")
    # CPython's message and position: the "(" of line 2 column 12.
    assert (syntax["line"], syntax["column"], syntax["message"]) == (2, 12, "SyntaxError: invalid syntax")
    assert ("pkg/latin.py", "OPS003") in codes
    assert ("pkg/binary.py", "OPS003") in codes
    assert ("missing_dir", "OPS003") in codes
    assert ("pkg/bad.py", "OPS502") in codes


def test_symlink_loop_is_walked_once(project: Path) -> None:
    os.symlink(project / "pkg", project / "pkg" / "loop")
    result = _run(["check", ".", "--output-format", "json"], project)
    paths = [d["path"] for d in json.loads(result.output)]
    assert paths.count("pkg/bad.py") == 1 and len(paths) == 1


@pytest.fixture
def crashing_rule() -> Registry:
    class Crashes(Rule):
        """Test rule."""

        code = "OPS999"
        name = "crashes"
        message = "never"
        tokens = ("requests",)

        def visit_Call(self, node: cst.Call) -> None:
            raise ValueError("boom")

    return Registry.default().extended([Crashes])


def test_a_crashing_rule_is_reported_and_the_others_run(project: Path, crashing_rule: Registry) -> None:
    args = ["check", "pkg/bad.py", "--output-format", "json", "--extend-select", "OPS999"]
    result = _run(args, project, registry=crashing_rule)
    data = json.loads(result.output)
    codes = [d["code"] for d in data]
    assert "OPS502" in codes and "OPS002" in codes
    crash = next(d for d in data if d["code"] == "OPS002")
    assert "OPS999" in crash["message"] and "ValueError: boom" in crash["message"]


def test_noqa_and_file_level_suppression(project: Path) -> None:
    (project / "pkg" / "bad.py").write_text(BAD.replace("get(url)", "get(url)  # noqa: OPS502"))
    assert _run(["check", "pkg/bad.py"], project).exit_code == 0
    (project / "pkg" / "bad.py").write_text("# opslint: noqa: OPS5\n" + BAD)
    assert _run(["check", "pkg/bad.py"], project).exit_code == 0


def test_per_file_ignores(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.opslint.per-file-ignores]\n"pkg/*" = ["OPS502"]\n')
    assert _run(["check", "pkg"], project).exit_code == 0


def test_rule_command(tmp_path: Path) -> None:
    text = _run(["rule", "OPS502"], tmp_path).output
    assert text.startswith("# missing-timeout (OPS502)")
    for heading in ("## What it does", "## Why it matters", "## Example", "## Use instead"):
        assert heading in text
    every = json.loads(_run(["rule", "--all", "--output-format", "json"], tmp_path).output)
    assert {r["code"] for r in every} >= {"OPS001", "OPS502"}
    assert _run(["rule", "OPS998"], tmp_path).exit_code == 2


def test_fix_keeps_encoding_bom_and_newlines(tmp_path: Path) -> None:
    body = textwrap.dedent(
        """\
        # -*- coding: latin-1 -*-
        import requests
        NAME = "caf\xe9"


        def fetch(url):
            return requests.get(url)
        """
    )
    crlf = tmp_path / "crlf.py"
    crlf.write_bytes(body.replace("\n", "\r\n").encode("latin-1"))
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + body.replace("latin-1", "utf-8").encode("utf-8"))
    result = _run(["check", "--isolated", "--select", "OPS502", "--fix", "--unsafe-fixes", "."], tmp_path)
    assert result.exit_code == 0, result.output
    data = crlf.read_bytes()
    assert b"timeout=" in data and b"caf\xe9" in data
    assert data.count(b"\r\n") == body.count("\n") and b"\n" not in data.replace(b"\r\n", b"")
    data = bom.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and "café".encode() in data and b"timeout=" in data


def test_cache_hits_and_invalidation(project: Path) -> None:
    first = _run(["check", "pkg", "--output-format", "json"], project)
    assert (project / ".opslint_cache" / "CACHEDIR.TAG").exists()
    assert (project / ".opslint_cache" / ".gitignore").read_text() == "*\n"
    second = _run(["check", "pkg", "--output-format", "json"], project)
    assert json.loads(first.output) == json.loads(second.output)
    (project / "pkg" / "bad.py").write_text(GOOD, encoding="utf-8")
    assert _run(["check", "pkg"], project).exit_code == 0
    assert _run(["clean"], project).exit_code == 0
    assert not (project / ".opslint_cache").exists()
    assert _run(["check", "pkg", "--no-cache"], project).exit_code == 0
    assert not (project / ".opslint_cache").exists()


def test_python_m_opslint_in_the_checkout_root_finds_the_rules() -> None:
    # There, "opslint" is the source folder (no opslint/rules): rules/ is loaded from beside it.
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-m", "opslint", "check", "examples", "--no-cache", "--output-format", "json"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert {f["code"] for f in json.loads(proc.stdout)} >= {"OPS101", "OPS502"}
