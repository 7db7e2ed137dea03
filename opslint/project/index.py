"""The project index (pass 2, lazily): name resolution across modules, hierarchies, callers, entry points."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Set,
    Tuple,
)

from opslint.cache import Store, code_fingerprint, digest
from opslint.model import Span
from opslint.project import entries, manifest
from opslint.project import facts as _facts
from opslint.project.build import _summarise_many, load_summary, stored_summary
from opslint.project.derived import (
    _Derived,
    _renamed,
    _shape,
    _spans,
    resolve_callee,
)
from opslint.project.entries import Entry, EntrySpec
from opslint.project.layout import Excluded, in_walk, iter_project_files, module_names
from opslint.project.manifest import FileStamp, LazyModules, shape_digest
from opslint.project.resolution import Resolution
from opslint.project.summarise import content_hash, fact_codes, read_source, summarise
from opslint.project.summary import (
    CallSite,
    FunctionSummary,
    ModuleSummary,
    ProjectRule,
)

#: How long a single-file caller trusts the index without checking the disk.
REVALIDATE_SECONDS = 2.0


@dataclass
class _Edge:
    caller: str
    site: CallSite


@dataclass(frozen=True)
class Persisted:
    """A whole-project result kept on disk, with the content hash of every module it
    was computed from (to map its positions after edits that kept the shape)."""

    value: Any
    hashes: Mapping[str, str]


_Item = Tuple[str, str, str, str, bool]


class _Info(NamedTuple):
    """What the index knows of a module without loading its summary."""

    path: str
    content: str
    shape: str
    #: Codes of the rules whose ``project_tokens`` the module holds (``ModuleSummary.facts``).
    facts: Tuple[str, ...]


class _FactsView(Mapping[str, Any]):
    """``ProjectIndex.module_facts``: a module's facts computed (or loaded) on first access."""

    def __init__(self, index: ProjectIndex, code: str) -> None:
        self._index = index
        self._code = code

    def __getitem__(self, name: str) -> Any:
        found = self._index.fact(name, self._code)
        if found is None:
            raise KeyError(name)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(
            [name for name in self._index.fact_modules(self._code) if self._index.fact(name, self._code) is not None]
        )

    def __len__(self) -> int:
        return sum(1 for _ in self)


class ProjectIndex(Resolution):
    """Summaries of every module of one project, and queries across them."""

    def __init__(
        self,
        root: str,
        fact_rules: Sequence[ProjectRule] = (),
        cache_dir: Optional[str] = None,
        excluded: Optional[Excluded] = None,
    ) -> None:
        self.root = root
        #: Where module summaries are kept between processes (``.opslint_cache``), if anywhere.
        self.cache_dir = cache_dir
        self.fact_rules: List[ProjectRule] = list(fact_rules)
        #: What the project's configuration keeps out of linting (test fixtures, vendored
        #: or generated code) is not part of what its analyses see either.
        self.excluded = excluded
        self.modules = LazyModules()
        #: module name -> (path, content hash, shape digest): known without loading summaries.
        self._info: Dict[str, _Info] = {}
        #: module name -> the name its summary was made under (before a duplicate was renamed).
        self._planned: Dict[str, str] = {}
        self.by_path: Dict[str, str] = {}
        self.alias_modules: Dict[str, str] = {}
        self._stamps: Dict[str, Tuple[int, int]] = {}
        #: The manifest of the last build/revalidation (see ``manifest.py``).
        self._manifest: Dict[str, FileStamp] = {}
        self._derived: Optional[_Derived] = None
        self._memo: Dict[Any, Any] = {}
        self._canon: Dict[str, str] = {}
        #: Names being resolved right now (a star-import cycle must not loop).
        self._resolving: Set[str] = set()
        #: How often the depth limit cut a resolution (such answers are not cached).
        self._cuts = 0
        self._splits: Dict[str, Tuple[Optional[ModuleSummary], int]] = {}
        self._ancestors: Dict[str, List[str]] = {}
        #: path -> (span held by a derived result -> span now), see ``_swap``.
        self._remaps: Dict[str, Dict[Span, Span]] = {}
        self.checked_at = 0.0
        self.build_seconds = 0.0
        #: Set by the runner: a run lints one snapshot, so no disk re-checks.
        self.pinned = False
        #: (module, rule code) -> (content hash, ``project_facts``), see ``fact``.
        self._fact_memo: Dict[Tuple[str, str], Tuple[str, Any]] = {}
        #: path -> text given by ``refresh`` (a buffer may differ from the disk).
        self._texts: Dict[str, str] = {}
        self._parsed = _facts.Parsed()

    # -- building ------------------------------------------------------------

    def build(self, jobs: int = 0, files: Optional[Iterable[str]] = None) -> ProjectIndex:
        """Index the project's files: those unchanged since the manifest was written are
        taken lazily (their summaries load on first use), the others are summarised now."""
        started = time.perf_counter()
        paths = list(files) if files is not None else list(iter_project_files(self.root, self.excluded))
        key = self._manifest_key()
        known = manifest.load(self.cache_dir, key)
        planned: List[Tuple[_Item, Optional[FileStamp]]] = []
        todo: List[_Item] = []
        for path in paths:
            item = self._plan(path)
            if item is None:
                continue
            entry = known.get(item[0])
            if entry is not None and (entry.mtime_ns, entry.size) == self._stamps[item[0]]:
                planned.append((item, entry))
            else:
                planned.append((item, None))
                todo.append(item)
        computed = {
            s.path: (s, extra) for s, extra in _summarise_many(todo, self.root, self.fact_rules, jobs, self.cache_dir)
        }
        for item, entry in planned:
            if entry is not None:
                self._add_lazy(item, entry)
            elif item[0] in computed:
                summary, extra = computed[item[0]]
                self._add(summary, extra)
        self._save_manifest(key, known)
        self.checked_at = time.monotonic()
        self.build_seconds = time.perf_counter() - started
        return self

    def _manifest_key(self) -> str:
        return manifest.manifest_key(self.root, tuple(sorted(r.code for r in self.fact_rules)))

    def _save_manifest(self, key: str, previous: Dict[str, FileStamp]) -> None:
        entries: Dict[str, FileStamp] = {}
        for info in self._info.values():
            stamp = self._stamps.get(info.path)
            if stamp is not None:
                entries[info.path] = FileStamp(stamp[0], stamp[1], info.content, info.shape, info.facts)
        self._manifest = entries
        if entries != previous:
            manifest.save(self.cache_dir, key, entries)

    def _plan(self, path: str) -> Optional[_Item]:
        absolute = os.path.abspath(path)
        try:
            stat = os.stat(absolute)
        except OSError:
            return None
        self._stamps[absolute] = (stat.st_mtime_ns, stat.st_size)
        name, extra, is_package = module_names(absolute, self.root)
        package = name if is_package else name.rpartition(".")[0]
        return absolute, name, package, ",".join(extra), is_package

    def _claim(self, path: str, name: str, extra: str) -> Optional[Tuple[str, str]]:
        """The name a file gets (and its remaining aliases): the first file walked keeps a
        name that two files claim (scripts in different folders); the other is known by
        its path-based alias.  None when no name is left."""
        old = self.by_path.get(path)
        if old is not None and old != name:
            self._forget_module(old)
        if name in self.modules and self._info[name].path != path:
            alternatives = [n for n in extra.split(",") if n and n not in self.modules]
            if not alternatives:
                return None
            return alternatives[0], ",".join(alternatives[1:])
        return name, extra

    def _register(
        self, name: str, path: str, extra: str, content: str, shape: str, planned: str, facts: Tuple[str, ...]
    ) -> None:
        self._info[name] = _Info(path, content, shape, facts)
        self._planned[name] = planned
        self.by_path[path] = name
        for alias in extra.split(","):
            if alias and alias not in self.modules:
                self.alias_modules.setdefault(alias, name)
        self._invalidate()

    def _forget_module(self, name: str) -> None:
        self.modules.pop(name, None)
        self._planned.pop(name, None)
        info = self._info.pop(name, None)
        if info is not None and self.by_path.get(info[0]) == name:
            del self.by_path[info[0]]

    def _add(self, summary: ModuleSummary, extra: str) -> None:
        claimed = self._claim(summary.path, summary.name, extra)
        if claimed is None:
            return
        name, extra = claimed
        if name != summary.name:
            summary = _renamed(summary, name)
        self.modules[name] = summary
        facts = tuple(sorted(summary.facts))
        self._register(
            name, summary.path, extra, summary.content_hash, shape_digest(_shape(summary)), summary.name, facts
        )

    def _add_lazy(self, item: _Item, entry: FileStamp) -> None:
        path, planned, package, extra, is_package = item
        claimed = self._claim(path, planned, extra)
        if claimed is None:
            return
        name, extra = claimed
        rules = tuple(self.fact_rules)
        cache_dir = self.cache_dir
        root = self.root

        def load() -> ModuleSummary:
            summary = load_summary(
                (path, planned, package, extra, is_package), entry.content_hash, root, rules, cache_dir
            )
            return summary if summary.name == name else _renamed(summary, name)

        self.modules.set_lazy(name, load)
        self._register(name, path, extra, entry.content_hash, entry.shape, planned, entry.facts)

    def refresh(self, path: str, text: str, *, keep_shape: bool = False) -> None:
        """Use ``text`` for ``path`` (an editor buffer, a fix in progress).

        ``keep_shape`` (the language server, for unsaved buffers): take the text only
        when it keeps the module's shape (moved lines, comments), so the project's
        analyses stay as of the last save instead of being redone on every keystroke;
        the saved file is read when the disk changes (``revalidate``).
        """
        absolute = os.path.abspath(path)
        name = self.by_path.get(absolute)
        text_hash = content_hash(text)
        if name is not None and self._info[name].content == text_hash:
            return
        if name is None and not in_walk(self.root, absolute):
            # A file the index never walks (under build/, a virtualenv...), linted
            # by name: it is not part of the project the analyses see, and adding
            # it would redo every project analysis for each such file.  (A file the
            # configuration excludes, linted by name, joins: the analyses see the
            # file they report on.)
            return
        item = self._plan(absolute) if os.path.exists(absolute) else None
        if item is None:
            mod, extra_names, is_package = module_names(absolute, self.root)
            item = (absolute, mod, mod if is_package else mod.rpartition(".")[0], ",".join(extra_names), is_package)
        _, mod_name, package, extra, is_package = item
        if name is not None:
            mod_name = name
        summary = summarise(absolute, text, mod_name, package, is_package, self.root, self.fact_rules)
        shape = shape_digest(_shape(summary))
        if name is not None and summary.name == name and self._info[name].shape == shape:
            self._texts[absolute] = text
            self._swap(self.modules[name], summary)
            self._info[name] = _Info(absolute, text_hash, shape, tuple(sorted(summary.facts)))
            return
        if keep_shape and name is not None:
            return
        if name is not None:
            self._forget_module(name)
        # Only the text the index takes: facts are computed from it (a buffer it declined,
        # ``keep_shape``, would not match the module's content hash).
        self._texts[absolute] = text
        self._add(summary, extra)

    def _swap(self, old: ModuleSummary, new: ModuleSummary) -> None:
        """Replace a module whose edit moved code but changed nothing the analyses read.

        Derived results (call graph, rule memos) stay valid; only positions moved,
        and ``current_span`` maps the positions they hold to the new ones.
        """
        remap = dict(zip(_spans(old), _spans(new)))
        previous = self._remaps.get(new.path, {})
        composed = {origin: remap.get(current, current) for origin, current in previous.items()}
        for before, after in remap.items():
            composed.setdefault(before, after)
        self._remaps[new.path] = composed
        self.modules[new.name] = new
        self._memo.pop("fingerprint", None)
        derived = self._derived
        if derived is not None:
            for qualname, fn in new.functions.items():
                before_fn = old.functions.get(qualname)
                derived.functions[qualname] = fn
                if before_fn is None:
                    continue
                for before_site, site in zip(before_fn.calls, fn.calls):
                    target = derived.targets.get(id(before_site))
                    if target is not None:
                        derived.targets[id(site)] = target

    def current_span(self, path: str, span: Span) -> Span:
        """Where a position recorded by an analysis is now (after buffer edits that kept the shape)."""
        remap = self._remaps.get(os.path.abspath(path))
        return remap.get(span, span) if remap else span

    def revalidate(self, force: bool = False) -> None:
        """Re-read files changed on disk since the build (for long-lived callers)."""
        now = time.monotonic()
        if not force and (self.pinned or now - self.checked_at < REVALIDATE_SECONDS):
            return
        self.checked_at = now
        current = set()
        for path in iter_project_files(self.root, self.excluded):
            absolute = os.path.abspath(path)
            current.add(absolute)
            try:
                stat = os.stat(absolute)
            except OSError:
                continue
            if self._stamps.get(absolute) != (stat.st_mtime_ns, stat.st_size):
                try:
                    text = read_source(absolute)
                except OSError:
                    continue
                self._stamps[absolute] = (stat.st_mtime_ns, stat.st_size)
                self.refresh(absolute, text)
        for gone in set(self.by_path) - current:
            if os.path.exists(gone):
                continue
            self._forget_module(self.by_path[gone])
            self._invalidate()

    def add_fact_rules(self, rules: Iterable[ProjectRule]) -> None:
        """Take rules not seen at build time: which modules hold their tokens."""
        new = [r for r in rules if r not in self.fact_rules]
        if not new:
            return
        self.fact_rules.extend(new)
        for name, info in list(self._info.items()):
            try:
                text = self._text(info.path)
            except OSError:
                continue
            if content_hash(text) != info.content:
                continue
            codes = fact_codes(new, text)
            if codes:
                self._info[name] = info._replace(facts=tuple(sorted({*info.facts, *codes})))
        self._memo.clear()

    def _heads(self) -> Set[str]:
        """First components of every module name (a quick reject for external callees)."""
        heads = self._memo.get("heads")
        if heads is None:
            heads = {n.split(".", 1)[0] for n in (*self.modules, *self.alias_modules)}
            self._memo["heads"] = heads
        return heads

    def _invalidate(self) -> None:
        self._remaps.clear()
        self._derived = None
        self._memo.clear()
        self._canon.clear()
        self._splits.clear()
        self._ancestors.clear()

    # -- plain queries ------------------------------------------------------

    def fingerprint(self) -> str:
        """Changes whenever any module of the project changes (for result caches)."""
        found = self._memo.get("fingerprint")
        if found is None:
            hasher = hashlib.sha256()
            for name in sorted(self._info):
                hasher.update(f"{name}\0{self._info[name].content}\0".encode())
            found = self._memo["fingerprint"] = hasher.hexdigest()
        return str(found)

    def shape_fingerprint(self) -> str:
        """Changes whenever anything an analysis reads changes (not on a moved line or a
        new comment): the key of whole-project analyses kept on disk."""
        found = self._memo.get("shape-fingerprint")
        if found is None:
            hasher = hashlib.sha256()
            for name in sorted(self._info):
                hasher.update(f"{name}\0{self._info[name].shape}\0".encode())
            found = self._memo["shape-fingerprint"] = hasher.hexdigest()
        return str(found)

    def module_of(self, path: str) -> Optional[str]:
        return self.by_path.get(os.path.abspath(path))

    def fact_modules(self, code: str) -> List[str]:
        """The modules that hold rule ``code``'s ``project_tokens`` (sorted)."""
        return sorted(name for name, info in self._info.items() if code in info.facts)

    def fact(self, name: str, code: str) -> Any:
        """What rule ``code``'s ``project_facts`` gave module ``name`` (None: nothing).

        Computed on first use, from the module's text as the index knows it, and kept in
        memory and in the cache directory (see ``opslint.project.facts``)."""
        info = self._info.get(name)
        if info is None or code not in info.facts:
            return None
        found = self._fact_memo.get((name, code))
        if found is not None and found[0] == info.content:
            return found[1]
        item = self._fact_item(name, info)
        hit, value = _facts.stored(self.cache_dir, item, code)
        if not hit:
            rule = next((r for r in self.fact_rules if r.code == code), None)
            try:
                text = self._text(info.path)
            except OSError:
                text = None
            if rule is None or text is None or content_hash(text) != info.content:
                return None  # changed behind the index: nothing is known of it now
            value = _facts.compute([rule], item, text, self.root, self._parsed)[code]
            _facts.store(self.cache_dir, item, code, value)
        self._fact_memo[(name, code)] = (info.content, value)
        return value

    def compute_facts(self, jobs: int = 0) -> None:
        """Compute every module's facts now, in workers (a run over the whole project,
        whose files would otherwise each ask for them, in each worker process)."""
        todo: List[_facts.Item] = []
        names: List[str] = []
        for name, info in self._info.items():
            item = self._fact_item(name, info)
            missing: List[str] = []
            for code in info.facts:
                memo = self._fact_memo.get((name, code))
                if memo is not None and memo[0] == info.content:
                    continue
                hit, value = _facts.stored(self.cache_dir, item, code)
                if hit:
                    self._fact_memo[(name, code)] = (info.content, value)
                else:
                    missing.append(code)
            if missing and info.path not in self._texts:
                todo.append(item[:5] + (tuple(missing),))
                names.append(name)
        for name, item, values in zip(names, todo, _facts.compute_many(self.fact_rules, todo, self.root, jobs)):
            info = self._info[name]
            for code, value in values.items():
                self._fact_memo[(name, code)] = (info.content, value)
                _facts.store(self.cache_dir, item, code, value)

    def _fact_item(self, name: str, info: _Info) -> _facts.Item:
        # The name the module's summary was made under: its facts are made as they were.
        planned = self._planned.get(name, name)
        is_package = info.path.endswith("__init__.py")
        package = planned if is_package else planned.rpartition(".")[0]
        return (info.path, planned, package, is_package, info.content, info.facts)

    def source_of(self, name: str) -> Optional[str]:
        """The text of module ``name`` as the index knows it (None: unreadable, or changed
        on disk since the index read it)."""
        info = self._info.get(name)
        if info is None:
            return None
        try:
            text = self._text(info.path)
        except OSError:
            return None
        return text if content_hash(text) == info.content else None

    def _text(self, path: str) -> str:
        found = self._texts.get(path)
        return found if found is not None else read_source(path)

    def facts(self, code: str) -> Dict[str, Any]:
        """module name -> ``project_facts`` result of rule ``code`` (modules that gave one).

        With a cache directory the answer is also kept on disk as one document per
        project and rule, holding each module's facts with the content hash they came
        from: a run loads that document and computes only the facts of modules that
        changed since.
        """
        memo: Dict[str, Dict[str, Any]] = self._memo.setdefault("facts", {})
        found = memo.get(code)
        if found is not None:
            return found
        having = self.fact_modules(code)
        store = Store(self.cache_dir) if self.cache_dir else None
        # The code fingerprint too: facts of a rule's old code must not outlive an edit.
        key = digest("facts", code, code_fingerprint(), self._manifest_key())
        stored = store.get("facts", key, Dict[str, Tuple[str, Any]]) if store is not None else None
        kept: Dict[str, Tuple[str, Any]] = stored if isinstance(stored, dict) else {}
        fresh: Dict[str, Tuple[str, Any]] = {}
        for name in having:
            content = self._info[name].content
            entry = kept.get(name)
            fresh[name] = entry if entry is not None and entry[0] == content else (content, self.fact(name, code))
        if store is not None and fresh != kept:
            store.put("facts", key, fresh, Dict[str, Tuple[str, Any]])
        found = {name: value for name, (_, value) in fresh.items() if value is not None}
        memo[code] = found
        return found

    def module_facts(self, code: str) -> Mapping[str, Any]:
        """module name -> ``project_facts`` result of rule ``code``, like ``facts``, but as a
        view that loads a module's summary only when that module is asked for.

        For questions about a few modules (is this one file relevant?), where ``facts``
        would decode every module's facts first (a second on Django for OPS201).
        """
        found = self._memo.get("facts", {}).get(code)
        return found if found is not None else _FactsView(self, code)

    def memo(self, key: Any, compute: Callable[[], Any], persist: bool = False) -> Any:
        """Cache a derived result until the index changes.

        ``persist`` also keeps it on disk (when the index has a cache
        directory), keyed by the project's fingerprint, the key's ``repr`` and
        opslint's code: for whole-project analyses that a single-file run
        (flake8, pre-commit) would otherwise redo every time.
        """
        if key in self._memo:
            return self._memo[key]
        store = Store(self.cache_dir) if persist and self.cache_dir else None
        # Keyed by the project's shape: an edit that only moves lines keeps the result,
        # and the positions it holds are mapped to the current ones (``current_span``).
        disk_key = digest(code_fingerprint(), repr(key), self.root, self.shape_fingerprint())
        stored = store.get("derived", disk_key, Persisted) if store is not None else None
        if isinstance(stored, Persisted) and self._adopt(stored.hashes):
            value = stored.value
        else:
            value = compute()
            if store is not None:
                hashes = {name: info.content for name, info in self._info.items()}
                store.put("derived", disk_key, Persisted(value, hashes), Persisted)
        self._memo[key] = value
        return value

    def _adopt(self, hashes: Mapping[str, str]) -> bool:
        """Map the positions of modules that changed since ``hashes`` (same shape) to their
        current ones; False when an earlier version's summary is no longer available."""
        remaps: Dict[str, Dict[Span, Span]] = {}
        for name, (path, content, _, _) in self._info.items():
            before = hashes.get(name)
            if before is None:
                return False
            if before == content:
                continue
            planned = self._planned.get(name, name)
            package = planned if path.endswith("__init__.py") else planned.rpartition(".")[0]
            old = stored_summary((path, planned, package, "", False), before, self.fact_rules, self.cache_dir)
            if old is None:
                return False
            if old.name != name:
                old = _renamed(old, name)
            remaps[path] = dict(zip(_spans(old), _spans(self.modules[name])))
        for path, remap in remaps.items():
            composed = self._remaps.setdefault(path, {})
            for before_span, after_span in remap.items():
                composed.setdefault(before_span, after_span)
        return True

    # -- the call graph ----------------------------------------------------------

    def target_of(self, site: CallSite) -> Optional[str]:
        """The project function a call site calls, if it is one."""
        return self._graph().targets.get(id(site))

    def callers(self, qualname: str) -> List[Tuple[FunctionSummary, CallSite]]:
        """(calling function, call site) for every call of a project function."""
        graph = self._graph()
        out = []
        for caller, site in graph.callers.get(self.canonical(qualname), ()):
            fn = graph.functions.get(caller)
            if fn is not None:
                out.append((fn, site))
        return out

    def callees(self, qualname: str) -> List[Tuple[CallSite, str]]:
        """(call site, called project function) for the calls of a function."""
        fn = self.function(qualname)
        if fn is None:
            return []
        out = []
        for site in fn.calls:
            target = self.target_of(site)
            if target is not None:
                out.append((site, target))
        return out

    def _graph(self) -> _Derived:
        if self._derived is None:
            self._derived = _Derived(self.modules, lambda fn, callee: resolve_callee(self, fn, callee))
        return self._derived

    # -- entry points ---------------------------------------------------------

    def entry_points(self, spec: EntrySpec) -> Dict[str, List[Entry]]:
        """Function qualname -> the entries that start it (computed once per spec)."""
        key = ("entry_points", id(spec))
        held = self._memo.get(key)
        if held is None or held[0] is not spec:
            held = (spec, entries.entry_points(self, spec))
            self._memo[key] = held
        return held[1]

    def function_by_path(self, dotted: str) -> Optional[str]:
        """A function named by a dotted string (``proj.tasks.refresh``), or a task name."""
        return entries.function_by_path(self, dotted)

    def reaching_entries(self, qualname: str, spec: EntrySpec) -> List[Entry]:
        """Entries from which ``qualname`` is reachable through project calls."""
        return entries.reaching_entries(self, qualname, spec)
