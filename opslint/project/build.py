"""Building many summaries: in-memory cache, disk store and the optional worker pool."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import (
    Any,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from opslint.cache import Store, code_fingerprint, digest
from opslint.parallel import fork_map
from opslint.project.summarise import _empty, content_hash, read_source, summarise
from opslint.project.summary import ModuleSummary, ProjectRule

#: Below this many files to summarise, a worker pool costs more than it saves.
PARALLEL_THRESHOLD = 200


#: A summary's identity: the file's content hash, module name, path, and the codes of
#: the rules whose project facts it holds.
_Key = Tuple[str, str, str, Tuple[str, ...]]
#: Summaries made or loaded by this process.
_SUMMARY_CACHE: Dict[_Key, ModuleSummary] = {}
_POOL_STATE: Dict[str, Any] = {}


_Item = Tuple[str, str, str, str, bool]
_Result = Tuple[ModuleSummary, str]


@dataclass(frozen=True)
class _Miss:
    """A file not in any cache: its text and cache key, for computing its summary."""

    text: str
    key: _Key


def _summarise_item(item: _Item) -> _Result:
    """A file's summary, cached or computed (a pool worker's entry point)."""
    found = _lookup(item)
    return _compute(item, found) if isinstance(found, _Miss) else found


def _lookup_all(todo: List[_Item]) -> List[Union[_Result, _Miss]]:
    # Decoding thousands of summaries allocates millions of objects that all
    # live on: the cyclic collector would rescan them again and again (3x slower).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return [_lookup(item) for item in todo]
    finally:
        if enabled:
            gc.enable()


def _lookup(item: _Item) -> Union[_Result, _Miss]:
    """The summary of one file from the memory or disk cache, else what computing it needs."""
    path, name, package, extra, is_package = item
    try:
        text = read_source(path)
    except OSError as exc:
        return _empty(name, path, package, is_package, "", str(exc)), extra
    rules: Sequence[ProjectRule] = _POOL_STATE.get("rules", ())
    key = _key(content_hash(text), name, path, rules)
    found = _stored(key, _POOL_STATE.get("cache_dir"))
    return (found, extra) if found is not None else _Miss(text, key)


def _key(content: str, name: str, path: str, rules: Sequence[ProjectRule]) -> _Key:
    return (content, name, path, tuple(sorted(r.code for r in rules)))


def _stored(key: _Key, cache_dir: Optional[str]) -> Optional[ModuleSummary]:
    """The summary made earlier for ``key``: from this process's memory, else from the
    disk store (kept in memory from then on)."""
    found = _SUMMARY_CACHE.get(key)
    if found is None and cache_dir:
        found = _disk_load(cache_dir, key)
        if found is None or found.path != key[2] or found.name != key[1]:
            return None
        _SUMMARY_CACHE[key] = found
    return found


def _compute(item: _Item, miss: _Miss) -> _Result:
    path, name, package, extra, is_package = item
    rules: Sequence[ProjectRule] = _POOL_STATE.get("rules", ())
    summary = summarise(path, miss.text, name, package, is_package, _POOL_STATE.get("root", ""), rules)
    _SUMMARY_CACHE[miss.key] = summary
    cache_dir: Optional[str] = _POOL_STATE.get("cache_dir")
    if cache_dir:
        _disk_store(cache_dir, miss.key, summary)
    return summary, extra


def load_summary(
    item: _Item, expected_hash: str, root: str, rules: Sequence[ProjectRule], cache_dir: Optional[str]
) -> ModuleSummary:
    """The summary of a file known from the manifest, from memory or the disk store; made
    again from the file when neither has it (or the file changed behind the manifest)."""
    path, name, _, _, _ = item
    found = _stored(_key(expected_hash, name, path, rules), cache_dir)
    if found is not None:
        return found
    _POOL_STATE.update(root=root, rules=tuple(rules), cache_dir=cache_dir)
    summary, _ = _summarise_item(item)
    return summary


def stored_summary(
    item: _Item, content: str, rules: Sequence[ProjectRule], cache_dir: Optional[str]
) -> Optional[ModuleSummary]:
    """A summary made earlier of the file's version ``content`` (memory or disk), if kept."""
    path, name, _, _, _ = item
    return _stored(_key(content, name, path, rules), cache_dir)


#: Bumped when the summary dataclasses change (old cache entries are then ignored).
_SUMMARY_FORMAT = "9"


def _disk_key(key: _Key) -> str:
    # The code fingerprint too: a summary made by an older summariser (or with an older
    # rule's tokens) must not be served after an edit.
    return digest(_SUMMARY_FORMAT, code_fingerprint(), repr(key))


def _disk_load(cache_dir: str, key: _Key) -> Optional[ModuleSummary]:
    value = Store(cache_dir).get("index", _disk_key(key), ModuleSummary)
    return value if isinstance(value, ModuleSummary) else None


def _disk_store(cache_dir: str, key: _Key, summary: ModuleSummary) -> None:
    Store(cache_dir).put("index", _disk_key(key), summary, ModuleSummary)


def _summarise_many(
    todo: List[_Item],
    root: str,
    rules: Sequence[ProjectRule],
    jobs: int,
    cache_dir: Optional[str] = None,
) -> List[_Result]:
    """Summaries in the order of ``todo`` (when two files claim one module name, the first wins).

    Cached ones are loaded here, not in a worker, which would decode them
    twice (a warm index of the standard library: 18 s -> 4 s); only the
    misses go to a pool, and only when there are enough of them.
    """
    _POOL_STATE.update(root=root, rules=tuple(rules), cache_dir=cache_dir)
    found = _lookup_all(todo)
    missing = [i for i, result in enumerate(found) if isinstance(result, _Miss)]
    # Workers read the files again: cheaper than pickling every text to them.
    computed = fork_map(
        _summarise_item, [todo[i] for i in missing], jobs=jobs, threshold=PARALLEL_THRESHOLD, chunksize=16
    )
    for i, result in zip(missing, computed):
        found[i] = result
    return [result for result in found if not isinstance(result, _Miss)]
