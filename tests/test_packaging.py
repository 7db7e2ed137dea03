"""The built wheel must contain every rule module (rules/ is mapped to opslint.rules)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _source_copy(dest: Path) -> Path:
    """What the sdist would hold, copied: setuptools writes its ``build/`` beside the
    sources, where the editable installs (one per Python in .ci/run, which runs suites
    side by side) keep theirs."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("opslint", "rules"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


def test_wheel_contains_every_rule_module(tmp_path: Path) -> None:
    source = _source_copy(tmp_path / "src")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("opslint-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"opslint/rules/{name}" for name in os.listdir(ROOT / "rules") if name.endswith(".py")}
    assert expected and expected <= names, sorted(expected - names)
    engine = {f"opslint/{p.relative_to(ROOT / 'opslint').as_posix()}" for p in (ROOT / "opslint").rglob("*.py")}
    assert engine <= names, sorted(engine - names)
    assert "opslint/py.typed" in names
    # The rule catalog (opslint.catalog): without it every run imports the rules.
    assert "opslint/rules/catalog.json" in names
    metadata = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    entry_points = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "opslint = opslint.cli:entry" in entry_points
    assert "OPS = opslint.flake8_plugin:Flake8Plugin" in entry_points
