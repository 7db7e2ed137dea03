"""Configuration lookups with a fallback, for the URL analysis (OPS501/OPS504).

Which calls read configuration with a default (env, settings, options, ``getattr``),
which names they fall back to (:func:`defaulted_names`), and which classes are
settings classes whose fields come from the environment.  A URL constant used as such
a fallback, or as a settings field's default, is already configurable.  The context
walk of ``_url_context.py`` asks these questions; the per-file state lives in
``_url_uses.UrlUses``, read through :class:`Facts`.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Protocol, Set, Tuple

import libcst as cst

from opslint.analysis.base import FileFacts
from opslint.rules._url_tables import (
    DEFAULT_KEYWORDS,
    LOOKUP_CALLEES,
    LOOKUP_FUNCTIONS,
    LOOKUP_METHODS,
    PLAIN_FIELD_CALLEES,
    SETTINGS_BASES,
)
from opslint.rules._urls import is_literal, name_tokens
from opslint.syntax.names import dotted_name


class Facts(Protocol):
    """What the context walk reads of the file's analysis (``_url_uses.UrlUses``)."""

    ctx: FileFacts
    #: Settings classes of the file by name (their subclasses are settings too).
    settings_classes: Set[str]
    #: Dict displays judged as link tables (by node id).
    link_tables: Dict[int, bool]

    def resolve(self, expr: cst.BaseExpression) -> Optional[str]: ...


# ---------------------------------------------------------------------------
# Lookups with a default
# ---------------------------------------------------------------------------


def callee_parts(facts: Facts, func: cst.BaseExpression) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """(qualified name, last name, receiver's dotted name) of a callee."""
    qualified = facts.resolve(func)
    if isinstance(func, cst.Name):
        return qualified or func.value, func.value, None
    if isinstance(func, cst.Attribute):
        return qualified, func.attr.value, dotted_name(func.value)
    return qualified, None, None


def is_lookup_call(facts: Facts, call: cst.Call) -> bool:
    """A call that reads configuration with a fallback: env, settings, options, getattr."""
    qualified, last, receiver = callee_parts(facts, call.func)
    if qualified in LOOKUP_CALLEES:
        return True
    if isinstance(call.func, cst.Name):
        return last in LOOKUP_FUNCTIONS
    if last in LOOKUP_METHODS:
        return bool(call.args) and call.args[0].keyword is None
    return False


def lookup_default_args(facts: Facts, call: cst.Call) -> List[cst.BaseExpression]:
    """The expressions a call uses as defaults of configurable values."""
    out: List[cst.BaseExpression] = []
    if facts.resolve(call.func) in PLAIN_FIELD_CALLEES:
        return out
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in DEFAULT_KEYWORDS:
            out.append(arg.value)
    if is_lookup_call(facts, call):
        positional = [a for a in call.args if a.keyword is None and not a.star]
        start = 2 if facts.resolve(call.func) == "getattr" or _is_name(call.func, "getattr") else 1
        out.extend(a.value for a in positional[start:])
    return out


def _is_name(expr: cst.BaseExpression, name: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == name


def contains_lookup(facts: Facts, expr: cst.CSTNode) -> bool:
    """Whether an expression reads configuration (a lookup call, ``os.environ[...]``)."""
    stack: List[cst.CSTNode] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call) and is_lookup_call(facts, node):
            return True
        if isinstance(node, cst.Subscript) and facts.resolve(node.value) in ("os.environ", "os.environb"):
            return True
        if isinstance(node, (cst.Attribute, cst.Name)):
            dotted = dotted_name(node)
            if dotted and name_tokens(dotted.split(".")[0])[:1] in (["settings"], ["config"], ["conf"], ["cfg"]):
                return True
        stack.extend(node.children)
    return False


def defaulted_names(facts: Facts, node: cst.CSTNode) -> List[str]:
    """Names of constants that ``node`` uses as the fallback of a configuration lookup.

    ``os.environ.get("X", DEFAULT_URL)``, ``config("X", default=BASE)``,
    ``os.getenv("X") or DEFAULT_URL``: the constant is already configurable.
    """
    exprs: List[cst.BaseExpression] = []
    if isinstance(node, cst.Call):
        exprs = lookup_default_args(facts, node)
    elif isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.Or):
        # ``os.getenv("X") or DEFAULT``, ``self.custom_host or DEFAULT_HOST`` (a CLI option),
        # ``tool_config.url or self.DEFAULT_URL``: the fallback of a value given elsewhere.
        if contains_lookup(facts, node.left) or not is_literal(node.left):
            exprs = [node.right]
    elif isinstance(node, cst.IfExp):
        if contains_lookup(facts, node.test) or contains_lookup(facts, node.body) or fallback_branch(node, node.orelse):
            exprs = [node.orelse]
        if contains_lookup(facts, node.orelse) or fallback_branch(node, node.body):
            exprs.append(node.body)
    out: List[str] = []
    for expr in exprs:
        while isinstance(expr, cst.Subscript):
            expr = expr.value  # ``DEFAULTS["api"]``: the whole table is a fallback
        if isinstance(expr, cst.Name):
            out.append(expr.value)
        elif isinstance(expr, cst.Attribute):
            out.append(expr.attr.value)
    return out


def fallback_branch(node: cst.IfExp, child: cst.CSTNode) -> bool:
    """``custom if custom else URL`` / ``URL if custom is None else custom``."""
    other = node.body if node.orelse is child else node.orelse if node.body is child else None
    if not isinstance(other, (cst.Name, cst.Attribute)):
        return False
    test = node.test
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        test = test.left
    return dotted_name(test) is not None and dotted_name(test) == dotted_name(other)


# ---------------------------------------------------------------------------
# Settings classes
# ---------------------------------------------------------------------------


def is_settings_class(facts: Facts, node: cst.ClassDef, known: Set[str]) -> bool:
    """A class whose fields are read from the environment (pydantic settings...)."""
    for base in node.bases:
        name = dotted_name(base.value)
        if name is None:
            continue
        last = name.rsplit(".", 1)[-1]
        qualified = facts.resolve(base.value) or name
        if last in SETTINGS_BASES and (last != "Settings" or "." in qualified) or last in known:
            return True
        if qualified.startswith(("pydantic_settings.", "pydantic.BaseSettings", "environs.", "goodconf.")):
            return True
    for stmt in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
                callee = dotted_name(small.value.func) or ""
                if callee.endswith("SettingsConfigDict"):
                    return True
    return False


def settings_field_names(node: cst.ClassDef) -> List[str]:
    """Constants used as field defaults in a settings class body."""
    out: List[str] = []
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    for stmt in body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            value = small.value if isinstance(small, (cst.Assign, cst.AnnAssign)) else None
            if isinstance(value, cst.Name):
                out.append(value.value)
            elif isinstance(value, cst.Attribute):
                out.append(value.attr.value)
    return out


def is_settings(facts: Facts, node: cst.ClassDef) -> bool:
    """A settings class; remembered, so that its subclasses in the file are settings too."""
    known = facts.settings_classes
    if is_settings_class(facts, node, known):
        known.add(node.name.value)
        return True
    return False
