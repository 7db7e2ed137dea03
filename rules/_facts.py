"""The context and binding table of a module read for project facts, shared by the rules
that summarise the same module (OPS301, OPS302): the index parses a module once and hands
the same tree to each rule's ``project_facts``, so the binding table and the node
positions are computed once for all of them, not once per rule."""

from __future__ import annotations

from typing import Any, Optional, Tuple

import libcst as cst

from opslint.analysis.base import analyse_alone
from opslint.analysis.scopes import BindingTable
from opslint.config import Settings
from opslint.context import FileContext

#: The last module asked for and what was computed for it (the index summarises one
#: module at a time, so one entry is enough; a strong reference keeps ``is`` meaningful).
_last: Optional[Tuple[cst.Module, str, FileContext, BindingTable]] = None


def module_context(module: cst.Module, info: Any) -> Tuple[FileContext, BindingTable]:
    global _last
    if _last is not None and _last[0] is module and _last[1] == info.path:
        return _last[2], _last[3]
    ctx = FileContext(
        path=info.path,
        display_path=info.path,
        text=getattr(info, "text", "") or module.code,
        module=module,
        settings=Settings(),
        module_name=info.name,
        package=info.package,
    )
    table = analyse_alone(ctx, BindingTable)
    _last = (module, info.path, ctx, table)
    return ctx, table
