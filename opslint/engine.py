"""Lint one file: read, prefilter, parse once, run every rule in one traversal."""

from __future__ import annotations

import os
import re
import sys
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple, Type

import libcst as cst

from opslint import builtin, source, suppress, unused_noqa
from opslint.analysis.base import Analysis, closure
from opslint.cache import code_fingerprint
from opslint.catalog import index_candidates, matching
from opslint.config import Settings, project_exclusion
from opslint.context import FileContext
from opslint.discovery import display_path, module_name
from opslint.discovery import relpath as config_relpath
from opslint.edits import NodeEdit, PendingFix, RelatedNode
from opslint.model import Edit, Finding, Fix, Related, Span, fingerprint
from opslint.project import ProjectIndex
from opslint.project import cached_index as cached_project_index
from opslint.project import index_for as project_index_for
from opslint.registry import Registry, rule_files
from opslint.rule import Rule
from opslint.syntax import guard
from opslint.syntax.parse import parse_module
from opslint.syntax.walk import walk


@dataclass
class LintResult:
    findings: List[Finding] = field(default_factory=list)
    #: Whether the file was parsed (False when the prefilter or an error skipped it).
    parsed: bool = False
    #: The prefilter found none of the enabled rules' tokens: the file was not parsed.
    skipped: bool = False
    #: The file could not be read or decoded (OPS003, unless ignored).
    unreadable: bool = False


_IMPORT_NODES = frozenset({"Import", "ImportFrom"})
#: A line feed that does not end a CRLF.
_LONE_LF = re.compile(r"(?<!\r)\n")


def _with_newline(content: str, newline: str) -> str:
    return content if newline == "\n" or "\n" not in content else _LONE_LF.sub(newline, content)


class _Dispatcher(cst.CSTVisitor):
    """One traversal for all analyses and rules: per-node-type tables of bound methods.

    Analyses come first (in dependency order), so a rule's ``visit_X`` runs after every
    analysis has seen ``X``.  A participant that raises is dropped, and so is every rule
    that requires an analysis that raised.
    """

    def __init__(
        self,
        ctx: FileContext,
        analyses: Sequence[Analysis],
        rules: Sequence[Rule],
        on_crash: Callable[[Rule, BaseException], None],
    ):
        super().__init__()
        self.ctx = ctx
        self.stack = ctx.stack
        self.on_crash = on_crash
        self.participants: List[Any] = [*analyses, *rules]
        self._build()

    def _build(self) -> None:
        self.visits: Dict[str, List[Tuple[Any, Callable[[Any], Any]]]] = {}
        self.leaves: Dict[str, List[Tuple[Any, Callable[[Any], Any]]]] = {}
        for participant in self.participants:
            for attr in dir(type(participant)):
                if attr.startswith("visit_"):
                    self.visits.setdefault(attr[6:], []).append((participant, getattr(participant, attr)))
                elif attr.startswith("leave_"):
                    self.leaves.setdefault(attr[6:], []).append((participant, getattr(participant, attr)))

    def _drop(self, participant: Any, exc: BaseException) -> None:
        if isinstance(participant, Rule):
            self.on_crash(participant, exc)
            self.participants.remove(participant)
        else:
            broken = type(participant)
            self.participants.remove(participant)
            for rule in [p for p in self.participants if isinstance(p, Rule)]:
                if broken in closure(type(rule).requires):
                    self.on_crash(rule, exc)
                    self.participants.remove(rule)
        self._build()

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.stack.append(node)
        kind = type(node).__name__  # not isinstance: CSTNode is an ABC, and this runs for every node
        if kind in _IMPORT_NODES and len(self.stack) > 3:
            # Function-level imports; module-level ones were collected up front.
            self.ctx.imports.add(node)
        handlers = self.visits.get(kind)
        if handlers:
            for participant, method in handlers:
                try:
                    method(node)
                except Exception as exc:  # noqa: BLE001 - reported as OPS002
                    self._drop(participant, exc)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        handlers = self.leaves.get(type(original_node).__name__)
        if handlers:
            for participant, method in handlers:
                try:
                    method(original_node)
                except Exception as exc:  # noqa: BLE001 - reported as OPS002
                    self._drop(participant, exc)
        self.stack.pop()


#: "error at 409:30" in a LibCST native parser message.
_LIBCST_AT = re.compile(r"\berror at (\d+):(\d+)")


class Linter:
    """Lints text or files with the rules a ``Settings`` selects.

    ``strict`` (tests) re-raises rule crashes instead of reporting OPS002.
    """

    def __init__(
        self,
        *,
        registry: Optional[Registry] = None,
        strict: bool = False,
        cwd: Optional[str] = None,
        editor: bool = False,
    ) -> None:
        self.registry = registry or Registry.default()
        #: Linting editor buffers: the project index follows saved files (see ``_project``).
        self.editor = editor
        self.strict = strict
        self.cwd = cwd

    def cache_salt(self, path: str) -> str:
        """What, besides the file and the settings, findings for ``path`` depend on:
        opslint's and the rules' code, and the whole project's content when a
        cross-file rule built its index."""
        index = cached_project_index(path)
        code = code_fingerprint(rule_files(self.registry))
        return code + (index.fingerprint() if index is not None else "")

    # -- rule choice ---------------------------------------------------------

    def prefilter(self, rules: Sequence[Type[Rule]], text: str, settings: Settings) -> List[Type[Rule]]:
        """Rules that could match: at least one of their tokens occurs in the text
        (tokens from the rule's options count too, e.g. user-configured clients)."""
        return matching(rules, text, lambda rule: rule.option_tokens(self.registry.options_for(settings, rule)))

    # -- linting ------------------------------------------------------------------

    def lint_file(self, path: str, settings: Settings) -> LintResult:
        display = display_path(path, self.cwd)
        try:
            src = source.read(path)
        except source.SourceError as exc:
            findings = self._engine_finding(builtin.UnreadableFile, display, settings, str(exc))
            return LintResult(findings, unreadable=True)
        return self.lint_text(src.text, path, settings)

    def lint_text(self, text: str, path: str, settings: Settings, *, line_noqa: bool = True) -> LintResult:
        """Lint ``text`` as the file ``path``.

        ``line_noqa=False`` keeps findings that a ``# noqa`` comment on their
        line would suppress (the flake8 plugin lets flake8 apply those), while
        file-level ``# opslint: noqa`` still applies.
        """
        display = display_path(path, self.cwd)
        relpath = config_relpath(path, settings.root)
        candidates = self.registry.rules_for(settings, relpath)
        rules = self.prefilter(candidates, text, settings)
        project = self._project(index_candidates(candidates, rules, text, path), path, text)
        if project is not None:
            rules = [
                r
                for r in candidates
                if (r in rules and not r.project_only)
                or (r.needs_project and r.project_relevant(project, path, self.registry.options_for(settings, r)))
            ]
        if not rules:
            return LintResult(self._compile_check(text, display, settings), skipped=True)
        try:
            module = parse_module(text)
        except (cst.ParserSyntaxError, SyntaxError, ValueError, RecursionError) as exc:
            return LintResult(self._syntax_error(exc, text, display, settings))
        result = LintResult(parsed=True)
        name, package = module_name(path)
        ctx = FileContext(
            path=path,
            display_path=display,
            text=text,
            module=module,
            settings=settings,
            module_name=name,
            package=package,
            project=project,
        )
        crashes: List[Tuple[Rule, BaseException]] = []

        def on_crash(rule: Rule, exc: BaseException) -> None:
            if self.strict:
                raise exc
            crashes.append((rule, exc))

        instances = []
        for rule_cls in rules:
            try:
                instances.append(rule_cls(ctx, self.registry.options_for(settings, rule_cls)))
            except Exception as exc:  # noqa: BLE001 - reported as OPS002
                if self.strict:
                    raise
                crashes.append((rule_cls.__new__(rule_cls), exc))
        analyses: List[Analysis] = []
        try:
            analyses = ctx.analyses.prepare(kind for rule in instances for kind in type(rule).requires)
        except Exception as exc:  # noqa: BLE001 - reported as OPS002 for the rules that need them
            if self.strict:
                raise
            for rule in [r for r in instances if type(r).requires]:
                crashes.append((rule, exc))
                instances.remove(rule)
        ctx.analyses.walking = True
        try:
            with _deep_recursion():
                walk(module, _Dispatcher(ctx, analyses, instances, on_crash))
        except RecursionError as exc:
            if self.strict:
                raise
            detail = f"file too deeply nested to analyse: {exc}"
            return LintResult(self._engine_finding(builtin.InternalError, display, settings, detail), parsed=True)
        findings = self._resolve(ctx)
        if findings and module.code != text:
            # Positions and edits are offsets into the text the tree prints; a
            # tree that does not print back the file (a LibCST bug: it drops a
            # lone backslash-continuation line before ``except``) would put
            # findings and fixes in the wrong place.  Checked only when there
            # is something to report: printing costs a quarter of a parse.
            detail = "LibCST misreads this file although Python accepts it (its tree does not print back the same text); opslint skipped it"
            return LintResult(self._engine_finding(builtin.SyntaxErrorFinding, display, settings, detail), parsed=True)
        for rule, error in crashes:
            detail = (
                f"rule {rule.code} ({rule.name}) crashed: {type(error).__name__}: {error} "
                f"at {_where(error)}; the other rules ran. Please report this."
            )
            findings.extend(self._engine_finding(builtin.InternalError, display, settings, detail))
        noqa = suppress.parse(text)
        if not line_noqa:
            noqa = suppress.Suppressions(file_codes=noqa.file_codes)
        used: Set[Tuple[int, Optional[str]]] = set()
        for f in findings:
            hit = noqa.match(f.code, (f.span.line,) + f.noqa_lines)
            if hit is None:
                result.findings.append(f)
            else:
                used.add(hit)
        if noqa.directives and not self.registry.ignored(settings, builtin.UnusedNoqa.code, relpath):
            ran = {r.code for r in rules} - {rule.code for rule, _ in crashes}
            known = [r.code for r in self.registry.public()]
            unused = unused_noqa.findings(noqa, used, ran, known, text, display)
            result.findings.extend(f for f in unused if not noqa.suppressed(f.code, (f.span.line,)))
        return result

    # -- helpers ------------------------------------------------------------------

    def _project(self, rules: Sequence[Type[Rule]], path: str, text: str) -> Optional[ProjectIndex]:
        """The whole-project index when a rule needs it, with ``text`` as this file's content
        (for an editor's unsaved buffer: only where it keeps the module's shape)."""
        needing = [r for r in rules if r.needs_project]
        if not needing:
            return None
        index = project_index_for(path, needing, exclusion=project_exclusion)
        index.refresh(path, text, keep_shape=self.editor)
        return index

    def _resolve(self, ctx: FileContext) -> List[Finding]:
        if not ctx.pending:
            return []
        positions = ctx.positions()
        lines = ctx.lines
        occurrences: Dict[Tuple[str, str], int] = {}
        out: List[Finding] = []

        def span_of(node: Any, end_node: Any = None) -> Span:
            rng = positions[node]
            start = lines.offset(rng.start.line, rng.start.column)
            end_rng = positions[end_node] if end_node is not None else rng
            end = lines.offset(end_rng.end.line, end_rng.end.column)
            return lines.span(start, end)

        for pending in sorted(
            ctx.pending, key=lambda p: (positions[p.node].start.line, positions[p.node].start.column)
        ):
            span = span_of(pending.node, pending.end_node)
            rule = pending.rule
            line_text = lines.line_text(span.line)
            key = (rule.code, line_text.strip())
            occurrence = occurrences.get(key, 0)
            occurrences[key] = occurrence + 1
            related = []
            for item in pending.related:
                if isinstance(item, RelatedNode):
                    related.append(Related(ctx.display_path, span_of(item.node), item.message))
                elif isinstance(item, Related):
                    related.append(item)
            noqa_lines: Tuple[int, ...] = ()
            if span.end_line != span.line and isinstance(
                pending.node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)
            ):
                noqa_lines = (span.end_line,)
            out.append(
                Finding(
                    code=rule.code,
                    name=rule.name,
                    message=pending.message,
                    path=ctx.display_path,
                    span=span,
                    fix=self._fix(pending.fix, span_of, ctx.module.default_newline) if pending.fix else None,
                    related=tuple(related),
                    severity=rule.severity,
                    fingerprint=fingerprint(rule.code, ctx.display_path, line_text, occurrence),
                    noqa_lines=noqa_lines,
                )
            )
        return out

    @staticmethod
    def _fix(fix: PendingFix, span_of: Callable[..., Span], newline: str = "\n") -> Fix:
        """Offsets for the fix's edits, and the file's newline in their text: a rule
        writes ``\n``, a CRLF (or CR) file gets its own line endings back (text
        copied from the file keeps the endings it has)."""
        edits = []
        for edit in fix.edits:
            if isinstance(edit, NodeEdit):
                span = span_of(edit.node, edit.end_node)
                if edit.mode == "before":
                    span = Span(span.line, span.column, span.line, span.column, span.start, span.start)
                elif edit.mode == "after":
                    span = Span(span.end_line, span.end_column, span.end_line, span.end_column, span.end, span.end)
                edits.append(Edit(span, _with_newline(edit.content, newline)))
            else:
                edits.append(replace(edit, content=_with_newline(edit.content, newline)))
        return Fix(fix.applicability, fix.message, tuple(edits))

    def _engine_finding(
        self, rule: Type[Rule], display: str, settings: Settings, detail: str, line: int = 1, column: int = 1
    ) -> List[Finding]:
        if self.registry.ignored(settings, rule.code):
            return []
        return [builtin.finding(rule, display, detail, line, column)]

    def _compile_check(self, text: str, display: str, settings: Settings) -> List[Finding]:
        """OPS001 for a file that no rule needs parsed, when it does not compile.

        CPython's ``compile`` costs a tenth of a LibCST parse.  What it rejects
        is confirmed with LibCST (behind the nesting guard): a file written for
        a newer Python than the one running opslint is not a syntax error.
        """
        if guard.compile_error(text, display) is None:
            return []
        try:
            parse_module(text)
        except (cst.ParserSyntaxError, SyntaxError, ValueError, RecursionError) as exc:
            return self._syntax_error(exc, text, display, settings)
        return []

    def _syntax_error(self, exc: BaseException, text: str, display: str, settings: Settings) -> List[Finding]:
        """OPS001 with CPython's message and position for a file LibCST did not
        parse; OPS003 when only opslint's nesting guard refused a file that
        Python accepts."""
        line, column = 1, 1
        if isinstance(exc, cst.ParserSyntaxError):
            line, column = exc.raw_line, exc.raw_column + 1
            detail = f"SyntaxError: {exc.message}"
        elif isinstance(exc, SyntaxError):
            line, column = exc.lineno or 1, exc.offset or 1
            detail = f"SyntaxError: {exc.msg}"
        elif isinstance(exc, guard.TooDeep):
            detail = exc.detail
        else:
            detail = f"cannot parse: {type(exc).__name__}: {exc}"
        py_exc = guard.parser_error(text, display)
        if py_exc is None and isinstance(exc, guard.TooDeep):
            # Before 3.10 the parser accepts some chains its compiler then
            # refuses ("maximum recursion depth exceeded during compilation"):
            # such a file does not run either, so it is a syntax error too.
            compiled = guard.compile_error(text, display)
            if isinstance(compiled, (RecursionError, MemoryError)):
                py_exc = compiled
        if isinstance(py_exc, SyntaxError):
            # CPython's message and position are the ones users know (and are
            # more precise than the LibCST parser's).
            line, column = py_exc.lineno or line, py_exc.offset or column
            detail = f"{type(py_exc).__name__}: {py_exc.msg}"
        elif py_exc is not None:
            # "too complex" (RecursionError, MemoryError), NUL bytes (ValueError)...
            detail = f"{type(py_exc).__name__}: {py_exc}" + (f" ({detail})" if isinstance(exc, guard.TooDeep) else "")
        elif isinstance(exc, guard.TooDeep):
            return self._engine_finding(
                builtin.UnreadableFile, display, settings, f"{detail}; the file was not analysed"
            )
        else:
            detail = f"LibCST cannot parse this file although Python can ({detail}); opslint skipped it"
            # The native parser's ``raw_line`` is the token after the failure (often the
            # next line); its message holds the failure's own position (column from 0).
            found = _LIBCST_AT.search(detail)
            if found is not None:
                line, column = int(found.group(1)), int(found.group(2)) + 1
        return self._engine_finding(builtin.SyntaxErrorFinding, display, settings, detail, line, max(column, 1))


#: Recursion limit while visiting a tree (see ``_deep_recursion``).
_DEEP_LIMIT = 25_000


@contextmanager
def _deep_recursion() -> Iterator[None]:
    """Room for LibCST's recursive visitor on deep trees.

    Generated modules nest deeply (``pydoc_data/topics.py``: 2,200 levels of
    implicitly concatenated strings, about 10,000 Python frames).  Since 3.11
    Python-to-Python calls do not use the C stack, so a higher limit is safe
    there; older versions keep their limit and report such files as OPS002.
    """
    old = sys.getrecursionlimit()
    if sys.version_info >= (3, 11) and old < _DEEP_LIMIT:
        sys.setrecursionlimit(_DEEP_LIMIT)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{os.path.basename(last.filename)}:{last.lineno}"
