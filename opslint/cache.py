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
from typing import List, Optional

from opslint._version import __version__
from opslint.config import Settings
from opslint.model import Finding
from opslint.rule import code_fingerprint
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
    def key(data: bytes, display_path: str, settings: Settings, extra: str = "") -> str:
        digest = hashlib.sha256()
        for part in (__version__, code_fingerprint(), display_path, settings.fingerprint(), extra):
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
