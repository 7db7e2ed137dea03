"""Hostile input and faults (issue 7): nothing in one file may kill a run, lose
results, delete what opslint did not write, or pass unseen.

Reproductions that used to crash the process run in a subprocess, so a
regression fails the test instead of killing pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from opslint.syntax import guard as parsing

OPSLINT = [sys.executable, "-m", "opslint"]

#: The issue's reproductions (each killed the process with SIGSEGV, or ran for minutes first).
PARENS_3000 = "import requests\nx = " + "(" * 3000 + "1" + ")" * 3000 + "\n"
PLUS_50000 = "import requests\nx = " + " + ".join(["a"] * 50_000) + "\n"
#: Python compiles this one (a flat BoolOp); LibCST nests it and overflows.
AND_50000 = "import requests\nx = " + " and ".join(["a"] * 50_000) + "\n"
#: LibCST parses string annotations (rules/_net.py): the same crash inside a string.
ANNOTATION = (
    'import requests\n\n\ndef fetch(s: "' + "(" * 3000 + "requests.Session" + ")" * 3000 + '", url):\n'
    "    return s.get(url)\n"
)
BAD = "import requests\n\n\ndef fetch(url):\n    return requests.get(url)\n"


def opslint(*args: str, cwd: Path, stdin: str = "", timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OPSLINT, *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout)


def _json(proc: subprocess.CompletedProcess[str]) -> List[Dict[str, Any]]:
    data: List[Dict[str, Any]] = json.loads(proc.stdout)
    return data


# -- 2. deep nesting ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, code, words",
    [
        (PARENS_3000, "OPS001", "too many nested parentheses"),
        (PLUS_50000, "OPS001", "RecursionError"),
        (AND_50000, "OPS003", "nested too deeply"),
    ],
    ids=["parens-3000", "plus-50000", "and-50000"],
)
def test_deep_nesting_is_reported_not_a_crash(tmp_path: Path, text: str, code: str, words: str) -> None:
    (tmp_path / "deep.py").write_text(text, encoding="utf-8")
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    proc = opslint("check", "--no-cache", "--output-format", "json", ".", cwd=tmp_path, timeout=60)
    assert proc.returncode == 1, proc.stderr
    found = {(f["path"], f["code"]) for f in _json(proc)}
    assert found == {("deep.py", code), ("bad.py", "OPS502")}  # the run went on
    (deep,) = [f for f in _json(proc) if f["path"] == "deep.py"]
    assert words in deep["message"]


def test_string_annotation_is_guarded_too(tmp_path: Path) -> None:
    (tmp_path / "ann.py").write_text(ANNOTATION, encoding="utf-8")
    proc = opslint("check", "--no-cache", "ann.py", cwd=tmp_path, timeout=60)
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr


def test_deep_nesting_on_stdin(tmp_path: Path) -> None:
    proc = opslint("check", "-", "--output-format", "concise", cwd=tmp_path, stdin=PARENS_3000, timeout=60)
    assert proc.returncode == 1 and "OPS001 SyntaxError: too many nested parentheses" in proc.stdout


def test_flake8_survives_deep_nesting(tmp_path: Path) -> None:
    # flake8's own ast.parse accepts the flat ``and`` chain, so the plugin gets it.
    (tmp_path / "deep.py").write_text(AND_50000, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "OPS", "deep.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "OPS003" in proc.stdout, proc.stdout + proc.stderr


def test_project_index_facts_are_guarded_too(tmp_path: Path) -> None:
    """The project index parses files with fact tokens (``primary_key``) for OPS201."""
    deep = "import requests\n\nclass M:\n    id = AutoField(primary_key=True)\n\n" + AND_50000
    (tmp_path / "deep.py").write_text(deep, encoding="utf-8")
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    proc = opslint("check", "--no-cache", "--output-format", "concise", ".", cwd=tmp_path, timeout=60)
    assert proc.returncode == 1 and "OPS003" in proc.stdout and "OPS502" in proc.stdout, proc.stderr[-300:]


@pytest.mark.parametrize(
    "text",
    [
        "x = " + "(" * 201 + "1" + ")" * 201 + "\n",
        "x = " + " + ".join(["a"] * 1500) + "\n",
        "x = " + " and ".join(["a == a"] * 800) + "\n",
        "x = " + "lambda: " * 600 + "1\n",
        "x = " + "not " * 1200 + "1\n",
        "x = " + "a if b else " * 600 + "c\n",
        "x = a" + "[0]" * 1200 + "\n",
        "x = a" + ".b" * 1200 + "\n",
        "x = (a\n" + "  + a\n" * 1500 + ")\n",
        "x = [a " + "for a in b " * 1200 + "]\n",
        'x = f"{' + " and ".join(['""'] * 1500) + '}"\n',  # PEP 701: quotes reused inside
        'x = f"\\{' + " and ".join(["a"] * 1500) + '}"\n',
        "x = " + 'f"{' * 250 + "1" + '}"' * 250 + "\n",
        "if a:\n    pass\n" + "elif a:\n    pass\n" * 600,
    ],
    ids=lambda t: repr(t[:24]),
)
def test_guard_refuses_what_overflows_the_parser(text: str) -> None:
    assert parsing.too_deep(text) is not None
    with pytest.raises(parsing.TooDeep):
        parsing.parse_module(text)


@pytest.mark.parametrize(
    "text",
    [
        "x = " + "(" * 200 + "1" + ")" * 200 + "\n",  # CPython's limit is allowed
        "x = " + " + ".join(["a"] * 500) + "\n",
        "x = [" + ", ".join(["-1"] * 20_000) + "]\n",  # long but flat
        "x = " + " == ".join(["a"] * 400) + "\n",
        "x = '" + "(" * 5000 + "'  # (((( in a string or comment\n",
        'x = f\'{a!r:>{w}} {b["k"]}\' + rf"\\d{{3}}{c}"\n',
        "x = '''\n" + "(((\n" * 2000 + "'''\n",
        "if a:\n    pass\n" + "elif a:\n    pass\n" * 400,
    ],
    ids=lambda t: repr(t[:24]),
)
def test_guard_lets_real_code_through(text: str) -> None:
    assert parsing.too_deep(text) is None


def test_guard_limits_have_margin_over_real_code() -> None:
    """Large stdlib modules measure far below the limits (the whole stdlib, the
    corpus and a site-packages stay under 200 units and 25 brackets)."""
    import _pydecimal
    import argparse
    import typing

    for module in (_pydecimal, argparse, typing, json):
        depth, units = parsing.nesting(Path(module.__file__ or "").read_text(encoding="utf-8"))
        assert depth < 25 and units < parsing.MAX_UNITS // 5, module.__name__


# -- 6. files that do not parse are reported even when no rule's token is in them ---------

BROKEN = "def f(:\n  pass\n"


def test_syntax_error_without_tokens_is_reported(tmp_path: Path) -> None:
    (tmp_path / "s.py").write_text(BROKEN, encoding="utf-8")
    proc = opslint("check", "--no-cache", "--output-format", "concise", "s.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == "s.py:1:7: OPS001 SyntaxError: invalid syntax"


def test_syntax_error_without_tokens_on_stdin(tmp_path: Path) -> None:
    proc = opslint("check", "-", "--output-format", "concise", cwd=tmp_path, stdin=BROKEN)
    assert proc.returncode == 1 and "-:1:7: OPS001 SyntaxError: invalid syntax" in proc.stdout


def test_newer_syntax_than_this_python_is_not_an_error(tmp_path: Path) -> None:
    """CPython's verdict is confirmed with LibCST: code for a newer Python
    (PEP 695 ``type`` aliases on 3.11) is not reported as a syntax error."""
    if sys.version_info >= (3, 12):
        pytest.skip("the running Python knows PEP 695")
    (tmp_path / "new.py").write_text("type Pair = tuple[int, int]\n", encoding="utf-8")
    proc = opslint("check", "--no-cache", "new.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout


def test_compiler_only_errors_are_not_reported(tmp_path: Path) -> None:
    """Only parse errors are OPS001 (``return`` outside a function is the compiler's business)."""
    (tmp_path / "snippet.py").write_text("return 1\n", encoding="utf-8")
    assert opslint("check", "--no-cache", "snippet.py", cwd=tmp_path).returncode == 0


# -- 1. opslint clean deletes only what opslint wrote ------------------------------------


def _tree(root: Path) -> List[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_clean_refuses_a_project_directory(tmp_path: Path) -> None:
    (tmp_path / "x" / "src").mkdir(parents=True)
    (tmp_path / "x" / "src" / "a.py").write_text("keep\n", encoding="utf-8")
    (tmp_path / "x" / ".git").mkdir()
    before = _tree(tmp_path)
    proc = opslint("clean", "--cache-dir", "x", cwd=tmp_path)
    assert proc.returncode == 2
    assert (
        proc.stderr
        == "opslint: error: x is not an opslint cache (it has no CACHEDIR.TAG written by opslint); nothing was removed\n"
    )
    assert _tree(tmp_path) == before


def test_clean_in_a_shared_directory_removes_only_opslints_entries(tmp_path: Path) -> None:
    home_cache = tmp_path / "home" / ".cache"
    (home_cache / "pip" / "http").mkdir(parents=True)
    (home_cache / "pip" / "http" / "entry").write_text("other program's\n", encoding="utf-8")
    env_cache = {"OPSLINT_CACHE_DIR": str(home_cache)}
    # Without opslint's tag: refused.
    proc = subprocess.run(
        [*OPSLINT, "clean"], cwd=tmp_path, env={**os.environ, **env_cache}, capture_output=True, text=True
    )
    assert proc.returncode == 2 and "not an opslint cache" in proc.stderr
    # A run writes its tag and version folder among the other program's files.
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    subprocess.run([*OPSLINT, "check", "bad.py"], cwd=tmp_path, env={**os.environ, **env_cache}, capture_output=True)
    assert (home_cache / "CACHEDIR.TAG").exists()
    proc = subprocess.run(
        [*OPSLINT, "clean"], cwd=tmp_path, env={**os.environ, **env_cache}, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "kept what opslint did not write: pip" in proc.stderr
    assert _tree(home_cache) == ["pip", "pip/http", "pip/http/entry"]


def test_clean_refuses_a_symlink_and_a_file(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    assert opslint("check", "--cache-dir", "real", "bad.py", cwd=tmp_path).returncode == 1
    assert (tmp_path / "real" / "CACHEDIR.TAG").exists()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "file").write_text("keep\n", encoding="utf-8")
    before = _tree(tmp_path)
    link = opslint("clean", "--cache-dir", "link", cwd=tmp_path)
    assert link.returncode == 2 and "link is a symbolic link" in link.stderr
    file = opslint("clean", "--cache-dir", "file", cwd=tmp_path)
    assert file.returncode == 2 and "is a file" in file.stderr  # click checks it first
    assert _tree(tmp_path) == before


def test_clean_refuses_a_foreign_tag(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n", encoding="utf-8")
    assert opslint("clean", "--cache-dir", "other", cwd=tmp_path).returncode == 2
    assert (tmp_path / "other" / "CACHEDIR.TAG").exists()


def test_clean_removes_its_own_cache(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.opslint]\n", encoding="utf-8")
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    opslint("check", "bad.py", cwd=tmp_path)
    assert (tmp_path / ".opslint_cache").is_dir()
    proc = opslint("clean", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr.startswith("Removed cache at ")
    assert not (tmp_path / ".opslint_cache").exists()
    assert opslint("clean", cwd=tmp_path).returncode == 0  # nothing left: nothing to do


def test_remove_cache_refuses_a_file(tmp_path: Path) -> None:
    from opslint.cleaning import CleanRefused, remove_cache

    (tmp_path / "f").write_text("keep\n", encoding="utf-8")
    with pytest.raises(CleanRefused, match="is not a directory"):
        remove_cache(str(tmp_path / "f"))
    assert (tmp_path / "f").read_text(encoding="utf-8") == "keep\n"


# -- 3. --fix through symbolic links, keeping modes, never overwriting read-only files -----

FIXED_TAIL = "    return requests.get(url, timeout=10)\n"


def test_fix_writes_through_a_symlink_and_keeps_the_mode(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "src").mkdir()
    target = tmp_path / "real" / "target.py"
    target.write_text(BAD, encoding="utf-8")
    target.chmod(0o750)
    (tmp_path / "src" / "link.py").symlink_to("../real/target.py")
    proc = opslint("check", "--no-cache", "--fix", "--unsafe-fixes", "src/", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "src" / "link.py").is_symlink()
    assert os.readlink(tmp_path / "src" / "link.py") == "../real/target.py"
    assert target.read_text(encoding="utf-8").endswith(FIXED_TAIL)
    assert target.stat().st_mode & 0o7777 == 0o750


def test_fix_keeps_hard_links(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(BAD, encoding="utf-8")
    os.link(tmp_path / "a.py", tmp_path / "b.txt")
    assert opslint("check", "--no-cache", "--fix", "--unsafe-fixes", "a.py", cwd=tmp_path).returncode == 0
    assert (tmp_path / "b.txt").read_text(encoding="utf-8").endswith(FIXED_TAIL)


def test_read_only_file_is_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "ro.py").write_text(BAD, encoding="utf-8")
    (tmp_path / "ro.py").chmod(0o444)
    (tmp_path / "rw.py").write_text(BAD, encoding="utf-8")
    args = ("check", "--no-cache", "--fix", "--unsafe-fixes", "--output-format", "concise", ".")
    proc = opslint(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == "opslint: error: cannot write ro.py: the file is read-only; not fixed\n"
    # Its finding is kept (the file was not changed); the other file was fixed.
    assert proc.stdout.splitlines()[0].startswith("ro.py:5:12: OPS502 ")
    assert "Found 2 problems (1 fixed, 1 remaining)." in proc.stdout
    assert (tmp_path / "ro.py").read_text(encoding="utf-8") == BAD
    assert (tmp_path / "rw.py").read_text(encoding="utf-8").endswith(FIXED_TAIL)


# -- 5. I/O errors: exit 2, one line naming the path, findings never lost -----------------


def test_output_file_that_cannot_be_created_fails_before_anything_runs(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    (tmp_path / "afile").write_text("", encoding="utf-8")
    proc = opslint("check", "--fix", "--unsafe-fixes", ".", "-o", "afile/out.json", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "opslint: error: cannot write the output file afile/out.json: Not a directory\n"
    assert (tmp_path / "bad.py").read_text(encoding="utf-8") == BAD  # nothing was fixed either


def test_output_file_folders_are_created(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    proc = opslint("check", ".", "--output-format", "json", "-o", "reports/lint/out.json", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    assert json.loads((tmp_path / "reports" / "lint" / "out.json").read_text(encoding="utf-8"))[0]["code"] == "OPS502"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_file_write_failure_prints_the_report_to_stdout(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    proc = opslint("check", ".", "--output-format", "concise", "-o", "/dev/full", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout.startswith("bad.py:5:12: OPS502 ")
    assert proc.stderr.startswith("opslint: error: cannot write the output file /dev/full: No space left on device")


def test_fix_in_an_unwritable_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As root (this container) a mode does not stop writes, so the failure is injected
    where an unwritable directory fails: creating the temporary file next to the target."""
    from clirunner import separate_runner

    from opslint import source
    from opslint.cli import main

    def denied(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(source.tempfile, "mkstemp", denied)
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = separate_runner().invoke(
        main, ["check", "--no-cache", "--fix", "--unsafe-fixes", "--output-format", "concise", "."]
    )
    assert result.exit_code == 2
    assert result.stderr == "opslint: error: cannot write bad.py: Permission denied; not fixed\n"
    assert result.stdout.startswith("bad.py:5:12: OPS502 ")
    assert (tmp_path / "bad.py").read_text(encoding="utf-8") == BAD


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_fix_in_a_read_only_directory(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "bad.py").write_text(BAD, encoding="utf-8")
    (tmp_path / "src").chmod(0o555)
    try:
        proc = opslint("check", "--no-cache", "--fix", "--unsafe-fixes", "src", cwd=tmp_path)
    finally:
        (tmp_path / "src").chmod(0o755)
    assert proc.returncode == 2 and "cannot write src/bad.py: Permission denied; not fixed" in proc.stderr
    assert "OPS502" in proc.stdout


# -- 4. fixes keep a CRLF file's newlines (and its BOM) -----------------------------------


def _golden_cases() -> List[Any]:
    from expectations import discover

    return [case for case in discover() if case.has_golden]


@pytest.mark.parametrize("case", _golden_cases(), ids=lambda c: c.id)
def test_fix_keeps_crlf_and_bom_for_every_golden(case: Any, tmp_path: Path) -> None:
    """Every rule's golden fix, on the fixture converted to CRLF with a BOM, gives the
    golden output converted to CRLF, byte for byte (written by the real --fix path)."""
    from opslint.config import ConfigResolver, Overrides
    from opslint.registry import Registry
    from opslint.runner import RunOptions, run

    original = Path(case.path).read_bytes()
    golden = Path(case.golden_path).read_bytes()
    assert b"\r" not in original + golden  # fixtures are LF: the conversion is exact
    bom = b"\xef\xbb\xbf"
    target = tmp_path / os.path.basename(case.path)
    target.write_bytes(bom + original.replace(b"\n", b"\r\n"))
    resolver = ConfigResolver(
        Overrides(select=(case.code,)), isolated=True, cwd=str(tmp_path), catalog=Registry.default()
    )
    result = run(
        [str(target)], resolver, RunOptions(fix=True, unsafe_fixes=True, jobs=1, strict=True), cwd=str(tmp_path)
    )
    assert not result.errors
    assert target.read_bytes() == bom + golden.replace(b"\n", b"\r\n")


def test_crlf_reproduction(tmp_path: Path) -> None:
    (tmp_path / "b.py").write_bytes(b'\xef\xbb\xbfimport requests\r\nrequests.get("https://api.foo-bar.com/v1")\r\n')
    opslint("check", "--no-cache", "--fix", "--unsafe-fixes", "b.py", cwd=tmp_path)
    data = (tmp_path / "b.py").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfimport os\r\n") and b"timeout=10" in data
    assert data.count(b"\n") == data.count(b"\r\n")


# -- 9. a fix that changes behaviour is never "safe" ---------------------------------------

CLAIM = """\
import redis

r = redis.Redis()


def claim(job_id, worker):
    key = f"job:{job_id}:owner"
    if not r.get(key):
        r.set(key, worker)
"""


def test_ops402_claim_fix_is_unsafe(tmp_path: Path) -> None:
    """The fix adds an expiry (`ex=600`) the code never had: plain --fix (and the
    opslint-fix pre-commit hook) must not apply it."""
    (tmp_path / "claim.py").write_text(CLAIM, encoding="utf-8")
    proc = opslint("check", "--no-cache", "--fix", "--select", "OPS402", "claim.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert (tmp_path / "claim.py").read_text(encoding="utf-8") == CLAIM
    assert "1 hidden fix can be enabled with the `--unsafe-fixes` option" in proc.stdout
    proc = opslint("check", "--no-cache", "--fix", "--unsafe-fixes", "--select", "OPS402", "claim.py", cwd=tmp_path)
    assert proc.returncode == 0
    assert "r.set(key, worker, nx=True, ex=600)" in (tmp_path / "claim.py").read_text(encoding="utf-8")


# -- 7. rule options are range-checked -----------------------------------------------------


@pytest.mark.parametrize(
    "code, key, value, error",
    [
        ("OPS502", "default-timeout", "nan", "expected a finite number, got `nan`"),
        ("OPS502", "default-timeout", "inf", "expected a finite number, got `inf`"),
        ("OPS502", "default-timeout", "0", "must be > 0, got `0`"),
        ("OPS502", "default-timeout", "-5", "must be > 0, got `-5`"),
        ("OPS502", "default-timeout", "1e6", "must be <= 86400, got `1000000`"),
        ("OPS402", "lock-ttl", "-1", "must be >= 0, got `-1`"),
        ("OPS402", "lock-ttl", "99999999999", "must be <= 2592000, got `99999999999`"),
        ("OPS401", "acquire-functions", '["take lock"]', "`take lock` is not a valid value"),
        ("OPS403", "release-functions", '[""]', "expected a non-empty string"),
        ("OPS501", "allowed-hosts", '["my host"]', "`my host` is not a valid value"),
        ("OPS504", "allowed-hosts", '[" "]', "expected a non-empty string"),
        ("OPS101", "handler-names", '["lambda handler"]', "`lambda handler` is not a valid value"),
        ("OPS101", "entry-points", '["jobs.run"]', "`package.module:function`"),
        ("OPS101", "clients", '[{create = "Client", drain = ["flush"]}]', "`Client` is not a qualified name"),
        ("OPS101", "clients", '[{create = "myco.Client", drain = []}]', "drain: expected at least one name"),
    ],
)
def test_rule_options_out_of_range_are_configuration_errors(
    tmp_path: Path, code: str, key: str, value: str, error: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.opslint.rules.{code}]\n{key} = {value}\n", encoding="utf-8")
    (tmp_path / "a.py").write_text(BAD, encoding="utf-8")
    proc = opslint("check", "--no-cache", "--fix", "--unsafe-fixes", "a.py", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"opslint: error: {tmp_path / 'pyproject.toml'}: [tool.opslint.rules.{code}] ")
    assert error in line
    assert (tmp_path / "a.py").read_text(encoding="utf-8") == BAD  # `timeout=nan` was never written


def test_every_numeric_and_string_option_declares_bounds() -> None:
    """The audit, kept: a new rule option of a number or string type needs bounds
    (``opslint.config.option``), and every default satisfies them."""
    import dataclasses
    import typing

    from opslint.config import Bounds, check_bounds
    from opslint.registry import Registry

    for rule in Registry.default().rules():
        hints = typing.get_type_hints(rule.Options)
        for f in dataclasses.fields(rule.Options):
            hint = hints[f.name]
            inner = typing.get_args(hint)[0] if typing.get_origin(hint) is tuple else hint
            if inner not in (int, float, str):
                continue  # booleans; OPS101's `clients` tables validate themselves
            bounds = f.metadata.get("opslint.bounds")
            assert isinstance(bounds, Bounds), f"{rule.code} option {f.name} has no bounds"
            check_bounds(f.default, bounds, f"{rule.code} {f.name}")


# -- 10b. a shared, damaged cache never changes findings ---------------------------------

SERVICE_FILES = {
    "svc/http.py": BAD,
    "svc/jobs.py": CLAIM,
    "svc/urls.py": 'import requests\n\nAPI = "https://api.foo-bar.com/v1"\n\n\ndef get():\n    return requests.get(API, timeout=5)\n',
    "svc/clean.py": "def add(a, b):\n    return a + b\n",
    "svc/broken.py": "def f(:\n    pass\n",
}


def _findings(proc: subprocess.CompletedProcess[str]) -> List[Any]:
    assert "Traceback" not in proc.stderr, proc.stderr
    return sorted((f["path"], f["line"], f["code"], f["message"]) for f in _json(proc))


def test_concurrent_runs_share_a_damaged_cache(tmp_path: Path) -> None:
    for rel, text in SERVICE_FILES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    args = ["check", "--output-format", "json", "--select", "ALL", "."]
    cold = _findings(opslint(*args, "--no-cache", cwd=tmp_path))
    assert {c for _, _, c, _ in cold} >= {"OPS001", "OPS402", "OPS501", "OPS502"}

    def together() -> None:
        runs = [
            subprocess.Popen(
                [*OPSLINT, *args, "--cache-dir", "shared"],
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for run in runs:
            out, err = run.communicate(timeout=120)
            assert _findings(subprocess.CompletedProcess(run.args, run.returncode, out, err)) == cold

    together()  # both cold, writing the same entries at once
    entries = [
        p for p in (tmp_path / "shared").rglob("*") if p.is_file() and p.name not in ("CACHEDIR.TAG", ".gitignore")
    ]
    assert entries
    data = entries[0].read_bytes()
    entries[0].write_bytes(data[: len(data) // 2])  # truncated
    if len(entries) > 1:
        entries[1].write_bytes(b"\x80\x04\x95garbage")  # a pickle-looking foreign payload
    (entries[0].parent / ("0" * 62)).write_bytes(b"\x00\xff not json")
    (tmp_path / "shared" / "foreign.bin").write_bytes(os.urandom(64))
    together()
    assert _findings(opslint(*args, "--cache-dir", "shared", cwd=tmp_path)) == cold  # warm


# -- 8. stdin is bytes: coding declarations and BOMs are honoured; --fix like ruff ----------

LATIN1 = '# -*- coding: latin-1 -*-\nimport requests\n\nGREETING = "Grüße, café"\n\n\ndef fetch(url):\n    return requests.get(url)\n'.encode(
    "latin-1"
)


def _stdin(args: List[str], cwd: Path, data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*OPSLINT, *args], cwd=cwd, input=data, capture_output=True, timeout=120)


def test_stdin_honours_the_coding_declaration(tmp_path: Path) -> None:
    proc = _stdin(["check", "-", "--output-format", "concise"], tmp_path, LATIN1)
    out = proc.stdout.decode("utf-8")
    assert proc.returncode == 1, out
    assert "OPS001" not in out and "surrogates" not in out
    assert out.splitlines()[0].startswith("-:8:12: OPS502 ")


def test_stdin_fix_writes_source_to_stdout_and_findings_to_stderr(tmp_path: Path) -> None:
    proc = _stdin(["check", "-", "--fix", "--unsafe-fixes", "--output-format", "concise"], tmp_path, LATIN1)
    assert proc.returncode == 0
    assert proc.stdout == LATIN1.replace(b"requests.get(url)", b"requests.get(url, timeout=10)")
    assert proc.stderr.decode("utf-8") == "Found 1 problem (1 fixed, 0 remaining).\n"


def test_stdin_fix_reports_what_remains_on_stderr(tmp_path: Path) -> None:
    """Plain --fix: the unsafe fix is not applied, the source comes back unchanged
    (BOM and CRLF included), the finding is on stderr and the exit code is 1."""
    data = b"\xef\xbb\xbf" + LATIN1.replace(b"# -*- coding: latin-1 -*-\n", b"").decode("latin-1").encode(
        "utf-8"
    ).replace(b"\n", b"\r\n")
    proc = _stdin(["check", "-", "--fix", "--output-format", "concise"], tmp_path, data)
    assert proc.returncode == 1
    assert proc.stdout == data
    err = proc.stderr.decode("utf-8")
    assert err.startswith("-:7:12: OPS502 ") and "hidden fix" in err


def test_stdin_undecodable_is_ops003(tmp_path: Path) -> None:
    proc = _stdin(["check", "-", "--output-format", "concise"], tmp_path, b"x = '\xff\xfe'\n")
    assert proc.returncode == 1 and b"OPS003" in proc.stdout and b"Traceback" not in proc.stderr


def test_text_libcst_does_not_print_back_is_not_fixed(tmp_path: Path) -> None:
    """LibCST drops a lone backslash-continuation line before ``except``: its positions
    would be off by a line, so the file is reported as OPS001 and left as it is."""
    text = 'import requests\ntry: pass\n\\\nexcept ValueError: pass\nrequests.get("https://api.foo-bar.com/v1")\n'
    (tmp_path / "shifted.py").write_text(text, encoding="utf-8")
    proc = opslint("check", "--no-cache", "--fix", "--unsafe-fixes", "--output-format", "concise", ".", cwd=tmp_path)
    assert proc.returncode == 1 and "OPS001 LibCST misreads this file" in proc.stdout, proc.stdout
    assert (tmp_path / "shifted.py").read_text(encoding="utf-8") == text


def test_valid_python_libcst_cannot_parse_is_reported_where_it_fails(tmp_path: Path) -> None:
    """A parenthesised annotated name (``(x): int``, from CPython's test_grammar) is valid
    Python that LibCST refuses: OPS001 says so, at the line of the failure (the native
    parser's ``raw_line`` is the token after it, a line later)."""
    text = "import requests\n\ndef f():\n    (no_such_global): int\n    print(no_such_global)\n"
    compile(text, "valid.py", "exec")
    (tmp_path / "valid.py").write_text(text, encoding="utf-8")
    proc = opslint("check", "--no-cache", "--output-format", "concise", ".", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "valid.py:4:" in proc.stdout and "LibCST cannot parse this file although Python can" in proc.stdout
