"""Pass 1 data of the project index: plain module summaries (stored as JSON, sent to workers by pickle)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from typing import Any, Dict, Mapping, Optional, Protocol, Tuple

import libcst as cst

from opslint.model import SLOTS, Span


@dataclass(frozen=True)
class ModuleInfo:
    """Where a module lives, as given to ``Rule.project_facts``."""

    name: str
    path: str
    package: str
    is_package: bool
    root: str
    #: The module's source, which its tree was parsed from (so that facts need not
    #: print the tree back: a quarter of a parse).
    text: str = field(default="", repr=False, compare=False)
    #: Work the rules' ``project_facts`` share on this module (a binding table, a
    #: family's facts), computed by the first rule that asks.  It lives as long as
    #: the info, which the index keeps with the parsed tree for the last few modules
    #: whose facts it computed (``opslint.project.facts.Parsed``).
    memo: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, **SLOTS)
class Decorator:
    #: Resolved qualified name of the decorator (of the callee for ``@x(...)``).
    name: str
    is_call: bool
    args: Tuple[str, ...]
    kwargs: Tuple[Tuple[str, str], ...]
    span: Span


@dataclass(frozen=True, **SLOTS)
class CallSite:
    """One call inside a function (or module body), in source order."""

    index: int
    #: Best qualified name: imports, module definitions, ``self``/``cls`` and
    #: simple local/attribute types are resolved; otherwise the dotted source.
    callee: str
    #: The dotted source text of the callee (``self.lock.acquire``), or "".
    raw: str
    #: Positional arguments: resolved names, ``callee()`` for calls, repr of
    #: constants, else short source text.
    args: Tuple[str, ...]
    kwargs: Tuple[Tuple[str, str], ...]
    #: The items of the enclosing ``with`` statements, outer to inner, in the
    #: same notation as arguments.
    with_items: Tuple[str, ...]
    #: Indexes of calls whose result is tested by an enclosing ``if not <call>``
    #: (or ``if <call> is None``...): this call runs when that call failed.
    neg_guards: Tuple[int, ...]
    #: Indexes of calls tested by an enclosing ``if <call>``/``while <call>``.
    pos_guards: Tuple[int, ...]
    #: Inside a ``finally`` block.
    in_finally: bool
    span: Span
    #: The source text of the enclosing ``with`` items (same order as ``with_items``).
    with_texts: Tuple[str, ...] = ()

    # Call sites are four fifths of a project index, and their strings repeat (the
    # standard library calls ``len`` and ``self.assertEqual`` thousands of times): one
    # object per distinct string, however the site was made (summarised, decoded from the
    # store, or unpickled from an index worker, which goes through ``__reduce__``).
    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "callee", _intern(self.callee))
        setattr_(self, "raw", _intern(self.raw))
        if self.args:
            setattr_(self, "args", tuple([_intern(a) for a in self.args]))
        if self.kwargs:
            setattr_(self, "kwargs", tuple([(_intern(k), _intern(v)) for k, v in self.kwargs]))
        if self.with_items:
            setattr_(self, "with_items", tuple([_intern(w) for w in self.with_items]))
        if self.with_texts:
            setattr_(self, "with_texts", tuple([_intern(w) for w in self.with_texts]))

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        return (CallSite, tuple([getattr(self, name) for name in _CALL_FIELDS]))


_intern = sys.intern
_CALL_FIELDS = tuple(f.name for f in fields(CallSite))


@dataclass(frozen=True, **SLOTS)
class FunctionSummary:
    qualname: str
    module: str
    name: str
    #: The qualified name of the class for methods, else None.
    class_qualname: Optional[str]
    params: Tuple[str, ...]
    decorators: Tuple[Decorator, ...]
    calls: Tuple[CallSite, ...]
    #: The span of the function's name (of the first line for pseudo-functions).
    span: Span
    is_async: bool = False
    #: "function", "method", "module" (module-level code) or "main"
    #: (the ``if __name__ == "__main__":`` block).
    kind: str = "function"


@dataclass(frozen=True, **SLOTS)
class ClassSummary:
    qualname: str
    #: Resolved (module-local) qualified names of the bases, as written.
    bases: Tuple[str, ...]
    methods: Tuple[str, ...]
    #: ``self.x = Something(...)`` in any method: attribute -> callee.
    attr_types: Tuple[Tuple[str, str], ...]
    decorators: Tuple[Decorator, ...]
    span: Span


@dataclass(frozen=True, **SLOTS)
class Assignment:
    """A module-level assignment (``x = ...``, ``app.conf.x = ...``, or ``x.update(k=...)``)."""

    target: str
    #: Every string constant in the value, with the dict key it sits under ("" if none).
    strings: Tuple[Tuple[str, str], ...]
    #: Names (resolved) in the value.
    names: Tuple[str, ...]
    span: Span


@dataclass(frozen=True, **SLOTS)
class ModuleSummary:
    name: str
    path: str
    package: str
    is_package: bool
    content_hash: str
    #: local name -> qualified name for module-level imports.
    aliases: Mapping[str, str]
    #: module-level names defined here -> "function", "class" or "variable".
    defs: Mapping[str, str]
    #: module-level variable -> the callee that built it (``x = Cls(...)``).
    var_types: Mapping[str, str]
    classes: Mapping[str, ClassSummary]
    functions: Mapping[str, FunctionSummary]
    assignments: Tuple[Assignment, ...]
    #: ``__all__``-free star imports: modules whose names this module re-exports.
    star_imports: Tuple[str, ...] = ()
    #: Why the module could not be summarised ("" when it was).
    error: str = ""
    #: Codes of the rules whose ``project_tokens`` the module holds: their
    #: ``project_facts`` are computed when asked for (``ProjectIndex.fact``).
    facts: Tuple[str, ...] = ()
    #: What those facts are made of, without positions (a digest of the module's tree;
    #: "" without fact codes): part of the module's shape.
    fact_shape: str = ""
    #: module-level ``NAME = <number or string literal, or arithmetic over numbers>`` -> its
    #: source text (``DELIVERY_TIMEOUT_S = 15``, ``BATCH = 5 * 60``).
    constants: Mapping[str, str] = field(default_factory=dict)

    @property
    def module_function(self) -> Optional[FunctionSummary]:
        return self.functions.get(f"{self.name}.<module>")

    @property
    def main_function(self) -> Optional[FunctionSummary]:
        return self.functions.get(f"{self.name}.<main>")


class ProjectRule(Protocol):
    """What the project index asks of a cross-file rule (a rule class; see ``opslint.rule.Rule``).

    The index never imports the rule layer: rules reach it through this protocol.
    """

    # Plain attributes: a class object matches a protocol through its class attributes.
    code: str
    needs_project: bool
    #: Prefilter of ``project_facts``: modules containing none of these are skipped.
    project_tokens: Tuple[str, ...]

    @classmethod
    def project_facts(cls, module: cst.Module, info: ModuleInfo) -> Any:
        """Per-module facts (opslint dataclasses and plain values: stored as JSON)."""

    @classmethod
    def defines_project_facts(cls) -> bool:
        """Whether the rule computes per-module facts at all."""
