"""Project facts, from both ends.

Reading them: ``FactsOf``, a rule's facts of one type, module by module on demand.

Making them: the context and binding table of a module read for project facts, shared
by the rules that summarise the same module (OPS301, OPS302): the index parses a module
once and hands the same tree to each rule's ``project_facts``, so the binding table and
the node positions are computed once for all of them, not once per rule."""

from __future__ import annotations

from typing import Any, Generic, Iterator, Mapping, Optional, Tuple, Type, TypeVar, cast

import libcst as cst

from opslint.analysis.base import analyse_alone
from opslint.analysis.scopes import BindingTable
from opslint.config import Settings
from opslint.context import FileContext
from opslint.project.summary import ModuleInfo


def module_context(module: cst.Module, info: ModuleInfo) -> Tuple[FileContext, BindingTable]:
    """The module's file context and binding table, built once for every rule's
    ``project_facts`` on it (kept in ``info.memo``)."""
    known = info.memo.get("context")
    if known is not None:
        return cast(Tuple[FileContext, BindingTable], known)
    ctx = FileContext(
        path=info.path,
        display_path=info.path,
        text=info.text or module.code,
        module=module,
        settings=Settings(),
        module_name=info.name,
        package=info.package,
    )
    table = analyse_alone(ctx, BindingTable)
    info.memo["context"] = (ctx, table)
    return ctx, table


_T = TypeVar("_T")


class FactsOf(Mapping[str, _T], Generic[_T]):
    """module name -> the facts rule ``code`` gave that module, when they are a ``kind``.

    Built on ``ProjectIndex.module_facts``: a module's summary is read only when that
    module is asked for, so a one-file run that needs the facts of the few modules its
    file imports does not decode every module's facts first.
    """

    def __init__(self, project: Any, code: str, kind: Type[_T], current: Optional[Mapping[str, _T]] = None) -> None:
        """``current``: facts that replace the project's for their modules (a file being
        linted, as it is now); ``project`` may be None (no project: only ``current``)."""
        self._facts: Mapping[str, Any] = project.module_facts(code) if project is not None else {}
        self._kind = kind
        self._current: Mapping[str, _T] = current or {}

    def __getitem__(self, name: str) -> _T:
        if name in self._current:
            return self._current[name]
        found = self._facts[name]
        if not isinstance(found, self._kind):
            raise KeyError(name)
        return found

    def __iter__(self) -> Iterator[str]:
        yield from self._current
        yield from (n for n in self._facts if n not in self._current and isinstance(self._facts[n], self._kind))

    def __len__(self) -> int:
        return sum(1 for _ in self)
