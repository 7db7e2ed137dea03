"""The base class of every rule, and the helpers a rule author uses.

A rule is a class with ``visit_<Node>`` / ``leave_<Node>`` methods.  The engine
runs all enabled rules in one traversal of one parse, so a rule never walks
the tree itself (except small subtrees it inspects) and never parses.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
)

import libcst as cst

# Rule authors import these from here (``from opslint.rule import PendingFix``).
from opslint.analysis.base import Analysis
from opslint.edits import AnyEdit, Edits, ModuleName, NodeEdit, PendingFinding, PendingFix, RelatedNode
from opslint.model import Severity

if TYPE_CHECKING:
    from opslint.context import FileContext

_CODE = re.compile(r"^OPS\d{3}$")
_KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

_T = TypeVar("_T")


@dataclass(frozen=True)
class NoOptions:
    """Options of a rule that has none."""


class Rule:
    """Base class of all rules.  See ``rules/`` for examples.

    Class attributes a rule sets:

    * ``code``, ``name`` (kebab-case), ``message`` (a ``str.format`` template
      with named fields) and the docstring (the rule's documentation);
    * ``tokens``: literal strings without which the rule cannot match.  A file
      that contains no token of any enabled rule is never parsed.  Leave it
      empty only if the rule can fire on any file;
    * ``Options``: a frozen dataclass of typed options (``[tool.opslint.rules.CODE]``);
    * ``requires``: the per-file analyses the rule reads (``opslint.analysis``), each
      computed once per file and shared by every rule (``self.ctx.analysis(Kind)``);
    * ``default_enabled``, ``severity``.
    """

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    message: ClassVar[str] = ""
    tokens: ClassVar[Tuple[str, ...]] = ()
    default_enabled: ClassVar[bool] = True
    #: Engine codes (OPS0xx): reported by the engine, never run or selected.
    internal: ClassVar[bool] = False
    severity: ClassVar[Severity] = Severity.WARNING
    #: "always", "sometimes" or "none": whether findings carry an applicable fix.
    fix_availability: ClassVar[str] = "none"
    #: The related locations of a finding are, in order, the steps of the path its
    #: message describes (SARIF ``codeFlows``; GitHub code scanning shows them as steps).
    related_is_path: ClassVar[bool] = False
    Options: ClassVar[Type[Any]] = NoOptions
    requires: ClassVar[Tuple[Type[Analysis], ...]] = ()
    #: Cross-file rules: the engine gives them ``ctx.project`` (a ``ProjectIndex``).
    needs_project: ClassVar[bool] = False
    #: With ``needs_project``: the files the rule asks the project about (``fnmatch``
    #: patterns on the path, ``/``-separated; empty: every file).  Other files do not
    #: build or load the index for it, and their cached results do not depend on the
    #: rest of the project.
    project_paths: ClassVar[Tuple[str, ...]] = ()
    #: The rule runs exactly on the files ``project_relevant`` selects (its findings
    #: come from a project analysis): ``tokens`` are then not used to choose files.
    project_only: ClassVar[bool] = False
    #: Prefilter of ``project_facts``: modules containing none of these are skipped
    #: (empty = every module).
    project_tokens: ClassVar[Tuple[str, ...]] = ()

    @classmethod
    def project_facts(cls, module: cst.Module, info: Any) -> Any:
        """Per-module facts for the project index: dataclasses defined in opslint (and plain
        values), which the cache stores as JSON; see ``opslint.project``.

        ``info`` is a ``ModuleInfo``.  Computed when first asked for: read one module's
        with ``ctx.project.fact(module, code)`` or ``module_facts(code)``, and every
        module's with ``ctx.project.facts(code)`` (which computes them all: ask it only
        of questions about the whole project).
        """
        return None

    @classmethod
    def defines_project_facts(cls) -> bool:
        """Whether the rule (or a base below ``Rule``) overrides ``project_facts``."""
        return any("project_facts" in vars(k) for k in cls.__mro__[: cls.__mro__.index(Rule)])

    @classmethod
    def project_relevant(cls, project: Any, path: str, options: Any) -> bool:
        """Whether the rule must run on ``path`` although its ``tokens`` are absent
        (a cross-file rule whose findings land in files it cannot recognise alone).

        Asked only of files that import something or define a function or class
        (``catalog.index_candidates``): a file with none of these cannot take part in
        another module's facts, and linting it builds no project index."""
        return False

    @classmethod
    def prepare_project(cls, project: Any, options: Any) -> None:
        """Compute project-wide results before a run forks its workers (optional)."""

    @classmethod
    def option_tokens(cls, options: Any) -> Tuple[str, ...]:
        """Extra prefilter tokens that come from the rule's ``options``
        (names a user configured).  Default: none."""
        return ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if inspect.isabstract(cls) or not cls.__dict__.get("code"):
            return
        if not _CODE.match(cls.code):
            raise TypeError(f"{cls.__name__}: code {cls.code!r} must look like OPS123")
        if not _KEBAB.match(cls.name):
            raise TypeError(f"{cls.__name__}: name {cls.name!r} must be kebab-case")
        if not dataclasses.is_dataclass(cls.Options):
            raise TypeError(f"{cls.__name__}: Options must be a dataclass")

    def __init__(self, ctx: FileContext, options: Any) -> None:
        self.ctx = ctx
        self.options = options
        self.edits = Edits(ctx.module, ctx.positions, ctx.lines)

    # -- reporting -------------------------------------------------------

    def report(
        self,
        node: cst.CSTNode,
        *,
        fix: Optional[PendingFix] = None,
        related: Sequence[Any] = (),
        end_node: Optional[cst.CSTNode] = None,
        **fields: Any,
    ) -> None:
        """Report a finding at ``node`` (through ``end_node`` if given)."""
        message = self.message.format(**fields)
        self.ctx.pending.append(PendingFinding(self, node, message, fix, tuple(related), end_node))

    # -- what a rule may ask ---------------------------------------------

    def qualified_name(self, expr: cst.BaseExpression) -> Optional[str]:
        """``requests.get`` for ``rq.get`` after ``import requests as rq``."""
        return self.ctx.imports.resolve(expr)

    @property
    def stack(self) -> List[cst.CSTNode]:
        """Nodes from the module down to the node being visited (inclusive)."""
        return self.ctx.stack

    def parent(self, depth: int = 1) -> Optional[cst.CSTNode]:
        """The parent (``depth=1``) or a further ancestor of the visited node."""
        stack = self.ctx.stack
        return stack[-1 - depth] if len(stack) > depth else None

    def enclosing(self, kind: Type[_T]) -> Optional[_T]:
        """The nearest ancestor of type ``kind`` of the visited node."""
        for node in reversed(self.ctx.stack[:-1]):
            if isinstance(node, kind):
                return node
        return None

    def position(self, node: cst.CSTNode) -> Tuple[int, int]:
        """1-based line and column of a node (computed lazily, once per file)."""
        code_range = self.ctx.positions()[node]
        return code_range.start.line, code_range.start.column + 1


def keyword(call: cst.Call, name: str) -> Optional[cst.Arg]:
    """The ``name=...`` argument of a call, if given."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def has_star_kwargs(call: cst.Call) -> bool:
    """Whether the call passes ``**kwargs`` (which may carry any keyword)."""
    return any(arg.star == "**" for arg in call.args)


def is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


__all__ = [
    "AnyEdit",
    "Edits",
    "ModuleName",
    "NoOptions",
    "NodeEdit",
    "PendingFinding",
    "PendingFix",
    "RelatedNode",
    "Rule",
    "code_blocks",
    "doc_sections",
    "has_star_kwargs",
    "is_none",
    "keyword",
    "rule_doc",
    "summary",
]


def rule_doc(rule: Type[Rule]) -> str:
    """The rule's documentation (its docstring, dedented)."""
    return inspect.cleandoc(rule.__doc__ or "")


def doc_sections(rule: Type[Rule]) -> Dict[str, str]:
    """The ``## Heading`` sections of a rule's docstring, keyed by heading."""
    sections: Dict[str, str] = {}
    current = ""
    lines: List[str] = []
    for line in rule_doc(rule).splitlines():
        if line.startswith("## "):
            sections[current] = "\n".join(lines).strip()
            current, lines = line[3:].strip(), []
        else:
            lines.append(line)
    sections[current] = "\n".join(lines).strip()
    return sections


def summary(rule: Type[Rule]) -> str:
    """First line of the docstring."""
    return rule_doc(rule).split("\n", 1)[0].strip()


def code_blocks(text: str) -> List[str]:
    """The fenced ```python blocks of a markdown section."""
    return [m.group(1) for m in re.finditer(r"```(?:python|py)?\n(.*?)```", text, re.S)]
