"""What the CLI prints around the findings: progress, summary, quiet modes, statistics, help."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import List

import pytest
from click.testing import CliRunner, Result

from opslint.cli import main
from opslint.progress import ProgressBar

BAD = "import requests\n\n\ndef fetch(url):\n    return requests.get(url)\n"
UNSAFE_ONLY = BAD  # OPS502's fix (adding timeout=) is unsafe
PLAIN = "def add(a, b):\n    return a + b\n"


def _run(args: List[str], cwd: Path) -> Result:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, args, catch_exceptions=False)
    finally:
        os.chdir(old)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.opslint]\n", encoding="utf-8")
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "bad.py").write_text(BAD, encoding="utf-8")
    (pkg / "plain.py").write_text(PLAIN, encoding="utf-8")
    (pkg / "broken.py").write_bytes(b"# -*- coding: utf-8 -*-\nx = '\xff\xfe'\n")
    return tmp_path


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_bar_only_after_a_second_on_a_terminal() -> None:
    clock = _Clock()
    stream = _Tty()
    bar = ProgressBar(stream, clock=clock)
    bar.start(10)
    bar.advance()
    assert stream.getvalue() == "", "nothing before the delay"
    clock.now = 1.5
    bar.advance()
    assert "2/10 files" in stream.getvalue() and stream.getvalue().startswith("\r")
    bar.close()
    assert stream.getvalue().endswith("\r\x1b[K"), "the bar is erased at the end"


def test_progress_bar_stays_silent_when_not_a_terminal_or_disabled() -> None:
    for stream, enabled in ((io.StringIO(), True), (_Tty(), False)):
        clock = _Clock()
        bar = ProgressBar(stream, enabled=enabled, clock=clock)
        bar.stage("indexing the project")
        clock.now = 5
        bar.start(3)
        bar.advance()
        bar.close()
        assert stream.getvalue() == ""


def test_progress_bar_shows_the_indexing_stage() -> None:
    clock = _Clock()
    stream = _Tty()
    bar = ProgressBar(stream, clock=clock)
    clock.now = 2
    bar.stage("indexing the project")
    assert "indexing the project... 2s" in stream.getvalue()


def test_summary_counts_files_checked_skipped_and_unreadable(project: Path) -> None:
    result = _run(["check", "pkg", "--no-cache"], project)
    assert result.exit_code == 1
    assert "Checked 3 files: 1 analysed, 1 skipped by the prefilter, 1 unreadable." in result.output
    # No bar in a non-terminal run: stderr holds nothing but what the CLI says on purpose.
    assert "\r" not in result.output
    again = _run(["check", "pkg"], project)
    again = _run(["check", "pkg"], project)
    assert "from the cache" in again.output


def test_quiet_prints_only_findings_and_silent_nothing(project: Path) -> None:
    full = _run(["check", "pkg", "--no-cache", "--output-format", "concise"], project)
    quiet = _run(["check", "pkg", "--no-cache", "--output-format", "concise", "-q"], project)
    assert "Found" in full.output and "Checked" in full.output
    assert "Found" not in quiet.output and "Checked" not in quiet.output and "hidden fix" not in quiet.output
    assert "pkg/bad.py:5:12: OPS502" in quiet.output
    assert quiet.exit_code == 1
    for flags in (["-qq"], ["-s"], ["--silent"]):
        silent = _run(["check", "pkg", "--no-cache", *flags], project)
        assert (silent.exit_code, silent.output) == (1, "")
    diff = _run(["check", "pkg", "--no-cache", "--diff", "--unsafe-fixes", "-q"], project)
    assert "Would fix" not in diff.output and "+++ b/pkg/bad.py" in diff.output


def test_statistics_marks_only_fixes_that_fix_would_apply(project: Path) -> None:
    # OPS502's only fix is unsafe: not fixable with plain --fix, which says so.
    stats = _run(["check", "pkg/bad.py", "--statistics"], project).output
    assert "\tOPS502\tmissing-timeout" in stats and "[*]" not in stats
    assert "No fixes available" in _run(["check", "pkg/bad.py", "--diff"], project).output
    stats = _run(["check", "pkg/bad.py", "--statistics", "--unsafe-fixes"], project).output
    assert "\tOPS502\t[*] missing-timeout" in stats
    data = json.loads(_run(["check", "pkg/bad.py", "--statistics", "--output-format", "json"], project).output)
    assert data[0]["fixable"] is False and data[0]["fixable_count"] == 0
    data = json.loads(
        _run(["check", "pkg/bad.py", "--statistics", "--output-format", "json", "--unsafe-fixes"], project).output
    )
    assert data[0]["fixable"] is True and data[0]["fixable_count"] == 1


def test_rule_by_name(tmp_path: Path) -> None:
    assert _run(["rule", "missing-timeout"], tmp_path).output == _run(["rule", "OPS502"], tmp_path).output
    assert _run(["rule", "ops502"], tmp_path).output.startswith("# missing-timeout (OPS502)")
    assert _run(["rule", "no-such-rule"], tmp_path).exit_code == 2


def test_help_documents_output_file_and_environment(tmp_path: Path) -> None:
    text = _run(["check", "--help"], tmp_path).output
    assert "-o, --output-file FILE" in text and "Write the report to FILE" in text
    for name in ("OPSLINT_OUTPUT_FORMAT", "OPSLINT_OUTPUT_FILE", "OPSLINT_CACHE_DIR", "OPSLINT_NO_CACHE"):
        assert name in text
    assert "-q, --quiet" in text


def test_cache_dir_from_the_environment(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    where = tmp_path_factory.mktemp("elsewhere") / "cache"
    old = os.getcwd()
    os.chdir(project)
    try:
        result = CliRunner().invoke(main, ["check", "pkg"], env={"OPSLINT_CACHE_DIR": str(where)})
    finally:
        os.chdir(old)
    assert result.exit_code == 1
    assert (where / "CACHEDIR.TAG").exists() and not (project / ".opslint_cache").exists()
