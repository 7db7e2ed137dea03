"""Fix builders: what a rule's fix is made of, and the one implementation of each
kind of edit that several rules need.

A rule writes ``PendingFix.unsafe(title, *edits)`` with edits from ``self.edits``
(an :class:`Edits`).  Edits are given on nodes (:class:`NodeEdit`) or, for whole
lines, as text spans (:class:`opslint.model.Edit`); the engine turns node edits
into text offsets once the file's positions are known.

The builders keep the file's own conventions: its indentation, its newline, its
quote style (:meth:`Edits.literal`), and the isort/ruff ``I001`` order of its
imports (:meth:`Edits.ensure_import`).  Re-indenting never touches the
continuation lines of a multi-line string (their leading spaces are data).

This module imports LibCST and the plain data modules only: never a rule, the
file context, the configuration or the engine.
"""

from __future__ import annotations

import functools
import io
import os
import re
import sys
import sysconfig
import tokenize
from dataclasses import dataclass
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterator,
    List,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    Set,
    Tuple,
    Union,
)

import libcst as cst
from libcst.metadata import CodeRange

from opslint.model import Applicability, Edit, Severity
from opslint.source import LineIndex
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import is_docstring

# ---------------------------------------------------------------------------
# What a rule reports: findings and fixes on nodes, resolved by the engine.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeEdit:
    """An edit expressed on nodes; the engine turns it into text offsets."""

    node: cst.CSTNode
    content: str
    #: "replace" the node's text, insert "before" its start or "after" its end.
    mode: str = "replace"
    #: For "replace" only: replace up to the end of this node instead of ``node``'s end.
    end_node: Optional[cst.CSTNode] = None


#: What a fix is made of: node edits, or text edits for whole lines.
AnyEdit = Union[NodeEdit, Edit]


@dataclass(frozen=True)
class PendingFix:
    applicability: Applicability
    message: str
    edits: Tuple[AnyEdit, ...] = ()

    @classmethod
    def safe(cls, message: str, *edits: AnyEdit) -> PendingFix:
        return cls(Applicability.SAFE, message, edits)

    @classmethod
    def unsafe(cls, message: str, *edits: AnyEdit) -> PendingFix:
        return cls(Applicability.UNSAFE, message, edits)

    @classmethod
    def suggestion(cls, message: str, *edits: AnyEdit) -> PendingFix:
        return cls(Applicability.SUGGESTION, message, edits)


@dataclass(frozen=True)
class RelatedNode:
    """Evidence in the same file, given as a node."""

    node: cst.CSTNode
    message: str


class Reporter(Protocol):
    """What the engine reads of the rule that reported a finding."""

    @property
    def code(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def severity(self) -> Severity: ...


@dataclass(frozen=True)
class PendingFinding:
    rule: Reporter
    node: cst.CSTNode
    message: str
    fix: Optional[PendingFix]
    related: Tuple[Any, ...]
    end_node: Optional[cst.CSTNode] = None


@dataclass(frozen=True)
class ModuleName:
    """How fix text names an imported module, and the edits that import it (if any)."""

    #: ``os``, or the alias of ``import os as _os``.
    name: str
    edits: Tuple[AnyEdit, ...] = ()


# ---------------------------------------------------------------------------
# The builders.
# ---------------------------------------------------------------------------


class Edits:
    """Builders for the edits of one file's fixes.

    ``positions`` is called on first need (computing positions costs about two
    parses, so rules that never build a positional edit never pay for it).
    """

    def __init__(
        self,
        module: cst.Module,
        positions: Callable[[], Mapping[cst.CSTNode, CodeRange]],
        lines: LineIndex,
    ) -> None:
        self._module = module
        self._positions = positions
        self._lines = lines
        self._tokens: Optional[_TokenFacts] = None
        #: Module-level bindings and, per plain-imported module, the first name bound to it
        #: (computed once: every fix of a file may ask, and a scan per fix is quadratic).
        self._bindings: Optional[Tuple[Dict[str, Set[str]], Dict[str, str]]] = None

    # -- nodes -----------------------------------------------------------------

    def code(self, node: cst.CSTNode) -> str:
        """The exact source of ``node``."""
        return self._module.code_for_node(node)

    def replace(self, node: cst.CSTNode, new: Union[cst.CSTNode, str]) -> NodeEdit:
        text = new if isinstance(new, str) else self.code(new)
        return NodeEdit(node, text)

    def replace_range(self, first: cst.CSTNode, last: cst.CSTNode, text: str) -> NodeEdit:
        return NodeEdit(first, text, "replace", last)

    def insert_before(self, node: cst.CSTNode, text: str) -> NodeEdit:
        return NodeEdit(node, text, "before")

    def insert_after(self, node: cst.CSTNode, text: str) -> NodeEdit:
        return NodeEdit(node, text, "after")

    # -- string literals ---------------------------------------------------------

    def quote(self, like: Optional[cst.CSTNode] = None) -> str:
        """The quote character new string literals use: that of ``like`` (the literal
        the fix replaces or sits beside) when it is a string, else the file's dominant
        style (its single-line literals, counted), ``"`` on a tie."""
        found = _quote_of(like) if like is not None else None
        if found is not None:
            return found
        return self._token_facts().dominant_quote

    def literal(self, value: str, like: Optional[cst.CSTNode] = None) -> str:
        """Source of a string literal holding ``value`` in the file's quote style
        (see :meth:`quote`); the other quote only when ``value`` contains the chosen one."""
        quote = self.quote(like)
        other = "'" if quote == '"' else '"'
        if quote in value and other not in value:
            quote = other
        body = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
        return quote + body.replace(quote, "\\" + quote) + quote

    # -- calls -----------------------------------------------------------------

    def add_keyword(self, call: cst.Call, text: str) -> Tuple[AnyEdit, ...]:
        """Edits that append ``text`` (``name=value``) as the call's last argument.

        Keeps the call's layout: on one line ``, text``.  When the last argument
        sits on its own line, the new argument gets its own line at the same
        indentation; if the closing parenthesis is alone on its line, the new line
        goes just above it, so comments stay with their arguments and a trailing
        comma is kept.
        """
        args = call.args
        if not args:
            new_arg = cst.ensure_type(cst.parse_expression(f"f({text})"), cst.Call).args[0]
            return (self.replace(call, self.code(call.with_changes(args=[new_arg]))),)
        last = args[-1]
        if isinstance(last.value, cst.GeneratorExp) and not last.value.lpar:
            # ``stub.Chat(m for m in msgs)``: a bare generator must get parentheses first.
            return (self.replace(last.value, f"({self.code(last.value)}), {text}"),)
        positions = self._positions()
        start = positions[last].start
        previous_end = positions[args[-2]].end.line if len(args) > 1 else positions[call.func].end.line
        if start.line <= previous_end:
            return (self.insert_after(last, f", {text}"),)
        lines = self._lines
        indent = lines.line_text(start.line)[: start.column]
        if indent.strip():
            indent = " " * start.column
        newline = self._module.default_newline
        end = positions[call].end
        closing_alone = end.column >= 1 and not lines.line_text(end.line)[: end.column - 1].strip()
        if not closing_alone:
            return (self.insert_after(last, f",{newline}{indent}{text}"),)
        trailing = isinstance(last.comma, cst.Comma)
        line_edit = self._insert_at_line(end.line, f"{indent}{text}{',' if trailing else ''}{newline}")
        if trailing:
            return (line_edit,)
        return (self.insert_after(last, ","), line_edit)

    # -- statements --------------------------------------------------------------

    def delete_lines(self, stmt: cst.CSTNode) -> Edit:
        """Remove the whole lines of a statement (the comment lines above it stay)."""
        rng = self._positions()[stmt]
        lines = self._lines
        return Edit(lines.span(lines.offset(rng.start.line, 0), lines.offset(rng.end.line + 1, 0)), "")

    def wrap_in_try_finally(
        self,
        first: cst.BaseStatement,
        last: cst.BaseStatement,
        final_statements: Sequence[Union[str, cst.BaseStatement]],
    ) -> Optional[Edit]:
        """Wrap the statements ``first`` .. ``last`` of one block (whole lines) in
        ``try:`` / ``finally:`` running ``final_statements``.

        A final statement is source text, or the statement that directly follows
        ``last`` in the block: that one moves into the ``finally`` with its comments
        (the comment lines above it stay at the end of the ``try`` body).  The block
        keeps its indentation; its lines move one indentation step deeper, except the
        continuation lines of multi-line strings.  Returns None when the statements do
        not own their lines (``a(); b()`` around them, or ``if x: a()``).
        """
        positions = self._positions()
        lines = self._lines
        begin_line = positions[first].start.line
        start = positions[first].start
        prefix = lines.line_text(begin_line)[: start.column]
        if prefix.strip():
            return None
        moved = [s for s in final_statements if not isinstance(s, str)]
        end_line = positions[moved[-1]].end.line if moved else positions[last].end.line
        body_end_line = positions[moved[0]].start.line - 1 if moved else end_line
        if positions[last].end.line > body_end_line:
            return None
        for node in (last, *moved):
            rest = lines.line_text(positions[node].end.line)[positions[node].end.column :].strip()
            if rest and not rest.startswith("#"):
                return None
        frozen = self._token_facts().string_lines
        if frozen is None:
            return None  # text that does not tokenize: re-indenting it is not safe
        unit = self._module.default_indent
        newline = self._module.default_newline
        body = self._indented(begin_line, body_end_line, unit, frozen)
        finals = []
        for stmt in final_statements:
            if isinstance(stmt, str):
                finals.append(f"{prefix}{unit}{stmt}{newline}")
            else:
                rng = positions[stmt]
                finals.append(self._indented(rng.start.line, rng.end.line, unit, frozen))
        text = f"{prefix}try:{newline}{body}{prefix}finally:{newline}{''.join(finals)}"
        return self._replace_lines(begin_line, end_line, text)

    def wrap_in_block(
        self,
        header: str,
        first: cst.BaseStatement,
        last: cst.BaseStatement,
        replacements: Mapping[cst.SimpleStatementLine, Sequence[str]] = {},  # noqa: B006 - read only
        append: Sequence[str] = (),
    ) -> Optional[Edit]:
        """Put the statements ``first`` .. ``last`` of one block (whole lines) under a
        compound statement ``header`` (``"while True:"``), one indentation step deeper.

        Each statement line of ``replacements`` (inside the range) becomes the given
        statements: the comment lines above it stay above them, its trailing comment
        moves to the last one.  ``append`` statements end the new block.  Comments and
        blank lines keep their place; continuation lines of multi-line strings are data
        and keep their text.  None when a statement involved does not own its lines.
        """
        positions = self._positions()
        lines = self._lines
        begin_line = positions[first].start.line
        prefix = lines.line_text(begin_line)[: positions[first].start.column]
        end_line = positions[last].end.line
        if prefix.strip() or not self._owns_end(last):
            return None
        frozen = self._token_facts().string_lines
        if frozen is None:
            return None  # text that does not tokenize: re-indenting it is not safe
        unit = self._module.default_indent
        newline = self._module.default_newline
        swapped: Dict[int, Tuple[int, str]] = {}
        for stmt, texts in replacements.items():
            rng = positions[stmt]
            indent = lines.line_text(rng.start.line)[: rng.start.column]
            if indent.strip() or not self._owns_end(stmt) or not texts:
                return None
            if not begin_line <= rng.start.line <= rng.end.line <= end_line:
                return None
            trail = stmt.trailing_whitespace
            comment = f"{trail.whitespace.value}{trail.comment.value}" if trail.comment is not None else ""
            body = [f"{unit}{indent}{text}" for text in texts]
            body[-1] += comment
            swapped[rng.start.line] = (rng.end.line, "".join(line + newline for line in body))
        out: List[str] = [f"{prefix}{header}{newline}"]
        number = begin_line
        while number <= end_line:
            if number in swapped:
                number, text = swapped[number]
                out.append(text)
            else:
                line = lines.line_text(number)
                out.append((line if number in frozen or not line.strip() else unit + line) + newline)
            number += 1
        out.extend(f"{prefix}{unit}{text}{newline}" for text in append)
        return self._replace_lines(begin_line, end_line, "".join(out))

    def _owns_end(self, stmt: cst.CSTNode) -> bool:
        """Nothing but a comment follows ``stmt`` on its last line."""
        end = self._positions()[stmt].end
        rest = self._lines.line_text(end.line)[end.column :].strip()
        return not rest or rest.startswith("#")

    def add_to_finally(self, node: cst.Try, statements: Sequence[str]) -> Optional[Edit]:
        """Append ``statements`` to the ``finally`` block of ``node`` (after what it
        already runs).  None when it has no indented ``finally`` block or the block
        ends by leaving (``return``/``raise``), which would skip them."""
        final = node.finalbody
        if final is None or not isinstance(final.body, cst.IndentedBlock) or not final.body.body:
            return None
        last_stmt = final.body.body[-1]
        if isinstance(last_stmt, cst.SimpleStatementLine) and isinstance(
            last_stmt.body[-1], (cst.Return, cst.Raise, cst.Continue, cst.Break)
        ):
            return None
        positions = self._positions()
        first = positions[final.body.body[0]].start
        indent = self._lines.line_text(first.line)[: first.column]
        if indent.strip():
            return None
        newline = self._module.default_newline
        text = "".join(f"{indent}{stmt}{newline}" for stmt in statements)
        return self._insert_at_line(positions[last_stmt].end.line + 1, text)

    # -- imports -------------------------------------------------------------------

    def ensure_import(self, module: str) -> Optional[ModuleName]:
        """How fix text reaches the standard-library ``module`` at module level, with
        the edit that imports it when the file does not yet.

        Already bound to the module (``import os``, ``import os.path``): no edit.
        Imported under an alias only (``import os as _os``): that alias, no edit.
        Otherwise ``import os`` goes where isort/ruff ``I001`` (default settings) put
        it: in the standard-library section after the docstring and ``from
        __future__``, sorted among its plain ``import`` statements, before its ``from``
        imports, or as a new section ahead of the first import block.  None when the
        name is bound to something else (``from x import os``, ``os = ...``): the
        caller must not offer the edit then.
        """
        if "." in module or not is_stdlib(module):
            raise ValueError(f"ensure_import places standard-library modules only, not {module!r}")
        if self._bindings is None:
            found = {name: set(bound) for name, bound in module_bindings(self._module).items()}
            aliases: Dict[str, str] = {}
            for local, bound in sorted(found.items()):
                if len(bound) == 1:
                    aliases.setdefault(next(iter(bound)), local)
            self._bindings = (found, aliases)
        bindings, aliases = self._bindings
        targets = bindings.get(module)
        if targets is not None:
            return ModuleName(module) if targets == {module} else None
        if module in aliases:
            return ModuleName(aliases[module])
        edit = self._import_edit(module)
        return None if edit is None else ModuleName(module, (edit,))

    def _import_edit(self, module: str) -> Optional[Edit]:
        body = self._module.body
        newline = self._module.default_newline
        text = f"import {module}{newline}"
        index = 0
        if body and is_docstring(body[0]):
            index = 1
        while index < len(body) and _import_kind(body[index]) == _FUTURE:
            index += 1
        block: List[cst.SimpleStatementLine] = []
        while index + len(block) < len(body):
            stmt = body[index + len(block)]
            if not isinstance(stmt, cst.SimpleStatementLine) or _import_kind(stmt) is None:
                break
            block.append(stmt)
        plain = [s for s in block if _import_kind(s) == _STDLIB_IMPORT]
        if plain:
            key = _sort_key(module)
            before = [s for s in plain if _sort_key(_first_module(s)) < key]
            if before:
                # Right below the previous import: a comment above the next one stays with it.
                return self._insert_at_line(self._positions()[before[-1]].end.line + 1, text)
            return self._insert_at_line(self._positions()[plain[0]].start.line, text)
        froms = [s for s in block if _import_kind(s) == _STDLIB_FROM]
        if froms:
            return self._insert_at_line(self._positions()[froms[0]].start.line, text)
        if index >= len(body):
            return None
        # A new section ahead of the first import block (or of the first statement).
        anchor = body[index]
        line = self._positions()[anchor].start.line - len(self._attached_comments(anchor))
        # Blank lines after it: one before the next section or statement, two before a def.
        after = 2 if not block and isinstance(anchor, (cst.FunctionDef, cst.ClassDef)) else 1
        blank = 0
        while line - blank > 1 and not self._lines.line_text(line - blank - 1).strip():
            blank += 1
        if blank and not block:
            # Keep one blank line above, and the others (as needed) below.
            return self._insert_at_line(line - blank + 1, text + newline * max(0, after - (blank - 1)))
        leading = ""
        if not blank and index > 0 and _import_kind(body[index - 1]) == _FUTURE:
            leading = newline  # the future section ends with a blank line
        return self._insert_at_line(line, leading + text + newline * after)

    def _attached_comments(
        self, stmt: Union[cst.SimpleStatementLine, cst.BaseCompoundStatement]
    ) -> List[cst.EmptyLine]:
        """The comment lines directly above ``stmt`` (no blank line between)."""
        owned = stmt.leading_lines
        if stmt is self._module.body[0] and not owned:
            owned = self._module.header
        out: List[cst.EmptyLine] = []
        for empty in reversed(owned):
            if empty.comment is None:
                break
            out.append(empty)
        # Never above a shebang or an encoding cookie (the interpreter reads them there).
        if stmt is self._module.body[0]:
            start = self._positions()[stmt].start.line
            while (
                out
                and start - len(out) <= 2
                and _SPECIAL_COMMENT.match(out[-1].comment.value if out[-1].comment else "")
            ):
                out.pop()
        return out

    # -- text helpers --------------------------------------------------------------

    def _insert_at_line(self, line: int, text: str) -> Edit:
        """Insert ``text`` at the start of 1-based ``line`` (past the end: at the end)."""
        lines = self._lines
        if line > lines.line_count:
            offset = len(lines.text)
            if lines.text and not lines.text.endswith(("\n", "\r")):
                text = self._module.default_newline + text
        else:
            offset = lines.offset(line, 0)
        return Edit(lines.span(offset, offset), text)

    def _replace_lines(self, first: int, last: int, text: str) -> Edit:
        """Replace whole lines ``first`` .. ``last`` (with their line ends) by ``text``."""
        lines = self._lines
        source = lines.text
        begin = lines.offset(first, 0)
        end = lines.offset(last + 1, 0) if last < lines.line_count else len(source)
        if end == len(source) and not source.endswith(("\n", "\r")):
            text = text.rstrip("\r\n")
        return Edit(lines.span(begin, end), text)

    def _indented(self, first: int, last: int, unit: str, frozen: FrozenSet[int]) -> str:
        """Lines ``first`` .. ``last`` one ``unit`` deeper (blank and string lines as they are)."""
        newline = self._module.default_newline
        out: List[str] = []
        for number in range(first, last + 1):
            line = self._lines.line_text(number)
            out.append(line if number in frozen or not line.strip() else unit + line)
        return newline.join(out) + newline

    def _token_facts(self) -> _TokenFacts:
        if self._tokens is None:
            self._tokens = _TokenFacts.of(self._lines.text)
        return self._tokens


# ---------------------------------------------------------------------------
# What the builders read from the source: tokens, imports.
# ---------------------------------------------------------------------------

#: Token types whose text may span lines and whose inner lines are data.
_MULTILINE_TYPES = {tokenize.STRING}
for _name in ("FSTRING_MIDDLE", "FSTRING_END", "TSTRING_MIDDLE", "TSTRING_END"):
    if hasattr(tokenize, _name):
        _MULTILINE_TYPES.add(getattr(tokenize, _name))
_STRING_STARTS = {tokenize.STRING}
for _name in ("FSTRING_START", "TSTRING_START"):
    if hasattr(tokenize, _name):
        _STRING_STARTS.add(getattr(tokenize, _name))

_PREFIX = re.compile(r"^[A-Za-z]*")
_SPECIAL_COMMENT = re.compile(r"^#!|^#.*coding[:=]")


@dataclass(frozen=True)
class _TokenFacts:
    #: 1-based lines that start inside a multi-line string; None if the text does not tokenize.
    string_lines: Optional[FrozenSet[int]]
    dominant_quote: str

    @classmethod
    def of(cls, text: str) -> _TokenFacts:
        lines: Set[int] = set()
        counts = {'"': 0, "'": 0}
        ok = True
        try:
            for tok in tokenize.generate_tokens(io.StringIO(text).readline):
                if tok.type in _MULTILINE_TYPES and tok.end[0] > tok.start[0]:
                    lines.update(range(tok.start[0] + 1, tok.end[0] + 1))
                if tok.type in _STRING_STARTS:
                    body = tok.string[len(_PREFIX.match(tok.string).group()) :]  # type: ignore[union-attr]
                    if body[:1] in counts and body[:3] != body[:1] * 3:
                        counts[body[:1]] += 1
        except (tokenize.TokenError, IndentationError, SyntaxError):
            ok = False
        quote = "'" if counts["'"] > counts['"'] else '"'
        return cls(frozenset(lines) if ok else None, quote)


def string_continuation_lines(text: str) -> Optional[FrozenSet[int]]:
    """1-based numbers of lines of ``text`` that start inside a multi-line string
    token (never re-indented); None when the text does not tokenize."""
    return _TokenFacts.of(text).string_lines


def _quote_of(node: cst.CSTNode) -> Optional[str]:
    if isinstance(node, cst.ConcatenatedString):
        return _quote_of(node.left)
    if isinstance(node, (cst.SimpleString, cst.FormattedString)):
        return node.quote[0]
    return None


_FUTURE, _STDLIB_IMPORT, _STDLIB_FROM, _OTHER = "future", "import", "from", "other"


def _first_module(stmt: cst.SimpleStatementLine) -> str:
    small = stmt.body[0]
    if isinstance(small, cst.Import):
        return dotted_name(small.names[0].name) or ""
    if isinstance(small, cst.ImportFrom) and not small.relative and small.module is not None:
        return dotted_name(small.module) or ""
    return ""


def _import_kind(stmt: cst.BaseStatement) -> Optional[str]:
    """Which isort section and form an import line belongs to (None: not an import)."""
    if not isinstance(stmt, cst.SimpleStatementLine):
        return None
    if not all(isinstance(small, (cst.Import, cst.ImportFrom)) for small in stmt.body):
        return None
    small = stmt.body[0]
    top = _first_module(stmt).split(".", 1)[0]
    if isinstance(small, cst.ImportFrom):
        if top == "__future__":
            return _FUTURE
        return _STDLIB_FROM if top and is_stdlib(top) else _OTHER
    return _STDLIB_IMPORT if top and is_stdlib(top) else _OTHER


def _sort_key(name: str) -> Tuple[Any, ...]:
    """isort's order of module names: case-insensitive, numbers compared as numbers."""
    parts = re.split(r"(\d+)", name.lower())
    return (tuple(int(p) if p.isdigit() else p for p in parts), name)


def module_bindings(module: cst.Module) -> Dict[str, List[str]]:
    """Names bound at module level (also inside ``if``/``try``/loops there) -> what each
    binding binds, in source order: the module name for a plain ``import``, ``""`` for
    anything else."""
    out: Dict[str, List[str]] = {}

    def bind(name: str, target: str) -> None:
        out.setdefault(name, []).append(target)

    def targets(expr: cst.BaseExpression) -> None:
        if isinstance(expr, cst.Name):
            bind(expr.value, "")
        elif isinstance(expr, (cst.Tuple, cst.List)):
            for element in expr.elements:
                targets(element.value)
        elif isinstance(expr, cst.StarredElement):
            targets(expr.value)

    def small(node: cst.BaseSmallStatement) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted_name(alias.name) or ""
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    bind(alias.asname.name.value, full)
                else:
                    head = full.split(".", 1)[0]
                    bind(head, head)
        elif isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
            for alias in node.names:
                local = alias.asname.name if alias.asname is not None else alias.name
                if isinstance(local, cst.Name):
                    bind(local.value, "")
        elif isinstance(node, cst.Assign):
            for target in node.targets:
                targets(target.target)
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            targets(node.target)

    def statements(block: Sequence[cst.BaseStatement]) -> None:
        for stmt in block:
            if isinstance(stmt, cst.SimpleStatementLine):
                for node in stmt.body:
                    small(node)
            elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                bind(stmt.name.value, "")
            elif isinstance(stmt, cst.BaseCompoundStatement):
                if isinstance(stmt, (cst.For,)):
                    targets(stmt.target)
                if isinstance(stmt, cst.With):
                    for item in stmt.items:
                        if item.asname is not None:
                            targets(item.asname.name)
                for suite in _suites(stmt):
                    if isinstance(suite, cst.IndentedBlock):
                        statements(suite.body)
                    elif isinstance(suite, cst.SimpleStatementSuite):
                        for node in suite.body:
                            small(node)

    statements(module.body)
    return out


def _suites(stmt: cst.BaseCompoundStatement) -> Iterator[cst.BaseSuite]:
    """The blocks of a module-level compound statement (``elif``/``else``/``except``,
    ``finally`` and ``case`` blocks too)."""
    for child in stmt.children:
        if isinstance(child, cst.BaseSuite):
            yield child
        elif isinstance(child, (cst.Else, cst.Finally, cst.ExceptHandler, cst.ExceptStarHandler, cst.MatchCase)):
            yield child.body
        elif isinstance(child, cst.If):  # elif
            yield from _suites(child)


@functools.cache
def _stdlib_names() -> FrozenSet[str]:
    names = getattr(sys, "stdlib_module_names", None)
    if names is None:  # Python 3.9: the modules in the standard library's own directory
        found = set(sys.builtin_module_names)
        stdlib_dir = sysconfig.get_paths()["stdlib"]
        for entry in os.listdir(stdlib_dir):
            stem, ext = os.path.splitext(entry)
            if ext == ".py" or (not ext and os.path.isdir(os.path.join(stdlib_dir, entry))):
                found.add(stem)
        names = found
    return frozenset(names) | {"__future__"}


def is_stdlib(name: str) -> bool:
    """Whether the top-level module ``name`` belongs to the standard library (the
    isort/ruff "standard library" section)."""
    return name in _stdlib_names()
