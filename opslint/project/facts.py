"""The rules' per-module project facts, computed when a query first needs them.

A module's summary lists the rules whose ``project_tokens`` it holds (``ModuleSummary.facts``);
what those rules' ``project_facts`` say of it is computed here, from the module's text
parsed with LibCST, on first use.  A one-file run (pre-commit, flake8, an editor) asks
about the few modules its file reaches, so it parses those, not the hundreds of modules
that hold a rule's token; a run over a whole project computes them all up front, in
worker processes (``compute_many``).  Each answer is kept in memory and in the cache
directory, keyed by the module's content hash, name and path, and the rules' code.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import libcst as cst

from opslint.cache import Store, code_fingerprint, digest
from opslint.parallel import fork_map
from opslint.project.summarise import compute_fact, content_hash, parse_for_facts, read_source
from opslint.project.summary import ModuleInfo, ProjectRule

#: Bumped when what is stored changes meaning.
_FORMAT = "1"

#: Modules whose parsed tree is kept for the next rule's facts of the same module.
_PARSED_KEPT = 4

#: Below this many modules to compute, a worker pool costs more than it saves.
PARALLEL_THRESHOLD = 64

#: (path, module name, package, is package, content hash, codes): one module's work.
Item = Tuple[str, str, str, bool, str, Tuple[str, ...]]


def _key(item: Item, code: str) -> str:
    path, name, _package, _is_package, content, _codes = item
    # The code fingerprint too: facts of a rule's old code must not outlive an edit.
    return digest("fact", _FORMAT, code_fingerprint(), content, name, path, code)


def stored(cache_dir: Optional[str], item: Item, code: str) -> Tuple[bool, Any]:
    """(found, value) of a fact kept on disk."""
    if not cache_dir:
        return False, None
    found = Store(cache_dir).get("fact", _key(item, code), Tuple[Any])
    return (True, found[0]) if isinstance(found, tuple) and len(found) == 1 else (False, None)


def store(cache_dir: Optional[str], item: Item, code: str, value: Any) -> None:
    if cache_dir:
        Store(cache_dir).put("fact", _key(item, code), (value,), Tuple[Any])


class Parsed:
    """The last few modules parsed for facts, with the work their rules share (``ModuleInfo.memo``)."""

    def __init__(self) -> None:
        self._kept: OrderedDict[str, Tuple[Optional[cst.Module], ModuleInfo]] = OrderedDict()

    def get(self, item: Item, text: str, root: str) -> Tuple[Optional[cst.Module], ModuleInfo]:
        path, name, package, is_package, content, _codes = item
        found = self._kept.get(content + path)
        if found is None:
            info = ModuleInfo(name, path, package, is_package, root, text)
            found = (parse_for_facts(text), info)
            self._kept[content + path] = found
            while len(self._kept) > _PARSED_KEPT:
                self._kept.popitem(last=False)
        else:
            self._kept.move_to_end(content + path)
        return found

    def clear(self) -> None:
        self._kept.clear()


def compute(rules: Sequence[ProjectRule], item: Item, text: str, root: str, parsed: Parsed) -> Dict[str, Any]:
    """The facts of ``rules`` for one module whose text is ``text``."""
    module, info = parsed.get(item, text, root)
    if module is None:
        return {rule.code: None for rule in rules}
    return {rule.code: compute_fact(rule, module, info) for rule in rules}


_POOL: Dict[str, Any] = {}


def _compute_item(item: Item) -> Dict[str, Any]:
    """A pool worker's entry point: the module's text is read again (cheaper than
    pickling it), and a module changed since the index saw it gives nothing."""
    rules: Dict[str, ProjectRule] = _POOL["rules"]
    try:
        text = read_source(item[0])
    except OSError:
        return {}
    if content_hash(text) != item[4]:
        return {}
    wanted = [rules[c] for c in item[5] if c in rules]
    return compute(wanted, item, text, _POOL["root"], Parsed())


def compute_many(rules: Sequence[ProjectRule], items: List[Item], root: str, jobs: int) -> List[Dict[str, Any]]:
    """Facts of many modules (each item's codes), in the items' order; in workers when
    there are many."""
    _POOL.update(rules={r.code: r for r in rules}, root=root)
    return fork_map(_compute_item, items, jobs=jobs, threshold=PARALLEL_THRESHOLD, chunksize=4)
