"""The one on-disk store: plain JSON, validated on load, any bad entry a miss."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from opslint import project
from opslint.cache import TAG, Cache, InvalidEntry, Store, decode, encode
from opslint.model import Applicability, Edit, Finding, Fix, Related, Severity, Span


def _finding() -> Finding:
    span = Span(3, 5, 3, 17, 40, 52)
    return Finding(
        code="OPS502",
        name="missing-timeout",
        message="`requests.get` is called without a timeout",
        path="pkg/client.py",
        span=span,
        fix=Fix(Applicability.UNSAFE, "Add `timeout=10`", (Edit(span, "requests.get(url, timeout=10)"),)),
        related=(Related("pkg/settings.py", span, "the session is created here"),),
        severity=Severity.WARNING,
        fingerprint="abc",
        noqa_lines=(4,),
    )


def test_findings_round_trip_as_json(tmp_path: Path) -> None:
    cache = Cache(str(tmp_path))
    key = Cache.key(b"import requests\n", "pkg/client.py", "settings")
    cache.put(key, [_finding()])
    assert cache.get(key) == [_finding()]
    (entry,) = [p for p in tmp_path.rglob("*") if p.is_file() and "findings" in p.parts]
    document = json.loads(entry.read_text(encoding="utf-8"))  # plain JSON, not pickle
    assert document["key"] == key
    assert (tmp_path / "CACHEDIR.TAG").read_text(encoding="utf-8") == TAG
    assert (tmp_path / ".gitignore").read_text(encoding="utf-8") == "*\n"


def test_project_summaries_and_analyses_round_trip(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "jobs.py").write_text(
        "import threading\nlock = threading.Lock()\n\ndef run():\n    with lock:\n        go(1, k=2)\n",
        encoding="utf-8",
    )
    index = project.index_for(str(tmp_path / "jobs.py"), cache_dir=str(tmp_path / "c"))
    summary = index.summary("jobs")
    assert summary is not None
    assert decode(json.loads(json.dumps(encode(summary, project.ModuleSummary))), project.ModuleSummary) == summary
    project.forget()


@pytest.mark.parametrize(
    "value",
    [
        (1, "a", None, True, 2.5),
        [1, (2, 3)],
        {"k": (1, 2), ("t", 1): [3]},
        frozenset({1, 2}),
        {"x"},
        Severity.ERROR,
    ],
)
def test_codec_round_trips_plain_values(value: Any) -> None:
    assert decode(json.loads(json.dumps(encode(value)))) == value


@pytest.mark.parametrize(
    "data",
    [
        {"C": "os:system", "v": ["echo planted"]},  # not an opslint class
        {"C": "subprocess:Popen", "v": [["true"]]},
        {"C": "opslint.model:Span", "v": [1, 2, 3]},  # wrong field count
        {"C": "opslint.model:Span", "v": [1, 2, 3, 4, "x", 6]},  # wrong field type
        {"C": "opslint.model:Span.__init__", "v": []},
        {"C": "opslint.not_imported_module:Thing", "v": []},
        {"E": "opslint.model:Severity", "v": "catastrophic"},
        {"Z": []},
        {"D": [[1]]},
    ],
)
def test_invalid_or_foreign_objects_are_refused(data: Any) -> None:
    with pytest.raises((InvalidEntry, ValueError)):
        decode(data)


def test_decode_checks_the_expected_type() -> None:
    with pytest.raises(InvalidEntry):
        decode(encode([1, 2]), List[Finding])
    assert decode(encode([_finding()]), List[Finding]) == [_finding()]
    assert decode(encode({"a": (1,)}, Dict[str, Tuple[int, ...]]), Dict[str, Tuple[int, ...]]) == {"a": (1,)}
    summary_hint = List[Finding]
    typed = encode([_finding()], summary_hint)
    assert "C" not in json.dumps(typed)  # the plain shape: no class tags where the type is known
    assert decode(json.loads(json.dumps(typed)), summary_hint) == [_finding()]
    assert decode(encode(None), Optional[int]) is None


class _Planted:
    def __reduce__(self) -> Any:
        return (os.system, ("touch PWNED",))


def test_a_planted_corrupt_or_foreign_entry_is_a_miss_and_is_overwritten(tmp_path: Path) -> None:
    cache = Cache(str(tmp_path))
    key = Cache.key(b"x", "a.py", "s")
    path = Path(cache.store.path(Cache.NAMESPACE, key))
    path.parent.mkdir(parents=True)
    for content in (
        pickle.dumps(_Planted()),  # what the old pickle cache would have executed
        b'{"format": 1, "key": "',  # truncated
        b"\x00\x01binary",
        json.dumps({"format": 1, "key": "another key", "value": {"L": []}}).encode(),
        json.dumps({"format": 99, "key": key, "value": {"L": []}}).encode(),
        json.dumps({"format": 1, "key": key, "value": {"L": [{"C": "os:system", "v": ["touch PWNED"]}]}}).encode(),
        json.dumps({"format": 1, "key": key, "value": {"L": [1, 2]}}).encode(),
    ):
        path.write_bytes(content)
        assert cache.get(key) is None
    assert not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()
    cache.put(key, [_finding()])
    assert cache.get(key) == [_finding()]


def test_an_unwritable_store_is_silent(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    store = Store(str(blocker))  # a file where the directory should be
    store.put("findings", "ab" * 32, [1])
    assert store.get("findings", "ab" * 32) is None


def test_no_cache_reads_no_project_summaries(tmp_path: Path) -> None:
    """--no-cache must not read a ``.opslint_cache`` that is there (copied in with a
    project): a stale summary there gave old project facts."""
    import subprocess
    import sys

    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "app.py").write_text(
        "import requests\n\n\ndef f(url):\n    return requests.get(url)\n", encoding="utf-8"
    )
    cache = tmp_path / ".opslint_cache"
    cache.mkdir()
    (cache / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n", encoding="utf-8")
    before = sorted(str(p) for p in cache.rglob("*"))
    proc = subprocess.run(
        [sys.executable, "-m", "opslint", "check", "--no-cache", "--output-format", "concise", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "OPS502" in proc.stdout, proc.stdout + proc.stderr
    assert sorted(str(p) for p in cache.rglob("*")) == before  # nothing written there either
