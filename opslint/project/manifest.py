"""What a project's files were when their summaries were made, so a run reads only what changed.

The manifest is kept in the cache store (namespace ``manifest``), one per project root
and set of fact rules: for each file its ``stat`` stamp (mtime in nanoseconds, size),
its content hash and the *shape* digest of its summary (everything the analyses read
but positions).  A run stats every file (tens of milliseconds for thousands of files);
a file whose stamp is unchanged is taken from the manifest without being read, and its
summary is loaded only when a query needs it (:class:`LazyModules`).  The project's
fingerprints come from the manifest alone: ``content`` (any byte changed) for result
caches, ``shape`` (anything an analysis reads changed) for whole-project analyses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, MutableMapping, Optional, Tuple

from opslint.cache import Store, digest
from opslint.project.summary import ModuleSummary

#: Bumped when the manifest's content changes meaning.
FORMAT = "3"


@dataclass(frozen=True)
class FileStamp:
    mtime_ns: int
    size: int
    content_hash: str
    shape: str
    #: Codes of the rules whose ``project_tokens`` the module holds.
    facts: Tuple[str, ...] = ()


def manifest_key(root: str, rule_codes: Tuple[str, ...]) -> str:
    return digest(FORMAT, root, ",".join(rule_codes))


# Stored as plain rows (thousands of them are read on every run): a list per file
# [mtime_ns, size, content hash, shape, [fact codes]], checked row by row on load.
_Row = Tuple[int, int, str, str, Tuple[str, ...]]


def load(cache_dir: Optional[str], key: str) -> Dict[str, FileStamp]:
    if not cache_dir:
        return {}
    rows = Store(cache_dir).get("manifest", key, Dict[str, _Row])
    if not isinstance(rows, dict):
        return {}
    return {path: FileStamp(*row) for path, row in rows.items()}


def save(cache_dir: Optional[str], key: str, entries: Dict[str, FileStamp]) -> None:
    if cache_dir:
        rows = {path: (e.mtime_ns, e.size, e.content_hash, e.shape, e.facts) for path, e in entries.items()}
        Store(cache_dir).put("manifest", key, rows, Dict[str, _Row])


def shape_digest(shape: Any) -> str:
    """A digest of a summary's shape (``derived._shape``)."""
    return hashlib.blake2b(repr(shape).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class LazyModules(MutableMapping[str, ModuleSummary]):
    """module name -> summary, where a summary may be a loader run on first access.

    Iterating the keys loads nothing; reading a value (``[]``, ``get``, ``values``,
    ``items``) loads it once.
    """

    def __init__(self) -> None:
        self._loaded: Dict[str, ModuleSummary] = {}
        self._pending: Dict[str, Callable[[], ModuleSummary]] = {}
        #: Insertion order of all keys (loaded or not), as a dict would keep it.
        self._order: Dict[str, None] = {}

    def set_lazy(self, name: str, loader: Callable[[], ModuleSummary]) -> None:
        self._loaded.pop(name, None)
        self._pending[name] = loader
        self._order[name] = None

    def is_loaded(self, name: str) -> bool:
        return name in self._loaded

    def __getitem__(self, name: str) -> ModuleSummary:
        found = self._loaded.get(name)
        if found is not None:
            return found
        loader = self._pending.pop(name)  # KeyError for an unknown name, as a dict
        summary = self._loaded[name] = loader()
        return summary

    def __setitem__(self, name: str, summary: ModuleSummary) -> None:
        self._pending.pop(name, None)
        self._loaded[name] = summary
        self._order[name] = None

    def __delitem__(self, name: str) -> None:
        if name not in self._order:
            raise KeyError(name)
        self._loaded.pop(name, None)
        self._pending.pop(name, None)
        del self._order[name]

    def __contains__(self, name: object) -> bool:
        return name in self._order

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)
