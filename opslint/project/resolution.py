"""Queries of the project index by qualified name: module summaries, re-exports, class hierarchies.

:class:`Resolution` is mixed into :class:`~opslint.project.index.ProjectIndex`, which
holds the summaries and the caches declared here (cleared by its ``_invalidate``).
"""

from __future__ import annotations

import sys
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple

from opslint.project.manifest import LazyModules
from opslint.project.summary import ClassSummary, FunctionSummary, ModuleSummary

_intern = sys.intern


class Resolution:
    """Name resolution across modules and class hierarchies (see the module docstring)."""

    modules: LazyModules
    alias_modules: Dict[str, str]
    _canon: Dict[str, str]
    _resolving: Set[str]
    _cuts: int
    #: dotted name -> (its module, how many of its parts name the module)
    _splits: Dict[str, Tuple[Optional[ModuleSummary], int]]
    _ancestors: Dict[str, List[str]]

    # -- summaries by name -------------------------------------------------

    def summary(self, module: str) -> Optional[ModuleSummary]:
        name = module if module in self.modules else self.alias_modules.get(module)
        return self.modules.get(name) if name is not None else None

    def function(self, qualname: str) -> Optional[FunctionSummary]:
        resolved = self.canonical(qualname)
        module = self._module_for_qualname(resolved)
        if module is None:
            return None
        return module.functions.get(resolved)

    def functions(self) -> Iterator[FunctionSummary]:
        for summary in self.modules.values():
            yield from summary.functions.values()

    def class_summary(self, qualname: str) -> Optional[ClassSummary]:
        resolved = self.canonical(qualname)
        module = self._module_for_qualname(resolved)
        if module is None:
            return None
        return module.classes.get(resolved)

    def built_by(self, qualified: str) -> Optional[str]:
        """The callee a module-level variable of the project was built by (``reports.ext.cache``
        -> ``flask_caching.Cache``; a project class by its canonical name), or None when
        ``qualified`` names no such variable."""
        module, _, variable = self.canonical(qualified).rpartition(".")
        summary = self.summary(module) if module else None
        built = summary.var_types.get(variable) if summary is not None else None
        if summary is None or built is None:
            return None
        # The index records the builder qualified (``telemetry.FulfilmentTelemetry``); read as a
        # local name it could resolve through a variable of the same name as the module.
        found = self.canonical(built)
        if self.class_summary(found) is not None or self.function(found) is not None:
            return found
        local = self.resolve(summary.name, built)
        return self.canonical(local) if local is not None else found

    def path_of(self, qualname: str) -> Optional[str]:
        module = self._module_for_qualname(qualname)
        return module.path if module is not None else None

    # -- resolution ---------------------------------------------------------

    def _module_cut(self, qualname: str) -> Tuple[Optional[ModuleSummary], int]:
        """The module a dotted name starts with, and how many of its parts name it."""
        cached = self._splits.get(qualname)
        if cached is not None:
            return cached
        parts = qualname.split(".")
        found: Tuple[Optional[ModuleSummary], int] = (None, 0)
        for cut in range(len(parts), 0, -1):
            summary = self.summary(".".join(parts[:cut]))
            if summary is not None:
                found = (summary, cut)
                break
        # The cut, not the parts: a whole-project analysis splits some 70,000 names.
        self._splits[_intern(qualname)] = found
        return found

    def _split_module(self, qualname: str) -> Tuple[Optional[ModuleSummary], List[str]]:
        """The module a dotted name starts with, and the parts after it."""
        summary, cut = self._module_cut(qualname)
        return summary, qualname.split(".")[cut:]

    def _module_for_qualname(self, qualname: str) -> Optional[ModuleSummary]:
        return self._module_cut(qualname)[0]

    def canonical(self, qualname: str, _depth: int = 0) -> str:
        """Follow re-exports: ``pkg.helper`` -> ``pkg.impl.helper`` when ``pkg/__init__`` imports it."""
        cached = self._canon.get(qualname)
        if cached is not None:
            return cached
        if qualname in self._resolving:
            return qualname  # a cycle of star imports: nothing new down this path
        cuts = self._cuts
        self._resolving.add(qualname)
        try:
            found = self._canonical(qualname, _depth)
        finally:
            self._resolving.discard(qualname)
        # Every complete answer is kept, at any depth: star imports re-exporting
        # each other (site-packages has such packages) otherwise make the
        # search exponential in the depth.
        if self._cuts == cuts:
            self._canon[_intern(qualname)] = _intern(found)
        return found

    def _canonical(self, qualname: str, _depth: int) -> str:
        if _depth > 12:
            self._cuts += 1
            return qualname
        if "()" in qualname:
            return qualname
        summary, rest = self._split_module(qualname)
        if summary is None:
            return qualname
        if not rest:
            return summary.name
        head = rest[0]
        if head in summary.defs or f"{summary.name}.{head}" in summary.classes:
            return ".".join([summary.name, *rest])
        target = summary.aliases.get(head)
        if target is not None:
            return self.canonical(".".join([target, *rest[1:]]), _depth + 1)
        for star in summary.star_imports:
            candidate = self.canonical(".".join([star, *rest]), _depth + 1)
            if self._module_for_qualname(candidate) is not None and self._defines(candidate):
                return candidate
        return ".".join([summary.name, *rest])

    def _defines(self, qualname: str) -> bool:
        summary, rest = self._split_module(qualname)
        return summary is not None and bool(rest) and rest[0] in summary.defs

    def resolve(self, module_name: str, local_name: str) -> Optional[str]:
        """The canonical qualified name ``local_name`` (dotted) refers to in a module."""
        summary = self.summary(module_name)
        if summary is None:
            return None
        head, _, rest = local_name.partition(".")
        if head in summary.aliases:
            base = summary.aliases[head]
        elif head in summary.defs:
            base = f"{summary.name}.{head}"
        else:
            for star in summary.star_imports:
                candidate = self.canonical(f"{star}.{local_name}")
                if self._defines(candidate):
                    return candidate
            return None
        return self.canonical(f"{base}.{rest}" if rest else base)

    def module_for(self, qualname: str) -> Optional[str]:
        """The project module a dotted name lies in (the longest prefix that names one;
        ``pkg.mod.Cls.method()`` -> ``pkg.mod``), without loading any summary."""
        parts = qualname.split("(", 1)[0].split(".")
        for cut in range(len(parts), 0, -1):
            name = ".".join(parts[:cut])
            if name in self.modules:
                return name
            alias = self.alias_modules.get(name)
            if alias is not None:
                return alias
        return None

    # -- classes --------------------------------------------------------------
    # -- classes --------------------------------------------------------------

    def class_bases(self, qualname: str) -> Tuple[str, ...]:
        """Canonical direct bases of a project class (external bases as written)."""
        cls = self.class_summary(qualname)
        if cls is None:
            return ()
        return tuple(self.canonical(b) for b in cls.bases)

    def ancestors(self, qualname: str) -> List[str]:
        """All bases, transitively, in breadth-first order (no duplicates)."""
        cached = self._ancestors.get(qualname)
        if cached is not None:
            return cached
        seen: List[str] = []
        self._ancestors[qualname] = seen  # cycles end here
        queue = list(self.class_bases(qualname))
        while queue:
            base = queue.pop(0)
            if base in seen:
                continue
            seen.append(base)
            queue.extend(self.class_bases(base))
        return seen

    def is_subclass(self, qualname: str, base_qualnames: Iterable[str]) -> bool:
        targets = set(base_qualnames)
        name = self.canonical(qualname)
        if name in targets:
            return True
        return any(a in targets for a in self.ancestors(name))

    def subclasses_of(self, base_qualnames: Iterable[str]) -> Set[str]:
        targets = set(base_qualnames)
        out = set()
        for summary in self.modules.values():
            for cls in summary.classes:
                if self.is_subclass(cls, targets) and cls not in targets:
                    out.add(cls)
        return out

    def method(self, class_qualname: str, name: str) -> Optional[FunctionSummary]:
        """The method ``name`` as found on the class or its project bases (MRO-ish)."""
        for cls in [self.canonical(class_qualname), *self.ancestors(class_qualname)]:
            summary = self.class_summary(cls)
            if summary is not None and name in summary.methods:
                return self.function(f"{cls}.{name}")
        return None
