"""The run that imports no rule (``opslint.screen``) and the rule catalog it reads.

Issue 9, goal 6: the lever changes no finding.  The catalog answers as the registry
does, the screen gives what ``runner.run`` gives (or gives way to it), and a check the
screen settles never imports LibCST or a rule.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import pytest
from expectations import FIXTURES

from opslint import catalog, docgen, project, runner
from opslint.config import ConfigResolver, PerFileIgnore, Settings
from opslint.engine import Linter
from opslint.registry import Registry
from opslint.screen import screen

ROOT = Path(__file__).resolve().parents[1]

QUIET = 'LANGUAGES = {\n    "de": {"name": "German", "bidi": False},\n    "he": {"name": "Hebrew", "bidi": True},\n}\n'
PLAIN_HTTP = 'ERP_API_URL = "http://erp.supplier-portal.de/api"\n'
WITH_IMPORT = "import os\n\nLEVEL = os.environ.get('LEVEL', 'info')\n"


def _catalog() -> catalog.Catalog:
    loaded = catalog.load()
    assert loaded is not None, f"rules/catalog.json is missing or stale: run `{docgen.COMMAND}`"
    return loaded


def test_the_catalog_is_what_the_rules_generate() -> None:
    assert docgen.catalog_problem() is None, f"regenerate with `{docgen.COMMAND}` (in the repository root)"


def test_a_catalog_of_other_rules_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule edited after the catalog was made: the catalog must not decide for it."""
    assert catalog.load() is not None
    monkeypatch.setattr(catalog, "sources_digest", lambda folder: "other rules")
    assert catalog.load() is None


SETTINGS = [
    Settings(),
    Settings(select=("OPS5",)),
    Settings(select=("ALL",)),
    Settings(select=("OPS502", "OPS104")),
    Settings(extend_select=("OPS104",), ignore=("OPS3", "OPS401")),
    Settings(ignore=("ALL",)),
    Settings(per_file_ignores=(PerFileIgnore("settings/*.py", False, ("OPS5", "OPS1")),)),
]


@pytest.mark.parametrize("settings", SETTINGS, ids=range(len(SETTINGS)))
def test_the_catalog_selects_as_the_registry_does(settings: Settings) -> None:
    registry, cat = Registry.default(), _catalog()
    assert cat.enabled_codes(settings) == registry.enabled_codes(settings)
    assert cat.fingerprint(settings) == registry.fingerprint(settings)
    for relpath in ("settings/base.py", "app/views.py"):
        assert [e.code for e in cat.rules_for(settings, relpath)] == [
            r.code for r in registry.rules_for(settings, relpath)
        ]
    for selector in ("OPS", "OPS5", "OPS502", "ALL", "OPS9", "OPS0"):
        assert cat.has_selector(selector) == registry.has_selector(selector)


def _texts() -> List[Tuple[str, str]]:
    """Fixture files (mostly positives) and opslint's own modules (mostly quiet for some rules)."""
    paths = sorted(Path(FIXTURES).rglob("*.py"))[::7] + sorted((ROOT / "opslint").rglob("*.py"))
    out = [(str(p), p.read_text(encoding="utf-8", errors="replace")) for p in paths]
    return out + [("quiet.py", QUIET), ("plain.py", PLAIN_HTTP), ("imports.py", WITH_IMPORT), ("empty.py", "")]


@pytest.mark.parametrize("settings", SETTINGS[:4], ids=range(4))
def test_quiet_means_the_linter_parses_nothing(settings: Settings) -> None:
    """Whenever the catalog calls a file quiet, the engine skips it (the converse is
    not needed: a file the catalog does not call quiet is linted)."""
    cat, linter = _catalog(), Linter(registry=Registry.default())
    quiet = 0
    for path, text in _texts():
        if not cat.quiet(cat.rules_for(settings, os.path.basename(path)), text):
            continue
        quiet += 1
        result = linter.lint_text(text, path, settings)
        assert result.skipped and not result.parsed, path
        assert not [f for f in result.findings if f.code != "OPS001"], path
    assert quiet, "no quiet text: the test would prove nothing"


def _project(tmp_path: Path, files: dict, config: str = "") -> Path:  # type: ignore[type-arg]
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text(config, encoding="utf-8")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def _both(root: Path, paths: List[str]) -> Tuple[Optional[runner.RunResult], runner.RunResult]:
    """(the screen's result, runner.run's), for the same paths and cache."""
    cwd = os.getcwd()
    os.chdir(root)
    try:
        # Each from its own copy of the cache as it is now (the screen writes entries too).
        cache = root / ".opslint_cache"
        if cache.exists():
            shutil.copytree(cache, root / "cache-copy")
        else:
            (root / "cache-copy").mkdir()
        options = runner.RunOptions(jobs=1, cache_dir=str(cache))
        screened = screen(paths, ConfigResolver(catalog=_catalog()), options, _catalog())
        project.forget()
        options = runner.RunOptions(jobs=1, cache_dir=str(root / "cache-copy"))
        linted = runner.run(paths, ConfigResolver(catalog=Registry.default()), options)
        project.forget()
    finally:
        os.chdir(cwd)
    return screened, linted


def _shape(result: runner.RunResult) -> List[Tuple[str, str, List[str]]]:
    return sorted((o.path, o.status, [repr(f) for f in o.findings]) for o in result.files)


def test_the_screen_gives_the_runs_result_for_quiet_and_cached_files(tmp_path: Path) -> None:
    root = _project(tmp_path, {"languages.py": QUIET, "urls.py": PLAIN_HTTP})
    options = runner.RunOptions(jobs=1, cache_dir=str(root / ".opslint_cache"))
    cwd = os.getcwd()
    os.chdir(root)
    try:
        # urls.py linted once, as a one-file pre-commit run does: its findings are cached.
        first = runner.run(["urls.py"], ConfigResolver(catalog=Registry.default()), options)
        project.forget()
    finally:
        os.chdir(cwd)
    assert [f.code for f in first.findings] == ["OPS501", "OPS504"]
    screened, linted = _both(root, ["languages.py", "urls.py"])
    assert screened is not None
    assert _shape(screened) == _shape(linted)
    assert sorted(o.status for o in screened.files) == ["cached", "skipped"]
    assert [f.code for f in screened.findings] == ["OPS501", "OPS504"]


def test_a_rule_asks_the_project_only_about_the_paths_it_names() -> None:
    """OPS501 asks the project one question, of settings modules (``project_paths``): a
    data module with a URL elsewhere builds no index and its cached result stays the
    file's, while the same text in a settings module needs the index."""
    entries = _catalog().entries
    ops501 = entries["OPS501"]
    assert ops501.needs_project and ops501.project_paths
    assert catalog.index_candidates([ops501], [ops501], PLAIN_HTTP, "shop/urls.py") == []
    assert catalog.index_candidates([ops501], [ops501], PLAIN_HTTP, "shop/settings/base.py") == [ops501]
    assert catalog.index_candidates([ops501], [ops501], PLAIN_HTTP, "shop/local_settings.py") == [ops501]
    registry = Registry.default()
    rule = registry["OPS501"]
    assert catalog.wants_project(rule, "config/settings.py") and not catalog.wants_project(rule, "config/urls.py")


@pytest.mark.parametrize(
    "files, config",
    [
        ({"views.py": "import requests\nrequests.get(URL)\n"}, ""),  # a trigger: linted
        ({"util.py": WITH_IMPORT}, ""),  # imports: a cross-file rule may find it relevant
        ({"broken.py": "LANGUAGES = {\n"}, ""),  # does not compile: OPS001 is the engine's
        ({"languages.py": QUIET}, "[tool.opslint.rules.OPS502]\nclients = ['acme.http']\n"),  # options
        ({f"m{i}.py": QUIET for i in range(70)}, ""),  # not a pre-commit run
    ],
    ids=["trigger", "imports", "syntax-error", "rule-options", "many-files"],
)
def test_the_screen_gives_way_when_a_file_needs_the_rules(tmp_path: Path, files: dict, config: str) -> None:  # type: ignore[type-arg]
    root = _project(tmp_path, files, config)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        options = runner.RunOptions(jobs=1, cache_dir=str(root / ".opslint_cache"))
        assert screen(sorted(files), ConfigResolver(catalog=_catalog()), options, _catalog()) is None
    finally:
        os.chdir(cwd)


def test_the_screen_never_fixes_and_needs_a_cache(tmp_path: Path) -> None:
    root = _project(tmp_path, {"languages.py": QUIET})
    resolver = ConfigResolver(catalog=_catalog(), cwd=str(root))
    path = [str(root / "languages.py")]
    assert screen(path, resolver, runner.RunOptions(cache_dir=str(root / "c")), _catalog()) is not None
    assert screen(path, resolver, runner.RunOptions(), _catalog()) is None
    assert screen(path, resolver, runner.RunOptions(fix=True, cache_dir=str(root / "c")), _catalog()) is None
    assert screen(path, resolver, runner.RunOptions(diff=True, cache_dir=str(root / "c")), _catalog()) is None


_PROBE = """
import runpy, sys
code = None
sys.argv = ["opslint", "check", "--output-format", "json", *sys.argv[1:]]
try:
    runpy.run_module("opslint", run_name="__main__")
except SystemExit as exc:
    code = exc.code
sys.stderr.write("\\nimported: " + " ".join(sorted(m for m in ("libcst", "opslint.rule", "opslint.engine") if m in sys.modules)) + "\\n")
sys.stderr.write(f"exit: {code}\\n")
"""


def _cli(root: Path, *args: str) -> Tuple[list, str, str]:  # type: ignore[type-arg]
    """(findings, modules of interest imported, exit code) of a CLI run in a fresh process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLINT_")}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], cwd=str(root), env=env, capture_output=True, text=True, check=False
    )
    lines = done.stderr.splitlines()
    assert any(line.startswith("exit:") for line in lines), done.stderr
    imported = next(line for line in lines if line.startswith("imported:"))[len("imported:") :].strip()
    code = next(line for line in lines if line.startswith("exit:"))[len("exit:") :].strip()
    return json.loads(done.stdout), imported, code


def test_a_pre_commit_run_on_quiet_and_unchanged_files_imports_no_rule(tmp_path: Path) -> None:
    root = _project(tmp_path, {"languages.py": QUIET, "urls.py": PLAIN_HTTP, "views.py": "import requests\n"})
    findings, imported, code = _cli(root, "urls.py")  # fills the cache
    assert [f["code"] for f in findings] == ["OPS501", "OPS504"] and code == "1"
    assert "libcst" in imported
    findings, imported, code = _cli(root, "languages.py", "urls.py")
    assert [f["code"] for f in findings] == ["OPS501", "OPS504"] and code == "1"
    assert imported == "", "the screen settled this run: nothing should import LibCST or a rule"
    (root / "languages.py").write_text(QUIET + "# edited\n", encoding="utf-8")
    assert _cli(root, "languages.py")[1:] == ("", "0")
    # A file with a trigger: linted, with the same result as without the screen.
    findings, imported, code = _cli(root, "languages.py", "views.py")
    assert findings == [] and "libcst" in imported and code == "0"
    findings, imported, code = _cli(root, "--no-cache", "languages.py", "urls.py")
    assert [f["code"] for f in findings] == ["OPS501", "OPS504"] and "libcst" in imported
