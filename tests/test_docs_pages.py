"""docs/rules/ is generated from the rules, and every link a finding carries lands on it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Iterator, List

import pytest
from click.testing import CliRunner

from opslint import docgen
from opslint.cli import main
from opslint.registry import Registry
from opslint.urls import DOCS_PATH, HOMEPAGE, rule_url

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / DOCS_PATH
BLOB = f"{HOMEPAGE}/blob/main/"


def test_rule_pages_are_fresh() -> None:
    problems = docgen.stale(str(DOCS))
    assert not problems, "\n".join(problems) + f"\nregenerate with `{docgen.COMMAND}` (in the repository root)"


def test_one_page_per_rule_and_an_index() -> None:
    names = sorted(p.name for p in DOCS.glob("*.md"))
    assert names == sorted([f"{code}.md" for code in Registry.default()] + ["README.md"])
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)]+)\)", index):
        assert (DOCS / target).is_file(), target


def test_check_mode_names_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert docgen.main([str(tmp_path / "rules")]) == 0
    assert docgen.main(["--check", str(tmp_path / "rules")]) == 0
    page = tmp_path / "rules" / "OPS502.md"
    page.write_text(page.read_text(encoding="utf-8") + "edited by hand\n", encoding="utf-8")
    (tmp_path / "rules" / "OPS999.md").write_text("gone\n", encoding="utf-8")
    (tmp_path / "rules" / "OPS001.md").unlink()
    capsys.readouterr()
    assert docgen.main(["--check", str(tmp_path / "rules")]) == 1
    err = capsys.readouterr().err
    assert "stale: " in err and "OPS502.md" in err
    assert "missing: " in err and "OPS001.md" in err
    assert "no such rule: " in err and "OPS999.md" in err
    assert docgen.COMMAND in err
    docgen.main([str(tmp_path / "rules")])
    assert docgen.stale(str(tmp_path / "rules")) == []


def _resolves(url: str) -> bool:
    return url.startswith(BLOB) and (ROOT / url[len(BLOB) :]).is_file()


def test_rule_url_of_every_rule_resolves() -> None:
    for code in Registry.default():
        assert _resolves(rule_url(code)), rule_url(code)


@pytest.fixture
def examples_cwd() -> Iterator[Path]:
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        yield ROOT
    finally:
        os.chdir(old)


def _output(fmt: str) -> str:
    result = CliRunner().invoke(main, ["check", "examples", "--no-cache", "--output-format", fmt, "-q"])
    assert result.exit_code == 1, result.output
    return result.output


def test_urls_in_every_output_format_resolve(examples_cwd: Path) -> None:
    urls: List[str] = [f["url"] for f in json.loads(_output("json"))]
    sarif = json.loads(_output("sarif"))
    for rule in sarif["runs"][0]["tool"]["driver"]["rules"]:
        urls.append(rule["helpUri"])
        assert rule["helpUri"] in rule["help"]["markdown"]
    for entry in json.loads(_output("lsp")):
        urls.extend(d["codeDescription"]["href"] for d in entry["diagnostics"])
    assert len(set(urls)) >= 3
    assert [u for u in urls if not _resolves(u)] == []
