"""A content-hash cache of per-file findings.

Layout (as ruff's): ``<cache-dir>/<opslint version>/<settings hash>/<content hash>``,
with a ``CACHEDIR.TAG`` and a ``.gitignore`` so backups and git skip it.  The key
covers the file's bytes and path, the opslint version and every setting that can
change a finding, so a hit is always exact.  Findings of rules that read other
files (the project index) are keyed on the project's facts too, by the caller.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from functools import cache
from typing import Iterable, List, Optional, Tuple

from opslint._version import __version__
from opslint.model import Finding
from opslint.source import write_atomic

DEFAULT_DIR = ".opslint_cache"
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by opslint.\n"


class Cache:
    def __init__(self, directory: str) -> None:
        self.directory = os.path.join(directory, __version__)
        self._ready = False

    def _prepare(self) -> None:
        if self._ready:
            return
        os.makedirs(self.directory, exist_ok=True)
        top = os.path.dirname(self.directory)
        for name, content in (("CACHEDIR.TAG", _TAG), (".gitignore", "*\n")):
            path = os.path.join(top, name)
            if not os.path.exists(path):
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(content)
        self._ready = True

    @staticmethod
    def key(data: bytes, display_path: str, settings_fingerprint: str, extra: str = "") -> str:
        digest = hashlib.sha256()
        for part in (__version__, code_fingerprint(), display_path, settings_fingerprint, extra):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], key[2:])

    def get(self, key: str) -> Optional[List[Finding]]:
        try:
            with open(self._path(key), "rb") as handle:
                value = pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
            return None
        return value if isinstance(value, list) else None

    def put(self, key: str, findings: List[Finding]) -> None:
        try:
            self._prepare()
            path = self._path(key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_atomic(path, pickle.dumps(findings, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            pass  # a read-only tree still lints, just without a cache


def code_fingerprint(extra_files: Iterable[str] = ()) -> str:
    """A hash of opslint's own source, of the rules package and of ``extra_files``
    (the source of rules registered from elsewhere), so that editing a rule or a
    knowledge table between runs never serves results of the old code from a
    cache.  (Whole folders, not ``sys.modules``: which modules a run imported
    depends on its output format.)"""
    return _code_fingerprint(tuple(sorted(set(extra_files))))


@cache
def _code_fingerprint(extra_files: Tuple[str, ...]) -> str:
    package = sys.modules["opslint"]
    folders = [os.path.dirname(os.path.abspath(package.__file__ or ""))]
    folders += list(getattr(sys.modules.get("opslint.rules"), "__path__", []))
    files: set[str] = set(extra_files)
    for folder in folders:
        for directory, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            files.update(os.path.join(directory, f) for f in filenames if f.endswith(".py"))
    digest = hashlib.sha256()
    for path in sorted(f for f in files if f):
        try:
            with open(path, "rb") as handle:
                digest.update(path.encode("utf-8", "surrogatepass") + b"\0" + handle.read())
        except OSError:
            continue
    return digest.hexdigest()
