"""The flake8 plugin, driven through the real flake8 (subprocess and legacy API)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, List

import pytest

from opslint import __version__
from opslint.flake8_plugin import Flake8Plugin, default_off_codes
from opslint.registry import Registry

pytest.importorskip("flake8")

WORKER = '''\
"""Polls the job queue and reports status upstream."""
import time

import requests
from requests import get as fetch


class StatusReporter:
    def __init__(self, endpoint):
        self.endpoint = endpoint

    def report(self, job_id, state):
        requests.post(self.endpoint, json={"job": job_id, "state": state}, timeout=5)

    def current(self, job_id):
        reply = requests.get(f"{self.endpoint}/{job_id}")
        return reply.json()["state"]


def poll_forever(reporter, job_id):
    while True:
        print(reporter.current(job_id))
        time.sleep(30)


def banner(url):
    return fetch(url).text
'''


def flake8(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def opslint_json(path: Path, cwd: Path) -> List[Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "opslint", "check", "--isolated", "--output-format", "json", str(path)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    data: List[Any] = json.loads(proc.stdout)
    return data


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "worker.py").write_text(WORKER, encoding="utf-8")
    return tmp_path


def test_version_lists_the_plugin(tmp_path: Path) -> None:
    proc = flake8("--version", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"opslint: {__version__}" in proc.stdout


def test_findings_and_columns_match_the_cli(project: Path) -> None:
    proc = flake8("--select", "OPS", "worker.py", cwd=project)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    expected = [
        f"worker.py:{f['line']}:{f['column']}: {f['code']} {f['message']}"
        for f in opslint_json(project / "worker.py", project)
    ]
    assert len(expected) == 2
    assert [line.split(" (hint:")[0] for line in lines] == expected
    assert lines[0].startswith("worker.py:16:17: OPS502 ")
    fixes = [f["fix"]["message"] for f in opslint_json(project / "worker.py", project) if f["fix"]]
    assert all(f"(hint: {title})" in line for title, line in zip(fixes, lines))


def test_flake8_select_filters_codes(project: Path) -> None:
    proc = flake8("--select", "E9", "worker.py", cwd=project)
    assert proc.returncode == 0 and proc.stdout == ""
    proc = flake8("--select", "OPS5", "worker.py", cwd=project)
    assert proc.stdout.count("OPS502") == 2
    proc = flake8("--select", "OPS", "--extend-ignore", "OPS502", "worker.py", cwd=project)
    assert proc.stdout == ""


NOQA_CASES = [
    ("    reply = requests.get(url)  # noqa: OPS502\n", False),
    ("    reply = requests.get(url)  # noqa: OPS\n", False),
    ("    reply = requests.get(url)  # noqa\n", False),
    ("    reply = requests.get(url)  # NOQA:OPS502 legacy endpoint, no timeout needed\n", False),
    ("    reply = requests.get(url)  # noqa: E501\n", True),
    ("    reply = requests.get(url)\n", True),
]


def test_noqa_is_applied_by_flake8(tmp_path: Path) -> None:
    names = []
    for index, (line, _) in enumerate(NOQA_CASES):
        name = f"svc{index}.py"
        (tmp_path / name).write_text(f"import requests\n\n\ndef load(url):\n{line}    return reply\n")
        names.append(name)
    proc = flake8("--select", "OPS", *names, cwd=tmp_path)
    for name, (line, reported) in zip(names, NOQA_CASES):
        assert proc.stdout.count(f"{name}:5:") == (1 if reported else 0), (line, proc.stdout)
    # The plugin itself does not filter: flake8's --disable-noqa shows every finding.
    proc = flake8("--select", "OPS", "--disable-noqa", *names, cwd=tmp_path)
    for name in names:
        assert proc.stdout.count(f"{name}:5:") == 1, proc.stdout


FILE_LEVEL = ["# opslint: noqa", "# opslint: noqa: OPS502", "# OPSLINT: NOQA: OPS5"]


def test_file_level_opslint_noqa(tmp_path: Path) -> None:
    names = []
    for index, directive in enumerate(FILE_LEVEL):
        name = f"svc{index}.py"
        (tmp_path / name).write_text(f"{directive}\nimport requests\n\nrequests.get('https://x')\n")
        names.append(name)
    proc = flake8("--select", "OPS", *names, cwd=tmp_path)
    assert proc.stdout == "" and proc.returncode == 0, proc.stdout


def test_file_level_noqa_for_another_code_keeps_findings(tmp_path: Path) -> None:
    (tmp_path / "svc.py").write_text("# opslint: noqa: OPS501\nimport requests\n\nrequests.get('https://x')\n")
    proc = flake8("--select", "OPS", "svc.py", cwd=tmp_path)
    assert proc.stdout.count("OPS502") == 1


def test_nothing_is_reported_twice(tmp_path: Path) -> None:
    (tmp_path / "svc.py").write_text(
        "import requests\n\n\ndef load(url):\n    return requests.get(\n        url,\n        headers={},\n    )\n"
    )
    proc = flake8("--select", "OPS,E,W,F", "svc.py", cwd=tmp_path)
    (finding,) = opslint_json(tmp_path / "svc.py", tmp_path)
    (line,) = proc.stdout.splitlines()
    assert line.startswith(f"svc.py:5:12: OPS502 {finding['message']}")


def test_pyproject_config_is_read(tmp_path: Path) -> None:
    # Two projects side by side: each file uses its closest [tool.opslint].
    quiet = tmp_path / "quiet"
    loud = tmp_path / "loud"
    for root in (quiet, loud):
        (root / "pkg" / "scripts").mkdir(parents=True)
        (root / "pkg" / "api.py").write_text(WORKER)
        (root / "pkg" / "scripts" / "oneoff.py").write_text(WORKER)
    (quiet / "pyproject.toml").write_text('[tool.opslint]\nignore = ["OPS502"]\n')
    (loud / "pyproject.toml").write_text('[tool.opslint]\nper-file-ignores = { "pkg/scripts/*" = ["OPS5"] }\n')
    proc = flake8("--select", "OPS", ".", cwd=tmp_path)
    reported = sorted({line.split(":")[0] for line in proc.stdout.splitlines()})
    assert reported == [os.path.join(".", "loud", "pkg", "api.py")], proc.stdout
    # A [tool.opslint] `select` does not hide codes: flake8's selection decides.
    (loud / "pyproject.toml").write_text('[tool.opslint]\nselect = ["OPS001"]\n')
    proc = flake8("--select", "OPS", "loud/pkg/api.py", cwd=tmp_path)
    assert proc.stdout.count("OPS502") == 2


def test_invalid_config_is_reported(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.opslint]\nignore = ["NOPE1"]\n')
    (tmp_path / "svc.py").write_text("import requests\nrequests.get('x')\n")
    proc = flake8("--select", "OPS", "svc.py", cwd=tmp_path)
    assert proc.returncode != 0
    assert "NOPE1" in proc.stdout + proc.stderr


def test_legacy_api(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flake8.api import legacy

    monkeypatch.chdir(project)
    style = legacy.get_style_guide(select=["OPS"])
    report = style.check_files([str(project / "worker.py")])
    assert report.total_errors == 2
    stats = report.get_statistics("OPS502")
    assert len(stats) == 1 and stats[0].startswith("2 OPS502 ")


def test_stdin(project: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "OPS", "--stdin-display-name", "w.py", "-"],
        input=WORKER,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout.count("w.py:") == 2, proc.stdout + proc.stderr


def test_direct_instantiation_zero_based_columns() -> None:
    source = "import requests\nx = 'ü'; r = requests.get('https://x')\n"
    lines = source.splitlines(keepends=True)
    plugin = Flake8Plugin(ast.parse(source), lines, "direct.py")
    results = list(plugin.run())
    assert [(line, col, cls) for line, col, _, cls in results] == [(2, 13, Flake8Plugin)]
    assert results[0][2].startswith("OPS502 ")
    assert Flake8Plugin.name == "opslint" and Flake8Plugin.version == __version__


def test_default_off_rules_are_default_ignored() -> None:
    registry = Registry.default()
    expected = sorted(c for c, r in registry.items() if not r.default_enabled and not getattr(r, "internal", False))
    assert default_off_codes() == expected

    class Manager:
        def __init__(self) -> None:
            self.ignored: List[str] = []

        def extend_default_ignore(self, codes: List[str]) -> None:
            self.ignored.extend(codes)

    manager = Manager()
    Flake8Plugin.add_options(manager)
    assert manager.ignored == expected


_PROBE = """
import sys
from flake8.main.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("imported:", " ".join(m for m in ("libcst", "opslint.engine") if m in sys.modules), file=sys.stderr)
"""


def _flake8_probe(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROBE, "--isolated", "--jobs", "1", "--select", "OPS", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_file_without_any_trigger_imports_no_rule(tmp_path: Path) -> None:
    """flake8 runs the plugin on every file: one that holds no rule's trigger (a data
    module) is answered from the rule catalog, without LibCST or a rule."""
    (tmp_path / "languages.py").write_text('LANGUAGES = {"de": "German", "fr": "French"}\n')
    (tmp_path / "levels.py").write_text("import os\n\nLEVEL = os.environ.get('LEVEL')\n")
    (tmp_path / "svc.py").write_text(WORKER)
    proc = _flake8_probe(tmp_path, "languages.py")
    assert proc.stdout == "" and proc.stderr.strip() == "imported:", proc.stderr
    proc = _flake8_probe(tmp_path, "levels.py")  # imports: a cross-file rule may find it relevant
    assert proc.stdout == "" and "libcst" in proc.stderr
    proc = _flake8_probe(tmp_path, "svc.py", "languages.py")
    assert proc.stdout.count("OPS502") == 2 and "libcst" in proc.stderr


def test_rule_options_are_validated_by_the_rule(tmp_path: Path) -> None:
    (tmp_path / "languages.py").write_text('LANGUAGES = {"de": "German"}\n')
    (tmp_path / "pyproject.toml").write_text("[tool.opslint.rules.OPS502]\nnot_an_option = 1\n")
    proc = flake8("--select", "OPS", "languages.py", cwd=tmp_path)
    assert proc.returncode != 0 and "not_an_option" in proc.stdout + proc.stderr
