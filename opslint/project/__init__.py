"""The whole-project index: what every module defines, imports and calls.

Cross-file rules (``Rule.needs_project``) read a :class:`ProjectIndex` through
``ctx.project``.  The index is built in two passes:

* pass 1, per module: a :class:`ModuleSummary` of plain, picklable data
  (imports, classes and their bases, functions with their decorators and call
  sites, module-level assignments, the ``__main__`` block).  It is built from
  Python's own ``ast`` (a C parser, about ten times cheaper than LibCST), keyed
  by the content hash, cached in memory and built in parallel for big projects.
  The summary lists the rules whose ``project_tokens`` the file holds: their
  ``Rule.project_facts`` (on a LibCST module) are computed when a query first needs
  them, so a one-file run parses the few modules its questions reach
  (``opslint.project.facts``; a run over many files computes them all first, in
  workers);
* pass 2, lazily: name resolution across modules (re-exports through
  ``__init__``), class hierarchies, callers and callees, entry points.

The index is found by project root: the nearest directory above a file that
holds ``pyproject.toml``, ``setup.py``, ``setup.cfg`` or ``.git``, or is an
installed-code tree (``site-packages``, the standard library's folder).  Linting one
file (flake8, the LSP, pre-commit) therefore sees the whole project, and a
buffer that differs from the disk replaces its module (``refresh``).
"""

from __future__ import annotations

import os
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, TypeVar

from opslint.project.build import _SUMMARY_CACHE
from opslint.project.entries import Entry, EntrySpec
from opslint.project.index import REVALIDATE_SECONDS, ProjectIndex
from opslint.project.layout import (
    ROOT_MARKERS,
    Excluded,
    _folders,
    _package_dirs,
    _root_cache,
    find_root,
    in_walk,
    iter_project_files,
    module_names,
    name_directories,
)
from opslint.project.summarise import content_hash, read_source, summarise
from opslint.project.summary import (
    Assignment,
    CallSite,
    ClassSummary,
    Decorator,
    FunctionSummary,
    ModuleInfo,
    ModuleSummary,
    ProjectRule,
)

__all__ = [
    "REVALIDATE_SECONDS",
    "ROOT_MARKERS",
    "Assignment",
    "CallSite",
    "ClassSummary",
    "Decorator",
    "Entry",
    "EntrySpec",
    "FunctionSummary",
    "ModuleInfo",
    "ModuleSummary",
    "ProjectIndex",
    "_SUMMARY_CACHE",
    "cached_index",
    "content_hash",
    "find_root",
    "forget",
    "index_for",
    "iter_project_files",
    "module_names",
    "name_directories",
    "prepare",
    "summarise",
    "unpin",
]

# --------------------------------------------------------------------------
# The per-process registry of indexes
# --------------------------------------------------------------------------

_INDEXES: Dict[str, ProjectIndex] = {}

#: From this many files of a project in one run, its modules' facts are all computed up
#: front (a one-file run computes only those its file's questions reach).
EAGER_FACTS_FILES = 20


_R = TypeVar("_R", bound=ProjectRule)


def project_rules(rules: Iterable[_R]) -> List[_R]:
    return [r for r in rules if getattr(r, "needs_project", False)]


def index_for(
    path: str,
    rules: Iterable[ProjectRule] = (),
    *,
    jobs: int = 0,
    fresh: bool = False,
    cache_dir: Optional[str] = None,
    default_cache: bool = True,
    exclusion: Optional[Callable[[str], Optional[Excluded]]] = None,
) -> ProjectIndex:
    """The index of the project that ``path`` belongs to (built on first use).

    ``fresh`` re-checks the disk now (a run starting); otherwise the disk is
    re-checked at most every ``REVALIDATE_SECONDS`` (editors, flake8).
    Without ``cache_dir`` the project's ``.opslint_cache`` is used when it
    exists, unless ``default_cache`` is off (a run with ``--no-cache``).
    ``exclusion`` gives, for a project root, what its configuration excludes
    (``config.project_exclusion``): such files are not indexed.
    """
    root = find_root(path)
    fact_rules = [r for r in project_rules(rules) if r.defines_project_facts()]
    index = _INDEXES.get(root)
    if index is None:
        if cache_dir is None and default_cache:
            # Share summaries with earlier runs only where the CLI already keeps its cache.
            default = os.path.join(root, ".opslint_cache")
            cache_dir = default if os.path.isdir(default) else None
        excluded = exclusion(root) if exclusion is not None else None
        index = ProjectIndex(root, fact_rules, cache_dir=cache_dir, excluded=excluded).build(jobs=jobs)
        _INDEXES[root] = index
    else:
        index.revalidate(force=fresh)
        index.add_fact_rules(fact_rules)
    return index


def prepare(
    paths: Iterable[str],
    rules_for_path: Callable[[str], Sequence[_R]],
    jobs: int = 0,
    cache_dir: Optional[str] = None,
    exclusion: Optional[Callable[[str], Optional[Excluded]]] = None,
) -> List[Tuple[ProjectIndex, List[_R], str]]:
    """Build (or refresh) and pin the index of every project the paths belong to.

    Called by a run before it forks its workers, so they inherit the indexes.
    ``rules_for_path`` gives the enabled rules of a file.  Returns (index, its
    project rules, a file of it) per project; unpin with ``unpin``.
    """
    by_root: Dict[str, Tuple[str, Dict[str, _R]]] = {}
    named: Dict[str, List[str]] = {}
    for path in paths:
        needing = project_rules(rules_for_path(path))
        if needing:
            root = find_root(path)
            _first, chosen = by_root.setdefault(root, (path, {}))
            named.setdefault(root, []).append(path)
            for rule in needing:
                chosen[rule.code] = rule
    out = []
    for root, (first, chosen) in by_root.items():
        # A run passes its cache folder, or None for --no-cache: then nothing is
        # read from a cache folder that happens to be there.
        index = index_for(
            root,
            list(chosen.values()),
            jobs=jobs,
            fresh=True,
            cache_dir=cache_dir,
            default_cache=False,
            exclusion=exclusion,
        )
        if len(named.get(root, ())) >= EAGER_FACTS_FILES:
            # Many files will ask: compute every module's facts once, in workers, rather
            # than in each linting worker as its files ask.
            index.compute_facts(jobs)
        # Files named on the command line that the configuration excludes are linted:
        # they join the index now, before workers fork, so every worker sees the same
        # project (a worker adding its own files would see another one).
        for path in named.get(root, ()):
            if index.module_of(path) is None and in_walk(root, path):
                try:
                    index.refresh(path, read_source(path))
                except OSError:
                    pass
        index.pinned = True
        out.append((index, list(chosen.values()), first))
    return out


def unpin(indexes: Iterable[ProjectIndex]) -> None:
    for index in indexes:
        index.pinned = False


def cached_index(path: str) -> Optional[ProjectIndex]:
    """The index already built for ``path``'s project, if any (never builds one)."""
    return _INDEXES.get(find_root(path))


def forget(root: Optional[str] = None) -> None:
    """Drop cached indexes (all, or one root's)."""
    if root is None:
        _INDEXES.clear()
        _root_cache.clear()
        _package_dirs.clear()
        _folders.clear()
    else:
        _INDEXES.pop(os.path.abspath(root), None)
