"""The built wheel must contain every rule module (rules/ is mapped to opslint.rules)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_every_rule_module(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
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
    metadata = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    entry_points = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "opslint = opslint.cli:entry" in entry_points
    assert "OPS = opslint.flake8_plugin:Flake8Plugin" in entry_points
