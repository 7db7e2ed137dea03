""".gitignore matching (through pathspec) against git's own answer on the same tree."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict, Set

import pytest

from opslint.config import ConfigResolver
from opslint.discovery import Walker
from opslint.registry import Registry

IGNORES: Dict[str, str] = {
    ".gitignore": "\n".join(
        [
            "# comments and blank lines are skipped",
            "",
            "/top_only.py",  # anchored: only at the root
            "migrations/",  # directory-only, at any depth
            "notes.py/",  # directory-only: a file of that name stays
            "logs/*",  # everything in logs/ ...
            "!logs/keep.py",  # ... but this one
            "generated/",  # an excluded folder ...
            "!generated/keep.py",  # ... cannot have a file re-included (git's rule)
            "docs/**/draft_*.py",  # ** spans zero or more folders
            "special_*.py",
            "local.py",
            "\\#hash.py",  # an escaped leading #
            "space.py\\ ",  # an escaped trailing space is kept
            "",
        ]
    ),
    "pkg/.gitignore": "!special_*.py\nonly_here.py\n",
}

FILES = [
    "top_only.py",
    "pkg/top_only.py",
    "app/migrations/0001_initial.py",
    "app/views.py",
    "notes.py",
    "logs/run.py",
    "logs/keep.py",
    "generated/api.py",
    "generated/keep.py",
    "docs/draft_intro.py",
    "docs/guide/deep/draft_setup.py",
    "docs/guide/final.py",
    "special_a.py",
    "pkg/special_b.py",
    "local.py",
    "pkg/local.py",
    "pkg/only_here.py",
    "only_here.py",
    "#hash.py",
    "space.py ",
]

EXPECTED = {
    "pkg/top_only.py",
    "app/views.py",
    "notes.py",
    "logs/keep.py",
    "docs/guide/final.py",
    "pkg/special_b.py",
    "only_here.py",
}


def _tree(root: Path) -> None:
    for name, text in IGNORES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    for name in FILES:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n", encoding="utf-8")
    (root / "pyproject.toml").write_text("[tool.opslint]\n", encoding="utf-8")


def _walked(root: Path, start: Path) -> Set[str]:
    old = os.getcwd()
    os.chdir(start)
    try:
        walker = Walker(ConfigResolver(catalog=Registry.default()))
        return {os.path.relpath(d.path, root).replace(os.sep, "/") for d in walker.walk(["."])}
    finally:
        os.chdir(old)


def test_gitignore_edge_cases(tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / ".git").mkdir()
    assert _walked(tmp_path, tmp_path) == EXPECTED


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_same_answer_as_git(tmp_path: Path) -> None:
    _tree(tmp_path)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    proc = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "-z"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    git = {name for name in proc.stdout.split("\0") if name.endswith(".py")}
    assert git == EXPECTED
    assert _walked(tmp_path, tmp_path) == git


def test_ignore_files_above_the_project_root_count_inside_a_repository(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("legacy_*.py\n", encoding="utf-8")
    project = tmp_path / "services" / "billing"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text("[tool.opslint]\n", encoding="utf-8")
    (project / "legacy_sync.py").write_text("x = 1\n", encoding="utf-8")
    (project / "sync.py").write_text("x = 1\n", encoding="utf-8")
    assert _walked(tmp_path, project) == {"services/billing/sync.py"}


def _walk_paths(root: Path, paths: list) -> Set[str]:
    walker = Walker(ConfigResolver(cwd=str(root), catalog=Registry.default()))
    return {os.path.relpath(d.path, root).replace(os.sep, "/") for d in walker.walk([str(p) for p in paths])}


def test_a_folder_named_on_the_command_line_is_linted_although_an_ignore_file_above_ignores_it(
    tmp_path: Path,
) -> None:
    """pyenv's own repository ignores ``/versions``, and the standard library lives under
    it: ``opslint check ~/.pyenv/versions/3.11.7/lib/python3.11`` checked 0 files. As with
    ruff, naming a folder lints it; the ignore files inside it still apply, and walking
    from above still skips it."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("/versions\n", encoding="utf-8")
    lib = tmp_path / "versions" / "3.11" / "lib"
    (lib / "json").mkdir(parents=True)
    (lib / "json" / "decoder.py").write_text("x = 1\n", encoding="utf-8")
    (lib / "json" / "scratch_tmp.py").write_text("x = 1\n", encoding="utf-8")
    (lib / ".gitignore").write_text("*_tmp.py\n", encoding="utf-8")
    (tmp_path / "tool.py").write_text("x = 1\n", encoding="utf-8")
    assert _walk_paths(tmp_path, [lib]) == {"versions/3.11/lib/json/decoder.py"}
    assert _walk_paths(tmp_path, [tmp_path]) == {"tool.py"}
