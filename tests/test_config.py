from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from opslint.config import ConfigError, ConfigResolver, Overrides, Settings, glob_match, settings_from_table
from opslint.registry import Registry


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_closest_pyproject_with_the_table_wins_without_merging(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", '[tool.opslint]\nignore = ["OPS501"]\n')
    _write(tmp_path / "pkg" / "pyproject.toml", "[project]\nname = 'x'\n")  # no table: skipped
    _write(tmp_path / "pkg" / "sub" / "pyproject.toml", '[tool.opslint]\nselect = ["OPS502"]\n')
    resolver = ConfigResolver(cwd=str(tmp_path), catalog=Registry.default())
    top = resolver.for_path(str(tmp_path / "a.py"))
    mid = resolver.for_path(str(tmp_path / "pkg" / "b.py"))
    deep = resolver.for_path(str(tmp_path / "pkg" / "sub" / "c.py"))
    assert top.ignore == ("OPS501",) and mid is top
    assert deep.select == ("OPS502",) and deep.ignore == ()
    assert deep.root == str(tmp_path / "pkg" / "sub")


def test_isolated_and_explicit_config(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", '[tool.opslint]\nignore = ["OPS501"]\n')
    other = _write(tmp_path / "other.toml", '[tool.opslint]\nignore = ["OPS502"]\n')
    assert (
        ConfigResolver(isolated=True, cwd=str(tmp_path), catalog=Registry.default())
        .for_path(str(tmp_path / "a.py"))
        .ignore
        == ()
    )
    assert ConfigResolver(config_file=str(other), cwd=str(tmp_path), catalog=Registry.default()).for_path(
        str(tmp_path / "a.py")
    ).ignore == ("OPS502",)


def test_cli_overrides_beat_the_file(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", '[tool.opslint]\nselect = ["OPS501"]\nunsafe-fixes = true\n')
    resolver = ConfigResolver(
        Overrides(select=("OPS502",), unsafe_fixes=False), cwd=str(tmp_path), catalog=Registry.default()
    )
    settings = resolver.for_path(str(tmp_path / "a.py"))
    assert settings.select == ("OPS502",)
    assert settings.unsafe_fixes is False


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"selec": ["OPS5"]}, "unknown key `selec`"),
        ({"select": "OPS5"}, "select: expected a list"),
        ({"select": ["BOGUS1"]}, "unknown rule selector `BOGUS1`"),
        ({"ignore": ["OPS9"]}, "unknown rule selector `OPS9`"),
        ({"respect-gitignore": "yes"}, "respect-gitignore: expected a boolean"),
        ({"output-format": "xml"}, "output-format must be one of"),
        ({"rules": {"OPS999": {}}}, "unknown rule `OPS999`"),
        ({"rules": {"OPS502": {"default-timeot": 3}}}, "unknown option `default-timeot` for OPS502"),
        ({"rules": {"OPS502": {"default-timeout": "10"}}}, "default-timeout: expected a number"),
        ({"per-file-ignores": {"tests/*": "OPS5"}}, "expected a list"),
    ],
)
def test_errors_name_the_file_and_key(table: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as info:
        settings_from_table(table, "/p/pyproject.toml", catalog=Registry.default())
    assert "/p/pyproject.toml" in str(info.value)
    assert message in str(info.value)


def test_typed_rule_options() -> None:
    settings = settings_from_table(
        {"rules": {"OPS502": {"default-timeout": 3}}}, "/p/pyproject.toml", catalog=Registry.default()
    )
    options = Registry.default().options_for(settings, Registry.default()["OPS502"])
    assert options.default_timeout == 3.0 and isinstance(options.default_timeout, float)


def test_selection_prefixes_all_and_ignore() -> None:
    registry = Registry.default()
    default = registry.enabled_codes(Settings())
    assert default == {c for c, r in registry.items() if r.default_enabled and not getattr(r, "internal", False)}
    assert registry.enabled_codes(Settings(select=("OPS502",))) == {"OPS502"}
    assert "OPS502" not in registry.enabled_codes(Settings(select=("ALL",), ignore=("OPS50",)))
    assert "OPS502" in registry.enabled_codes(Settings(select=("OPS501",), extend_select=("OPS502",)))


def test_default_off_rules_need_their_code() -> None:
    registry = Registry.default()
    off = [r.code for r in registry.public() if not r.default_enabled]
    for code in off:
        assert code not in registry.enabled_codes(Settings(select=("ALL",)))
        assert code in registry.enabled_codes(Settings(extend_select=(code,)))


def test_per_file_ignores_with_negation() -> None:
    settings = settings_from_table(
        {"per-file-ignores": {"tests/**": ["OPS501"], "!src/**": ["OPS502"]}},
        "/p/pyproject.toml",
        catalog=Registry.default(),
    )
    assert settings.ignored_for("tests/unit/test_a.py") == ("OPS501", "OPS502")
    assert settings.ignored_for("src/app/a.py") == ()


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("build", "build/a.py", True),
        ("build", "src/build/a.py", True),
        ("*.pyi", "pkg/x.pyi", True),
        ("src/legacy/*.py", "src/legacy/a.py", True),
        ("src/legacy/*.py", "src/legacy/sub/a.py", False),
        ("src/**/gen_*.py", "src/a/b/gen_x.py", True),
        ("migrations", "app/migrations/0001.py", True),
        ("tests/", "tests/test_a.py", True),
    ],
)
def test_glob_match(pattern: str, path: str, hit: bool) -> None:
    assert glob_match(pattern, path) is hit


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", "[tool.opslint\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        ConfigResolver(cwd=str(tmp_path), catalog=Registry.default()).for_path(str(tmp_path / "a.py"))


def test_relative_root_is_the_config_directory(tmp_path: Path) -> None:
    _write(tmp_path / "proj" / "pyproject.toml", '[tool.opslint]\nextend-exclude = ["gen"]\n')
    settings = ConfigResolver(cwd=str(tmp_path), catalog=Registry.default()).for_path(str(tmp_path / "proj" / "x.py"))
    assert settings.root == os.path.join(str(tmp_path), "proj")
