"""Whole runs: parallel equals serial, the prefilter skips parsing, fixes converge."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest

from opslint import runner
from opslint.config import ConfigResolver, Overrides, Settings
from opslint.engine import Linter
from opslint.fixes import apply_fixes
from opslint.model import Applicability, Edit, Fix, Span
from opslint.registry import Registry

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.mark.slow  # every fixture, twice (two minutes)
def test_parallel_run_equals_serial_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "PARALLEL_THRESHOLD", 2)
    resolver = ConfigResolver(Overrides(), isolated=True, cwd=str(FIXTURES), catalog=Registry.default())
    serial = runner.run([str(FIXTURES)], resolver, runner.RunOptions(jobs=1), cwd=str(FIXTURES))
    parallel = runner.run([str(FIXTURES)], resolver, runner.RunOptions(jobs=2), cwd=str(FIXTURES))
    assert serial.findings and serial.findings == parallel.findings


def test_prefilter_skips_parsing_files_without_tokens() -> None:
    linter = Linter(strict=True)
    settings = Settings(select=("OPS502",))
    assert not linter.lint_text("import os\nprint(os.getcwd())\n", "a.py", settings).parsed
    assert linter.lint_text("import requests\n", "a.py", settings).parsed
    # A file no rule could match is not parsed, but CPython's compile still
    # reports its syntax error (issue 7: it used to pass as "All checks passed!").
    broken = linter.lint_text("def broken(:\n", "a.py", settings)
    assert not broken.parsed and [f.code for f in broken.findings] == ["OPS001"]


def _edit(start: int, end: int, content: str) -> Edit:
    return Edit(Span(1, start + 1, 1, end + 1, start, end), content)


def test_apply_fixes_back_to_front_and_defers_overlaps() -> None:
    text = "abcdef"
    first = Fix(Applicability.SAFE, "upper ab", (_edit(0, 2, "AB"),))
    overlapping = Fix(Applicability.SAFE, "x for bc", (_edit(1, 3, "X"),))
    last = Fix(Applicability.SAFE, "upper ef", (_edit(4, 6, "EF"),))
    out, applied = apply_fixes(text, [last, overlapping, first])
    assert out == "ABcdEF"
    assert applied == [first, last]


def test_two_insertions_at_one_point_do_not_both_apply() -> None:
    one = Fix(Applicability.SAFE, "one", (_edit(3, 3, "1"),))
    two = Fix(Applicability.SAFE, "two", (_edit(3, 3, "2"),))
    out, applied = apply_fixes("abcdef", [one, two])
    assert out in ("abc1def", "abc2def") and len(applied) == 1


def test_a_fix_that_breaks_code_is_refused_and_reported(tmp_path: Path) -> None:
    import libcst as cst

    from opslint.rule import PendingFix, Rule

    class BreaksCode(Rule):
        """Test rule."""

        code = "OPS998"
        name = "breaks-code"
        message = "x"
        tokens = ("requests",)

        def visit_Call(self, node: cst.Call) -> None:
            self.report(node, fix=PendingFix.safe("break it", self.edits.replace(node, "(((")))

    registry = Registry.default().extended([BreaksCode])
    path = tmp_path / "a.py"
    original = "import requests\nrequests.get(url)\n"
    path.write_text(original, encoding="utf-8")
    resolver = ConfigResolver(Overrides(select=("OPS998",)), isolated=True, cwd=str(tmp_path), catalog=registry)
    result = runner.run([str(path)], resolver, runner.RunOptions(fix=True, jobs=1), cwd=str(tmp_path))
    assert path.read_text(encoding="utf-8") == original
    assert {f.code for f in result.findings} == {"OPS998", "OPS004"}


def test_projects_defining_the_same_wrapper_class_keep_their_own_facts(tmp_path: Path) -> None:
    """Two projects of one process (a run over both, a language server) both define
    ``codemate.analytics.Analytics``: one that may hold None and has no drain method,
    one that has a drain method.  Linting one must not change what is said of the other."""
    import shutil

    for name in ("proj_aider_analytics_wrapper", "ok_proj_aider_wrapper_flush"):
        shutil.copytree(FIXTURES / "OPS101" / name, tmp_path / name)
    wrapper = tmp_path / "proj_aider_analytics_wrapper"
    resolver = ConfigResolver(Overrides(), isolated=True, cwd=str(tmp_path), catalog=Registry.default())

    def messages(paths: List[Path]) -> List[str]:
        result = runner.run([str(p) for p in paths], resolver, runner.RunOptions(jobs=1), cwd=str(tmp_path))
        return [f.message for f in result.findings if f.code == "OPS101" and f.path.endswith("codemate/main.py")]

    alone = messages([wrapper])
    assert len(alone) == 1 and "`ph` may be None" in alone[0]
    assert messages([tmp_path]) == alone
    assert messages([wrapper]) == alone


def test_a_file_that_imports_and_defines_nothing_builds_no_index(tmp_path: Path) -> None:
    """A data module or an empty ``__init__.py`` cannot take part in a cross-file analysis:
    a one-file run on it (pre-commit, flake8) neither builds nor loads the project index."""
    from opslint import project

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "formats.py").write_text('DATE_FORMAT = "j F Y"\nNUMBER_GROUPING = 3\n')
    (tmp_path / "app" / "jobs.py").write_text("from app import formats\n\ndef run():\n    return formats.DATE_FORMAT\n")
    resolver = ConfigResolver(Overrides(), isolated=True, cwd=str(tmp_path), catalog=Registry.default())
    for name, indexed in (("__init__.py", False), ("formats.py", False), ("jobs.py", True)):
        path = str(tmp_path / "app" / name)
        project.forget()
        result = runner.run([path], resolver, runner.RunOptions(jobs=1), cwd=str(tmp_path))
        assert not result.findings
        assert (project.cached_index(path) is not None) is indexed, name
        project.forget()
        Linter(cwd=str(tmp_path)).lint_file(path, resolver.for_path(path))
        assert (project.cached_index(path) is not None) is indexed, name
    project.forget()


PROJECTS = sorted(p.parent for p in FIXTURES.glob("OPS*/*/pyproject.toml"))


@pytest.mark.parametrize("folder", PROJECTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_one_file_runs_find_what_the_whole_project_run_finds(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9, goal 6: the levers of one-file runs change no finding. Each file linted
    alone, in a fresh process state (the facts of only the modules its questions reach
    computed), gets the findings that the whole-project run gives it with every file asked
    for its project relevance (no file skips the index) and every module's facts computed
    up front."""
    import re

    from opslint import catalog, project

    code = folder.parent.name
    resolver = ConfigResolver(Overrides(select=(code,)), cwd=str(folder), catalog=Registry.default())
    project.forget()
    with monkeypatch.context() as patch:
        patch.setattr(catalog, "BINDS", re.compile(""))  # the lever off: every file may be relevant
        patch.setattr(project, "EAGER_FACTS_FILES", 1)  # and every module's facts computed first
        whole = runner.run([str(folder)], resolver, runner.RunOptions(jobs=1), cwd=str(folder)).findings
    alone = []
    for path in sorted(folder.rglob("*.py")):
        project.forget()  # as a fresh pre-commit or flake8 process
        alone.extend(runner.run([str(path)], resolver, runner.RunOptions(jobs=1), cwd=str(folder)).findings)
    project.forget()
    assert sorted(alone, key=repr) == sorted(whole, key=repr)
