"""The pre-commit hooks, run through the real pre-commit (`try-repo`).

`try-repo` builds the hook's virtualenv with `pip install .` from a git
repository, so the first run needs the package index (setuptools, libcst,
click) and takes a while; the environment is shared by the tests of this
module through a private PRE_COMMIT_HOME.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / ".pre-commit-hooks.yaml"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")

VIOLATING = '''\
"""Nightly export of invoices to the accounting system."""
import requests


def push(batch, endpoint):
    for invoice in batch:
        requests.get(f"{endpoint}/invoices/{invoice}")
'''

CLEAN = '''\
"""Nightly export, with a bounded wait."""
import requests


def push(batch, endpoint):
    for invoice in batch:
        requests.get(f"{endpoint}/invoices/{invoice}", timeout=(3.05, 27))
'''

GIT_ENV = {
    "GIT_AUTHOR_NAME": "opslint tests",
    "GIT_AUTHOR_EMAIL": "tests@opslint.invalid",
    "GIT_COMMITTER_NAME": "opslint tests",
    "GIT_COMMITTER_EMAIL": "tests@opslint.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, **GIT_ENV, "HOME": str(cwd)}
    subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=cwd, env=env, check=True, capture_output=True)


def _pre_commit() -> list[str]:
    return [sys.executable, "-m", "pre_commit"]


def test_manifest_is_valid_for_pre_commit() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = {hook["id"]: hook for hook in load_manifest(str(MANIFEST))}
    assert set(hooks) == {"opslint", "opslint-fix"}
    lint = hooks["opslint"]
    assert lint["entry"] == "opslint check --force-exclude"
    assert lint["language"] == "python"
    assert lint["types_or"] == ["python", "pyi"]
    assert lint["require_serial"] is True
    assert lint["args"] == []
    assert lint["minimum_pre_commit_version"] == "2.9.2"
    assert hooks["opslint-fix"]["entry"] == "opslint check --force-exclude --fix"


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed copy of the package as it is in the working tree."""
    repo = tmp_path_factory.mktemp("hook-repo")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("opslint", "rules"):
        shutil.copytree(ROOT / name, repo / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, repo / name)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "hook repo snapshot")
    return repo


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    home = tmp_path_factory.mktemp("pre-commit-home")
    environ = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    environ.pop("PIP_NO_INDEX", None)
    return environ


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Path]:
    repo = tmp_path / "service"
    (repo / "exporter").mkdir(parents=True)
    (repo / "exporter" / "__init__.py").write_text("")
    (repo / "exporter" / "nightly.py").write_text(VIOLATING)
    (repo / "exporter" / "bounded.py").write_text(CLEAN)
    (repo / "vendored").mkdir()
    (repo / "vendored" / "legacy_client.py").write_text(VIOLATING)
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "service"\n\n[tool.opslint]\nextend-exclude = ["vendored"]\n'
    )
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "service")
    yield repo


def try_repo(
    hook_repo: Path, target: Path, env: Dict[str, str], hook: str, *files: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_pre_commit(), "try-repo", str(hook_repo), hook, "--verbose", "--files", *files],
        cwd=target,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
def test_try_repo_fails_on_a_violation_and_passes_clean_files(
    hook_repo: Path, target: Path, env: Dict[str, str]
) -> None:
    bad = try_repo(hook_repo, target, env, "opslint", "exporter/nightly.py")
    output = bad.stdout + bad.stderr
    assert bad.returncode == 1, output
    assert "- hook id: opslint" in output
    assert "exporter/nightly.py:7:" in output
    assert "OPS502" in output

    good = try_repo(hook_repo, target, env, "opslint", "exporter/bounded.py", "exporter/__init__.py")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout


@pytest.mark.slow
def test_try_repo_force_exclude_silences_excluded_files(hook_repo: Path, target: Path, env: Dict[str, str]) -> None:
    proc = try_repo(hook_repo, target, env, "opslint", "vendored/legacy_client.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OPS502" not in proc.stdout
    assert "Passed" in proc.stdout


@pytest.mark.slow
def test_try_repo_fix_hook_runs(hook_repo: Path, target: Path, env: Dict[str, str]) -> None:
    # The OPS502 fix is unsafe, so `--fix` leaves the file alone and the hook still fails.
    proc = try_repo(hook_repo, target, env, "opslint-fix", "exporter/nightly.py")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "- hook id: opslint-fix" in output and "OPS502" in output
    assert (target / "exporter" / "nightly.py").read_text() == VIOLATING


def test_force_exclude_prints_nothing_for_an_excluded_file(target: Path) -> None:
    """What the hook runs: an explicitly passed but excluded file gives no output and exit 0."""
    proc = subprocess.run(
        [sys.executable, "-m", "opslint", "check", "--force-exclude", "vendored/legacy_client.py"],
        cwd=target,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "opslint",
            "check",
            "--force-exclude",
            "vendored/legacy_client.py",
            "exporter/nightly.py",
        ],
        cwd=target,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "exporter/nightly.py" in proc.stdout and "vendored" not in proc.stdout
